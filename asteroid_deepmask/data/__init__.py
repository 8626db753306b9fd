"""Data: the datasets the recipes train and evaluate on, and (in :mod:`.prep`) the preparation of
the corpora they read.

Layout, lower modules first; data flows one way (``datasets`` and ``prep`` import the lower
modules, never each other, and the lower modules import neither)::

    io.py           reading audio (read_mono), atomic writes (atomic_path, write_wav_atomic, ...),
                    completion markers (completed, mark_complete)
    layout.py       the wsj0-mix layout (SPLITS, split_dir) and its json metadata (write_wsj0mix_metadata)
    levels.py       the active level, by a named method: "frames" or ITU-T P.56 ("p56")
    mixing.py       the one mixer (mix_sources), source gains, rescaling
    augment.py      data augmentation for dynamic mixing
    speakers.py     SpeakerBank: a folder of speaker folders, decoded, cached, drawn from
    dynamic_mix.py  DynamicMixDataset and EpochSampler: training mixtures made on the fly
    datasets.py     make_dataset, make_training_dataset, check_json_dir, WhamrDataset
    prep/           corpus preparation: external programs and downloads, the synthetic (TTS) corpus,
                    fixed speaker mixtures, WSJ0 conversion, wsj0-mix, WHAMR!, the recorded-speech corpus

The dataset API is re-exported here.
"""
from .augment import Augmenter
from .datasets import WhamrDataset, check_json_dir, make_dataset, make_training_dataset
from .dynamic_mix import DynamicMixDataset, EpochSampler
from .layout import SPLITS, split_dir, write_wsj0mix_metadata
from .levels import active_level
from .mixing import draw_gains_db, mix_sources
from .speakers import SpeakerBank

__all__ = [
    "make_dataset", "make_training_dataset", "check_json_dir", "WhamrDataset", "DynamicMixDataset", "EpochSampler",
    "SpeakerBank", "Augmenter", "active_level", "draw_gains_db", "mix_sources", "SPLITS", "split_dir",
    "write_wsj0mix_metadata",
]  # fmt: skip
