"""A corpus of recorded human speech from Debian packages (``asteroid-deepmask voices``).

Why: text-to-speech alone does not transfer to human voices (NOTES.md section 5b: models trained
on TTS score below 0 dB SI-SDRi on recorded speech), and WSJ0 is licensed. Debian ``main`` ships
about 6.5 hours of recorded speech from 60-80 people, spread over a handful of game and
education packages; NOTES.md section 5a lists them. This module turns those packages into the
"folder of single-speaker recordings" layout that :mod:`.speakers` trains on::

    OUT/debs/*.deb                      the packages (``apt-get download``; nothing is installed)
    OUT/unpacked/<package>/...          ``dpkg-deb -x`` of each
    OUT/work/<package>/...              decoded, trimmed 8 kHz clips (a per-package cache)
    OUT/speakers/{tr,cv,tt}/<speaker>/<clip>.wav
    OUT/manifest.csv                    one row per kept clip, with its package, licence and split
    OUT/excluded.csv                    every audio file left out, and why
    OUT/LICENCES.md                     the licences, per package
    OUT/voices.json                     written last: the settings and the split x package table

**Rule** (NOTES.md 5a): recorded speech for training, validation and model selection comes only
from the allow-list :data:`ALLOW_LIST`; other recorded-speech packages are reserved for an
independent evaluation of the shipped models. :func:`build_voices_corpus` refuses anything else.

Speaker identities are not documented by the packages: they are read off folder names and file
name codes, merged where two ids might be one person (:class:`Pick` ``group``), and splits are
made over groups, so that one person never lands in two splits. Sex is *estimated* from the
median F0 of each speaker's first ~30 s (:func:`estimate_sex`): a rough label for balancing
the test set, not a fact about anybody.
"""
import csv
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import soundfile as sf
import soxr
from tqdm import tqdm

from .wavio import write_wav_atomic

log = logging.getLogger(__name__)

VOICES_FORMAT = 1  # bump when selection or processing changes, so old builds are redone
SPLITS = ("tr", "cv", "tt")
AUDIO_SUFFIXES = (".ogg", ".oga", ".opus", ".wav", ".flac", ".mp3")
NOTES_RULE = (
    "NOTES.md section 5a: recorded speech for training, validation and model selection comes only "
    "from its allow-list; other recorded-speech packages are reserved for an independent evaluation "
    "of the shipped models and must not be added to a corpus"
)

# --- Processing thresholds (all on the live channel) -------------------------------------------
# Clipping, checked at the source rate before resampling (which would smear the flat tops). A file
# is clipped if at least CLIP_SHARE of its active samples (|x| > 2 % of its peak) sit at
# |x| >= CLIP_LEVEL, or if it has CLIP_RUNS or more runs of >= CLIP_RUN_LEN consecutive samples
# there (flat tops). Checked on the real data (December 2026): it flags every Spanish tuxpaint file
# (297 of 297 sampled), 507 of 521 Malayalam klettres files (NOTES: 497), 47 of 918 Catalan
# tuxpaint (NOTES: 40), 131 of 1,892 ktuberling files (NOTES: 95). With 3 runs instead of 10 it
# also flagged 440 of 1,614 Dutch fillets lines, which have a few flat-topped peaks each
# (0.03-0.1 % of samples): mild, and 35 minutes of the Dutch main voices, so they are kept.
CLIP_LEVEL = 0.99
CLIP_SHARE = 0.001
CLIP_RUN_LEN = 3
CLIP_RUNS = 10
# Level and trimming, on 20 ms frames of the 8 kHz signal. A file whose loudest frame is below
# SILENT_FLOOR_DB dBFS is near-silent (kajongg's quiet voices peak at -31 to -50 dBFS: kept).
FRAME_S = 0.02
SILENT_FLOOR_DB = -60.0
TRIM_DB = 35.0  # leading/trailing frames more than this below the loudest frame are silence
MARGIN_S = 0.05  # kept either side of the speech
MIN_SPEECH_S = 0.25  # speech (between the first and last active frame) shorter than this: too short
# Sex estimate: median F0 (librosa.yin) over the loud frames of a speaker's first PITCH_SECONDS.
PITCH_SECONDS = 30.0
F0_MIN, F0_MAX = 60.0, 400.0
F0_THRESHOLD_HZ = 160.0
# Splits: share of the minutes aimed at for cv and tt each; a group larger than that share stays
# in training (the fillets main voices, festvox-ru: they carry most of the minutes).
SPLIT_TARGET = 0.125
SPLIT_BAND = (0.10, 0.15)  # shares of the minutes that are all fine for cv and tt
SPLIT_SPEAKER_SHARE = 0.15  # share of the speakers aimed at for cv and tt each: most voices train
SPLIT_MAX_OVERSHOOT = 1.5
SPLIT_CANDIDATES = 400
TT_MIN_PACKAGES = 3


@dataclass(frozen=True)
class Pick:
    """A file the package's rule keeps: who speaks, which group of possibly-same people, licence."""

    speaker: str
    group: str
    licence: str


@dataclass(frozen=True)
class Skip:
    """A file the package's rule leaves out (reason: a fixed word; detail: which rule)."""

    reason: str
    detail: str = ""


Rule = Callable[[str], Union[Pick, Skip]]


@dataclass(frozen=True)
class PackageRule:
    """An allow-listed package: its licence (Debian's copyright file), what that licence means,
    and the rule that maps a path inside the package to a :class:`Pick` or a :class:`Skip`."""

    licence: str
    meaning: str
    select: Rule
    note: str = ""


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.split(".", 1)[0]


