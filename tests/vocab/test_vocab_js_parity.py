"""static/js/vocab.js vs sign2text.runtime.vocab (Node): same prototypes, nearest words
and decisions on real embeddings, and the same file format both ways."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sign2text.runtime import OnnxClassifier
from sign2text.runtime.vocab import (
    SIMILARITY_MARGIN,
    SIMILARITY_THRESHOLD,
    UserVocabulary,
    decide,
    embed_landmarks,
)

JS = Path(__file__).parents[2] / "src/sign2text/serve/static/js/vocab.js"

SCRIPT = """
import {UserVocabulary, decide, SIMILARITY_THRESHOLD, SIMILARITY_MARGIN} from %s;
import {readFileSync} from "node:fs";
const inp = JSON.parse(readFileSync(0, "utf8"));
const v = UserVocabulary.fromJSON(inp.doc);
const [names, protos] = v.prototypes();
const nearest = inp.queries.map((q) => v.nearest(q));
const decisions = inp.cases.map(([s, c, r]) => decide(s, c, r));
const thr = SIMILARITY_THRESHOLD;
const margin = SIMILARITY_MARGIN;
console.log(JSON.stringify({names, protos, nearest, decisions, thr, margin, doc: v.toJSON()}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_js_matches_python(tmp_path: Path, classifier: OnnxClassifier, bhutan: Any) -> None:
    vocab = UserVocabulary.for_model(classifier)
    for w in ("sun", "moon", "star", "road"):
        vocab.add(w, np.stack([embed_landmarks(classifier, lm) for lm in bhutan[w][:5]]))
    queries = [embed_landmarks(classifier, lm) for w in ("sun", "eat") for lm in bhutan[w][60:65]]
    cases = [
        (0.9, 0.75, False),
        (0.9, 0.85, False),
        (0.8, 0.9, False),
        (0.56, 0.99, True),
        (0.54, 0.0, True),
    ]
    script = tmp_path / "run.mjs"
    script.write_text(SCRIPT % json.dumps(JS.as_uri()))
    doc = json.loads(vocab.dumps())
    payload = {"doc": doc, "queries": [q.tolist() for q in queries], "cases": cases}
    out = subprocess.run(
        ["node", str(script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    js = json.loads(out.stdout)
    py_vocab = UserVocabulary.from_json(doc)  # Python reads the same (rounded) file
    names, protos = py_vocab.prototypes()
    assert js["names"] == names and js["thr"] == SIMILARITY_THRESHOLD
    assert js["margin"] == SIMILARITY_MARGIN
    np.testing.assert_allclose(np.array(js["protos"]), protos, atol=1e-9)
    for q, m in zip(queries, js["nearest"], strict=True):
        pm = py_vocab.nearest(q)
        assert pm is not None and m["word"] == pm.word
        assert m["similarity"] == pytest.approx(pm.similarity, abs=1e-9)
    assert js["decisions"] == [decide(*c) for c in cases]
    # JS writes the same format: Python loads it back to the same vocabulary.
    back = UserVocabulary.from_json(js["doc"])
    assert back.dumps() == py_vocab.dumps()
