"""Importers: real samples, every MP_Data layout, GISLR, .pose, video layouts, safety."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sign2text.data.importers import (
    LANDMARK_IMPORTERS,
    VIDEO_IMPORTERS,
    detect_format,
    detect_video_layout,
    list_videos,
    load_landmarks,
)
from sign2text.data.importers._common import normalize_label
from sign2text.data.importers.mp_data import load_mp_data
from sign2text.data.importers.pose_files import read_pose_file, write_pose
from sign2text.data.importers.wlasl import scan_wlasl
from sign2text.data.pack import read_pack
from sign2text.data.sample import Sample
from sign2text.errors import DatasetError, DependencyError, PathEscapeError
from sign2text.landmarks.skeleton import FACE, LEFT_HAND, POSE, RIGHT_HAND


def test_builtin_importers_are_registered() -> None:
    assert {"pack", "mp_data", "gislr", "pose"} <= set(LANDMARK_IMPORTERS.names())
    assert {"wlasl", "folder", "flat"} <= set(VIDEO_IMPORTERS.names())


@pytest.mark.parametrize(
    ("raw", "label"),
    [("-", "_none_"), ("_", "_none_"), ("Hello", "hello"), ("Thank You", "thank-you"),
     ("what's_up", "whats-up"), ("thank-you", "thank-you")],
)  # fmt: skip
def test_normalize_label(raw: str, label: str) -> None:
    assert normalize_label(raw) == label


# --- mp_data -------------------------------------------------------------------------


def test_traduttore_sample_matches_the_pack(data_dir: Path) -> None:
    root = data_dir / "samples" / "traduttore"
    assert detect_format(root) == "mp_data"
    samples = load_landmarks(root)
    assert [(s.label, s.frames, s.signer) for s in samples] == [
        ("coffee", 20, ""),
        ("hello", 20, ""),
        ("thank-you", 20, ""),
    ]
    assert [s.source_id for s in samples] == ["coffee/0", "hello/0", "thank-you/0"]
    # The shared pack was built from the same files: same values once stored as float16.
    pack = {s.source_id: s for s in read_pack(data_dir / "landmarks" / "traduttore.npz")}
    for s in samples:
        ref = pack[f"MP_Data/{s.source_id}"].landmarks.astype(np.float32)
        got = s.landmarks.astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(got, ref)
    # Face was never stored: NaN; both parts of the layout are present somewhere.
    assert np.isnan(samples[0].landmarks[:, FACE.start : FACE.stop]).all()
    assert not np.isnan(samples[0].landmarks[:, POSE.start : POSE.stop]).all()


def test_mp_data_root_or_parent_and_signer(data_dir: Path) -> None:
    inner = data_dir / "samples" / "traduttore" / "MP_Data"
    samples = load_mp_data(inner, signer="alice")
    assert len(samples) == 3
    assert {s.signer for s in samples} == {"alice"}


def _write_seq(folder: Path, vectors: list[np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(vectors):
        np.save(folder / f"{i}.npy", v)


def _vec(length: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 0.9, length)


def test_mp_data_1662_layout(tmp_path: Path) -> None:
    v = _vec(1662, 0)
    _write_seq(tmp_path / "MP_Data" / "Eat" / "0", [v])
    (s,) = load_landmarks(tmp_path)
    lm = s.landmarks[0]
    np.testing.assert_allclose(lm[POSE.start : POSE.stop], v[:132].reshape(33, 4)[:, :3], 1e-6)
    np.testing.assert_allclose(lm[FACE.start : FACE.stop], v[132:1536].reshape(468, 3), 1e-6)
    np.testing.assert_allclose(lm[LEFT_HAND.start : LEFT_HAND.stop], v[1536:1599].reshape(21, 3))
    np.testing.assert_allclose(lm[RIGHT_HAND.start : RIGHT_HAND.stop], v[1599:].reshape(21, 3))
    assert s.label == "eat" and s.source_id == "Eat/0" and s.landmarks.dtype == np.float32


def test_mp_data_170_layout_fills_eleven_pose_points(tmp_path: Path) -> None:
    v = _vec(170, 1)
    _write_seq(tmp_path / "MP_Data" / "go" / "0", [v])
    (s,) = load_mp_data(tmp_path)
    pose = s.landmarks[0, POSE.start : POSE.stop]
    kept = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26]
    np.testing.assert_allclose(pose[kept], v[:44].reshape(11, 4)[:, :3], 1e-6)
    others = [i for i in range(33) if i not in kept]
    assert np.isnan(pose[others]).all()
    np.testing.assert_allclose(s.landmarks[0, LEFT_HAND.start : LEFT_HAND.stop].ravel(), v[44:107])
    np.testing.assert_allclose(s.landmarks[0, RIGHT_HAND.start : RIGHT_HAND.stop].ravel(), v[107:])


def test_mp_data_126_zero_parts_and_numeric_frame_order(tmp_path: Path) -> None:
    vectors = []
    for i in range(12):
        v = np.zeros(126)
        v[0] = i + 1  # left hand present, marks the frame number
        vectors.append(v)
    vectors[3][:] = 0  # nothing detected in frame 3
    _write_seq(tmp_path / "MP_Data" / "-" / "7", vectors)
    (s,) = load_mp_data(tmp_path)
    assert s.label == "_none_"
    left = s.landmarks[:, LEFT_HAND.start, 0]
    # 10.npy and 11.npy come after 9.npy (numeric, not lexical, order)
    np.testing.assert_array_equal(np.delete(left, 3), np.delete(np.arange(1, 13.0), 3))
    assert np.isnan(s.landmarks[3]).all()
    assert np.isnan(s.landmarks[:, RIGHT_HAND.start : RIGHT_HAND.stop]).all()
    assert np.isnan(s.landmarks[:, POSE.start : POSE.stop]).all()


def test_mp_data_garbage_npy_names_the_file(tmp_path: Path) -> None:
    seq = tmp_path / "MP_Data" / "hi" / "0"
    _write_seq(seq, [_vec(258, 2)])
    (seq / "1.npy").write_bytes(b"this is not numpy")
    with pytest.raises(DatasetError, match=r"1\.npy"):
        load_mp_data(tmp_path)


def test_mp_data_wrong_length_names_the_file(tmp_path: Path) -> None:
    _write_seq(tmp_path / "MP_Data" / "hi" / "0", [_vec(258, 3), _vec(100, 4)])
    with pytest.raises(DatasetError, match=r"hi/0/1\.npy.*\(100,\)"):
        load_mp_data(tmp_path)


def test_mp_data_mixed_lengths_names_the_file(tmp_path: Path) -> None:
    _write_seq(tmp_path / "MP_Data" / "hi" / "0", [_vec(258, 3), _vec(126, 4)])
    with pytest.raises(DatasetError, match=r"1\.npy"):
        load_mp_data(tmp_path)


def test_mp_data_pickle_is_refused_not_executed(tmp_path: Path) -> None:
    seq = tmp_path / "MP_Data" / "hi" / "0"
    seq.mkdir(parents=True)
    np.save(seq / "0.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match=r"0\.npy"):
        load_mp_data(tmp_path)


def test_unknown_layout_lists_the_formats(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(DatasetError, match="gislr, mp_data, pack, pose"):
        load_landmarks(tmp_path)
    with pytest.raises(DatasetError, match="valid names"):
        load_landmarks(tmp_path, "nope")


def test_mp_data_symlinked_word_folder_outside_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write_seq(outside / "0", [_vec(258, 5)])
    root = tmp_path / "ds" / "MP_Data"
    _write_seq(root / "ok" / "0", [_vec(258, 6)])
    (root / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathEscapeError, match="evil"):
        load_mp_data(tmp_path / "ds")
    with pytest.raises(PathEscapeError, match="evil"):
        load_landmarks(tmp_path / "ds")  # detected as mp_data, then refused


def test_mp_data_symlinked_frame_outside_root(tmp_path: Path) -> None:
    np.save(tmp_path / "secret.npy", _vec(258, 7))
    seq = tmp_path / "ds" / "MP_Data" / "ok" / "0"
    _write_seq(seq, [_vec(258, 8)])
    (seq / "1.npy").symlink_to(tmp_path / "secret.npy")
    with pytest.raises(PathEscapeError, match=r"1\.npy"):
        load_mp_data(tmp_path / "ds")


def test_mp_data_symlink_inside_root_is_allowed(tmp_path: Path) -> None:
    root = tmp_path / "MP_Data"
    _write_seq(root / "a" / "0", [_vec(258, 9)])
    (root / "b").symlink_to(root / "a", target_is_directory=True)
    assert [s.label for s in load_mp_data(tmp_path)] == ["a", "b"]


# --- pack ----------------------------------------------------------------------------


def test_pack_detect_and_bad_pack_names_file(tmp_path: Path, data_dir: Path) -> None:
    pack = data_dir / "landmarks" / "silfa_letters.npz"
    assert detect_format(pack) == "pack"
    assert len(load_landmarks(pack)) == 558
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DatasetError, match=r"bad\.npz"):
        load_landmarks(bad)


# --- gislr ---------------------------------------------------------------------------


def test_silfa_sample_matches_the_pack(data_dir: Path) -> None:
    root = data_dir / "samples" / "silfa"
    assert detect_format(root) == "gislr"
    samples = load_landmarks(root)
    assert [s.label for s in samples] == ["a", "c", "f", "k", "p"]
    assert {s.signer for s in samples} == {"100"}
    assert all(s.frames == 1 for s in samples)
    pack = {s.source_id: s for s in read_pack(data_dir / "landmarks" / "silfa_letters.npz")}
    for s in samples:
        ref = pack[s.source_id].landmarks.astype(np.float32)
        np.testing.assert_array_equal(s.landmarks.astype(np.float16).astype(np.float32), ref)


def _gislr_table(frames: list[int], int_type: object) -> object:
    rows: dict[str, list[object]] = {k: [] for k in ("frame", "row_id", "type")}
    rows |= {"landmark_index": [], "x": [], "y": [], "z": []}
    for f in frames:
        for part, n in (("face", 468), ("left_hand", 21), ("pose", 33), ("right_hand", 21)):
            for i in range(n):
                rows["frame"].append(f)
                rows["row_id"].append(f"{f}-{part}-{i}")
                rows["type"].append(part)
                rows["landmark_index"].append(i)
                present = not (part == "right_hand" and f == frames[0])
                rows["x"].append(f / 100 + i / 1000 if present else None)
                rows["y"].append(0.5 if present else None)
                rows["z"].append(-0.1 if present else None)
    schema = pa.schema(
        [("frame", int_type), ("row_id", pa.string()), ("type", pa.string()),
         ("landmark_index", int_type), ("x", pa.float32()), ("y", pa.float32()),
         ("z", pa.float32())]
    )  # fmt: skip
    return pa.table(rows, schema=schema)


def _gislr_dataset(root: Path, int_type: object) -> None:
    (root / "files" / "7").mkdir(parents=True)
    pq.write_table(_gislr_table([20, 21, 22], int_type), root / "files" / "7" / "1.parquet")
    (root / "train.csv").write_text(
        "path,participant_id,sequence_id,sign\nfiles/7/1.parquet,7,1,TV\n"
    )


@pytest.mark.parametrize("int_type", ["int16", "int64"])
def test_gislr_int16_and_int64_columns(tmp_path: Path, int_type: str) -> None:
    _gislr_dataset(tmp_path, pa.int16() if int_type == "int16" else pa.int64())
    (s,) = load_landmarks(tmp_path / "train.csv")
    assert (s.label, s.signer, s.source_id, s.frames) == ("tv", "7", "files/7/1.parquet", 3)
    assert s.landmarks[1, LEFT_HAND.start + 2, 0] == pytest.approx(0.21 + 0.002)
    assert np.isnan(s.landmarks[0, RIGHT_HAND.start : RIGHT_HAND.stop]).all()
    assert not np.isnan(s.landmarks[1:, RIGHT_HAND.start : RIGHT_HAND.stop]).any()


def test_gislr_truncated_parquet_names_the_file(tmp_path: Path) -> None:
    _gislr_dataset(tmp_path, pa.int16())
    file = tmp_path / "files" / "7" / "1.parquet"
    file.write_bytes(file.read_bytes()[:200])
    with pytest.raises(DatasetError, match=r"1\.parquet"):
        load_landmarks(tmp_path)


def test_gislr_path_escape(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    (root / "train.csv").write_text(
        "path,participant_id,sequence_id,sign\n../outside.parquet,1,1,a\n"
    )
    with pytest.raises(PathEscapeError, match=r"outside\.parquet"):
        load_landmarks(root)


def test_gislr_none_present_and_bad_csv(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("path,participant_id,sequence_id,sign\nx.parquet,1,1,a\n")
    with pytest.raises(DatasetError, match=r"train\.csv: none of the listed"):
        load_landmarks(tmp_path, "gislr")
    (tmp_path / "train.csv").write_text("path,participant_id\nx.parquet,1\n")
    with pytest.raises(DatasetError, match=r"train\.csv: missing GISLR columns"):
        load_landmarks(tmp_path, "gislr")


def test_gislr_without_pyarrow_is_a_dependency_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "1.parquet").write_bytes(b"PAR1")
    (tmp_path / "train.csv").write_text("path,participant_id,sequence_id,sign\n1.parquet,1,1,a\n")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DependencyError, match="pyarrow"):
        load_landmarks(tmp_path)


# --- pose ----------------------------------------------------------------------------


def _random_sample(frames: int = 5, label: str = "hello", seed: int = 0) -> Sample:
    rng = np.random.default_rng(seed)
    lm = rng.uniform(0.05, 0.95, (frames, 543, 3)).astype(np.float32)
    lm[0, LEFT_HAND.start : LEFT_HAND.stop] = np.nan  # left hand missing in frame 0
    lm[:, FACE.start : FACE.stop] = np.nan  # no face at all
    return Sample(landmarks=lm, label=label, signer="s1", source_id=f"{label}-{seed}")


def test_write_pose_round_trip(tmp_path: Path) -> None:
    from pose_format import Pose

    sample = _random_sample()
    path = tmp_path / "x.pose"
    write_pose(path, sample, fps=25, width=640, height=480)
    pose = Pose.read(path.read_bytes())  # pose-format itself reads it
    assert (pose.header.dimensions.width, pose.header.dimensions.height) == (640, 480)
    names = [c.name for c in pose.header.components]
    assert names == [
        "POSE_LANDMARKS",
        "FACE_LANDMARKS",
        "LEFT_HAND_LANDMARKS",
        "RIGHT_HAND_LANDMARKS",
    ]
    assert pose.body.data.shape == (5, 1, 543, 3)
    # pixels on disk: the nose x is stored times the width
    nose_x = float(pose.body.data.data[1, 0, 0, 0])
    assert nose_x == pytest.approx(sample.landmarks[1, POSE.start, 0] * 640, rel=1e-5)
    back, fps = read_pose_file(path)
    assert fps == 25
    np.testing.assert_allclose(back, sample.landmarks, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(sample.landmarks))


@pytest.mark.parametrize(
    ("fps", "width", "height", "message"),
    [
        (25, 65536, 480, "width and height must be 1 to 65535"),
        (25, 640, 0, "width and height must be 1 to 65535"),
        (1e300, 640, 480, "frame rate 1e+300"),
        (0, 640, 480, "frame rate 0"),
    ],
)
def test_write_pose_rejects_what_the_header_cannot_hold(
    tmp_path: Path, fps: float, width: int, height: int, message: str
) -> None:
    path = tmp_path / "x.pose"
    with pytest.raises(DatasetError, match=re.escape(message)):
        write_pose(path, _random_sample(), fps=fps, width=width, height=height)
    assert not path.exists()


def test_pose_folder_label_layout_and_garbage(tmp_path: Path) -> None:
    write_pose(tmp_path / "hello" / "a.pose", _random_sample(3), 30, 100, 100)
    write_pose(tmp_path / "bye" / "b.pose", _random_sample(4, "bye"), 30, 100, 100)
    assert detect_format(tmp_path) == "pose"
    samples = load_landmarks(tmp_path)
    assert [(s.label, s.frames, s.source_id) for s in samples] == [
        ("bye", 4, "bye/b.pose"),
        ("hello", 3, "hello/a.pose"),
    ]
    (tmp_path / "bye" / "c.pose").write_bytes(b"\x00\x01garbage")
    with pytest.raises(DatasetError, match=r"c\.pose"):
        load_landmarks(tmp_path)


def test_pose_symlink_escape(tmp_path: Path) -> None:
    write_pose(tmp_path / "secret.pose", _random_sample(2), 30, 100, 100)
    root = tmp_path / "ds"
    (root / "hello").mkdir(parents=True)
    (root / "hello" / "x.pose").symlink_to(tmp_path / "secret.pose")
    with pytest.raises(PathEscapeError, match=r"x\.pose"):
        load_landmarks(root, "pose")


# --- videos --------------------------------------------------------------------------


def test_folder_layout(tmp_path: Path) -> None:
    for rel in ("hello/a.mp4", "hello/b.WEBM", "thank you/c.mov", "hello/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    assert detect_video_layout(tmp_path) == "folder"
    items = list_videos(tmp_path)
    assert [(i.label, i.source_id, i.signer) for i in items] == [
        ("hello", "hello/a.mp4", ""),
        ("hello", "hello/b.WEBM", ""),
        ("thank-you", "thank you/c.mov", ""),
    ]


def test_folder_layout_symlink_escape(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    (tmp_path / "ds" / "hello").mkdir(parents=True)
    (tmp_path / "ds" / "hello" / "a.mp4").symlink_to(tmp_path / "clip.mp4")
    with pytest.raises(PathEscapeError, match=r"a\.mp4"):
        list_videos(tmp_path / "ds", "folder")


def test_flat_layout_on_shared_videos(videos_dir: Path) -> None:
    assert detect_video_layout(videos_dir) == "flat"
    items = list_videos(videos_dir)
    assert len(items) == 49
    labels = [i.label for i in items]
    assert labels.count("book") == 2 and labels.count("thank-you") == 2


def _v03(root: Path, entries: object) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "WLASL_v0.3.json").write_text(json.dumps(entries))


def test_wlasl_v03(tmp_path: Path) -> None:
    inst = {"bbox": [0, 0, 1, 1], "fps": 25, "instance_id": 0, "source": "x", "url": "u"}
    _v03(
        tmp_path,
        [
            {"gloss": "Book", "instances": [
                {**inst, "video_id": "001", "signer_id": 12, "split": "train",
                 "frame_start": 1, "frame_end": -1},
                {**inst, "video_id": "002", "signer_id": 5, "split": "test",
                 "frame_start": 10, "frame_end": 40},
            ]},
            {"gloss": "thank you", "instances": [
                {**inst, "video_id": "003", "signer_id": 12, "split": "val",
                 "frame_start": 1, "frame_end": 20},
            ]},
        ],
    )  # fmt: skip
    (tmp_path / "videos").mkdir()
    for vid in ("001", "002"):
        (tmp_path / "videos" / f"{vid}.mp4").write_bytes(b"")
    assert detect_video_layout(tmp_path) == "wlasl"
    listing = scan_wlasl(tmp_path)
    assert listing.missing == 1
    got = [(i.label, i.signer, i.split, i.frame_start, i.frame_end) for i in listing.items]
    assert got == [("book", "wlasl:12", "train", 0, None), ("book", "wlasl:5", "test", 9, 40)]
    assert list_videos(tmp_path) == listing.items


def test_wlasl_nothing_present_bad_json_and_escape(tmp_path: Path) -> None:
    entry = {"video_id": "9", "signer_id": 1, "split": "train", "frame_start": 1, "frame_end": -1}
    _v03(tmp_path / "a", [{"gloss": "x", "instances": [entry]}])
    with pytest.raises(DatasetError, match="none of the 1 listed videos"):
        list_videos(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "WLASL_v0.3.json").write_text("[{not json")
    with pytest.raises(DatasetError, match=r"WLASL_v0\.3\.json"):
        list_videos(tmp_path / "b")
    _v03(tmp_path / "c", [{"gloss": "x", "instances": [{**entry, "video_id": "../../etc/x"}]}])
    with pytest.raises(PathEscapeError):
        list_videos(tmp_path / "c")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"instances": []}], "missing key 'gloss'"),
        ([{"gloss": "x", "instances": [{"split": "train"}]}], "missing key 'video_id'"),
        ([1], "each entry must be an object"),
        ([{"gloss": "x", "instances": [7]}], "list of 'instances' objects"),
    ],
)
def test_wlasl_v03_malformed_entries_say_what_is_wrong(
    tmp_path: Path, entries: object, message: str
) -> None:
    _v03(tmp_path, entries)
    with pytest.raises(DatasetError, match=re.escape(message)) as err:
        list_videos(tmp_path, layout="wlasl")
    assert "subscriptable" not in str(err.value)


def test_wlasl_nslt_variant_with_real_clips(
    tmp_path: Path, data_dir: Path, videos_dir: Path
) -> None:
    for name in ("nslt_2000.json", "wlasl_class_list.txt"):
        shutil.copy(data_dir / "samples" / "wlasl" / name, tmp_path / name)
    (tmp_path / "videos").mkdir()
    clips = sorted(videos_dir.glob("*__Osushi2022__*.mp4"))[:3]
    for clip in clips:
        shutil.copy(clip, tmp_path / "videos" / f"{clip.stem.split('__')[2]}.mp4")
    listing = scan_wlasl(tmp_path)
    assert listing.missing == 21095 - 3
    by_id = {i.source_id: i for i in listing.items}
    for clip in clips:
        word, _, vid = clip.stem.split("__")
        item = by_id[vid]
        assert item.label == word  # the class list agrees with the file names
        assert item.signer == "" and item.split in {"train", "val", "test"}
        assert item.frame_start == 0 and item.frame_end is not None