def _lang_group(lang: str) -> str:
    """Group of a KDE-edu / Tux Paint voice: the base language (pt_BR -> pt, sr@latin -> sr,
    en_GB -> en, nb/nn -> no). These voices were recorded by volunteer translators, often the
    same few people across ktuberling, klettres and Tux Paint, so one language is one group."""
    base = re.split(r"[_@]", lang)[0].lower()
    return "lang-" + {"nb": "no", "nn": "no"}.get(base, base)


# --- tuxpaint-stamps-default ---------------------------------------------------------------------
_TUX = re.compile(r"^usr/share/tuxpaint/stamps/.+_desc_([A-Za-z]{2,3}(?:_[A-Z]{2})?)(?:\.ogg)*\.(?:ogg|wav)$")


def _select_tuxpaint(path: str) -> Union[Pick, Skip]:
    """Only the spoken stamp descriptions ``*_desc_<lang>.ogg`` (one ``.wav`` set for pt_BR, and
    one ``_desc_da.ogg.ogg``). ``<stamp>.ogg`` and ``<stamp>_<lang>.ogg`` are the stamps' sound
    effects and localised sounds: left out. Spanish is left out (every file is clipped). One
    speaker id per language: French has two voices nobody can tell apart from the files."""
    match = _TUX.match(path)
    if not match:
        return Skip("not-speech", "tuxpaint: not a *_desc_<lang> description (stamp sound)")
    lang = match.group(1)
    if lang == "es":
        return Skip("language-left-out", "tuxpaint Spanish: every file is clipped")
    return Pick(f"tuxpaint-{lang}", _lang_group(lang), "GPL-2+")


# --- fillets-ng-data, -cs, -nl -------------------------------------------------------------------
_FILLETS = re.compile(r"^usr/share/games/fillets-ng/sound/(.+)/([a-z]{2})/([^/]+)\.ogg$")
FILLETS_MAIN = {"m": "m", "v": "v"}  # malá ryba (small fish), velká ryba (big fish)
FILLETS_PROCESSED = {"pap": "parrot", "p": "parrot (elk level) / Pizla", "robodog": "robot dog",
                     "leb": "skull", "kd": "briefcase tape", "b1": "god", "b2": "god", "hs": "loudspeaker / statue"}


def _fillets_code(stem: str) -> str:
    """The speaker code of a fillets dialogue file: ``<level>-<code>-<line>`` (``vit-hs-klid1``:
    code ``hs``), or in a few levels ``<code>-<line>`` (``v-restartovat``) / ``<line>-<code>``
    (``proc-m``). ``sp-*`` and ``help*`` have no speaker code."""
    parts = stem.split("-")
    if len(parts) >= 3:
        return parts[1]
    if len(parts) == 2:
        if parts[0] in FILLETS_MAIN:
            return parts[0]
        if parts[1] in FILLETS_MAIN:
            return parts[1]
        return parts[0]
    return ""


def _make_fillets(package: str) -> Rule:
    def select(path: str) -> Union[Pick, Skip]:
        """Dialogue only: ``sound/<level>/<lang>/<file>.ogg`` (``music/`` and ``sound/share/*.ogg``
        are music and effects). Kept: the two main voices, the small fish (code ``m``, about 37 min
        in cs and nl) and the big fish (``v``, 37-41 min), one speaker each. Code ``x`` and ``sp-*``
        are sound effects, shouts and mumbling (their dialogue lines have no text). Minor
        characters are left out: some are processed (parrot, robot dog, skull, gods, the
        briefcase tape, the loudspeaker), the rest could not be checked by ear, and each is under
        4 minutes. The base package's ``en`` folder holds only such language-neutral lines."""
        if path.startswith("usr/share/games/fillets-ng/music/"):
            return Skip("not-speech", "fillets: music")
        match = _FILLETS.match(path)
        if not match:
            return Skip("not-speech", "fillets: sound effect outside a language folder")
        lang, stem = match.group(2), match.group(3)
        code = _fillets_code(stem)
        if stem.startswith("sp-") or code in ("x", "sp") or not code:
            return Skip("not-speech", f"fillets: sound effect / shout ({stem})")
        if code in FILLETS_MAIN and package != "fillets-ng-data":
            # One cast per dub: both main voices (and any minor role they may also have voiced)
            # are one group, which stays in training anyway (it is far above SPLIT_TARGET).
            return Pick(f"fillets-{lang}-{FILLETS_MAIN[code]}", f"fillets-{lang}", "GPL-2")
        if code in FILLETS_PROCESSED:
            return Skip("processed-voice", f"fillets: {FILLETS_PROCESSED[code]} ({code})")
        return Skip("minor-character", f"fillets: minor character code {code!r}")

    return select


# --- festvox-ru ----------------------------------------------------------------------------------
def _select_festvox_ru(path: str) -> Union[Pick, Skip]:
    """The raw recordings of the Russian Festival voice (``.../wav/ru_NNNN.wav``): one male
    speaker, studio clean, read sentences. Its own group: nothing suggests he recorded elsewhere."""
    if re.match(r"^usr/share/festival/voices/russian/[^/]+/wav/[^/]+\.wav$", path):
        return Pick("festvox-ru", "festvox-ru", "BSD-style")
    return Skip("not-speech", "festvox-ru: outside wav/")


