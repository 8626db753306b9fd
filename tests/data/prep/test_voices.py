"""The recorded-speech corpus builder on fake .deb packages laid out like the real ones."""
import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asteroid_deepmask.data.layout import SPLITS
from asteroid_deepmask.data.prep.voices import audio, build, debs, rules
from asteroid_deepmask.data.prep.voices.build import build_voices_corpus
from asteroid_deepmask.data.prep.voices.splits import split_groups

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb to build fake .debs")

SPEECH_S = 1.2
PAD_S = 0.4


def speech(f0: float, rate: int, seconds: float = SPEECH_S, seed: int = 0, pad: float = PAD_S) -> np.ndarray:
    """Harmonic "speech": f0 with vibrato, 5 harmonics, syllable-rate amplitude modulation,
    silence (faint noise) before and after."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6)))) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6))
    envelope *= np.minimum(1, np.minimum(t, seconds - t) / 0.03)
    x = 0.3 * voiced / np.abs(voiced).max() * envelope
    silence = int(pad * rate)
    out = np.concatenate([np.zeros(silence), x, np.zeros(silence)])
    return (out + 1e-5 * rng.standard_normal(len(out))).astype(np.float32)


def write(root: Path, rel: str, wav: np.ndarray, rate: int) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if rel.endswith(".ogg"):
        sf.write(path, wav, rate, format="OGG", subtype="VORBIS")
    else:
        sf.write(path, wav, rate, subtype="PCM_16")


def make_deb(stage_root: Path, debs: Path, package: str, version: str, files) -> None:
    root = stage_root / package
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: all\nMaintainer: Test <t@example.org>\n"
        f"Description: fake {package}\n fake data for tests\n")
    for rel, content in files:
        if isinstance(content, bytes):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content)
        else:
            write(root, rel, *content)
    debs.mkdir(exist_ok=True)
    subprocess.run(["dpkg-deb", "-Zgzip", "-z1", "--build", "--root-owner-group", str(root),
                    str(debs / f"{package}_{version}_all.deb")], check=True, capture_output=True)


MALE, FEMALE = 110.0, 220.0
TUX = "usr/share/tuxpaint/stamps/animals/birds"
FIL = "usr/share/games/fillets-ng/sound"
FEST = "usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav"
KAJ = "usr/share/kajongg/voices"
HW = "usr/share/games/hedgewars/Data/Sounds/voices/Default"


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    base = tmp_path_factory.mktemp("voices")
    stage, debs = base / "stage", base / "debs"
    r44, r22, r16 = 44100, 22050, 16000
    ru = [speech(FEMALE, r44, seed=i) for i in range(3)]
    live = speech(MALE * 1.1, r44, seed=7)
    stereo = np.stack([np.zeros_like(live), live], axis=1)  # French: left channel empty
    clipped = np.clip(speech(FEMALE, r44, seed=8) * 6, -1, 1)
    tux = [(f"{TUX}/robin_desc_ru.ogg", (ru[0], r44)), (f"{TUX}/owl_desc_ru.ogg", (ru[1], r44)),
           (f"{TUX}/crow_desc_ru.ogg", (ru[2], r44)), (f"{TUX}/crow_desc_fr.ogg", (stereo, r44)),
           (f"{TUX}/owl_desc_fr.ogg", (np.stack([np.zeros_like(ru[0]), speech(MALE * 1.1, r44, seed=9)], 1), r44)),
           (f"{TUX}/crow_desc_es.ogg", (speech(MALE, r44, seed=10), r44)),
           (f"{TUX}/eagle_desc_ru.ogg", (clipped, r44)),
           (f"{TUX}/crow.ogg", (speech(300, r44, seed=11), r44)),  # a stamp sound effect
           (f"{TUX}/swan_desc_ru.ogg", (speech(FEMALE, r44, seed=12) * 1e-4, r44))]  # near-silent
    make_deb(stage, debs, "tuxpaint-stamps-default", "2022.06.04-1", tux)
    robin = (stage / "tuxpaint-stamps-default" / f"{TUX}/robin_desc_ru.ogg").read_bytes()
    (stage / "tuxpaint-stamps-default" / f"{TUX}/zz_robin_copy_desc_ru.ogg").write_bytes(robin)  # byte-identical duplicate
    subprocess.run(["dpkg-deb", "-Zgzip", "-z1", "--build", "--root-owner-group", str(stage / "tuxpaint-stamps-default"),
                    str(debs / "tuxpaint-stamps-default_2022.06.04-1_all.deb")], check=True, capture_output=True)

    fil = [(f"{FIL}/city/cs/vit-m-line{i}.ogg", (speech(MALE * 1.3, r22, 2.5, seed=20 + i), r22)) for i in range(5)]
    fil += [(f"{FIL}/city/cs/vit-v-line{i}.ogg", (speech(MALE * 0.9, r22, 2.5, seed=30 + i), r22)) for i in range(5)]
    fil += [(f"{FIL}/city/cs/vit-x-click.ogg", (speech(500, r22, 0.5, seed=40), r22)),
            (f"{FIL}/cabin1/cs/kap-pap-hello.ogg", (speech(600, r22, seed=41), r22))]
    make_deb(stage, debs, "fillets-ng-data-cs", "1.0.1-1.1", fil)
    make_deb(stage, debs, "festvox-ru", "0.5+dfsg-6",
             [(f"{FEST}/ru_{i:04d}.wav", (speech(MALE * 0.95, r16, 5.0, seed=50 + i), r16)) for i in range(1, 6)])
    kaj = [(f"{KAJ}/male1/{w}.ogg", (speech(MALE, r44, seed=60 + i), r44)) for i, w in enumerate(["pung", "kong"])]
    kaj += [(f"{KAJ}/de/female1/{w}.ogg", (speech(FEMALE * 1.05, r44, seed=70 + i), r44)) for i, w in enumerate(["pung", "kong"])]
    kaj += [(f"{KAJ}/male1/broken.ogg", b"OggS this is not a vorbis stream" * 20),
            (f"{KAJ}/female1/short.ogg", (speech(FEMALE, r44, 0.1, seed=80), r44))]
    make_deb(stage, debs, "kajongg", "4:22.12.3-1", kaj)
    make_deb(stage, debs, "hedgewars-data", "1.0.2-6",
             [(f"{HW}/Hello.ogg", (speech(MALE * 1.2, r44, seed=90), r44)),
              (f"{HW}/Incoming.ogg", (speech(MALE * 1.2, r44, seed=91), r44)),
              (f"{HW}/Laugh1.ogg", (speech(MALE * 1.2, r44, seed=92), r44))])
    # Held out by default (HELDOUT_PACKAGES): the Dutch dub's two main voices; and a klettres voice of
    # Tux Paint's Russian speaker's language group.
    make_deb(stage, debs, "fillets-ng-data-nl", "1.0.1-1.1",
             [(f"{FIL}/city/nl/vit-{code}-line{i}.ogg", (speech(f0, r22, 2.5, seed=100 + i), r22))
              for code, f0 in (("m", MALE * 1.4), ("v", FEMALE * 0.9)) for i in range(3)])
    make_deb(stage, debs, "klettres-data", "4:22.12.3-1", [("usr/share/klettres/ru/alpha/a.ogg", (speech(FEMALE, r44, seed=110), r44))])
    packages = ["tuxpaint-stamps-default", "fillets-ng-data-cs", "festvox-ru", "kajongg", "hedgewars-data"]
    out = base / "out"
    summary = build_voices_corpus(out, debs_dir=debs, packages=packages, heldout_packages=())  # tt needs hedgewars here
    return {"out": out, "debs": debs, "summary": summary, "packages": packages, "base": base}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_exclusions_by_reason(fake):
    excluded = {(row["package"], Path(row["path"]).name): row["reason"] for row in read_csv(fake["out"] / "excluded.csv")}
    assert excluded[("tuxpaint-stamps-default", "crow_desc_es.ogg")] == "language-left-out"
    assert excluded[("tuxpaint-stamps-default", "eagle_desc_ru.ogg")] == "clipped"
    assert excluded[("tuxpaint-stamps-default", "zz_robin_copy_desc_ru.ogg")] == "duplicate"
    assert excluded[("tuxpaint-stamps-default", "swan_desc_ru.ogg")] == "near-silent"
    assert excluded[("tuxpaint-stamps-default", "crow.ogg")] == "not-speech"
    assert excluded[("fillets-ng-data-cs", "vit-x-click.ogg")] == "not-speech"
    assert excluded[("fillets-ng-data-cs", "kap-pap-hello.ogg")] == "processed-voice"
    assert excluded[("kajongg", "broken.ogg")] == "unreadable"
    assert excluded[("kajongg", "short.ogg")] == "too-short"
    assert excluded[("hedgewars-data", "Laugh1.ogg")] == "not-speech"
    assert len(excluded) == 10
    assert fake["summary"]["excluded"]["tuxpaint-stamps-default"] == {
        "clipped": 1, "duplicate": 1, "language-left-out": 1, "near-silent": 1, "not-speech": 1}


def test_clipping_criterion():
    x = speech(FEMALE, 44100)
    assert not audio.is_clipped(x)
    touching = x * (0.95 / np.abs(x).max())
    touching[np.argmax(np.abs(touching))] = 1.0
    assert not audio.is_clipped(touching)  # touching full scale once is not clipping
    assert audio.is_clipped(np.clip(x * 6, -1, 1))


def test_manifest_audio_and_licences(fake):
    out = fake["out"]
    rows = read_csv(out / "manifest.csv")
    assert tuple(rows[0]) == build.MANIFEST_COLUMNS
    assert len(rows) == 3 + 2 + 10 + 5 + 4 + 2  # ru, fr, fillets, festvox, kajongg, hedgewars
    licences = {row["package"]: row["licence"] for row in rows}
    assert licences == {"tuxpaint-stamps-default": "GPL-2+", "fillets-ng-data-cs": "GPL-2", "festvox-ru": "BSD-style",
                        "kajongg": "GPL-2+", "hedgewars-data": "GFDL-1.3"}
    assert {row["version"] for row in rows if row["package"] == "kajongg"} == {"4:22.12.3-1"}
    speakers = {row["speaker"] for row in rows}
    assert speakers == {"tuxpaint-ru", "tuxpaint-fr", "fillets-cs-m", "fillets-cs-v", "festvox-ru", "kajongg-male1",
                        "kajongg-female1", "hedgewars-Default"}
    sex = {row["speaker"]: row["sex"] for row in rows}
    assert sex["festvox-ru"] == "m" and sex["tuxpaint-ru"] == "f" and sex["kajongg-female1"] == "f"
    for row in rows:
        info = sf.info(out / row["wav"])
        assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
        assert row["wav"] == f"speakers/{row['split']}/{row['speaker']}/{Path(row['wav']).name}"
        # silence trimmed to the ~50 ms margins (the source has 0.4 s either side)
        speech_s = 5.0 if row["package"] == "festvox-ru" else 2.5 if row["package"] == "fillets-ng-data-cs" else SPEECH_S
        assert speech_s - 0.1 <= float(row["seconds"]) <= speech_s + 0.15, row
        assert abs(info.duration - float(row["seconds"])) < 1e-3
    french = [row for row in rows if row["speaker"] == "tuxpaint-fr"][0]
    wav, _ = sf.read(out / french["wav"])
    assert 0.25 < np.abs(wav).max() < 0.35  # the live channel's 0.3 peak, not the empty one nor their average (0.15)
    licence_md = (out / "LICENCES.md").read_text()
    assert "GFDL-1.3" in licence_md and "open legal question" in licence_md and "derivative work" in licence_md


def test_splits_disjoint_and_tt_diverse(fake):
    rows = read_csv(fake["out"] / "manifest.csv")
    for key in ("speaker", "group"):
        splits = {}
        for row in rows:
            splits.setdefault(row[key], set()).add(row["split"])
        assert all(len(s) == 1 for s in splits.values()), splits
    tt = [row for row in rows if row["split"] == "tt"]
    assert len({row["package"] for row in tt}) >= 3
    assert {row["sex"] for row in tt} == {"m", "f"}
    assert {row["split"] for row in rows if row["group"] in ("fillets-cs", "festvox-ru")} == {"tr"}
    assert {row["split"] for row in rows} == {"tr", "cv", "tt"}
    folders = {p.relative_to(fake["out"] / "speakers").as_posix() for p in (fake["out"] / "speakers").glob("*/*")}
    assert folders == {f"{row['split']}/{row['speaker']}" for row in rows}
    table = fake["summary"]["table"]
    assert sum(table[s]["all"]["clips"] for s in SPLITS) == len(rows)


def test_heldout_packages_are_a_cross_corpus_test_split_of_their_own(fake, tmp_path):
    packages = fake["packages"] + ["fillets-ng-data-nl"]
    # hedgewars-data, also held out by default, stays in: this small corpus needs it for a diverse tt.
    summary = build_voices_corpus(tmp_path / "out", debs_dir=fake["debs"], packages=packages, heldout_packages=("fillets-ng-data-nl",))
    rows = read_csv(tmp_path / "out" / "manifest.csv")
    dutch = [row for row in rows if row["package"] == "fillets-ng-data-nl"]
    assert len(dutch) == 6 and {row["split"] for row in dutch} == {"xt"} and {row["speaker"] for row in dutch} == {
        "fillets-nl-m", "fillets-nl-v"}
    assert {row["package"] for row in rows if row["split"] == "xt"} == {"fillets-ng-data-nl"}
    assert sorted((tmp_path / "out" / "speakers" / "xt").iterdir()) == sorted(tmp_path / "out" / "speakers" / "xt" / s for s in ("fillets-nl-m", "fillets-nl-v"))
    assert summary["settings"]["split"]["heldout_packages"] == ["fillets-ng-data-nl"]
    assert summary["table"]["xt"]["all"]["clips"] == 6 and set(summary["table"]) == {"tr", "cv", "tt", "xt"}
    # The other splits are what they are without the held-out package: nothing of it trains or validates.
    assert [r for r in rows if r["split"] != "xt"] == [r for r in read_csv(fake["out"] / "manifest.csv")]


def test_a_heldout_package_sharing_a_speaker_group_with_a_training_package_is_refused(fake, tmp_path):
    with pytest.raises(RuntimeError, match=r"speaker groups \['lang-ru'\] span held-out and other packages"):
        build_voices_corpus(tmp_path / "out", debs_dir=fake["debs"], packages=fake["packages"] + ["klettres-data"],
                            heldout_packages=("klettres-data",))


def test_idempotent(fake):
    marker = fake["out"] / "voices.json"
    before = marker.read_bytes(), marker.stat().st_mtime_ns
    again = build_voices_corpus(fake["out"], debs_dir=fake["debs"], packages=fake["packages"], heldout_packages=())
    assert again.get("up_to_date") is True
    assert (marker.read_bytes(), marker.stat().st_mtime_ns) == before
    settings = json.loads(marker.read_text())["settings"]
    assert settings["seed"] == 0 and settings["sample_rate"] == 8000
    assert settings["packages"]["festvox-ru"] == "0.5+dfsg-6"


def test_resumes_with_another_seed(fake, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(fake["out"], out)
    (out / "voices.json").unlink()  # a half-finished build: resumed, cached clips reused
    summary = build_voices_corpus(out, debs_dir=fake["debs"], packages=fake["packages"], seed=1, heldout_packages=())
    assert "up_to_date" not in summary and summary["settings"]["seed"] == 1
    assert len(read_csv(out / "manifest.csv")) == len(read_csv(fake["out"] / "manifest.csv"))


def test_refuses_packages_off_the_allow_list(fake, tmp_path):
    with pytest.raises(ValueError, match="allow-list.*NOTES.md section 5a"):
        build_voices_corpus(tmp_path / "x", debs_dir=fake["debs"], packages=["kajongg", "espeak-ng-data"])
    assert not (tmp_path / "x").exists()


def test_missing_deb_is_a_clear_error(fake, tmp_path):
    with pytest.raises(FileNotFoundError, match="gcin-voice"):
        build_voices_corpus(tmp_path / "x", debs_dir=fake["debs"], packages=["kajongg", "gcin-voice"])


def test_selection_rules():
    fil = rules.ALLOW_LIST["fillets-ng-data-cs"].select
    assert fil(f"{FIL}/gods/cs/bo-m-hello.ogg") == rules.Pick("fillets-cs-m", "fillets-cs", "GPL-2")
    assert fil(f"{FIL}/hanoi/cs/v-restartovat.ogg").speaker == "fillets-cs-v"
    assert fil(f"{FIL}/fdto/cs/proc-m.ogg").speaker == "fillets-cs-m"
    assert fil("usr/share/games/fillets-ng/music/menu.ogg").reason == "not-speech"
    assert fil(f"{FIL}/share/border/cs/sp-shout_big_00.ogg").reason == "not-speech"
    tux = rules.ALLOW_LIST["tuxpaint-stamps-default"].select
    assert tux(f"{TUX}/x_desc_pt_BR.wav") == rules.Pick("tuxpaint-pt_BR", "lang-pt", "GPL-2+")
    kt = rules.ALLOW_LIST["ktuberling-data"].select
    assert kt("usr/share/ktuberling/sounds/sr@ijekavian/nose.ogg").speaker == "ktuberling-sr"
    kl = rules.ALLOW_LIST["klettres-data"].select
    assert kl("usr/share/klettres/ml/alpha/a.ogg").reason == "language-left-out"
    assert kl("usr/share/klettres/nb/alpha/a.ogg").group == kt("usr/share/ktuberling/sounds/nn/a.opus").group == "lang-no"
    hw = rules.ALLOW_LIST["hedgewars-data"].select
    assert hw("usr/share/games/hedgewars/Data/Sounds/voices/Robot/Hello.ogg").reason == "processed-voice"
    assert hw("usr/share/games/hedgewars/Data/Sounds/voices/Default/Ow1.ogg").reason == "not-speech"
    assert hw("usr/share/games/hedgewars/Data/Sounds/voices/Default_pl/Hello.ogg").group == "hedgewars-pl"
    gc = rules.ALLOW_LIST["gcin-voice"].select
    assert gc("usr/share/gcin-voice/ogg/\u3105\u311a/5.ogg").licence == "CC-BY-3.0"
    assert build._clip_name("usr/share/gcin-voice/ogg/\u3105\u311a/5.ogg").isascii()


def test_split_raises_when_tt_cannot_be_diverse():
    groups = {f"g{i}": {"minutes": 1.0, "packages": {"kajongg"}, "sexes": {"m"}, "speakers": 1} for i in range(20)}
    with pytest.raises(RuntimeError, match="at least 3 packages"):
        split_groups(groups, seed=0)


def test_missing_tools_are_clear_errors(monkeypatch, tmp_path):
    real_which = shutil.which
    monkeypatch.setattr(debs.shutil, "which", lambda name: None if name == "apt-get" else real_which(name))
    with pytest.raises(RuntimeError, match="apt-get not found.*kajongg.*--debs-dir"):
        build_voices_corpus(tmp_path / "a", packages=["kajongg"])
    monkeypatch.setattr(debs.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="dpkg-deb not found"):
        debs.deb_field(tmp_path / "x.deb", "Version")
