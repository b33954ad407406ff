"""static/js/vocab.js vs sign2text.runtime.vocab (Node): same similarities, nearest words
and decisions on real embeddings, and the same file format both ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sign2text.runtime import OnnxClassifier
from sign2text.runtime.vocab import (
    PROTOTYPE_MARGIN,
    PROTOTYPE_THRESHOLD,
    SIMILARITY_MARGIN,
    SIMILARITY_THRESHOLD,
    UserVocabulary,
    decide_by_probability,
    decide_by_prototypes,
    embed_landmarks,
    nearest_similarity,
    prototype_matrix,
)

JS = Path(__file__).parents[2] / "src/sign2text/serve/static/js/vocab.js"

SCRIPT = """
import * as V from %s;
import {readFileSync} from "node:fs";
const inp = JSON.parse(readFileSync(0, "utf8"));
const v = V.UserVocabulary.fromJSON(inp.doc);
const sims = inp.queries.map((q) => v.similarities(q));
const nearest = inp.queries.map((q) => v.nearest(q));
const decisions = inp.cases.map(([s, c, r]) => V.decideByProbability(s, c, r));
const protoDecisions = inp.protoCases.map(([s, b]) => V.decideByPrototypes(s, b));
const builtin = V.decodePrototypes(inp.builtin);
const builtinSims = inp.queries.map((q) => V.nearestSimilarity(builtin, q));
const constants = [
  V.SIMILARITY_THRESHOLD, V.SIMILARITY_MARGIN, V.PROTOTYPE_THRESHOLD, V.PROTOTYPE_MARGIN,
];
console.log(JSON.stringify({
  sims, nearest, decisions, protoDecisions, builtinSims, constants,
  builtinRows: builtin.rows.slice(0, 3), doc: v.toJSON(),
}));
"""


def test_js_matches_python(tmp_path: Path, classifier: OnnxClassifier, bhutan: Any) -> None:
    if shutil.which("node") is None:
        if os.environ.get("SIGN2TEXT_REQUIRE_BROWSER") == "1":  # CI installs node
            pytest.fail("node is required (SIGN2TEXT_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("node not installed")
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
    proto_cases = [(0.9, 0.8), (0.9, 0.95), (0.5, 0.1), (0.6, 0.6), (0.7, 0.69)]
    builtin = classifier.metadata.prototypes
    assert builtin is not None
    script = tmp_path / "run.mjs"
    script.write_text(SCRIPT % json.dumps(JS.as_uri()))
    doc = json.loads(vocab.dumps())
    payload = {
        "doc": doc,
        "queries": [q.tolist() for q in queries],
        "cases": cases,
        "protoCases": proto_cases,
        "builtin": builtin.to_json(),
    }
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
    assert js["constants"] == [
        SIMILARITY_THRESHOLD,
        SIMILARITY_MARGIN,
        PROTOTYPE_THRESHOLD,
        PROTOTYPE_MARGIN,
    ]
    for q, (names, sims) in zip(queries, js["sims"], strict=True):
        py_names, py_sims = py_vocab.similarities(q)
        assert names == py_names
        np.testing.assert_allclose(sims, py_sims, atol=1e-9)
    for q, m in zip(queries, js["nearest"], strict=True):
        pm = py_vocab.nearest(q)
        assert pm is not None and m["word"] == pm.word
        assert m["similarity"] == pytest.approx(pm.similarity, abs=1e-9)
    assert js["decisions"] == [decide_by_probability(*c) for c in cases]
    assert js["protoDecisions"] == [decide_by_prototypes(*c) for c in proto_cases]
    # The model's built-in prototypes decode to the same rows (float16 in base64) and
    # give the same nearest-built-in similarity.
    mat = prototype_matrix(builtin)
    assert mat is not None
    np.testing.assert_allclose(np.array(js["builtinRows"]), mat[:3], atol=1e-12)
    for q, b in zip(queries, js["builtinSims"], strict=True):
        assert b == pytest.approx(nearest_similarity(mat, q), abs=1e-9)
    # JS writes the same format: Python loads it back to the same vocabulary.
    back = UserVocabulary.from_json(js["doc"])
    assert back.dumps() == py_vocab.dumps()