# --- ktuberling-data -----------------------------------------------------------------------------
def _select_ktuberling(path: str) -> Union[Pick, Skip]:
    """Object words in ``sounds/<lang>/``, one speaker per language. The four Serbian folders
    (sr, sr@latin, sr@ijekavian, sr@ijekavianlatin) hold copies of one speaker: one id ``sr``
    (their byte-identical files fall out as duplicates)."""
    match = re.match(r"^usr/share/ktuberling/sounds/([^/]+)/[^/]+$", path)
    if not match:
        return Skip("not-speech", "ktuberling: outside sounds/<lang>/")
    lang = match.group(1).split("@")[0]
    return Pick(f"ktuberling-{lang}", _lang_group(lang), "GPL-2+")


# --- klettres-data -------------------------------------------------------------------------------
def _select_klettres(path: str) -> Union[Pick, Skip]:
    """Letters and syllables in ``<lang>/{alpha,syllab}/``, one speaker per language folder
    (en and en_GB are two ids, one group). Malayalam is left out: 497 of 521 files clipped."""
    match = re.match(r"^usr/share/klettres/([^/]+)/(?:alpha|syllab)/[^/]+$", path)
    if not match:
        return Skip("not-speech", "klettres: outside <lang>/alpha or <lang>/syllab")
    lang = match.group(1)
    if lang == "ml":
        return Skip("language-left-out", "klettres Malayalam: nearly every file is clipped")
    return Pick(f"klettres-{lang}", _lang_group(lang), "GPL-2+")


# --- hedgewars-data ------------------------------------------------------------------------------
HEDGEWARS_NON_SPEECH = ("Ow", "Ooff", "Laugh", "Poison", "Jump", "Firepunch", "Hmm")
HEDGEWARS_PROCESSED = ("Robot",)


def _select_hedgewars(path: str) -> Union[Pick, Skip]:
    """Voice packs ``Data/Sounds/voices/<pack>/``, one speaker id per pack. Left out: grunts,
    coughs, laughs, jumps and punch yells (``Ow*``, ``Ooff*``, ``Laugh*``, ``Poison*``, ``Jump*``,
    ``Firepunch*``, ``Hmm*``) and the processed Robot pack. Groups: the English-accent packs
    (British, Classic, Default, HillBilly, Mobster, Pirate, Russian, Singer, Surfer) are one
    group, since a few community members voiced several; ``Default_<lang>`` and ``Russian_pl``
    are grouped by their language."""
    match = re.match(r"^usr/share/games/hedgewars/Data/Sounds/voices/([^/]+)/([^/]+)$", path)
    if not match:
        return Skip("not-speech", "hedgewars: sound effect outside voices/")
    pack, name = match.groups()
    if pack in HEDGEWARS_PROCESSED:
        return Skip("processed-voice", f"hedgewars: {pack} pack")
    if name.startswith(HEDGEWARS_NON_SPEECH):
        return Skip("not-speech", f"hedgewars: grunt/laugh/cough ({_stem(name)})")
    lang = pack.split("_", 1)[1] if "_" in pack else "en"
    return Pick(f"hedgewars-{pack}", f"hedgewars-{lang}", "GFDL-1.3")


# --- gcin-voice ----------------------------------------------------------------------------------
GCIN_SPEAKERS = {
    "3": ("gcin-liu", "GPL-3 or LGPL-3"),  # Edward Der-Hua Liu, per debian/copyright
    "5": ("gcin-chulo", "CC-BY-3.0"),  # Chu Lo's voice (ChionMeilin), per debian/copyright
}


def _select_gcin(path: str) -> Union[Pick, Skip]:
    """Mandarin syllables ``ogg/<syllable>/{3,5}.ogg``: ``3.ogg`` and ``5.ogg`` are two people
    with two licences (debian/copyright), so licence is per clip here."""
    match = re.match(r"^usr/share/gcin-voice/ogg/[^/]+/([35])\.ogg$", path)
    if not match:
        return Skip("not-speech", "gcin-voice: not ogg/<syllable>/{3,5}.ogg")
    speaker, licence = GCIN_SPEAKERS[match.group(1)]
    return Pick(speaker, speaker, licence)


# --- kajongg -------------------------------------------------------------------------------------
def _select_kajongg(path: str) -> Union[Pick, Skip]:
    """Mahjongg calls in ``voices/<name>/`` (English) and ``voices/de/<name>/`` (German). The same
    tag (male1, female2, ...) in both languages is taken to be one person: one speaker id."""
    match = re.match(r"^usr/share/kajongg/voices/(?:de/)?([a-z]+[0-9]*)/[^/]+\.ogg$", path)
    if not match:
        return Skip("not-speech", "kajongg: outside voices/")
    name = match.group(1)
    return Pick(f"kajongg-{name}", f"kajongg-{name}", "GPL-2+")


_GPL = ("copies and modified versions may be distributed only under the same licence, with its text and "
        "the corresponding source")
