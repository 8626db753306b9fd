"""Fake corpora, toy settings and small models shared by the tests."""
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
FORMATS = (("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("ogg", "OGG", "VORBIS"))
F0 = (100.0, 140.0, 190.0, 250.0, 330.0)  # one pitch per speaker, far apart
# WSJ0 speakers and utterance ids in the real naming (speaker folder = first 3 characters).
FOLDERS = {"si_tr_s": ["01t", "40b", "20g", "01z"], "si_dt_05": ["050", "051"], "si_et_05": ["440", "441"]}


def write_sphere(path: Path, samples: np.ndarray, rate: int = 16000, coding: str = "pcm") -> None:
    """A NIST SPHERE file as on the WSJ0 disks (16-bit little-endian; 1024-byte header)."""
    fields = [
        "NIST_1A", "   1024", f"sample_count -i {len(samples)}", f"sample_rate -i {rate}", "channel_count -i 1",
        "sample_n_bytes -i 2", "sample_byte_format -s2 01", f"sample_coding -s{len(coding)} {coding}", "end_head",
    ]
    header = ("\n".join(fields) + "\n").encode().ljust(1024, b" ")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + samples.astype("<i2").tobytes())


def speech_like(rng, seconds: float, rate: int = 16000) -> np.ndarray:
    """Bursts of harmonic sound with pauses, so that the active level differs from the RMS."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = rng.uniform(90, 250)
    voiced = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    gate = (np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * t) > -0.2).astype(float)
    return (voiced * gate * rng.uniform(2000, 6000)).clip(-32768, 32767)


def write_fake_wsj0(root: Path) -> Path:
    """Disks 11-1.1 and 11-6.1 as LDC ships them, and MERL-style lists (zip) for 2 and 3 speakers."""
    rng = np.random.default_rng(0)
    utterances = {}
    for folder, speakers in FOLDERS.items():
        disk = "11-1.1" if folder == "si_tr_s" else "11-6.1"
        for speaker in speakers:
            for k in range(2):
                utt = f"{speaker}{'ac'[k]}010{k}"
                write_sphere(root / "disks" / disk / "wsj0" / folder / speaker / f"{utt}.wv1", speech_like(rng, rng.uniform(1.3, 2.0)))
                utterances.setdefault(folder, []).append(f"wsj0/{folder}/{speaker}/{utt}.wav")
    lists = root / "lists"
    lists.mkdir()
    pools = {"tr": utterances["si_tr_s"], "cv": utterances["si_tr_s"], "tt": utterances["si_dt_05"] + utterances["si_et_05"]}
    for n_src in (2, 3):
        for split, pool in pools.items():
            lines = []
            for i in range(4):
                paths = [pool[(i + 2 * j) % len(pool)] for j in range(n_src)]
                gains = [round(float(rng.uniform(-2.5, 2.5)), 5) for _ in range(n_src)]
                if n_src == 2:
                    gains[1] = -gains[0]
                lines.append(" ".join(f"{p} {g:g}" for p, g in zip(paths, gains)))
            (lists / f"mix_{n_src}_spk_{split}.txt").write_text("\n".join(lines) + "\n")
    with zipfile.ZipFile(root / "create-speaker-mixtures.zip", "w") as zf:
        for path in lists.iterdir():
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


# LibriSpeech: speakers per subset (disjoint, as in the real corpus), chapters per speaker, utterances per chapter.
LIBRI_SPEAKERS = {"train-clean-100": [103, 1034, 1040, 1069], "dev-clean": [84, 174, 251], "test-clean": [61, 121, 237]}


def write_fake_librispeech(root: Path, seed: int = 0) -> Path:
    """``root/LibriSpeech`` in the real layout: ``<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac``
    (16 kHz), a ``<spk>-<chapter>.trans.txt`` per chapter, and ``SPEAKERS.TXT``."""
    rng = np.random.default_rng(seed)
    libri = Path(root) / "LibriSpeech"
    speakers_txt = [";ID  |SEX| SUBSET           |MINUTES| NAME"]
    for subset, speakers in LIBRI_SPEAKERS.items():
        for spk in speakers:
            speakers_txt.append(f"{spk:<5}| {'F' if spk % 2 else 'M'} | {subset:<17}| 25.00 | Reader {spk}")
            for chapter in (spk * 10 + 1, spk * 10 + 2):
                folder = libri / subset / str(spk) / str(chapter)
                folder.mkdir(parents=True, exist_ok=True)
                lines = []
                for utt in range(2):
                    name = f"{spk}-{chapter}-{utt:04d}"
                    wav = 0.5 * voiced(rng, rng.uniform(0.6, 1.2), 16000, 90 + (spk % 13) * 12)
                    sf.write(folder / f"{name}.flac", wav, 16000, subtype="PCM_16", format="FLAC")
                    lines.append(f"{name} SOME WORDS OF CHAPTER {chapter}")
                (folder / f"{spk}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    (libri / "SPEAKERS.TXT").write_text("\n".join(speakers_txt) + "\n")
    return libri


def write_fake_wham_noise(root: Path, seed: int = 0) -> Path:
    """``root/wham_noise/{tr,cv,tt}/*.wav``: a few 16 kHz noise files per split."""
    rng = np.random.default_rng(seed)
    noise = Path(root) / "wham_noise"
    for split in ("tr", "cv", "tt"):
        (noise / split).mkdir(parents=True, exist_ok=True)
        for k in range(3):
            sf.write(noise / split / f"noise_{split}_{k}.wav", 0.05 * rng.standard_normal(int(16000 * rng.uniform(0.8, 1.5))), 16000, subtype="PCM_16")
    return noise


def write_fake_librimix_metadata(folder: Path, libri: Path, n_src: int, n_mixtures: int = 4, seed: int = 0) -> Path:
    """``folder/libri{n}mix_{dev,test,train-clean-100}.csv`` in the official columns, mixing distinct
    speakers of each subset with WHAM!'s noise of the matching split."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    noise_split = {"train-clean-100": "tr", "dev-clean": "cv", "test-clean": "tt"}
    for subset, speakers in LIBRI_SPEAKERS.items():
        files = {spk: sorted(p.relative_to(libri).as_posix() for p in (libri / subset / str(spk)).rglob("*.flac")) for spk in speakers}
        header = ["mixture_ID"] + [f"source_{k}_{c}" for k in range(1, n_src + 1) for c in ("path", "gain")] + ["noise_path", "noise_gain"]
        rows, seen = [], set()
        while len(rows) < n_mixtures:
            chosen = rng.choice(speakers, n_src, replace=False)
            paths = [files[spk][rng.integers(len(files[spk]))] for spk in chosen]
            if tuple(paths) in seen:  # mixture IDs are unique in the official metadata
                continue
            seen.add(tuple(paths))
            gains = rng.uniform(0.4, 1.2, n_src)
            row = ["_".join(Path(p).stem for p in paths)]
            for path, gain in zip(paths, gains):
                row += [path, f"{gain:.6f}"]
            rows.append(row + [f"{noise_split[subset]}/noise_{noise_split[subset]}_{rng.integers(3)}.wav", f"{rng.uniform(0.3, 1.0):.6f}"])
        name = subset if subset.startswith("train") else subset.split("-")[0]
        with open(folder / f"libri{n_src}mix_{name}.csv", "w") as handle:
            handle.write(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return folder


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
