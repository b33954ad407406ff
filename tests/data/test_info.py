"""dataset_info against manifest.json for every shared pack, the raw samples, and by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sign2text.data.importers import list_videos, load_landmarks
from sign2text.data.importers.base import VideoItem
from sign2text.data.info import DatasetInfo, dataset_info, video_info
from sign2text.data.sample import Sample
from sign2text.landmarks.skeleton import FACE, LEFT_HAND, POSE, RIGHT_HAND, empty


def _manifest(data_dir: Path) -> dict[str, dict[str, Any]]:
    sources = json.loads((data_dir / "landmarks" / "manifest.json").read_text())["sources"]
    return {s["name"]: s for s in sources}


@pytest.fixture(scope="module")
def pack_infos(data_dir: Path) -> dict[str, DatasetInfo]:
    """Info of every pack, each loaded once (crowd.npz is 140 MB compressed)."""
    out: dict[str, DatasetInfo] = {}
    for name, source in _manifest(data_dir).items():
        out[name] = dataset_info(load_landmarks(data_dir / source["file"]))
    return out


PACKS = [
    "traduttore",
    "traduttore_letters",
    "bsl_bhutan",
    "adarsha_wlasl",
    "silfa_letters",
    "crowd",
]


def test_manifest_lists_the_expected_packs(data_dir: Path) -> None:
    assert sorted(_manifest(data_dir)) == sorted(PACKS)


@pytest.mark.parametrize("name", PACKS)
def test_pack_info_matches_manifest(
    name: str, data_dir: Path, pack_infos: dict[str, DatasetInfo]
) -> None:
    expected = _manifest(data_dir)[name]
    info = pack_infos[name]
    assert info.sequences == expected["sequences"]
    assert info.frames == expected["frames"]
    assert info.counts_per_label == expected["counts_per_label"]
    assert info.counts_per_signer == expected["counts_per_signer"]
    assert info.to_dict()["frames_per_sequence"] == expected["frames_per_sequence"]
    assert 0.0 < info.hand_rate <= 1.0


def test_pack_detection_rates_follow_the_readme(pack_infos: dict[str, DatasetInfo]) -> None:
    # Parts a source never stored are NaN everywhere (../shared/data/README.md).
    for name in ("traduttore", "bsl_bhutan", "adarsha_wlasl", "crowd", "traduttore_letters"):
        assert pack_infos[name].face_rate == 0.0, name
    assert pack_infos["traduttore_letters"].pose_rate == 0.0
    assert pack_infos["silfa_letters"].face_rate > 0.5
    assert pack_infos["adarsha_wlasl"].synthetic == 1077


def test_traduttore_sample_info(data_dir: Path) -> None:
    info = dataset_info(load_landmarks(data_dir / "samples" / "traduttore"))
    assert (info.sequences, info.frames) == (3, 60)
    assert info.frames_per_sequence == {20: 3}
    assert info.counts_per_label == {"coffee": 1, "hello": 1, "thank-you": 1}
    assert info.counts_per_signer == {"": 3}


def test_silfa_sample_info(data_dir: Path) -> None:
    info = dataset_info(load_landmarks(data_dir / "samples" / "silfa"))
    assert (info.sequences, info.frames) == (5, 5)
    assert info.counts_per_signer == {"100": 5}
    assert sorted(info.counts_per_label) == ["a", "c", "f", "k", "p"]


def _sample(lm: np.ndarray, label: str, signer: str = "") -> Sample:
    return Sample(landmarks=lm, label=label, signer=signer, source_id=label)


def test_rates_and_histogram_by_hand() -> None:
    a = empty(4)
    a[0, LEFT_HAND.start] = 0.5  # hand in frame 0 (one point is enough)
    a[1, RIGHT_HAND.start : RIGHT_HAND.stop] = 0.5  # hand in frame 1
    a[:, POSE.start : POSE.stop] = 0.3  # pose in every frame
    b = empty(2)
    b[1, FACE.start : FACE.stop] = 0.2
    b[1, LEFT_HAND.start : LEFT_HAND.stop] = 0.1
    info = dataset_info([_sample(a, "x", "p1"), _sample(b, "y", "p2"), _sample(b, "y", "p2")])
    assert info.sequences == 3 and info.frames == 8
    assert info.hand_rate == pytest.approx(4 / 8)
    assert info.pose_rate == pytest.approx(4 / 8)
    assert info.face_rate == pytest.approx(2 / 8)
    assert info.frames_per_sequence == {2: 2, 4: 1}
    assert list(info.counts_per_label) == ["y", "x"]  # most frequent first
    md = info.to_markdown()
    assert "| y | 2 |" in md and "| 3 | 8 | 2 | 2 | 50.0% | 50.0% | 25.0% |" in md
    text = info.to_text()
    assert "hand detection rate: 50.0% of frames" in text
    assert json.loads(json.dumps(info.to_dict()))["frames_per_sequence"] == {"2": 2, "4": 1}


def test_empty_dataset_info() -> None:
    info = dataset_info([])
    assert info.sequences == 0 and info.hand_rate == 0.0


def test_video_info(videos_dir: Path) -> None:
    info = video_info(list_videos(videos_dir))
    assert info.clips == 49
    assert info.counts_per_label["book"] == 2
    assert info.clips_per_label["yes"] == ["yes__Osushi2022__64287.mp4", "yes__sdb1228__yes.mp4"]
    items = [VideoItem(Path("a.mp4"), "a", "wlasl:1", "1", split="train")]
    assert video_info(items).counts_per_split == {"train": 1}
    assert "a (1): 1" in video_info(items).to_text()
