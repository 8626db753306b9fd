"""Fake corpora and toy settings shared by the data and recipe tests."""
import zipfile
from pathlib import Path

import numpy as np

# A model and corpus small enough for a few seconds of training on two cores.
TOY_TRAIN_ARGS = (
    "--batch_size 2 --n_repeats 1 --bn_chan 16 --hid_size 16 --n_filters 32 --chunk_size 20 "
    "--hop_size 10 --segment 1.0 --num_workers 0 --checkpoint_every_n_steps 2 --mlp_hidden 16"
)
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
