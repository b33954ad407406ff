"""Personal vocabulary: teach the recognizer new words from a few examples (no torch).

The exported model outputs an ``embedding`` (B, 128) next to its ``logits``. A user
word is the list of the L2-normalized embeddings of its examples. A new sign's
similarity to a user word is its cosine similarity to the word's **nearest example**
(:data:`USER_MATCH`; tuned against the normalized mean of the examples, which needs more
examples to cover the ways one person signs a word). The nearest user word (similarity
``s``) competes with the built-in words:

* models that carry **built-in prototypes** (``"prototypes"`` in the model metadata: for
  each built-in word, :data:`PROTOTYPES_PER_WORD` k-means centres of the embeddings of
  its training recordings, written by ``sign2text prototypes`` /
  :func:`class_prototypes`), with ``b`` the cosine similarity to the nearest built-in
  prototype (with margin 0: the user word must be the nearest of all prototypes)::

      the user word wins  <=>  s >= PROTOTYPE_THRESHOLD  and  s > b + PROTOTYPE_MARGIN

* older model files without them, against the built-in classifier's top probability
  ``p`` and whether it rejects::

      the user word wins  <=>  s >= SIMILARITY_THRESHOLD  and
                               (the built-in answer is rejected or s > p + SIMILARITY_MARGIN)

Both rules and their constants were tuned on crowd recordings of words that are neither
built-in nor in the test sets (``benchmarks/bench_vocab.py --phase tune``) and then
tested on ASL letters and Bhutanese words (``--phase test``); figures in
``docs/personal_vocabulary.md``. The browser (``static/js/vocab.js``) implements the same
arithmetic and the same file format.

File format (JSON, ``format`` :data:`VOCAB_FORMAT`)::

    {"format": "sign2text-vocab/1",
     "model": {"sha256": "<sha256 of the .onnx file>", "labels": [...]},
     "embedding_dim": 128,
     "words": {"sun": {"examples": [[128 floats], ...]}, ...}}

A vocabulary made for another model file is refused with
:class:`~sign2text.errors.VocabularyModelError` (embeddings of two models differ).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import (
    InputError,
    NoSigningError,
    VocabularyError,
    VocabularyModelError,
)
from sign2text.features import compute_features, pad_batch
from sign2text.io.atomic import atomic_write_text, sha256_file
from sign2text.landmarks import skeleton as sk
from sign2text.runtime.metadata import NONE_LABEL, ClassPrototypes
from sign2text.runtime.onnx_model import OnnxClassifier

log = logging.getLogger(__name__)

VOCAB_FORMAT = "sign2text-vocab/1"
VOCAB_ENV = "SIGN2TEXT_VOCAB"
# With built-in prototypes: the cosine similarity a sign needs to its nearest user word,
# and how much more similar than to the nearest built-in word it must be (tuned).
PROTOTYPE_THRESHOLD = 0.6
PROTOTYPE_MARGIN = 0.0
# Without them: the similarity a sign needs, and how much it must exceed the top
# probability of a built-in answer that is not rejected (tuned, see module docs).
SIMILARITY_THRESHOLD = 0.65
SIMILARITY_MARGIN = 0.2
# How a sign is matched with a user word: the similarity to its nearest example (tuned
# against "mean", the normalized mean of its examples; benchmarks/bench_vocab.py).
USER_MATCH = "example"
# Prototypes per built-in word stored in a model (``sign2text prototypes``; tuned).
PROTOTYPES_PER_WORD = 16
_PROTOTYPE_BATCH = 128
MAX_EXAMPLES = 50
MAX_WORDS = 500
_WORD_RE = re.compile(r"^[^\s\x00-\x1f][^\x00-\x1f]{0,62}$")
_DECIMALS = 6


def default_vocab_path() -> Path:
    """``$SIGN2TEXT_VOCAB``, else ``$XDG_DATA_HOME/sign2text/vocabulary.json``
    (``~/.local/share/sign2text/vocabulary.json``)."""
    env = os.environ.get(VOCAB_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sign2text" / "vocabulary.json"


def model_identity(path: str | Path) -> str:
    """The identity a vocabulary is tied to: the SHA-256 of the model file."""
    return sha256_file(path)


def normalize(x: NDArray[Any]) -> NDArray[np.float64]:
    """Rows scaled to unit L2 norm (float64); a zero row stays zero."""
    a = np.asarray(x, dtype=np.float64)
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    out: NDArray[np.float64] = a / np.where(n > 0, n, 1.0)
    return out


def embed_landmarks(classifier: OnnxClassifier, landmarks: NDArray[Any]) -> NDArray[np.float64]:
    """The normalized embedding (E,) of one sign (T, 543, 3).

    Raises :class:`~sign2text.errors.NoSigningError` when no frame has a hand.
    """
    lm = sk.validate(landmarks)
    if np.isinf(lm).any():  # MediaPipe writes NaN for what it misses, never inf
        raise InputError("the example's landmarks hold infinite coordinates: not a recording")
    if sk.hand_rate(lm) == 0.0:
        raise NoSigningError(f"no hand found in any of the {len(lm)} frames: nobody signs")
    feats, mask = compute_features(lm, classifier.metadata.features)
    emb = classifier.embed(feats[None], mask[None])[0]
    if not np.isfinite(emb).all() or float(np.linalg.norm(emb)) == 0.0:
        raise NoSigningError("the model saw no usable hand movement in this example")
    return normalize(emb)


@dataclass(frozen=True)
class VocabMatch:
    """The nearest user word and its cosine similarity."""

    word: str
    similarity: float


def decide_by_prototypes(
    similarity: float,
    builtin_similarity: float,
    threshold: float = PROTOTYPE_THRESHOLD,
    margin: float = PROTOTYPE_MARGIN,
) -> bool:
    """Whether the nearest user word beats the nearest built-in prototype (module docs)."""
    return similarity >= threshold and similarity > builtin_similarity + margin


def decide_by_probability(
    similarity: float,
    builtin_confidence: float,
    builtin_rejected: bool,
    threshold: float = SIMILARITY_THRESHOLD,
    margin: float = SIMILARITY_MARGIN,
) -> bool:
    """Whether the nearest user word beats the built-in answer, for a model without
    built-in prototypes (see module docs)."""
    return similarity >= threshold and (
        builtin_rejected or similarity > builtin_confidence + margin
    )


def prototype_matrix(prototypes: ClassPrototypes | None) -> NDArray[np.float64] | None:
    """The built-in prototypes as a (C, E) array of unit rows, or None."""
    if prototypes is None:
        return None
    return normalize(prototypes.matrix())


def nearest_similarity(matrix: NDArray[np.float64], embedding: NDArray[Any]) -> float:
    """The cosine similarity of one embedding (E,) to the nearest row of ``matrix``."""
    e = normalize(np.asarray(embedding, dtype=np.float64).reshape(-1))
    return float(np.max(matrix @ e))


def class_prototypes(
    classifier: OnnxClassifier,
    samples: Iterable[tuple[str, NDArray[Any]]],
    *,
    per_word: int = PROTOTYPES_PER_WORD,
) -> ClassPrototypes:
    """Built-in prototypes of a model from labelled landmark sequences (label, (T, 543, 3)).

    The recordings of each built-in word (not ``_none_``; other labels and recordings
    without hands are skipped) are embedded with the model, and
    :func:`prototypes_from_embeddings` clusters them into up to ``per_word`` prototypes.
    Raises :class:`~sign2text.errors.VocabularyError` when a word has no recording.
    """
    cfg = classifier.metadata.features
    words = [w for w in classifier.labels if w != NONE_LABEL]
    keep = set(words)
    labels: list[str] = []
    embs: list[NDArray[np.float64]] = []
    batch: list[tuple[NDArray[np.float32], NDArray[np.bool_]]] = []

    def flush() -> None:
        x, m = pad_batch([f for f, _ in batch], [k for _, k in batch])
        embs.append(normalize(classifier.embed(x, m)))
        batch.clear()

    for label, landmarks in samples:
        if label not in keep:
            continue
        lm = sk.validate(landmarks)
        if sk.hand_rate(lm) == 0.0:
            continue
        batch.append(compute_features(lm, cfg))
        labels.append(label)
        if len(batch) >= _PROTOTYPE_BATCH:
            flush()
    if batch:
        flush()
    missing = sorted(keep - set(labels))
    if missing:
        raise VocabularyError(f"no recording with hands for built-in words: {', '.join(missing)}")
    return prototypes_from_embeddings(np.concatenate(embs), labels, words, per_word)


def prototypes_from_embeddings(
    embeddings: NDArray[Any],
    labels: Sequence[str],
    words: Sequence[str],
    per_word: int = PROTOTYPES_PER_WORD,
    *,
    seed: int = 0,
    iterations: int = 25,
) -> ClassPrototypes:
    """Up to ``per_word`` prototypes of each word: spherical k-means (deterministic for a
    seed) on the unit embeddings (N, E) of its recordings; 1 = the normalized mean."""
    if per_word < 1:
        raise VocabularyError(f"per_word must be >= 1, got {per_word}")
    x = normalize(embeddings)
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    names: list[str] = []
    rows: list[NDArray[np.float64]] = []
    for w in words:
        pts = x[y == w]
        if len(pts) == 0:
            raise VocabularyError(f"no embedding of the built-in word {w!r}")
        k = min(per_word, len(pts))
        centres = normalize(pts.mean(axis=0, keepdims=True))
        if k > 1:
            centres = pts[rng.choice(len(pts), k, replace=False)]
            for _ in range(iterations):
                near = np.argmax(pts @ centres.T, axis=1)
                centres = normalize(
                    np.stack(
                        [
                            pts[near == j].mean(0) if (near == j).any() else centres[j]
                            for j in range(k)
                        ]
                    )
                )
        names += [w] * len(centres)
        rows += list(centres)
    return ClassPrototypes.from_matrix(names, np.stack(rows))


class UserVocabulary:
    """User words -> example embeddings, tied to one model (``model_sha256``)."""

    def __init__(
        self,
        model_sha256: str,
        labels: Iterable[str],
        embedding_dim: int,
        words: Mapping[str, NDArray[Any]] | None = None,
    ) -> None:
        self.model_sha256 = model_sha256
        self.labels = tuple(labels)
        self.embedding_dim = int(embedding_dim)
        self._words: dict[str, NDArray[np.float64]] = {}
        self._index: tuple[list[str], NDArray[np.intp], NDArray[np.float64]] | None = None
        for word, ex in (words or {}).items():
            self._words[word] = self._check_examples(word, ex)

    # --- construction ---------------------------------------------------------
    @classmethod
    def for_model(cls, classifier: OnnxClassifier) -> UserVocabulary:
        """An empty vocabulary for this model."""
        dim = _embedding_dim(classifier)
        return cls(model_identity(classifier.path), classifier.labels, dim)

    # --- words ----------------------------------------------------------------
    @property
    def words(self) -> list[str]:
        """The user words, sorted."""
        return sorted(self._words)

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self._words

    def examples(self, word: str) -> NDArray[np.float64]:
        if word not in self._words:
            raise VocabularyError(f"no user word {word!r}")
        return self._words[word].copy()

    def check_word(self, word: str) -> str:
        """A valid new word name (stripped) or :class:`VocabularyError`."""
        w = word.strip() if isinstance(word, str) else ""
        if not w or not _WORD_RE.match(w):
            raise VocabularyError(f"bad word {word!r}: 1-63 printable characters expected")
        if w == NONE_LABEL or w in self.labels:
            raise VocabularyError(
                f"{w!r} is already a built-in word of the model; choose another name"
            )
        return w

    def add(
        self,
        word: str,
        embeddings: NDArray[Any],
        *,
        replace: bool = False,
        append: bool = False,
    ) -> str:
        """Add a word with its example embeddings (K, E); returns the stored name.

        An existing word is an error unless ``replace`` (drop its old examples) or
        ``append`` (keep them and add these).
        """
        w = self.check_word(word)
        ex = self._check_examples(w, normalize(np.atleast_2d(embeddings)))
        if w in self._words:
            if append:
                ex = self._check_examples(w, np.concatenate([self._words[w], ex]))
            elif not replace:
                raise VocabularyError(f"{w!r} is already a user word; use --replace or --append")
        elif len(self._words) >= MAX_WORDS:
            raise VocabularyError(f"the vocabulary is full ({MAX_WORDS} words)")
        self._words[w] = ex
        self._index = None
        return w

    def remove(self, word: str) -> None:
        if word not in self._words:
            raise VocabularyError(f"no user word {word!r}; words: {', '.join(self.words)}")
        del self._words[word]
        self._index = None

    def merge(self, other: UserVocabulary, *, replace: bool = False) -> list[str]:
        """Import the words of ``other`` (same model); returns the words imported."""
        other.check_model(self.model_sha256)
        clash = [w for w in other.words if w in self._words]
        if clash and not replace:
            raise VocabularyError(
                f"already user words: {', '.join(clash)}; use --replace to overwrite"
            )
        for w in other.words:
            self.add(w, other._words[w], replace=True)
        return other.words

    def check_model(self, model_sha256: str) -> None:
        if self.model_sha256 != model_sha256:
            raise VocabularyModelError(
                f"this vocabulary was made for another model (sha256 {self.model_sha256[:12]}, "
                f"this model is {model_sha256[:12]}): teach the words again for this model"
            )

    # --- recognition ----------------------------------------------------------
    def similarities(self, embedding: NDArray[Any]) -> tuple[list[str], NDArray[np.float64]]:
        """(words, (W,) similarities): one embedding (E,) vs each user word, i.e. its
        cosine similarity to the word's nearest example (:data:`USER_MATCH`)."""
        if self._index is None:
            names = self.words
            owner = np.repeat(np.arange(len(names)), [len(self._words[w]) for w in names])
            rows = [self._words[w] for w in names] or [np.zeros((0, self.embedding_dim))]
            self._index = (names, owner, np.concatenate(rows))
        names, owner, mat = self._index
        e = normalize(np.asarray(embedding, dtype=np.float64).reshape(-1))
        best = np.full(len(names), -np.inf)
        np.maximum.at(best, owner, mat @ e)
        return names, best

    def nearest(self, embedding: NDArray[Any]) -> VocabMatch | None:
        """The nearest user word to one embedding (E,), or None for an empty vocabulary."""
        names, sims = self.similarities(embedding)
        if not names:
            return None
        i = int(np.argmax(sims))
        return VocabMatch(names[i], float(sims[i]))

    # --- files ------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": VOCAB_FORMAT,
            "model": {"sha256": self.model_sha256, "labels": list(self.labels)},
            "embedding_dim": self.embedding_dim,
            "words": {
                w: {"examples": np.round(self._words[w], _DECIMALS).tolist()} for w in self.words
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    def save(self, path: str | Path) -> None:
        """Write atomically (a reader never sees half a file)."""
        atomic_write_text(path, self.dumps() + "\n")
        log.info("saved %d user words to %s", len(self), path)

    @classmethod
    def from_json(cls, data: Any, where: str = "vocabulary") -> UserVocabulary:
        """Parse and validate a document; :class:`VocabularyError` when malformed."""

        def bad(why: str) -> VocabularyError:
            return VocabularyError(f"{where}: not a Sign2Text vocabulary file ({why})")

        if not isinstance(data, dict):
            raise bad("a JSON object expected")
        if data.get("format") != VOCAB_FORMAT:
            raise bad(f"format {data.get('format')!r}, expected {VOCAB_FORMAT!r}")
        model = data.get("model")
        if not isinstance(model, dict) or not isinstance(model.get("sha256"), str):
            raise bad("no model.sha256")
        labels = model.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise bad("model.labels must be a list of strings")
        dim = data.get("embedding_dim")
        if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= 4096:
            raise bad("embedding_dim must be a positive integer")
        words = data.get("words")
        if not isinstance(words, dict):
            raise bad("words must be an object")
        vocab = cls(model["sha256"], labels, dim)
        for word, entry in words.items():
            ex = entry.get("examples") if isinstance(entry, dict) else None
            if not isinstance(ex, list) or not ex:
                raise bad(f"word {word!r} has no examples")
            try:
                arr = np.asarray(ex, dtype=np.float64)
            except (TypeError, ValueError):
                raise bad(f"word {word!r}: examples must be lists of numbers") from None
            try:
                vocab.add(vocab.check_word(word), arr)
            except VocabularyError as exc:
                raise bad(str(exc)) from None
        return vocab

    @classmethod
    def loads(cls, text: str, where: str = "vocabulary") -> UserVocabulary:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise VocabularyError(f"{where}: not valid JSON ({exc})") from None
        return cls.from_json(data, where)

    @classmethod
    def load(cls, path: str | Path, *, model_sha256: str | None = None) -> UserVocabulary:
        """Read a file; with ``model_sha256``, refuse one made for another model."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise VocabularyError(f"{p}: no such vocabulary file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise VocabularyError(f"{p}: unreadable vocabulary file ({exc})") from None
        vocab = cls.loads(text, str(p))
        if model_sha256 is not None:
            try:
                vocab.check_model(model_sha256)
            except VocabularyModelError as exc:
                raise VocabularyModelError(f"{p}: {exc}") from None
        return vocab

    # --- helpers ----------------------------------------------------------------
    def _check_examples(self, word: str, ex: NDArray[Any]) -> NDArray[np.float64]:
        arr = np.asarray(ex, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.embedding_dim or len(arr) == 0:
            raise VocabularyError(
                f"word {word!r}: examples of shape (K, {self.embedding_dim}) expected, "
                f"got {arr.shape}"
            )
        if len(arr) > MAX_EXAMPLES:
            raise VocabularyError(f"word {word!r}: at most {MAX_EXAMPLES} examples")
        norms = np.linalg.norm(arr, axis=1)
        if not np.isfinite(arr).all() or not (np.abs(norms - 1.0) < 1e-3).all():
            raise VocabularyError(f"word {word!r}: examples must be finite unit vectors")
        return arr


def _embedding_dim(classifier: OnnxClassifier) -> int:
    for out in classifier.session.get_outputs():
        if out.name == "embedding":
            dim = out.shape[-1]
            if isinstance(dim, int) and dim > 0:
                return dim
    from sign2text.errors import ModelError

    raise ModelError(f"{classifier.path}: model has no fixed-size embedding output")


def load_for_model(path: str | Path, classifier: OnnxClassifier) -> UserVocabulary:
    """Load ``path`` for this model, or an empty vocabulary when the file is missing."""
    p = Path(path)
    if not p.exists():
        return UserVocabulary.for_model(classifier)
    return UserVocabulary.load(p, model_sha256=model_identity(classifier.path))