#: The allow-list of NOTES.md 5a: package -> licence, its meaning and the selection rule.
ALLOW_LIST: Dict[str, PackageRule] = {
    "tuxpaint-stamps-default": PackageRule("GPL-2+", "GNU GPL version 2 or any later version: " + _GPL, _select_tuxpaint),
    "fillets-ng-data-cs": PackageRule("GPL-2", "GNU GPL version 2: " + _GPL, _make_fillets("fillets-ng-data-cs")),
    "fillets-ng-data-nl": PackageRule("GPL-2", "GNU GPL version 2: " + _GPL, _make_fillets("fillets-ng-data-nl")),
    "fillets-ng-data": PackageRule("GPL-2", "GNU GPL version 2: " + _GPL, _make_fillets("fillets-ng-data"),
                                   "only music, effects and minor characters: nothing kept"),
    "festvox-ru": PackageRule("BSD-style", "permissive: use, copy, modify and distribute freely, keeping the copyright "
                              "notice and disclaimer, marking modifications, not using the authors' names to endorse "
                              "derived works", _select_festvox_ru),
    "ktuberling-data": PackageRule("GPL-2+", "GNU GPL version 2 or any later version (NOTES: some files GPL-3+): " + _GPL,
                                   _select_ktuberling),
    "klettres-data": PackageRule("GPL-2+", "GNU GPL version 2 or any later version: " + _GPL, _select_klettres),
    "hedgewars-data": PackageRule("GFDL-1.3", "GNU Free Documentation License 1.3: copies and modified versions under "
                                  "the GFDL, with the licence text and the copyright notices", _select_hedgewars),
    "gcin-voice": PackageRule("GPL-3 or LGPL-3; CC-BY-3.0", "3.ogg: GNU GPL/LGPL version 3 (" + _GPL + "); 5.ogg: "
                              "Creative Commons Attribution 3.0 (any use, with credit to the author)", _select_gcin),
    "kajongg": PackageRule("GPL-2+", "GNU GPL version 2 or any later version: " + _GPL, _select_kajongg),
}


def check_allowed(packages: Iterable[str]) -> List[str]:
    """The packages in allow-list order; a ValueError citing the rule for any other."""
    packages = list(packages)
    refused = [p for p in packages if p not in ALLOW_LIST]
    if refused:
        raise ValueError(f"refusing {', '.join(refused)}: not on the allow-list ({', '.join(ALLOW_LIST)}). {NOTES_RULE}.")
    return [p for p in ALLOW_LIST if p in packages]


# --- Fetching and unpacking ---------------------------------------------------------------------
def _dpkg_deb() -> str:
    tool = shutil.which("dpkg-deb")
    if tool is None:
        raise RuntimeError("dpkg-deb not found: install dpkg (it only unpacks the .deb files, nothing is installed)")
    return tool


def deb_field(deb: Path, field: str) -> str:
    """One control field of a .deb (``dpkg-deb -f``)."""
    result = subprocess.run([_dpkg_deb(), "-f", str(deb), field], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dpkg-deb cannot read {deb}: {result.stderr.strip() or 'exit ' + str(result.returncode)}")
    return result.stdout.strip()


def _debs_by_package(folder: Path) -> Dict[str, Path]:
    found = {}
    for deb in sorted(folder.glob("*.deb")):
        found.setdefault(deb_field(deb, "Package"), deb)
    return found


def fetch_debs(packages: Sequence[str], out_dir: Path, debs_dir: Optional[Path] = None) -> Dict[str, Path]:
    """The .deb of each package: from ``debs_dir`` if given, else ``apt-get download`` into
    ``OUT/debs`` unless one is there already. ``apt-get download`` only fetches the file: nothing
    is installed and no dependency (no game) is pulled in."""
    if debs_dir is not None:
        found = _debs_by_package(Path(debs_dir))
        missing = [p for p in packages if p not in found]
        if missing:
            raise FileNotFoundError(f"no .deb for {', '.join(missing)} in {debs_dir} (get one with: apt-get download PKG)")
        return {p: found[p] for p in packages}
    folder = Path(out_dir) / "debs"
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for package in packages:
        ready = [d for d in sorted(folder.glob(f"{package}_*.deb")) if deb_field(d, "Package") == package]
        if not ready:
            if shutil.which("apt-get") is None:
                raise RuntimeError(f"apt-get not found, needed to download {package}: on a Debian-based system run "
                                   f"`apt-get download {package}` and pass the folder with --debs-dir")
            log.info("apt-get download %s", package)
            result = subprocess.run(["apt-get", "download", package], cwd=folder, capture_output=True, text=True)
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["no message"])[-1]
                raise RuntimeError(f"apt-get download {package} failed ({last}): check that Debian 12 main is in the "
                                   f"APT sources and run `apt-get update`, or download it elsewhere and pass --debs-dir")
            ready = [d for d in sorted(folder.glob(f"{package}_*.deb")) if deb_field(d, "Package") == package]
            if not ready:
                raise RuntimeError(f"apt-get download {package} left no {package}_*.deb in {folder}")
        found[package] = ready[-1]
    return found


