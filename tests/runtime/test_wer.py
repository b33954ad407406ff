"""Word error rate (Levenshtein over words)."""

from __future__ import annotations

import pytest

from sign2text.runtime.wer import edit_distance, wer_counts, word_error_rate


def test_identical_is_zero() -> None:
    assert word_error_rate(["hello", "thank-you"], ["hello", "thank-you"]) == 0.0


def test_substitution_deletion_insertion() -> None:
    c = wer_counts(["a", "b", "c", "d"], ["a", "x", "c"])  # b->x, d deleted
    assert (c.substitutions, c.deletions, c.insertions) == (1, 1, 0)
    assert c.wer == pytest.approx(0.5)
    c = wer_counts(["a", "b"], ["a", "a", "b", "b"])
    assert (c.substitutions, c.deletions, c.insertions) == (0, 0, 2)
    assert c.wer == pytest.approx(1.0)


def test_order_matters() -> None:
    assert edit_distance(["a", "b", "c"], ["c", "b", "a"]) == 2


def test_empty_sequences() -> None:
    assert word_error_rate([], []) == 0.0
    assert word_error_rate(["a", "b"], []) == 1.0
    assert word_error_rate([], ["a", "b"]) == 2.0  # insertions over a 1-word floor


@pytest.mark.parametrize(
    ("ref", "hyp", "dist"),
    [("kitten", "sitting", 3), ("flaw", "lawn", 2), ("abc", "", 3), ("", "ab", 2), ("ab", "ab", 0)],
)
def test_matches_classic_levenshtein(ref: str, hyp: str, dist: int) -> None:
    assert edit_distance(list(ref), list(hyp)) == dist
