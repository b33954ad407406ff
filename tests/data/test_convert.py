"""Conversions: pack, MP_Data and .pose round trips, slimming, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sign2text.data.convert import convert, keep_parts, parse_parts, write_samples
from sign2text.data.importers import load_landmarks
from sign2text.data.pack import read_pack, write_pack
from sign2text.data.sample import Sample
from sign2text.errors import ConfigError, DatasetError
from sign2text.landmarks.skeleton import FACE, LEFT_HAND, POSE, RIGHT_HAND


def _samples(with_face: bool) -> list[Sample]:
    """Float16-exact values; whole parts missing in some frames (what MP_Data can hold)."""
    rng = np.random.default_rng(3)
    out = []
    for k, label in enumerate(["hello", "_none_", "hello", "thank-you"]):
        lm = rng.uniform(0.05, 0.95, (6 + k, 543, 3)).astype(np.float16).astype(np.float32)
        if not with_face:
            lm[:, FACE.start : FACE.stop] = np.nan
        lm[1, LEFT_HAND.start : LEFT_HAND.stop] = np.nan
        lm[2, RIGHT_HAND.start : RIGHT_HAND.stop] = np.nan
        lm[3, POSE.start : POSE.stop] = np.nan
        lm[4] = np.nan  # nothing detected
        split = "train" if k % 2 else "test"
        out.append(Sample(lm, label, f"p{k % 2}", f"src/{k}", split=split))
    return out


def _same_landmarks(a: list[Sample], b: list[Sample]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.label == y.label
        np.testing.assert_array_equal(np.isnan(x.landmarks), np.isnan(y.landmarks))
        np.testing.assert_allclose(
            np.asarray(x.landmarks, np.float32), np.asarray(y.landmarks, np.float32), atol=1e-3
        )


def test_pack_write_read_round_trip(tmp_path: Path) -> None:
    samples = _samples(with_face=True)
    write_pack(tmp_path / "a.npz", samples)
    back = read_pack(tmp_path / "a.npz")
    _same_landmarks(samples, back)
    assert [(s.signer, s.source_id, s.split) for s in back] == [
        (s.signer, s.source_id, s.split) for s in samples
    ]


@pytest.mark.parametrize(("with_face", "layout"), [(False, 258), (True, 1662), (False, None)])
def test_mp_data_export_import_round_trip(
    tmp_path: Path, with_face: bool, layout: int | None
) -> None:
    samples = _samples(with_face)
    write_pack(tmp_path / "in.npz", samples)
    result = convert(tmp_path / "in.npz", tmp_path / "out", to="mp_data", layout=layout)
    assert result.output == tmp_path / "out" / "MP_Data"
    assert (tmp_path / "out" / "MP_Data" / "-" / "0" / "0.npy").is_file()  # _none_ -> "-"
    vec = np.load(tmp_path / "out" / "MP_Data" / "hello" / "1" / "5.npy")
    assert vec.shape == (layout or 258,)
    back = load_landmarks(tmp_path / "out")
    assert [s.source_id for s in back] == ["-/0", "hello/0", "hello/1", "thank-you/0"]
    expected = [samples[1], samples[0], samples[2], samples[3]]
    _same_landmarks(expected, back)


def test_mp_data_export_drops_face_in_258(tmp_path: Path) -> None:
    write_samples(tmp_path / "o", _samples(with_face=True), "mp_data", layout=258)
    back = load_landmarks(tmp_path / "o")
    assert np.isnan(back[0].landmarks[:, FACE.start : FACE.stop]).all()


def test_pose_folder_round_trip(tmp_path: Path) -> None:
    samples = _samples(with_face=True)
    write_pack(tmp_path / "in.npz", samples)
    convert(tmp_path / "in.npz", tmp_path / "poses", to="pose", fps=25, width=640, height=480)
    assert (tmp_path / "poses" / "labels.csv").is_file()
    back = load_landmarks(tmp_path / "poses")
    by_id = {s.source_id: s for s in back}
    got = [by_id[p] for p in ("_none_/0.pose", "hello/0.pose", "hello/1.pose", "thank-you/0.pose")]
    expected = [samples[1], samples[0], samples[2], samples[3]]
    _same_landmarks(expected, got)
    assert [(s.signer, s.split) for s in got] == [(s.signer, s.split) for s in expected]
    assert got[0].meta["fps"] == "25"


def test_convert_to_pack_with_parts(tmp_path: Path, data_dir: Path) -> None:
    result = convert(data_dir / "samples" / "traduttore", tmp_path / "t.npz", parts=["hands"])
    assert (result.source_format, result.target_format) == ("mp_data", "pack")
    assert (result.sequences, result.frames) == (3, 60)
    back = read_pack(tmp_path / "t.npz")
    assert back[0].landmarks.dtype == np.float16
    assert np.isnan(back[0].landmarks[:, POSE.start : POSE.stop]).all()
    src = load_landmarks(data_dir / "samples" / "traduttore")
    hands = np.r_[LEFT_HAND.start : LEFT_HAND.stop, RIGHT_HAND.start : RIGHT_HAND.stop]
    np.testing.assert_array_equal(
        back[1].landmarks[:, hands].astype(np.float32),
        src[1].landmarks[:, hands].astype(np.float16).astype(np.float32),
    )


def test_parse_and_keep_parts() -> None:
    assert [p.name for p in parse_parts(["hands", "pose", "left_hand"])] == [
        "left_hand",
        "right_hand",
        "pose",
    ]
    with pytest.raises(DatasetError, match="unknown landmark part 'feet'"):
        parse_parts(["feet"])
    (s,) = keep_parts(_samples(True)[:1], parse_parts(["face"]))
    assert np.isnan(s.landmarks[:, POSE.start :]).all()
    assert not np.isnan(s.landmarks[0, FACE.start : FACE.stop]).any()


def test_convert_refusals(tmp_path: Path, data_dir: Path) -> None:
    src = data_dir / "samples" / "traduttore"
    with pytest.raises(DatasetError, match="cannot tell the output format"):
        convert(src, tmp_path / "out")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    with pytest.raises(DatasetError, match="not an empty folder"):
        convert(src, tmp_path / "full", to="mp_data")
    assert (tmp_path / "full" / "x").read_text() == "keep me"
    with pytest.raises(DatasetError, match="unknown MP_Data vector layout"):
        convert(src, tmp_path / "o2", to="mp_data", layout=99)
    assert not (tmp_path / "o2").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["full"]  # no temporary folder left


def test_convert_refuses_options_its_output_does_not_use(tmp_path: Path) -> None:
    write_pack(tmp_path / "in.npz", _samples(False))
    with pytest.raises(ConfigError, match=r"layout .* applies to mp_data output, not pack"):
        convert(tmp_path / "in.npz", tmp_path / "out.npz", layout=258)
    with pytest.raises(ConfigError, match="fps, height apply to pose output, not mp_data"):
        convert(tmp_path / "in.npz", tmp_path / "mp", to="mp_data", fps=25, height=480)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz"]
