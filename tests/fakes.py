"""Fake corpora, toy settings and small models shared by the tests.

Fake corpora hold audio for exactly the names that verbatim excerpts of the official files list
(``fixtures/``, each folder with a SOURCE.md naming the repository, file and commit)."""
import csv
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asteroid_deepmask import (
    DeepMaskConvTasNet, DeepMaskDPRNNTasNet, DeepMaskDPTNet, OverseparationConvTasNet, OverseparationDPRNNTasNet,
    OverseparationDPTNet,
)  # fmt: skip

# A model and corpus small enough for a few seconds of training on two cores.
TOY_TRAIN_ARGS = (
    "--batch_size 2 --n_repeats 1 --bn_chan 16 --hid_size 16 --n_filters 32 --chunk_size 20 "
    "--hop_size 10 --segment 1.0 --num_workers 0 --checkpoint_every_n_steps 2 --mlp_hidden 16"
)
# Toy speaker folders (dynamic mixing, speaker mixtures): every rate and format, one pitch per speaker.
RATES = (8000, 16000, 22050, 44100)
FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = (("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS"))
F0 = (100.0, 140.0, 190.0, 250.0, 330.0)  # one pitch per speaker, far apart
FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = (("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS"))
F0 = (100.0, 140.0, 190.0, 250.0, 330.0)  # one pitch per speaker, far apart
# WSJ0 speakers and utterance ids in the real naming (speaker folder = first 3 characters).


def write_sphere(path: Path, samples: np.ndarray, rate: int = 16000, coding: str = "pcm") -> None:
    """A NIST SPHERE file in the header layout of the WSJ corpora's files (fields and spacing of the
    CSR header in NIST's SPHERE 2.7 documentation, fixtures/sphere/SOURCE.md), 16-bit little-endian
    PCM after the 1024-byte header; the utterance and speaker ids come from the file name."""
    samples = np.asarray(samples).astype("<i2")
    utt = path.stem
    fields = [
        "NIST_1A", "   1024", "microphone -s21     Sennheiser HMD414", "recording_site -s4  SRI",
        "database_id -s7     CSR-WSJ", "database_version -s3 1.0", f"utterance_id -s{len(utt)} {utt}",
        f"speaker_id -s3 {utt[:3]}", f"sample_count -i {len(samples)}", f"sample_min -i {samples.min()}",
        f"sample_max -i {samples.max()}", f"sample_checksum -i {int(samples.astype(np.int64).sum()) % 65536}",
        "channel_count -i 1", f"sample_rate -i {rate}", "sample_n_bytes -i 2", "sample_byte_format -s2 01",
        "sample_sig_bits -i 16", f"sample_coding -s{len(coding)} {coding}", "end_head",
    ]  # fmt: skip
    header = ("\n".join(fields) + "\n").encode().ljust(1024, b" ")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + samples.tobytes())


