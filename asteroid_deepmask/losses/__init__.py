"""Losses: dynamic grouping of overseparated outputs (:mod:`asteroid_deepmask.losses.grouping`)."""
from .grouping import (
    DynamicGroupingLoss,
    GramStats,
    count_labelings,
    contiguous_labels,
    exact_search,
    gram_statistics,
    group_by_labels,
    group_without_references,
    grouping_neg_snr,
    iter_labelings,
    labelings,
    local_search,
)

__all__ = [
    "DynamicGroupingLoss",
    "GramStats",
    "count_labelings",
    "contiguous_labels",
    "exact_search",
    "gram_statistics",
    "group_by_labels",
    "group_without_references",
    "grouping_neg_snr",
    "iter_labelings",
    "labelings",
    "local_search",
]
