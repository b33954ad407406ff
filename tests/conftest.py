"""Shared fixtures: where the shared data and clips live (``SIGN2TEXT_DATA_DIR``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sign2text.settings import get_settings


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = get_settings().data_dir
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path} (set SIGN2TEXT_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def videos_dir() -> Path:
    path = get_settings().videos_dir
    if not path.is_dir():
        pytest.fail(f"shared videos not found at {path} (set SIGN2TEXT_VIDEOS_DIR)")
    return path
