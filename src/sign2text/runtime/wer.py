"""Word error rate: Levenshtein distance between word sequences, over the reference length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WerCounts:
    """Substitutions, deletions and insertions of a minimal alignment."""

    substitutions: int
    deletions: int
    insertions: int
    ref_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        """errors / reference words (errors / 1 when the reference is empty)."""
        return self.errors / max(self.ref_words, 1)


def wer_counts(ref: Sequence[str], hyp: Sequence[str]) -> WerCounts:
    """Minimal edit alignment of ``hyp`` to ``ref`` (ties prefer substitutions)."""
    n, m = len(ref), len(hyp)
    # cost[i][j] = (edits, subs, dels, ins) turning ref[:i] into hyp[:j]
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, m + 1):
            d, s, de, ins = prev[j - 1]
            same = ref[i - 1] == hyp[j - 1]
            options = [
                (d + (0 if same else 1), s + (0 if same else 1), de, ins),
                (prev[j][0] + 1, prev[j][1], prev[j][2] + 1, prev[j][3]),
                (cur[j - 1][0] + 1, cur[j - 1][1], cur[j - 1][2], cur[j - 1][3] + 1),
            ]
            cur.append(min(options, key=lambda o: o[0]))
        prev = cur
    _, subs, dels, ins = prev[m]
    return WerCounts(substitutions=subs, deletions=dels, insertions=ins, ref_words=n)


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences."""
    return wer_counts(ref, hyp).errors


def word_error_rate(ref: Sequence[str], hyp: Sequence[str]) -> float:
    """(substitutions + deletions + insertions) / len(ref); len(hyp) if ``ref`` is empty."""
    return wer_counts(ref, hyp).wer
