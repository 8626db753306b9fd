r"""Grouping P overseparated outputs into C sources.

The paper sums the P branch estimates in C fixed contiguous groups
(:func:`asteroid_deepmask.masknn.head.group_masks`). Dynamic grouping instead chooses, per
example, the labelling :math:`l \in \{0..C-1\}^P` of the outputs of lowest cost; with labelled
targets this search also covers PIT over sources.

- :mod:`.labels`: labellings, the contiguous one, their count, group sums;
- :mod:`.objective`: a labelling's cost from Gram matrices (never from waveforms);
- :mod:`.search`: exhaustive, local and fixed searches of the best labelling;
- :mod:`.blind`: grouping without references, what a dynamically grouped model runs at inference.

The training loss built on them is :class:`asteroid_deepmask.losses.DynamicGroupingLoss`. Nothing
here imports from the models or above: the models import :func:`group_without_references`.
"""
from .blind import group_without_references
from .labels import contiguous_labels, count_labelings, group_by_labels
from .objective import GramStats, gram_statistics, snr_objective
from .search import exact_search, local_search

__all__ = [
    "GramStats", "contiguous_labels", "count_labelings", "exact_search", "gram_statistics", "group_by_labels",
    "group_without_references", "local_search", "snr_objective",
]  # fmt: skip
