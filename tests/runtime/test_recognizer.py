"""Recognizer: feature parity with the torch model, rejection, errors, no torch at runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tiny_export import LABELS, export_tiny

from sign2text.data.pack import read_pack
from sign2text.errors import ModelError, NoSigningError
from sign2text.features import FeatureConfig, compute_features, reads_face
from sign2text.io.video import iter_frames
from sign2text.landmarks import skeleton as sk
from sign2text.landmarks.holistic import HolisticConfig, HolisticExtractor
from sign2text.runtime import OnnxClassifier, Recognizer
from sign2text.runtime import recognizer as recognizer_module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    pytest.importorskip("torch")
    return export_tiny(tmp_path_factory.mktemp("rt") / "tiny.onnx")


@pytest.fixture(scope="module")
def samples(data_dir: Path) -> list[Any]:
    pack = read_pack(data_dir / "landmarks" / "traduttore.npz")
    words = [s for s in pack if s.label in LABELS and s.label != "_none_"]
    return words[::40][:12]


@pytest.mark.torch
def test_runtime_matches_torch_on_compute_features(
    tiny: tuple[Any, Path], samples: list[Any]
) -> None:
    import torch

    model, path = tiny
    rec = Recognizer(path, reject_threshold=0.0)
    cfg = FeatureConfig()
    assert len(samples) >= 8
    for s in samples:
        lm = np.asarray(s.landmarks, dtype=np.float32)
        feats, mask = compute_features(lm, cfg)
        with torch.no_grad():
            logits = model(torch.from_numpy(feats[None]), torch.from_numpy(mask[None]))[0]
        probs = torch.softmax(logits, -1).numpy()
        got = rec.recognize_landmarks(s.landmarks)  # float16 from the pack, as stored
        assert got.top_k[0][0] == LABELS[int(probs.argmax())]
        assert got.confidence == pytest.approx(float(probs.max()), abs=1e-5)
        assert [p for _, p in got.top_k] == sorted((p for _, p in got.top_k), reverse=True)
        assert got.frames == len(lm) and 0 < got.hands_rate <= 1
        assert set(got.timings) == {
            "decode_ms",
            "landmarks_ms",
            "features_ms",
            "model_ms",
            "total_ms",
        }


def test_rejection_reports_none(tiny: tuple[Any, Path], samples: list[Any]) -> None:
    _, path = tiny
    strict = Recognizer(path, reject_threshold=1.0).recognize_landmarks(samples[0].landmarks)
    assert strict.rejected and strict.label == "_none_"
    lax = Recognizer(path, reject_threshold=0.0).recognize_landmarks(samples[0].landmarks)
    assert strict.top_k == lax.top_k and strict.confidence == lax.confidence  # raw kept
    assert lax.rejected == (lax.top_k[0][0] == "_none_")
    assert lax.label == ("_none_" if lax.rejected else lax.top_k[0][0])


def test_threshold_comes_from_the_model_card(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    _, path = export_tiny(tmp_path / "carded.onnx", card={"reject_threshold": 0.77})
    assert Recognizer(path).reject_threshold == pytest.approx(0.77)
    assert OnnxClassifier(path).metadata.card["reject_threshold"] == 0.77


def test_no_hands_raises_no_signing(tiny: tuple[Any, Path]) -> None:
    lm = sk.empty(20)
    lm[:, sk.POSE.start : sk.POSE.stop] = 0.5  # a person, but no hands
    with pytest.raises(NoSigningError):
        Recognizer(tiny[1]).recognize_landmarks(lm)


def test_missing_and_bad_models_are_model_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ModelError, match="not found"):
        Recognizer(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Recognizer(tmp_path / "junk.onnx")
    monkeypatch.setattr(recognizer_module, "bundled_model_path", lambda: tmp_path / "none.onnx")
    with pytest.raises(ModelError, match="no bundled model"):
        Recognizer()


def test_face_mesh_runs_only_for_models_that_read_the_face(tiny: tuple[Any, Path]) -> None:
    assert not reads_face(FeatureConfig())  # hands + upper body (pose points)
    assert not reads_face(FeatureConfig(subsets=("hands", "pose")))
    assert reads_face(FeatureConfig(subsets=("hands", "lips")))
    assert reads_face(FeatureConfig(subsets=("face_contours",)))
    # the tiny model has the default features: its Holistic graph skips the face mesh
    assert Recognizer(tiny[1]).holistic_config.face is False
    own = HolisticConfig(min_detection_confidence=0.6)  # a given config is kept as given
    assert Recognizer(tiny[1], holistic=own).holistic_config is own


def test_bundled_model_path_is_package_data() -> None:
    path = recognizer_module.bundled_model_path()
    assert path.name == "model.onnx" and path.parent.name == "assets"
    assert path.parent.parent.name == "sign2text"


_NO_TORCH = """
import sys, json
sys.modules["torch"] = None  # any 'import torch' now raises ImportError
import numpy as np
import sign2text.runtime
from sign2text.data.pack import read_pack
from sign2text.runtime import Recognizer, StreamRecognizer
samples = [s for s in read_pack(sys.argv[2]) if s.label in ("hello", "coffee")][:3]
rec = Recognizer(sys.argv[1])
out = [rec.recognize_landmarks(s.landmarks).to_dict() for s in samples]
stream = StreamRecognizer(rec)
for i, lm in enumerate(samples[0].landmarks):
    stream.push(lm, i / 15)
