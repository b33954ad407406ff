"""The bundled default model: loads offline with no torch and recognizes real clips.

The clips asserted here are the in-vocabulary clips the shipped model was measured to
get right (docs/model_card.md lists every clip, right or wrong).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sign2text.runtime import Recognizer
from sign2text.runtime.recognizer import bundled_model_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer()


def test_bundled_model_is_self_describing() -> None:
    path = bundled_model_path()
    assert path.stat().st_size < 5 * 1024 * 1024  # int8 target: <= 5 MB
    rec = Recognizer(path)
    assert "hello" in rec.labels and "_none_" in rec.labels
    card = rec.metadata.card
    assert card["evaluation"]["protocol"].startswith("5 signer folds")
    assert 0.0 < rec.metadata.reject_threshold < 1.0


@pytest.mark.parametrize(
    "clip",
    [
        "hello__sdb1228__hello.mp4",
        "water__sdb1228__water.mp4",
        "please__sdb1228__please.mp4",
        "no__Osushi2022__69411.mp4",
    ],
)
def test_recognizes_real_clips(recognizer: Recognizer, videos_dir: Path, clip: str) -> None:
    result = recognizer.recognize_video(videos_dir / clip)
    assert result.label == clip.split("__")[0]
    assert result.top_k[0][0] == result.label
    assert result.timings["total_ms"] > 0


@pytest.mark.parametrize("threads", [0, 65, 100_000])
def test_thread_counts_outside_1_to_64_are_config_errors(threads: int) -> None:
    from sign2text.errors import ConfigError
    from sign2text.runtime.onnx_model import OnnxClassifier

    with pytest.raises(ConfigError, match=f"threads must be 1 to 64, got {threads}"):
        OnnxClassifier(bundled_model_path(), threads=threads)
