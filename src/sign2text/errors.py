"""Typed errors. Every error a user can cause derives from :class:`Sign2TextError`.

Each class carries a stable ``code`` (used by the API's JSON errors) so that callers
can branch on it without parsing messages. The CLI prints ``str(error)`` on one line
and exits non-zero; the server maps the class to an HTTP status.
"""

from __future__ import annotations


class Sign2TextError(Exception):
    """Base class of every error Sign2Text raises on purpose."""

    code = "error"


class InputError(Sign2TextError):
    """The input given by the user is unusable."""

    code = "bad_input"


class MediaError(InputError):
    """A video could not be read: corrupt, empty, truncated, no video stream."""

    code = "undecodable_media"


class UnsupportedMediaError(MediaError):
    """The file is not a video in a format we read."""

    code = "unsupported_media"


class MediaTooLargeError(MediaError):
    """The video exceeds a configured cap (bytes, duration, frames, resolution)."""

    code = "media_too_large"


class NoSigningError(InputError):
    """The video holds no person signing (no hands found)."""

    code = "no_signing"


class VocabularyError(InputError):
    """A user vocabulary file or a word to teach is unusable (malformed, clashing)."""

    code = "bad_vocabulary"


class VocabularyModelError(VocabularyError):
    """A user vocabulary was made for another model (its embeddings do not apply)."""

    code = "vocabulary_model_mismatch"


class DatasetError(InputError):
    """A dataset is malformed, has an unknown layout, or a file in it is unusable."""

    code = "bad_dataset"


class PathEscapeError(DatasetError):
    """A path or symlink points outside the dataset root."""

    code = "path_escape"


class ConfigError(Sign2TextError):
    """A configuration value or name is invalid."""

    code = "bad_config"


class ModelInputError(InputError):
    """The model takes another kind of input (an RGB model given landmarks)."""

    code = "model_input_mismatch"


class ModelError(Sign2TextError):
    """A model file or checkpoint is missing, corrupt or incompatible."""

    code = "bad_model"


class IntegrityError(ModelError):
    """A cached or saved file failed its checksum."""

    code = "integrity"


class DependencyError(Sign2TextError):
    """An optional dependency (an extra) is needed but not installed."""

    code = "missing_dependency"


def first_line(exc: BaseException, default: str | None = None) -> str:
    """The first non-empty line of ``exc``'s message, for one-line error messages; when
    it has none, ``default`` (the exception's class name if not given)."""
    text = str(exc).strip()
    if text:
        return text.splitlines()[0]
    return type(exc).__name__ if default is None else default