stream.flush()
import sign2text.runtime.live, sign2text.cli.cmd_recognize, sign2text.cli.cmd_live
print(json.dumps({"n": len(out), "labels": [o["label"] for o in out]}))
"""

_PLAIN = """
import sys
import sign2text.runtime
from sign2text.data.pack import read_pack
from sign2text.runtime import Recognizer
s = [s for s in read_pack(sys.argv[2]) if s.label == "hello"][0]
Recognizer(sys.argv[1]).recognize_landmarks(s.landmarks)
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
assert not loaded, loaded
print("clean")
"""


@pytest.mark.parametrize("script", [_NO_TORCH, _PLAIN], ids=["torch-blocked", "torch-not-loaded"])
def test_runtime_never_imports_torch(tiny: tuple[Any, Path], data_dir: Path, script: str) -> None:
    pack = data_dir / "landmarks" / "traduttore.npz"
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tiny[1]), str(pack)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    if script is _NO_TORCH:
        assert json.loads(last)["n"] == 3
    else:
        assert last == "clean"


@pytest.mark.slow
def test_recognize_video_on_a_real_clip(tiny: tuple[Any, Path], videos_dir: Path) -> None:
    clip = videos_dir / "hello__sdb1228__hello.mp4"  # 78 frames at 29.97 fps
    with Recognizer(tiny[1], extract_fps=15.0) as rec:
        got = rec.recognize_video(clip)
        data = rec.recognize_video(clip.read_bytes(), fps=10.0)
        frames = rec.recognize_frames(f.image for f in iter_frames(clip, target_fps=10.0))
    assert frames.top_k == data.top_k and frames.frames == data.frames  # same path, same result
    assert frames.timings["decode_ms"] == 0.0
    assert 36 <= got.frames <= 42  # down-sampled to 15 fps
    assert 24 <= data.frames <= 28
    assert got.hands_rate > 0.3
    # The video path is decode at 15 fps -> Holistic -> the landmark path.
    with HolisticExtractor() as ex:
        marks = ex.extract(f.image for f in iter_frames(clip, target_fps=15.0))
    with Recognizer(tiny[1]) as rec:
        direct = rec.recognize_landmarks(marks)
    assert got.top_k == direct.top_k and got.label == direct.label
    t = got.timings
    assert t["landmarks_ms"] > 0 and t["decode_ms"] > 0
    assert t["total_ms"] >= t["landmarks_ms"] + t["decode_ms"]
