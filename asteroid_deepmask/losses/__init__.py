"""Losses: dynamic grouping of overseparated outputs (:mod:`.dynamic_grouping`); the search it runs
is :mod:`asteroid_deepmask.grouping`."""
from .dynamic_grouping import DynamicGroupingLoss

__all__ = ["DynamicGroupingLoss"]
