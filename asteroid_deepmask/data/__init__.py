"""Data: the offline synthetic-speech corpus and wsj0-mix metadata."""
from .corpus import generate_corpus, generate_split, plan_split, speakers_by_split, split_dir
from .metadata import write_wsj0mix_metadata
from .mixing import active_level, draw_gains_db, mix_sources

__all__ = [
    "generate_corpus",
    "generate_split",
    "plan_split",
    "speakers_by_split",
    "split_dir",
    "write_wsj0mix_metadata",
    "active_level",
    "draw_gains_db",
    "mix_sources",
]
