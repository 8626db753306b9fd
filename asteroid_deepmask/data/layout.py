"""The wsj0-mix layout every corpus here is written in, and the json metadata that Asteroid's
``Wsj0mixDataset`` reads: ``mix.json``, ``s1.json``, ...

Folders: ``{root}/{n}speakers/wav8k/min/{tr,cv,tt}/{mix,s1,s2[,s3]}/NAME.wav``. Each json file is a
list of ``[absolute wav path, number of samples]``, in the same order in every file.
"""
from pathlib import Path

import soundfile as sf

from .io import write_json_atomic

SPLITS = ("tr", "cv", "tt")  # training, validation (cv) and test (tt), in this order everywhere


def wsj0mix_root(root, n_src: int) -> Path:
    """``{root}/{n}speakers/wav8k/min``: the folder holding the splits."""
    return Path(root) / f"{n_src}speakers" / "wav8k" / "min"


def split_dir(root, n_src: int, split: str) -> Path:
    return wsj0mix_root(root, n_src) / split


def write_wsj0mix_metadata(split_dir, json_dir, n_src: int) -> Path:
    """Scan a wsj0-mix split folder (``mix/``, ``s1/``, ...) and write its json files to ``json_dir``.

    Raises:
        FileNotFoundError: the split has no mixtures, or a source file is missing.
    """
    split_dir, json_dir = Path(split_dir).resolve(), Path(json_dir)
    mixtures = sorted((split_dir / "mix").glob("*.wav"))
    if not mixtures:
        raise FileNotFoundError(f"No mixtures in {split_dir / 'mix'}: expected wsj0-mix's mix/*.wav.")
    infos = {"mix": []}
    infos.update({f"s{k}": [] for k in range(1, n_src + 1)})
    for mix in mixtures:
        n_samples = sf.info(str(mix)).frames
        infos["mix"].append([str(mix), n_samples])
        for k in range(1, n_src + 1):
            source = split_dir / f"s{k}" / mix.name
            if not source.exists():
                raise FileNotFoundError(f"{source} is missing: every mixture needs s1..s{n_src}.")
            infos[f"s{k}"].append([str(source), n_samples])
    json_dir.mkdir(parents=True, exist_ok=True)
    for name, info in infos.items():
        write_json_atomic(json_dir / f"{name}.json", info, indent=1)
    return json_dir
