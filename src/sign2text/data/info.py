"""Summaries of a dataset: counts per label and signer, lengths, detection rates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.importers.base import VideoItem
from sign2text.data.sample import Sample
from sign2text.landmarks.skeleton import FACE, LEFT_HAND, POSE, RIGHT_HAND, Part


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    """Most frequent first, ties by name (a stable, readable order)."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _seen(landmarks: NDArray[Any], part: Part) -> NDArray[Any]:
    """Per frame: was ``part`` detected (some point not NaN)."""
    return np.asarray(~np.isnan(landmarks[:, part.start : part.stop, 0]).all(axis=1))


def _rate(hits: int, total: int) -> float:
    return hits / total if total else 0.0


@dataclass(frozen=True)
class DatasetInfo:
    """Counts and detection rates of a landmark dataset.

    Rates are fractions of all frames: ``hand_rate`` of frames with at least one hand,
    ``pose_rate`` and ``face_rate`` of frames with that part.
    """

    sequences: int
    frames: int
    counts_per_label: dict[str, int]
    counts_per_signer: dict[str, int]
    frames_per_sequence: dict[int, int]
    hand_rate: float
    pose_rate: float
    face_rate: float
    synthetic: int = 0
    counts_per_split: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (histogram keys become strings, as in manifest.json)."""
        d = asdict(self)
        d["frames_per_sequence"] = {str(k): v for k, v in self.frames_per_sequence.items()}
        return d

    def to_markdown(self) -> str:
        """A Markdown report: totals, rates, then tables per label, signer and length."""
        lines = [
            "| sequences | frames | labels | signers | hand rate | pose rate | face rate |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| {self.sequences} | {self.frames} | {len(self.counts_per_label)} "
            f"| {len(self.counts_per_signer)} | {self.hand_rate:.1%} | {self.pose_rate:.1%} "
            f"| {self.face_rate:.1%} |",
        ]
        if self.synthetic:
            lines += ["", f"Synthetic (augmented) sequences: {self.synthetic}"]
        lines += _table("label", self.counts_per_label)
        lines += _table("signer", {k or "(unknown)": v for k, v in self.counts_per_signer.items()})
        if self.counts_per_split:
            lines += _table("split", self.counts_per_split)
        lines += _table("frames/sequence", {str(k): v for k, v in self.frames_per_sequence.items()})
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """A plain-text report for terminals."""
        lines = [
            f"sequences: {self.sequences}",
            f"frames: {self.frames}",
            f"labels: {len(self.counts_per_label)}",
            f"signers: {len(self.counts_per_signer)}",
            f"hand detection rate: {self.hand_rate:.1%} of frames",
            f"pose detection rate: {self.pose_rate:.1%} of frames",
            f"face detection rate: {self.face_rate:.1%} of frames",
        ]
        if self.synthetic:
            lines.append(f"synthetic sequences: {self.synthetic}")
        lines += _block("per label", self.counts_per_label)
        lines += _block(
            "per signer", {k or "(unknown)": v for k, v in self.counts_per_signer.items()}
        )
        if self.counts_per_split:
            lines += _block("per split", self.counts_per_split)
        lines += _block(
            "frames per sequence", {str(k): v for k, v in self.frames_per_sequence.items()}
        )
        return "\n".join(lines) + "\n"


def _table(name: str, counts: dict[str, int]) -> list[str]:
    return ["", f"| {name} | sequences |", "| --- | --- |"] + [
        f"| {k} | {v} |" for k, v in counts.items()
    ]


def _block(title: str, counts: dict[str, int]) -> list[str]:
    width = max((len(k) for k in counts), default=0)
    return ["", f"{title}:"] + [f"  {k:<{width}}  {v}" for k, v in counts.items()]


def dataset_info(samples: Iterable[Sample]) -> DatasetInfo:
    """Summarise ``samples`` (one pass; landmarks are not copied)."""
    labels: Counter[str] = Counter()
    signers: Counter[str] = Counter()
    splits: Counter[str] = Counter()
    lengths: Counter[int] = Counter()
    frames = hands = pose = face = synthetic = 0
    for s in samples:
        labels[s.label] += 1
        signers[s.signer] += 1
        lengths[s.frames] += 1
        if s.split:
            splits[s.split] += 1
        synthetic += s.synthetic
        frames += s.frames
        lm = s.landmarks
        hands += int((_seen(lm, LEFT_HAND) | _seen(lm, RIGHT_HAND)).sum())
        pose += int(_seen(lm, POSE).sum())
        face += int(_seen(lm, FACE).sum())
    return DatasetInfo(
        sequences=sum(labels.values()),
        frames=frames,
        counts_per_label=_sorted_counts(labels),
        counts_per_signer=_sorted_counts(signers),
        frames_per_sequence=dict(sorted(lengths.items())),
        hand_rate=_rate(hands, frames),
        pose_rate=_rate(pose, frames),
        face_rate=_rate(face, frames),
        synthetic=synthetic,
        counts_per_split=_sorted_counts(splits) if splits else None,
    )


@dataclass(frozen=True)
class VideoDatasetInfo:
    """Counts of a video dataset (clips are listed, not decoded)."""

    clips: int
    counts_per_label: dict[str, int]
    counts_per_signer: dict[str, int]
    counts_per_split: dict[str, int] | None
    clips_per_label: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    def to_text(self) -> str:
        """A plain-text report: totals, then the clips of each label."""
        lines = [
            f"clips: {self.clips}",
            f"labels: {len(self.counts_per_label)}",
            f"signers: {len(self.counts_per_signer)}",
        ]
        lines += _block(
            "per signer", {k or "(unknown)": v for k, v in self.counts_per_signer.items()}
        )
        if self.counts_per_split:
            lines += _block("per split", self.counts_per_split)
        lines += ["", "clips per label:"]
        for label, clips in self.clips_per_label.items():
            lines.append(f"  {label} ({len(clips)}): {', '.join(clips)}")
        return "\n".join(lines) + "\n"


def video_info(items: Sequence[VideoItem]) -> VideoDatasetInfo:
    """Summarise the clips of a video dataset."""
    labels = Counter(i.label for i in items)
    splits = Counter(i.split for i in items if i.split)
    per_label: dict[str, list[str]] = {}
    for item in sorted(items, key=lambda i: (i.label, i.source_id)):
        per_label.setdefault(item.label, []).append(item.source_id)
    return VideoDatasetInfo(
        clips=len(items),
        counts_per_label=_sorted_counts(labels),
        counts_per_signer=_sorted_counts(Counter(i.signer for i in items)),
        counts_per_split=_sorted_counts(splits) if splits else None,
        clips_per_label=per_label,
    )
