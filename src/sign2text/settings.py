"""Project-wide settings read from the environment (prefix ``SIGN2TEXT_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where shared data lives and other machine-level choices.

    ``SIGN2TEXT_DATA_DIR`` overrides the data folder (default ``../shared/data``,
    relative to the working directory).
    """

    model_config = SettingsConfigDict(env_prefix="SIGN2TEXT_", frozen=True)

    data_dir: Path = Path("../shared/data")
    videos_dir: Path = Path("../shared/videos")


def get_settings() -> Settings:
    return Settings()
