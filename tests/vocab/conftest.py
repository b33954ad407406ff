"""Fixtures for the personal-vocabulary tests: Bhutanese words the model never saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sign2text.data.importers import load_landmarks
from sign2text.landmarks import skeleton as sk
from sign2text.runtime import OnnxClassifier, bundled_model_path


@pytest.fixture(scope="session")
def classifier() -> OnnxClassifier:
    return OnnxClassifier(bundled_model_path())


@pytest.fixture(scope="session")
def bhutan(data_dir: Path, classifier: OnnxClassifier) -> dict[str, list[Any]]:
    """New words (not built-in) -> their landmark sequences with hands, in file order."""
    out: dict[str, list[Any]] = {}
    for s in load_landmarks(data_dir / "landmarks" / "bsl_bhutan.npz"):
        lm = np.asarray(s.landmarks, dtype=np.float32)
        if s.label not in classifier.labels and sk.hand_rate(sk.validate(lm)) > 0:
            out.setdefault(s.label, []).append(lm)
    return out
