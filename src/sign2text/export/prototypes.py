"""Built-in prototypes in a model file: cluster centres of each built-in word's embeddings.

Personal vocabularies (:mod:`sign2text.runtime.vocab`) compare a user word with the
nearest built-in prototype. They are computed with the exported file itself (an int8
model's embeddings differ slightly from its fp32 twin's) on the data the model was
trained on, and stored in its metadata, so that one file is still all a runtime needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sign2text.data.sample import Sample
from sign2text.export.onnx_export import read_metadata, write_metadata
from sign2text.runtime.metadata import ClassPrototypes
from sign2text.runtime.onnx_model import OnnxClassifier
from sign2text.runtime.vocab import PROTOTYPES_PER_WORD, class_prototypes

Progress = Callable[[Iterable[Any]], Iterable[Any]]


def store_prototypes(
    model: str | Path,
    samples: Sequence[Sample],
    *,
    per_word: int = PROTOTYPES_PER_WORD,
    progress: Progress = lambda it: it,
    threads: int = 1,
) -> ClassPrototypes:
    """Compute the built-in prototypes of ``model`` from ``samples`` and write them into
    its metadata (atomically); returns them."""
    path = Path(model)
    classifier = OnnxClassifier(path, threads=threads)
    labelled = progress((s.label, s.landmarks) for s in samples)
    protos = class_prototypes(classifier, labelled, per_word=per_word)
    meta = read_metadata(path)
    write_metadata(path, dataclasses.replace(meta, prototypes=protos))
    return protos
