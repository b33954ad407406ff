"""Datasets: the Sample type, the pack format, importers, splits, batch extraction."""

from sign2text.data.sample import Sample

__all__ = ["Sample"]
