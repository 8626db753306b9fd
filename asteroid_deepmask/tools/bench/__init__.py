"""Benchmarks: they print numbers and assert nothing (``asteroid-deepmask benchmark``): training steps, CPU inference, the
voices loader against training, and the dynamic-grouping loss."""