def speech_like(rng, seconds: float, rate: int = 16000) -> np.ndarray:
    """Bursts of harmonic sound with pauses, so that the active level differs from the RMS."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = rng.uniform(90, 250)
    voiced = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    gate = (np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * t) > -0.2).astype(float)
    return (voiced * gate * rng.uniform(2000, 6000)).clip(-32768, 32767)


# MERL's mixture lists, verbatim excerpts (fixtures/wsj0-mix/SOURCE.md).
WSJ0MIX_LISTS = FIXTURES / "wsj0-mix"
# The LDC93S6A disc of each folder the lists use (si_tr_s spans three discs).
WSJ0_DISCS = {"si_tr_s": ("11-1.1", "11-2.1", "11-3.1"), "si_dt_05": ("11-6.1",), "si_et_05": ("11-14.1",)}


def wsj0_list_paths() -> list:
    """Every utterance the fixture lists name, as they name it: ``wsj0/si_tr_s/40n/40na010x.wav``."""
    paths = set()
    for path in WSJ0MIX_LISTS.glob("mix_*_spk_*.txt"):
        for line in path.read_text().splitlines():
            paths.update(line.split()[0::2])
    return sorted(paths)


def write_fake_wsj0(root: Path) -> Path:
    """A fake WSJ0 kept as many sites keep it, under a folder itself named ``wsj0``:
    ``root/wsj0/<disc>/wsj0/<folder>/<speaker>/<utt>.wv1`` (SPHERE, PCM) for exactly the utterances the
    fixture lists name; those lists in ``root/lists`` and zipped as MERL ships them."""
    rng = np.random.default_rng(0)
    for listed in wsj0_list_paths():
        _, folder, speaker, name = listed.split("/")
        discs = WSJ0_DISCS[folder]
        disc = discs[sum(map(ord, speaker)) % len(discs)]  # each speaker on one disc
        write_sphere(root / "wsj0" / disc / "wsj0" / folder / speaker / f"{Path(name).stem}.wv1", speech_like(rng, rng.uniform(1.3, 2.0)))
    lists = root / "lists"
    lists.mkdir()
    with zipfile.ZipFile(root / "create-speaker-mixtures.zip", "w") as zf:
        for path in sorted(WSJ0MIX_LISTS.glob("mix_*_spk_*.txt")):
            (lists / path.name).write_bytes(path.read_bytes())
            zf.write(path, f"create-speaker-mixtures/{path.name}")
    return root


def write_sph2pipe_tarball(folder: Path, c_source: str, archive: Path) -> Path:
    """A sph2pipe source archive as downloaded: ``sph2pipe_v2.5/sph2pipe.c`` holding ``c_source``,
    staged in ``folder/src``, written to ``archive`` (.tar.gz)."""
    source = folder / "src" / "sph2pipe_v2.5"
    source.mkdir(parents=True)
    (source / "sph2pipe.c").write_text(c_source)
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(source, arcname="sph2pipe_v2.5")
    return archive


def voiced(rng, seconds: float, rate: int, f0: float) -> np.ndarray:
    """Harmonics of ``f0`` (1/k amplitudes) under a syllable-rate envelope that fades in and out."""
    t = np.arange(int(seconds * rate)) / rate
    wav = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 6))
    envelope = np.sin(np.pi * t / t[-1]) * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(3, 6) * t))
    wav = wav * envelope
    return (0.3 * wav / np.abs(wav).max()).astype(np.float32)


def write_clip(path: Path, wav: np.ndarray, rate: int, kind: int, stereo: int = 0) -> None:
    """``kind`` picks wav / flac / ogg; ``stereo`` 1 or 2 puts ``wav`` on that channel of two, the other empty."""
    _, fmt, subtype = FORMATS[kind % len(FORMATS)]
    if stereo:
        two = np.zeros((len(wav), 2), np.float32)
        two[:, stereo - 1] = wav
        wav = two
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wav, rate, format=fmt, subtype=subtype)


def write_speakers(root: Path, n_speakers: int = 5, clips: int = 3, seconds=(0.3, 1.5), seed: int = 0) -> Path:
    """ROOT/spk<k>/clip<j>.<ext>: every rate and format, every third clip stereo with one empty channel."""
    rng = np.random.default_rng(seed)
    for s in range(n_speakers):
        for c in range(clips):
            kind, rate = s * clips + c, RATES[(s + c) % len(RATES)]
            ext = FORMATS[kind % len(FORMATS)][0]
            write_clip(root / f"spk{s}" / f"clip{c}.{ext}", voiced(rng, rng.uniform(*seconds), rate, F0[s % len(F0)]),
                       rate, kind, stereo=(0, 1, 2)[kind % 3] if kind % 2 else 0)
    return root


# A LibriMix checkout's metadata, verbatim excerpts of the official files (fixtures/LibriMix/SOURCE.md).
LIBRIMIX_CHECKOUT = FIXTURES / "LibriMix"


def librimix_rows(n_src=(2, 3)) -> list:
    """The rows of the official mixture CSVs (not the *_info.csv) of the fixture checkout."""
    rows = []
    for n in n_src:
        for path in sorted((LIBRIMIX_CHECKOUT / "metadata" / f"Libri{n}Mix").glob("*.csv")):
            if "info" not in path.name:
                with open(path, newline="") as handle:
                    rows += list(csv.DictReader(handle))
    return rows


def librispeech_paths() -> list:
    """Every LibriSpeech file the fixture metadata names: ``<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac``."""
    return sorted({row[key] for row in librimix_rows() for key in row if key.startswith("source_") and key.endswith("_path")})


def libri_speakers() -> dict:
    """{LibriSpeech subset: [speaker ids]} of the fixture metadata."""
    speakers = {}
    for path in librispeech_paths():
        subset, speaker = path.split("/")[:2]
        speakers.setdefault(subset, set()).add(speaker)
    return {subset: sorted(s) for subset, s in speakers.items()}


def write_fake_librispeech(root: Path, seed: int = 0) -> Path:
    """``root/LibriSpeech`` in the real layout, with a short 16 kHz flac for exactly the files the fixture
    metadata names, and a ``<spk>-<chapter>.trans.txt`` per chapter."""
    rng = np.random.default_rng(seed)
    libri = Path(root) / "LibriSpeech"
    transcripts = {}
    for relative in librispeech_paths():
        path = libri / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        speaker = int(path.parent.parent.name)
        wav = 0.5 * voiced(rng, rng.uniform(0.6, 1.2), 16000, 90 + (speaker % 13) * 12)
        sf.write(path, wav, 16000, subtype="PCM_16", format="FLAC")
        transcripts.setdefault(path.parent, []).append(f"{path.stem} SOME WORDS")
    for folder, lines in transcripts.items():
        (folder / f"{folder.parent.name}-{folder.name}.trans.txt").write_text("\n".join(sorted(lines)) + "\n")
    return libri


def write_fake_wham_noise(root: Path, seed: int = 0) -> Path:
    """``root/wham_noise/{tr,cv,tt}/<name>.wav`` for every noise the fixture metadata names: two-channel
    16 kHz as WHAM!'s, some shorter than their sources (the official generator loops those)."""
    rng = np.random.default_rng(seed)
    noise = Path(root) / "wham_noise"
    for relative in sorted({row["noise_path"] for row in librimix_rows()}):
        (noise / relative).parent.mkdir(parents=True, exist_ok=True)
        sf.write(noise / relative, 0.05 * rng.standard_normal((int(16000 * rng.uniform(0.6, 1.5)), 2)), 16000, subtype="PCM_16")
    return noise


# The six model classes at the sizes of Asteroid's own tests.
SMALL = {
    "DPRNNTasNet": dict(n_repeats=2, bn_chan=16, hid_size=4, chunk_size=20, n_filters=32),
    "ConvTasNet": dict(n_repeats=2, n_blocks=2, bn_chan=16, hid_chan=4, skip_chan=8, n_filters=32),
    "DPTNet": dict(ff_hid=10, chunk_size=4, n_repeats=2),
}
HEADS = {OverseparationDPRNNTasNet: dict(n_outputs=4), DeepMaskDPRNNTasNet: dict(mlp_hidden=8),
         OverseparationConvTasNet: dict(n_outputs=4), DeepMaskConvTasNet: dict(mlp_hidden=8),
         OverseparationDPTNet: dict(n_outputs=4), DeepMaskDPTNet: dict(mlp_hidden=8)}  # fmt: skip
MODELS = [pytest.param(cls, id=cls.__name__) for cls in HEADS]


def small(model_class, **kwargs):
    return model_class(n_src=2, **SMALL[model_class.asteroid_model], **HEADS[model_class], **kwargs)