def unpack_deb(deb: Path, package: str, version: str, out_dir: Path) -> Path:
    """``dpkg-deb -x`` (what ``dpkg -x`` runs) into ``OUT/unpacked/<package>``; the folder only
    appears, by rename, once complete, and is reused while its version matches."""
    target = Path(out_dir) / "unpacked" / package
    stamp = target / ".version"
    if stamp.is_file() and stamp.read_text() == version:
        return target
    partial = target.with_name(package + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    result = subprocess.run([_dpkg_deb(), "-x", str(deb), str(partial)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dpkg-deb -x {deb} failed: {result.stderr.strip()}")
    (partial / ".version").write_text(version)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    return target


# --- Audio ---------------------------------------------------------------------------------------
def live_channel(wav: np.ndarray) -> np.ndarray:
    """The channel with the most energy: French Tux Paint has one empty channel, which averaging
    would halve."""
    if wav.ndim == 1:
        return wav
    return wav[:, int(np.argmax(np.sum(wav.astype(np.float64) ** 2, axis=0)))]


def is_clipped(x: np.ndarray) -> bool:
    """The clipping criterion (see CLIP_* above), on one channel at the source rate."""
    a = np.abs(x)
    peak = float(a.max(initial=0.0))
    if peak < CLIP_LEVEL:
        return False
    hot = a >= CLIP_LEVEL
    active = max(1, int(np.count_nonzero(a > 0.02 * peak)))
    if np.count_nonzero(hot) / active >= CLIP_SHARE:
        return True
    edges = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(np.count_nonzero(lengths >= CLIP_RUN_LEN)) >= CLIP_RUNS


def frame_energies(x: np.ndarray, sample_rate: int) -> np.ndarray:
    frame = max(1, int(round(FRAME_S * sample_rate)))
    n = max(1, len(x) // frame)
    padded = np.zeros(n * frame, dtype=np.float64)
    padded[: min(len(x), n * frame)] = x[: n * frame]
    return np.mean(padded.reshape(n, frame) ** 2, axis=1)


def trim(x: np.ndarray, sample_rate: int) -> Tuple[Optional[np.ndarray], str]:
    """(trimmed signal, "") or (None, reason): near-silent if the loudest 20 ms frame is below
    SILENT_FLOOR_DB; leading and trailing frames more than TRIM_DB below it are cut, keeping
    MARGIN_S either side; too-short if under MIN_SPEECH_S of speech remains."""
    energies = frame_energies(x, sample_rate)
    loudest = float(energies.max())
    if loudest <= 0 or 10 * np.log10(loudest) < SILENT_FLOOR_DB:
        return None, "near-silent"
    active = np.flatnonzero(energies >= loudest * 10 ** (-TRIM_DB / 10))
    frame = int(round(FRAME_S * sample_rate))
    start, stop = active[0] * frame, min(len(x), (active[-1] + 1) * frame)
    if (stop - start) / sample_rate < MIN_SPEECH_S:
        return None, "too-short"
    margin = int(round(MARGIN_S * sample_rate))
    return x[max(0, start - margin): min(len(x), stop + margin)], ""


def loud_f0(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """F0 (librosa.yin) of the frames within 15 dB of the clip's loudest: mostly vowels, so
    mostly voiced; estimates pinned at the search bounds (unvoiced frames) are dropped."""
    import librosa

    frame_length, hop = 512, max(1, sample_rate // 100)
    if len(x) < frame_length:
        return np.zeros(0)
    f0 = librosa.yin(x.astype(np.float32), fmin=F0_MIN, fmax=F0_MAX, sr=sample_rate, frame_length=frame_length,
                     hop_length=hop, center=True)
    rms = librosa.feature.rms(y=x, frame_length=frame_length, hop_length=hop, center=True)[0][: len(f0)]
    loud = rms >= rms.max() * 10 ** (-15 / 20)
    keep = loud & (f0 > F0_MIN * 1.05) & (f0 < F0_MAX * 0.95)
    return f0[keep]


def estimate_sex(f0: np.ndarray) -> Tuple[str, float]:
    """("m" or "f", median F0): an *estimate* from median F0 against F0_THRESHOLD_HZ (160 Hz);
    wrong for high male or low female voices, and it says nothing about the person. "?" if no F0."""
    if len(f0) == 0:
        return "?", float("nan")
    median = float(np.median(f0))
    return ("m" if median < F0_THRESHOLD_HZ else "f"), median


def _clip_name(path: str) -> str:
    """A readable, ASCII, per-speaker file name from the path inside the package."""
    parts = path.split("/")
    parts = parts[2:] if parts[:2] == ["usr", "share"] else parts
    parts = parts[1:] if parts[:1] == ["games"] else parts
    parts = parts[1:] if len(parts) > 1 else parts  # the package's data folder
    parts[-1] = parts[-1].split(".", 1)[0]
    name = "_".join(parts)
    name = "".join(c if (c.isascii() and (c.isalnum() or c in "-_.")) else f"u{ord(c):04x}" for c in name)
    return name


def process_file(source: Path, sample_rate: int) -> Tuple[Optional[np.ndarray], str, str]:
    """Decode, take the live channel, check clipping, resample (soxr), trim.
    Returns (8 kHz float32 or None, reason, detail)."""
    try:
        wav, rate = sf.read(str(source), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types for corrupt or unknown files
        return None, "unreadable", f"{type(err).__name__}: {str(err)[:120]}"
    if wav.size == 0:
        return None, "unreadable", "no samples"
    x = live_channel(wav)
    if not np.all(np.isfinite(x)):
        return None, "unreadable", "non-finite samples"
    if is_clipped(x):
        return None, "clipped", ""
    if rate != sample_rate:
        x = soxr.resample(x, rate, sample_rate).astype(np.float32, copy=False)
    trimmed, reason = trim(x, sample_rate)
    if trimmed is None:
        return None, reason, ""
    return np.clip(trimmed, -1.0, 1.0), "", ""


def processing_settings(sample_rate: int) -> dict:
    """Every threshold that changes which clips are kept or what they contain: part of the
    settings that make a build (and a package's cached clips) reusable."""
    return {"format": VOICES_FORMAT, "sample_rate": sample_rate, "clip": [CLIP_LEVEL, CLIP_SHARE, CLIP_RUN_LEN, CLIP_RUNS],
            "frame_s": FRAME_S, "silent_floor_db": SILENT_FLOOR_DB, "trim_db": TRIM_DB, "margin_s": MARGIN_S,
            "min_speech_s": MIN_SPEECH_S, "pitch": [PITCH_SECONDS, F0_MIN, F0_MAX, F0_THRESHOLD_HZ]}


# --- Selection over a package -------------------------------------------------------------------
def select_package(package: str, root: Path) -> Tuple[List[Tuple[str, Pick]], List[Tuple[str, Skip]]]:
    """Every audio file of an unpacked package through its rule, in sorted path order."""
    rule = ALLOW_LIST[package].select
    picked, skipped = [], []
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(AUDIO_SUFFIXES))
    for file in files:
        rel = file.relative_to(root).as_posix()
        decision = rule(rel)
        (picked if isinstance(decision, Pick) else skipped).append((rel, decision))
    return picked, skipped


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _process_package(package: str, version: str, root: Path, picks: List[Tuple[str, Pick]], out_dir: Path,
                     sample_rate: int, progress: tqdm) -> dict:
    """Decode a package's kept files into ``OUT/work/<package>``, cached by a key over the
    settings and the file list: a rerun (another seed, a crash) reuses finished packages."""
    key = hashlib.sha1(json.dumps([processing_settings(sample_rate), version, [(p, k.speaker) for p, k in picks]])
                       .encode()).hexdigest()
    work = out_dir / "work" / package
    done = out_dir / "work" / f"{package}.json"
    if done.is_file():
        cached = json.loads(done.read_text())
        if cached.get("key") == key:
            progress.update(len(picks))
            return cached
    shutil.rmtree(work, ignore_errors=True)
    clips, excluded, f0 = [], [], defaultdict(list)
    pitch_seconds: Dict[str, float] = defaultdict(float)
    used_names: Dict[str, set] = defaultdict(set)
    for rel, pick in picks:
        progress.set_postfix_str(package, refresh=False)
        audio, reason, detail = process_file(root / rel, sample_rate)
        progress.update(1)
        if audio is None:
            excluded.append({"package": package, "path": rel, "reason": reason, "detail": detail})
            continue
        name = _clip_name(rel)
        if name in used_names[pick.speaker]:
            name += "-" + hashlib.sha1(rel.encode()).hexdigest()[:8]
        used_names[pick.speaker].add(name)
        wav_rel = f"{package}/{pick.speaker}/{name}.wav"
        write_wav_atomic(work / pick.speaker / f"{name}.wav", audio, sample_rate)
        if pitch_seconds[pick.speaker] < PITCH_SECONDS:
            f0[pick.speaker].extend(loud_f0(audio, sample_rate).round(2).tolist())
            pitch_seconds[pick.speaker] += len(audio) / sample_rate
        clips.append({"package": package, "version": version, "path": rel, "licence": pick.licence,
                      "speaker": pick.speaker, "group": pick.group, "seconds": round(len(audio) / sample_rate, 3),
                      "work": wav_rel})
    result = {"key": key, "clips": clips, "excluded": excluded, "f0": dict(f0)}
    tmp = done.with_name(done.name + ".part")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, done)
    return result


# --- Splits --------------------------------------------------------------------------------------
def split_groups(groups: Dict[str, dict], seed: int) -> Dict[str, str]:
    """group -> split. ``groups[g]`` has ``minutes``, ``packages`` (set), ``sexes`` (set) and
    ``speakers`` (count).

    Groups larger than SPLIT_TARGET of all minutes stay in training (they would overshoot a split
    alone). The others are drawn in SPLIT_CANDIDATES random orders from ``seed``; each order fills
    tt, then cv, up to the target without passing SPLIT_MAX_OVERSHOOT times it. Of the
    assignments in which tt holds speakers of at least TT_MIN_PACKAGES packages and both estimated
    sexes, and cv is not empty, the best has cv and tt inside SPLIT_BAND of the minutes, then
    about SPLIT_SPEAKER_SHARE of the speakers each (several voices to validate and test on, but
    most voices in training, since training draws speakers uniformly), then is closest to the
    minutes target. Deterministic from the seed; a RuntimeError if no assignment qualifies.
    """
    total = sum(g["minutes"] for g in groups.values())
    if total <= 0:
        raise RuntimeError("no speech kept: cannot split an empty corpus")
    target = SPLIT_TARGET * total
    pinned = sorted(name for name, g in groups.items() if g["minutes"] > target)
    free = sorted(name for name in groups if name not in pinned)
    n_speakers = sum(g["speakers"] for g in groups.values())
    rng = np.random.default_rng(seed)
    best, best_score = None, None
    for _ in range(SPLIT_CANDIDATES):
        order = [free[i] for i in rng.permutation(len(free))]
        assignment = {name: "tr" for name in pinned}
        filled = {"tt": 0.0, "cv": 0.0}
        for name in order:
            minutes = groups[name]["minutes"]
            for split in ("tt", "cv"):
                if filled[split] < target and filled[split] + minutes <= SPLIT_MAX_OVERSHOOT * target:
                    assignment[name] = split
                    filled[split] += minutes
                    break
            else:
                assignment[name] = "tr"
        members = {s: [groups[n] for n, a in assignment.items() if a == s] for s in SPLITS}
        tt_packages = set().union(*[g["packages"] for g in members["tt"]]) if members["tt"] else set()
        tt_sexes = set().union(*[g["sexes"] for g in members["tt"]]) if members["tt"] else set()
        if len(tt_packages) < TT_MIN_PACKAGES or not {"m", "f"} <= tt_sexes or not members["cv"] or not members["tr"]:
            continue
        shares = [filled[s] / total for s in ("cv", "tt")]
        outside = sum(max(0.0, SPLIT_BAND[0] - x, x - SPLIT_BAND[1]) for x in shares)
        counts = [sum(g["speakers"] for g in members[s]) for s in ("cv", "tt")]
        off_count = sum(abs(n - SPLIT_SPEAKER_SHARE * n_speakers) for n in counts)
        score = (round(outside, 4), round(off_count), round(sum(abs(x - SPLIT_TARGET) for x in shares), 4))
        if best_score is None or score < best_score:
            best, best_score = assignment, score
    if best is None:
        raise RuntimeError(
            f"cannot split {len(groups)} speaker groups ({total:.1f} min) so that tt holds unseen speakers of at "
            f"least {TT_MIN_PACKAGES} packages and both estimated sexes: add packages or speakers")
    return best


# --- Reports -------------------------------------------------------------------------------------
def split_table(clips: Sequence[dict]) -> Dict[str, Dict[str, dict]]:
    """split -> package -> {speakers, clips, minutes}, with an ``all`` package per split."""
    table: Dict[str, Dict[str, dict]] = {}
    for split in SPLITS:
        rows = [c for c in clips if c["split"] == split]
        by_package = {}
        for package in sorted({c["package"] for c in rows}, key=list(ALLOW_LIST).index) + ["all"]:
            sel = [c for c in rows if package == "all" or c["package"] == package]
            by_package[package] = {"speakers": len({c["speaker"] for c in sel}), "clips": len(sel),
                                   "minutes": round(sum(c["seconds"] for c in sel) / 60, 2)}
        table[split] = by_package
    return table


def format_table(table: Dict[str, Dict[str, dict]]) -> str:
    """The split x package table as markdown."""
    lines = ["| split | package | speakers | clips | minutes |", "|---|---|---|---|---|"]
    for split, rows in table.items():
        for package, row in rows.items():
            label = f"**{package}**" if package == "all" else package
            lines.append(f"| {split} | {label} | {row['speakers']} | {row['clips']} | {row['minutes']:.1f} |")
    return "\n".join(lines)


def _write_csv(path: Path, rows: Sequence[dict], columns: Sequence[str]) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def write_licences(path: Path, clips: Sequence[dict], versions: Dict[str, str]) -> None:
    """``LICENCES.md``: minutes, licence and its meaning per package, and what the licences may
    mean for model weights (an open question, stated as such: not legal advice)."""
    lines = ["# Licences of the recorded-speech corpus", "",
             "Every clip comes from a Debian 12 `main` package on the allow-list of NOTES.md section 5a; "
             "`manifest.csv` gives each clip's package, version, path inside the package and licence. "
             "The licences are those of the packages' `debian/copyright` files.", "",
             "| package | version | clips | minutes | licence | what the licence says |", "|---|---|---|---|---|---|"]
    for package, version in versions.items():
        sel = [c for c in clips if c["package"] == package]
        licences = sorted({c["licence"] for c in sel}) or [ALLOW_LIST[package].licence]
        note = f" ({ALLOW_LIST[package].note})" if ALLOW_LIST[package].note else ""
        lines.append(f"| {package} | {version} | {len(sel)} | {sum(c['seconds'] for c in sel) / 60:.1f} | "
                     f"{'; '.join(licences)} | {ALLOW_LIST[package].meaning}{note} |")
    total = sum(c["seconds"] for c in clips) / 60
    gpl = sum(c["seconds"] for c in clips if c["licence"] in ("GPL-2+", "GPL-2")) / 60
    lines += ["", f"In all {total:.1f} minutes, of which {gpl:.1f} ({100 * gpl / max(total, 1e-9):.0f} %) are under "
              "GPL-2+ or GPL-2.", "",
              "## Model weights", "",
              "Most of this audio is under the GNU GPL. The GPL governs copying, modifying and distributing the "
              "covered works; whether the weights of a model trained on GPL audio are a derivative work of that "
              "audio (and so would have to be distributed under the GPL, or could not be distributed under "
              "incompatible terms) is an open legal question, on which courts and licence authors have not settled "
              "an answer. The audio is not contained in the weights in any recognisable form, but that alone does "
              "not settle it. We therefore do not redistribute the audio: we distribute the corpus manifest "
              "(package, version, path and licence of every clip, so that anyone can rebuild the corpus from "
              "Debian), and every model card trained on it states these licences. This is a description of what "
              "we do, not legal advice; if it matters to you, ask a lawyer.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


# --- The builder ---------------------------------------------------------------------------------
def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def build_voices_corpus(out_dir, debs_dir=None, seed: int = 0, sample_rate: int = 8000,
                        packages: Optional[Sequence[str]] = None) -> dict:
    """Build (or find finished) the recorded-speech corpus in ``out_dir``; returns voices.json's
    content. ``packages`` defaults to the whole allow-list; any other package is refused (the
    NOTES rule). ``debs_dir``: a folder of ready .deb files instead of ``apt-get download``.

    Idempotent: if ``voices.json`` exists with the same settings (seed, sample rate, package
    versions), nothing is done. A half-finished build is resumed: downloads, unpacked packages
    and per-package decoded clips are reused; the split folders are rebuilt.
    """
    out_dir = Path(out_dir)
    packages = check_allowed(packages if packages is not None else list(ALLOW_LIST))
    out_dir.mkdir(parents=True, exist_ok=True)
    debs = fetch_debs(packages, out_dir, Path(debs_dir) if debs_dir is not None else None)
    versions = {p: deb_field(debs[p], "Version") for p in packages}
    settings = {"format": VOICES_FORMAT, "seed": seed, "sample_rate": sample_rate, "packages": versions,
                "processing": processing_settings(sample_rate),
                "split": {"target": SPLIT_TARGET, "band": list(SPLIT_BAND), "max_overshoot": SPLIT_MAX_OVERSHOOT,
                          "speaker_share": SPLIT_SPEAKER_SHARE, "candidates": SPLIT_CANDIDATES,
                          "tt_min_packages": TT_MIN_PACKAGES}}
    marker = out_dir / "voices.json"
    if marker.is_file():
        previous = json.loads(marker.read_text())
        if previous.get("settings") == settings:
            log.info("%s is complete with these settings: nothing to do", out_dir)
            return {**previous, "up_to_date": True}
        marker.unlink()  # another build: no stale marker while it runs

    roots = {p: unpack_deb(debs[p], p, versions[p], out_dir) for p in packages}
    picks: Dict[str, List[Tuple[str, Pick]]] = {}
    excluded: List[dict] = []
    seen: Dict[str, str] = {}
    for package in packages:
        picked, skipped = select_package(package, roots[package])
        excluded += [{"package": package, "path": rel, "reason": s.reason, "detail": s.detail} for rel, s in skipped]
        unique = []
        for rel, pick in picked:  # byte-identical files: the first in (allow-list, path) order stays
            digest = _sha1(roots[package] / rel)
            if digest in seen:
                excluded.append({"package": package, "path": rel, "reason": "duplicate", "detail": seen[digest]})
            else:
                seen[digest] = f"{package}:{rel}"
                unique.append((rel, pick))
        picks[package] = unique

    clips: List[dict] = []
    f0: Dict[str, List[float]] = defaultdict(list)
    with tqdm(total=sum(len(v) for v in picks.values()), desc="voices", unit="file") as progress:
        for package in packages:
            result = _process_package(package, versions[package], roots[package], picks[package], out_dir,
                                      sample_rate, progress)
            clips += result["clips"]
            excluded += result["excluded"]
            for speaker, values in result["f0"].items():
                f0[speaker] += values

    sexes = {speaker: estimate_sex(np.asarray(f0.get(speaker, []))) for speaker in sorted({c["speaker"] for c in clips})}
    groups: Dict[str, dict] = {}
    for clip in clips:
        clip["sex"] = sexes[clip["speaker"]][0]
        g = groups.setdefault(clip["group"], {"minutes": 0.0, "packages": set(), "sexes": set(), "speakers": set()})
        g["minutes"] += clip["seconds"] / 60
        g["packages"].add(clip["package"])
        g["sexes"].add(clip["sex"])
        g["speakers"].add(clip["speaker"])
    for g in groups.values():
        g["speakers"] = len(g["speakers"])
    assignment = split_groups(groups, seed)

    speakers_dir = out_dir / "speakers"
    shutil.rmtree(speakers_dir, ignore_errors=True)
    for clip in clips:
        clip["split"] = assignment[clip["group"]]
        name = clip["work"].rsplit("/", 1)[-1]
        clip["wav"] = f"speakers/{clip['split']}/{clip['speaker']}/{name}"
        _link(out_dir / "work" / clip["work"], out_dir / clip["wav"])
    clips.sort(key=lambda c: (SPLITS.index(c["split"]), c["speaker"], c["wav"]))
    _write_csv(out_dir / "manifest.csv", clips, MANIFEST_COLUMNS)
    excluded.sort(key=lambda e: (list(ALLOW_LIST).index(e["package"]), e["path"]))
    _write_csv(out_dir / "excluded.csv", excluded, EXCLUDED_COLUMNS)
    write_licences(out_dir / "LICENCES.md", clips, versions)

    exclusions = {p: dict(sorted(Counter(e["reason"] for e in excluded if e["package"] == p).items())) for p in packages}
    for package in packages:
        kept = [c for c in clips if c["package"] == package]
        log.info("%s %s: kept %d clips (%.1f min, %d speakers); left out %s", package, versions[package], len(kept),
                 sum(c["seconds"] for c in kept) / 60, len({c["speaker"] for c in kept}), exclusions[package] or "none")
    summary = {
        "settings": settings,
        "table": split_table(clips),
        "speakers": {s: {"sex": sexes[s][0], "median_f0_hz": None if np.isnan(sexes[s][1]) else round(sexes[s][1], 1),
                         "group": next(c["group"] for c in clips if c["speaker"] == s),
                         "split": next(c["split"] for c in clips if c["speaker"] == s),
                         "minutes": round(sum(c["seconds"] for c in clips if c["speaker"] == s) / 60, 2)}
                     for s in sexes},
        "excluded": exclusions,
        "minutes": round(sum(c["seconds"] for c in clips) / 60, 2),
    }
    tmp = marker.with_name(marker.name + ".part")
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    os.replace(tmp, marker)  # last: the completion marker
    return summary


MANIFEST_COLUMNS = ("package", "version", "path", "licence", "speaker", "group", "sex", "split", "seconds", "wav")
EXCLUDED_COLUMNS = ("package", "path", "reason", "detail")
