"""Personal vocabulary: accuracy on words the built-in model never saw, and stealing.

    .venv-dev/bin/python benchmarks/bench_vocab.py [--reps 10] [--json out.json]

New words: the 10 words of ``bsl_bhutan.npz`` (Bhutanese SL, one signer) that are not
built-in labels. For K = 1, 3, 5, 10, ``reps`` random draws of K examples per word are
taught; the other recordings of that signer are recognized with the full decision
(``Recognizer._decide`` with the vocabulary: built-in classifier + user words).
Stealing: built-in top-1 (with rejection, ``_none_`` counts as a label) on
``traduttore.npz`` sequences of built-in labels, before vs after teaching the words.
Timing: seconds to add one word of 5 examples from landmarks (features, model, save).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sign2text.data.importers import load_landmarks
from sign2text.features import compute_features
from sign2text.landmarks import skeleton as sk
from sign2text.runtime import Recognizer, bundled_model_path
from sign2text.runtime.vocab import UserVocabulary, embed_landmarks, normalize
from sign2text.settings import get_settings


def _usable(samples: list[Any]) -> list[Any]:
    return [s for s in samples if sk.hand_rate(sk.validate(s.landmarks)) > 0]


def _run(rec: Recognizer, samples: list[Any]) -> tuple[Any, Any]:
    cfg = rec.metadata.features
    feats = [compute_features(s.landmarks, cfg) for s in samples]
    x = np.stack([f for f, _ in feats])
    m = np.stack([k for _, k in feats])
    logits, emb = rec.classifier.logits_and_embedding(x, m)
    e = logits - logits.max(1, keepdims=True)
    probs = np.exp(e) / np.exp(e).sum(1, keepdims=True)
    return probs.astype(np.float32), emb


def _answers(rec: Recognizer, probs: Any, emb: Any, vocab: UserVocabulary | None) -> Any:
    rec.vocabulary = vocab
    out = []
    for p, e in zip(probs, emb, strict=True):
        r = rec._decide(p, frames=0, hands_rate=1.0, timings={}, embedding=e)
        out.append(r.label)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--builtin", type=int, default=1000, help="traduttore sequences (0: all)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rng = np.random.default_rng(20261126)
    rec = Recognizer(bundled_model_path())
    labels = set(rec.labels)
    lm_dir = get_settings().data_dir / "landmarks"
    new = _usable([s for s in load_landmarks(lm_dir / "bsl_bhutan.npz") if s.label not in labels])
    old = _usable([s for s in load_landmarks(lm_dir / "traduttore.npz") if s.label in labels])
    if args.builtin and len(old) > args.builtin:
        old = [old[i] for i in sorted(rng.choice(len(old), args.builtin, replace=False))]
    words = sorted({s.label for s in new})
    pn, en = _run(rec, new)
    po, eo = _run(rec, old)
    en_n = normalize(en)
    ln = np.array([s.label for s in new])
    lo = np.array([s.label for s in old])
    base = float((_answers(rec, po, eo, None) == lo).mean())
    empty = UserVocabulary.for_model(rec.classifier)
    rows = []
    for k in (1, 3, 5, 10):
        accs, nn, drops = [], [], []
        for _ in range(args.reps):
            vocab = UserVocabulary(empty.model_sha256, empty.labels, empty.embedding_dim)
            test: list[int] = []
            for w in words:
                ix = rng.permutation(np.flatnonzero(ln == w))
                vocab.add(w, en_n[ix[:k]])
                test.extend(ix[k:])
            t = np.array(test)
            accs.append(float((_answers(rec, pn[t], en[t], vocab) == ln[t]).mean()))
            near = [vocab.nearest(e) for e in en[t]]
            nn.append(
                float(
                    np.mean(
                        [m is not None and m.word == y for m, y in zip(near, ln[t], strict=True)]
                    )
                )
            )
            drops.append(base - float((_answers(rec, po, eo, vocab) == lo).mean()))
        rows.append(
            {
                "K": k,
                "top1": float(np.mean(accs)),
                "top1_min": float(np.min(accs)),
                "nearest_only": float(np.mean(nn)),
                "builtin_before": base,
                "builtin_after": base - float(np.mean(drops)),
                "builtin_drop_max": float(np.max(drops)),
            }
        )
    # Adding one word (5 examples, from landmarks): embeddings + save.
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        vocab = UserVocabulary.for_model(rec.classifier)
        ex = [s for s in new if s.label == words[0]][:5]
        vocab.add(words[0], np.stack([embed_landmarks(rec.classifier, s.landmarks) for s in ex]))
        vocab.save(Path(tmp) / "v.json")
        add_s = time.perf_counter() - t0
    rec.close()
    print(f"new words: {', '.join(words)} ({len(new)} recordings, 1 signer)")
    print(f"built-in set: {len(old)} traduttore sequences of built-in labels; reps {args.reps}")
    print(
        "| K | top-1 (mean) | top-1 (worst draw) | nearest user word only |"
        + " built-in before | built-in after | worst drop |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['K']} | {r['top1']:.1%} | {r['top1_min']:.1%} | {r['nearest_only']:.1%} | "
            f"{r['builtin_before']:.1%} | {r['builtin_after']:.1%} | "
            f"{100 * r['builtin_drop_max']:.1f} pt |"
        )
    print(f"adding a word of 5 examples (from landmarks): {add_s * 1000:.0f} ms")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "add_s": add_s}, indent=1))


if __name__ == "__main__":
    main()
