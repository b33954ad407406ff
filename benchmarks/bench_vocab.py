"""Personal vocabulary: tune the decision on one data set, test it once on another.

    .venv-dev/bin/python benchmarks/bench_vocab.py --phase tune [--reps 10] [--json out.json]
    .venv-dev/bin/python benchmarks/bench_vocab.py --phase test [--set letters|bhutan] \
        [--without-prototypes] [--reps 10] [--json out.json]

Both phases use the same K-shot protocol: for K = 1, 3, 5, 10 and ``reps`` random draws,
K examples of each of a signer's new words are taught, and that signer's other
recordings of those words are recognized (built-in classifier + user words). The
"built-in" columns are the built-in top-1 (with rejection; ``_none_`` counts as a label)
on recordings of built-in labels, before vs after teaching the words: how often a user
word steals a built-in sign.

"False acceptance" is how often a sign that is neither a built-in word of the signer's
language nor one of the taught words is answered with a user word.

``--phase tune`` (choose the threshold and the rule; never looks at the test words):
  new words: ``crowd.npz`` labels that are neither built-in labels nor Bhutanese words,
  from every signer with >= 5 such words of >= 15 usable recordings each (7 signers,
  one vocabulary per signer); stealing: ``--builtin`` random ``crowd.npz`` recordings of
  built-in labels; false acceptance: the other tuning signers' recordings of words this
  signer did not teach. A grid of thresholds x rules x matches is scored at every K.
  Matches: a sign's similarity to a user word is that to the word's nearest example, or
  to the normalized mean of its examples (the only match before 2026-11-26). Rules
  against built-in prototypes (``b``: similarity to the nearest one; 1, 4, 8 or 16 per
  word, made from the model's training data as ``sign2text prototypes`` makes them):
  the user word must be more similar than ``b`` by a margin of 0-0.1; rules against the
  classifier (for models without prototypes): the user word must beat a non-rejected
  built-in answer by a margin of 0, 0.1 or 0.2, or win only over a rejected one, or
  always win above the threshold. The chosen setting maximizes the signer-mean top-1
  at K=5 under a worst-draw built-in drop <= 1 point at every K and a false
  acceptance no higher, at every K, than the rule shipped before prototypes existed
  (classifier rule, margin 0.1, threshold 0.55, mean match) (ties, under 0.1 point: the
  higher threshold, then fewer prototypes, then the mean match).
``--phase test`` (run once with the shipped decision), ``--set letters`` (the default):
  10 ASL letters of ``traduttore_letters.npz`` (``LETTERS``), one vocabulary per
  signer (3); stealing: that signer's ``traduttore.npz`` recordings of built-in labels;
  false acceptance: that signer's other letters. ``--set bhutan``: new words: the 10
  words of ``bsl_bhutan.npz`` (Bhutanese SL, one signer) that are not built-in labels;
  stealing: ``--builtin`` random ``traduttore.npz`` recordings of built-in labels; false
  acceptance: the same Bhutanese signer's recordings of the other 5 words (Bhutanese
  signs with built-in English names: good, more, no, small, yes). The decision is
  ``Recognizer._decide`` itself (the shipped code); ``--without-prototypes`` drops the
  model's built-in prototypes (the rule of model files without them).
  Also times adding one word of 5 examples from landmarks (features, model, save).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.importers import load_landmarks
from sign2text.features import compute_features, pad_batch
from sign2text.landmarks import skeleton as sk
from sign2text.runtime import Recognizer, bundled_model_path
from sign2text.runtime.metadata import NONE_LABEL
from sign2text.runtime.onnx_model import softmax
from sign2text.runtime.vocab import (
    PROTOTYPE_MARGIN,
    PROTOTYPE_THRESHOLD,
    PROTOTYPES_PER_WORD,
    SIMILARITY_MARGIN,
    SIMILARITY_THRESHOLD,
    USER_MATCH,
    UserVocabulary,
    decide_by_probability,
    decide_by_prototypes,
    embed_landmarks,
    normalize,
    prototype_matrix,
    prototypes_from_embeddings,
)
from sign2text.settings import get_settings
from sign2text.train.config import load_config
from sign2text.train.data import training_samples

KS = (1, 3, 5, 10)
TUNE_K = 5
# The built-in drop budget on the tuning data (worst draw, every K): half the target's
# 2 points. A first test run of a setting chosen with the full 2 points stole 4.8 points
# on the test's built-in set (1.2 on tuning): stealing varies between populations.
MAX_DROP = 0.01
MIN_WORDS, MIN_RECORDINGS = 5, 15
THRESHOLDS = tuple(round(0.30 + 0.05 * i, 2) for i in range(13))  # 0.30 .. 0.90
COUNTS = (1, 4, 8, 16)  # built-in prototypes per word

Arr = NDArray[Any]
Rule = Callable[[Arr, Arr, Arr, Arr, float], Arr]


def _proto_rule(m: float) -> Rule:
    return lambda s, p, r, b, t: (s >= t) & (s > b + m)


def _prob_rule(m: float) -> Rule:
    return lambda s, p, r, b, t: (s >= t) & (r | (s > p + m))


# Vectorized forms of the rules: similarity s to the nearest user word, built-in top
# probability p, rejected r, similarity b to the nearest built-in prototype, threshold t.
RULES: dict[str, Rule] = {
    **{f"s>=t and s>b+{m:g}": _proto_rule(m) for m in (0.0, 0.02, 0.03, 0.05, 0.07, 0.1)},
    "s>=t and (rejected or s>p)": _prob_rule(0.0),
    "s>=t and (rejected or s>p+0.1)": _prob_rule(0.1),
    "s>=t and (rejected or s>p+0.2)": _prob_rule(0.2),
    "s>=t and rejected": lambda s, p, r, b, t: (s >= t) & r,
    "s>=t": lambda s, p, r, b, t: s >= t,
}
# (prototypes per word, or 0; rule; threshold; how a sign is matched with a user word)
Setting = tuple[int, str, float, str]
# the shipped rules (sign2text.runtime.vocab.decide_by_probability / decide_by_prototypes)
PROBABILITY_RULE = f"s>=t and (rejected or s>p+{SIMILARITY_MARGIN:g})"
PROTOTYPE_RULE = f"s>=t and s>b+{PROTOTYPE_MARGIN:g}"
# The false-acceptance budget: the setting shipped before the model had prototypes.
REFERENCE = ("s>=t and (rejected or s>p+0.1)", 0.55, "mean")
# A sign vs a user word: the nearest of its examples, or the normalized mean of them
# (the only way before 2026-11-26, evening).
MATCHES = ("example", "mean")


def _user_similarities(e: Arr, taught: list[Arr], match: str) -> Arr:
    """(N, W) cosine similarities of unit embeddings ``e`` (N, E) to the words whose unit
    example embeddings are ``taught`` (W arrays (K, E)): to each word's nearest example
    (``UserVocabulary.nearest``) or to the normalized mean of its examples."""
    if match == "mean":
        return e @ normalize(np.stack([x.mean(0) for x in taught])).T
    return np.stack([(e @ x.T).max(1) for x in taught], axis=1)


def _usable(samples: list[Any]) -> list[Any]:
    return [s for s in samples if sk.hand_rate(sk.validate(s.landmarks)) > 0]


def _run(rec: Recognizer, samples: list[Any], batch: int = 256) -> tuple[Arr, Arr]:
    """Built-in probabilities (N, C) and raw embeddings (N, E) of the samples."""
    cfg = rec.metadata.features
    probs, embs = [], []
    for i in range(0, len(samples), batch):
        feats = [compute_features(s.landmarks, cfg) for s in samples[i : i + batch]]
        x, m = pad_batch([f for f, _ in feats], [k for _, k in feats])
        logits, emb = rec.classifier.logits_and_embedding(x, m)
        probs.append(softmax(logits))
        embs.append(emb)
    return np.concatenate(probs), np.concatenate(embs)


class Builtin:
    """The built-in answer of each sample: label, top probability, rejected."""

    def __init__(self, rec: Recognizer, probs: Arr) -> None:
        top = probs.argmax(1)
        self.p = probs[np.arange(len(probs)), top].astype(np.float64)
        labels = np.array(rec.labels)[top]
        self.rejected = (labels == NONE_LABEL) | (self.p < rec.reject_threshold)
        self.label = np.where(self.rejected, NONE_LABEL, labels)


def _rows(
    per_k: dict[int, dict[str, list[float]]], base: float, n_words: int
) -> list[dict[str, Any]]:
    out = []
    for k, r in per_k.items():
        drops = np.array(r["drop"])
        out.append(
            {
                "K": k,
                "top1": float(np.mean(r["acc"])),
                "top1_min": float(np.min(r["acc"])),
                "nearest_only": float(np.mean(r["near"])),
                "builtin_before": base,
                "builtin_after": base - float(drops.mean()),
                "builtin_drop_max": float(drops.max()),
                "false_accept": float(np.mean(r["fa"])),
                "words": n_words,
            }
        )
    return out


def _table(rows: list[dict[str, Any]], first: str = "K") -> None:
    print(
        f"| {first} | top-1 (mean) | top-1 (worst) | nearest user word only |"
        " built-in before | built-in after | worst drop | false acceptance |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r[first]} | {r['top1']:.1%} | {r['top1_min']:.1%} | {r['nearest_only']:.1%} | "
            f"{r['builtin_before']:.1%} | {r['builtin_after']:.1%} | "
            f"{100 * r['builtin_drop_max']:.1f} pt | {r['false_accept']:.1%} |"
        )


def _prototypes(rec: Recognizer) -> Arr:
    mat = prototype_matrix(rec.metadata.prototypes)
    if mat is None:
        raise SystemExit("the model has no built-in prototypes: run `sign2text prototypes` first")
    return mat


def _candidate_prototypes(rec: Recognizer, counts: tuple[int, ...]) -> dict[int, Arr]:
    """Prototype matrices with each count per word, made as ``sign2text prototypes
    --config configs/default.toml --per-word N`` makes them (the model's training data)."""
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.toml")
    train = _usable(training_samples(cfg.data))
    words = [w for w in rec.labels if w != NONE_LABEL]
    train = [s for s in train if s.label in set(words)]
    _, emb = _run(rec, train)
    labels = [s.label for s in train]
    out = {}
    for n in counts:
        mat = prototype_matrix(prototypes_from_embeddings(emb, labels, words, n))
        assert mat is not None
        out[n] = mat
    return out


# --- tuning -----------------------------------------------------------------------


def _check_rules(rng: np.random.Generator) -> None:
    """The vectorized rules are the shipped functions of sign2text.runtime.vocab."""
    for s, p, r, b in rng.random((200, 4)):
        want = decide_by_probability(float(s), float(p), bool(r > 0.5), 0.6, SIMILARITY_MARGIN)
        got = RULES[PROBABILITY_RULE](*(np.array(v) for v in (s, p, r > 0.5, b)), 0.6)
        assert bool(got) == want
        want = decide_by_prototypes(float(s), float(b), 0.4, PROTOTYPE_MARGIN)
        got = RULES[PROTOTYPE_RULE](*(np.array(v) for v in (s, p, r > 0.5, b)), 0.4)
        assert bool(got) == want


def _check_match(rng: np.random.Generator) -> None:
    """The vectorized match with user words is the shipped ``UserVocabulary``'s."""
    taught = [normalize(rng.standard_normal((k, 8))) for k in (1, 3, 5)]
    vocab = UserVocabulary("0" * 64, [], 8)
    for i, x in enumerate(taught):
        vocab.add(f"w{i}", x)
    queries = normalize(rng.standard_normal((50, 8)))
    for want, e in zip(_user_similarities(queries, taught, USER_MATCH), queries, strict=True):
        assert np.allclose(vocab.similarities(e)[1], want)


def tune(rec: Recognizer, args: argparse.Namespace, rng: np.random.Generator) -> dict[str, Any]:
    lm_dir = get_settings().data_dir / "landmarks"
    builtin = set(rec.labels)
    protos = _candidate_prototypes(rec, COUNTS)
    test_words = {s.label for s in load_landmarks(lm_dir / "bsl_bhutan.npz")}
    crowd = _usable(load_landmarks(lm_dir / "crowd.npz"))
    counts = Counter((s.signer, s.label) for s in crowd)
    signer_words: dict[str, list[str]] = {}
    for (signer, label), n in counts.items():
        if label not in builtin and label not in test_words and n >= MIN_RECORDINGS:
            signer_words.setdefault(signer, []).append(label)
    signer_words = {s: sorted(w) for s, w in sorted(signer_words.items()) if len(w) >= MIN_WORDS}
    new = [s for s in crowd if s.label in signer_words.get(s.signer, ())]
    old = [s for s in crowd if s.label in builtin]
    if args.builtin and len(old) > args.builtin:
        old = [old[i] for i in sorted(rng.choice(len(old), args.builtin, replace=False))]
    del crowd
    pn, en = _run(rec, new)
    po, eo = _run(rec, old)
    bn, bo = Builtin(rec, pn), Builtin(rec, po)
    en, eo = normalize(en), normalize(eo)
    qn = {n: (en @ m.T).max(1) for n, m in protos.items()}
    qo = {n: (eo @ m.T).max(1) for n, m in protos.items()}
    ln = np.array([s.label for s in new])
    sn = np.array([s.signer for s in new])
    lo = np.array([s.label for s in old])
    ok_before = bo.label == lo
    base = float(ok_before.mean())
    _check_rules(rng)
    _check_match(np.random.default_rng(0))  # own generator: the draws stay as before

    # (prototypes per word, rule, threshold); 0: a rule that does not use prototypes
    grid = [
        (n, rule, t, match)
        for match in MATCHES
        for rule in RULES
        for n in (COUNTS if rule.startswith("s>=t and s>b") else (0,))
        for t in THRESHOLDS
    ]
    # (n, rule, t, match) -> K -> {"acc": [signer mean top-1 per draw], "drop", "near", "fa": [...]}
    res: dict[Setting, dict[int, dict[str, list[float]]]] = {
        g: {k: {"acc": [], "drop": [], "near": [], "fa": []} for k in KS} for g in grid
    }
    per_signer: dict[Setting, dict[str, list[float]]] = {
        g: {s: [] for s in signer_words} for g in grid
    }
    for k in KS:
        for _ in range(args.reps):
            accs: dict[Setting, list[float]] = {g: [] for g in grid}
            drops: dict[Setting, list[float]] = {g: [] for g in grid}
            fas: dict[Setting, list[float]] = {g: [] for g in grid}
            nears: dict[str, list[float]] = {m: [] for m in MATCHES}
            for signer, words in signer_words.items():
                taught: list[Arr] = []
                test: list[int] = []
                for w in words:
                    ix = rng.permutation(np.flatnonzero((sn == signer) & (ln == w)))
                    taught.append(en[ix[:k]])
                    test.extend(ix[k:])
                t_ix = np.array(test)
                u_ix = np.flatnonzero((sn != signer) & ~np.isin(ln, words))
                # match -> (similarity and hit of the test signs, stealing, unknown signs)
                seen: dict[str, tuple[Arr, Arr, Arr, Arr]] = {}
                for match in MATCHES:
                    sim_t = _user_similarities(en[t_ix], taught, match)
                    hit = np.array(words)[sim_t.argmax(1)] == ln[t_ix]
                    s_o = _user_similarities(eo, taught, match).max(1)
                    s_u = _user_similarities(en[u_ix], taught, match).max(1)
                    seen[match] = (sim_t.max(1), hit, s_o, s_u)
                for match in MATCHES:
                    nears[match].append(float(seen[match][1].mean()))
                for g in grid:
                    n, rule, t, match = g
                    s_t, hit, s_o, s_u = seen[match]
                    f = RULES[rule]
                    b_n, b_o = qn[n or 1], qo[n or 1]
                    win_t = f(s_t, bn.p[t_ix], bn.rejected[t_ix], b_n[t_ix], t)
                    acc = float((win_t & hit).mean())
                    accs[g].append(acc)
                    if k == TUNE_K:
                        per_signer[g][signer].append(acc)
                    win_o = f(s_o, bo.p, bo.rejected, b_o, t)
                    drops[g].append(base - float((ok_before & ~win_o).mean()))
                    win_u = f(s_u, bn.p[u_ix], bn.rejected[u_ix], b_n[u_ix], t)
                    fas[g].append(float(win_u.mean()))
            for g in grid:
                res[g][k]["acc"].append(float(np.mean(accs[g])))
                # every signer's vocabulary is one draw of the stealing measurement
                res[g][k]["drop"].extend(drops[g])
                res[g][k]["fa"].append(float(np.mean(fas[g])))
                res[g][k]["near"].append(float(np.mean(nears[g[3]])))
    n_words = sum(len(w) for w in signer_words.values())
    table = {g: _rows(res[g], base, n_words) for g in grid}
    fa_budget = {r["K"]: r["false_accept"] for r in table[(0, *REFERENCE)]}

    def ok(g: Setting) -> bool:
        return all(
            r["builtin_drop_max"] <= MAX_DROP and r["false_accept"] <= fa_budget[r["K"]] + 1e-12
            for r in table[g]
        )

    def k5(g: Setting) -> dict[str, Any]:
        return next(r for r in table[g] if r["K"] == TUNE_K)

    def score(g: Setting) -> tuple[float, float, int, bool]:
        # ties (< 0.1 pt): the higher threshold, then fewer prototypes, then the mean
        return (round(k5(g)["top1"], 3), g[2], -g[0], g[3] == "mean")

    feasible = [g for g in grid if ok(g)]
    chosen = max(feasible, key=score)
    prob_chosen = max((g for g in feasible if g[0] == 0), key=score)

    print("tuning words (crowd.npz, not built-in, not Bhutanese):")
    for s, ws in signer_words.items():
        n = int((sn == s).sum())
        print(f"  {s}: {len(ws)} words, {n} recordings: {', '.join(ws)}")
    print(f"stealing set: {len(old)} crowd.npz recordings of built-in labels; reps {args.reps}")
    print(f"\nK={TUNE_K}, every rule and threshold (top-1: mean of the signers' accuracies;")
    print("worst: the worst draw; drop: over every signer's vocabulary and draw)\n")
    for n, rule, match in dict.fromkeys((g[0], g[1], g[3]) for g in grid):
        per = f", {n} prototypes per built-in word" if n else ""
        print(f"rule: {rule}{per}; a sign vs a user word: {match}")
        _table([{**k5((n, rule, t, match)), "t": t} for t in THRESHOLDS], first="t")
        print()
    for name, g in (("chosen", chosen), ("best rule without prototypes", prob_chosen)):
        per = f", {g[0]} prototypes per word" if g[0] else ""
        print(f"{name}: rule '{g[1]}'{per}, threshold {g[2]:.2f}, match {g[3]}; at every K:\n")
        _table(table[g])
        print()
    shipped = (
        f"prototypes: {PROTOTYPES_PER_WORD} per word, threshold {PROTOTYPE_THRESHOLD}, "
        f"margin {PROTOTYPE_MARGIN}; without: threshold {SIMILARITY_THRESHOLD}, "
        f"margin {SIMILARITY_MARGIN}; match {USER_MATCH}"
    )
    print(f"shipped: {shipped}")
    print(f"constraints: worst drop <= {100 * MAX_DROP:.1f} pt and false acceptance <= ", end="")
    print(f"that of '{REFERENCE[0]}' at {REFERENCE[1]} at every K")
    print(f"\nper signer at K={TUNE_K} (chosen setting):")
    for s, a in per_signer[chosen].items():
        print(f"  {s}: {np.mean(a):.1%}")
    return {
        "phase": "tune",
        "signers": signer_words,
        "builtin_n": len(old),
        "grid": {
            f"{r} @ {t:.2f} (prototypes {n}, match {m})": table[(n, r, t, m)] for n, r, t, m in grid
        },
        "chosen": {
            "prototypes_per_word": chosen[0],
            "rule": chosen[1],
            "threshold": chosen[2],
            "match": chosen[3],
            "rows": table[chosen],
        },
        "chosen_without_prototypes": {
            "rule": prob_chosen[1],
            "threshold": prob_chosen[2],
            "match": prob_chosen[3],
            "rows": table[prob_chosen],
        },
    }


# --- test -------------------------------------------------------------------------


def _answers(rec: Recognizer, probs: Arr, emb: Arr, vocab: UserVocabulary | None) -> Arr:
    rec.vocabulary = vocab
    out = []
    for p, e in zip(probs, emb, strict=True):
        r = rec._decide(p, frames=0, hands_rate=1.0, timings={}, embedding=e)
        out.append(r.label)
    return np.array(out)


LETTERS = ("a", "b", "c", "d", "e", "g", "h", "i", "k", "l")  # recorded by all 3 signers


class Group:
    """One signer's test: new words to teach, built-in recordings, unknown signs."""

    def __init__(
        self, rec: Recognizer, name: str, new: list[Any], old: list[Any], unknown: list[Any]
    ) -> None:
        self.name = name
        self.words = sorted({s.label for s in new})
        self.pn, self.en = _run(rec, new)
        self.po, self.eo = _run(rec, old)
        self.pu, self.eu = _run(rec, unknown)
        self.ln = np.array([s.label for s in new])
        self.lo = np.array([s.label for s in old])
        self.base = float((_answers(rec, self.po, self.eo, None) == self.lo).mean())
        self.sizes = (len(new), len(old), len(unknown))
        self.landmarks = [s.landmarks for s in new]


def _test_groups(
    rec: Recognizer, args: argparse.Namespace, rng: np.random.Generator
) -> tuple[str, list[Group]]:
    labels = set(rec.labels)
    lm_dir = get_settings().data_dir / "landmarks"

    def cap(samples: list[Any]) -> list[Any]:
        if args.builtin and len(samples) > args.builtin:
            keep = sorted(rng.choice(len(samples), args.builtin, replace=False))
            return [samples[i] for i in keep]
        return samples

    trad = _usable([s for s in load_landmarks(lm_dir / "traduttore.npz") if s.label in labels])
    if args.set == "bhutan":
        bhutan = _usable(load_landmarks(lm_dir / "bsl_bhutan.npz"))
        new = [s for s in bhutan if s.label not in labels]
        unknown = [s for s in bhutan if s.label in labels]  # Bhutanese signs, English names
        about = (
            "the 10 Bhutanese words that are not built-in labels (1 signer); built-in: "
            f"random traduttore.npz recordings; unknown: the same signer's "
            f"{', '.join(sorted({s.label for s in unknown}))}"
        )
        return about, [Group(rec, "bsl_bhutan", new, cap(trad), unknown)]
    letters = _usable(load_landmarks(lm_dir / "traduttore_letters.npz"))
    groups = []
    for signer in sorted({s.signer for s in letters}):
        mine = [s for s in letters if s.signer == signer and s.label not in labels]
        new = [s for s in mine if s.label in LETTERS]
        unknown = [s for s in mine if s.label not in LETTERS and s.label != NONE_LABEL]
        old = cap([s for s in trad if s.signer == signer])
        groups.append(Group(rec, signer, new, old, unknown))
    about = (
        f"ASL letters {', '.join(LETTERS)} from traduttore_letters.npz, one vocabulary per "
        "signer (3); built-in: that signer's traduttore.npz recordings of built-in labels; "
        "unknown: that signer's other letters and 'space'"
    )
    return about, groups


def test(rec: Recognizer, args: argparse.Namespace, rng: np.random.Generator) -> dict[str, Any]:
    if args.without_prototypes:
        rec._builtin_prototypes = None  # the rule for model files without prototypes
        decision = (
            f"classifier rule, threshold {SIMILARITY_THRESHOLD}, margin {SIMILARITY_MARGIN}, "
            f"match {USER_MATCH}"
        )
    else:
        decision = (
            f"prototype rule, {len(_prototypes(rec))} prototypes, "
            f"threshold {PROTOTYPE_THRESHOLD}, margin {PROTOTYPE_MARGIN}, match {USER_MATCH}"
        )
    about, groups = _test_groups(rec, args, rng)
    empty = UserVocabulary.for_model(rec.classifier)
    per_k: dict[int, dict[str, list[float]]] = {}
    per_group: dict[str, list[float]] = {g.name: [] for g in groups}
    for k in KS:
        r: dict[str, list[float]] = {"acc": [], "drop": [], "near": [], "fa": []}
        for _ in range(args.reps):
            accs, nears, fas = [], [], []
            for g in groups:
                vocab = UserVocabulary(empty.model_sha256, empty.labels, empty.embedding_dim)
                test_ix: list[int] = []
                for w in g.words:
                    ix = rng.permutation(np.flatnonzero(g.ln == w))
                    vocab.add(w, normalize(g.en[ix[:k]]))
                    test_ix.extend(ix[k:])
                t = np.array(test_ix)
                acc = float((_answers(rec, g.pn[t], g.en[t], vocab) == g.ln[t]).mean())
                accs.append(acc)
                if k == TUNE_K:
                    per_group[g.name].append(acc)
                near = [vocab.nearest(e) for e in g.en[t]]
                hits = [m is not None and m.word == y for m, y in zip(near, g.ln[t], strict=True)]
                nears.append(float(np.mean(hits)))
                after = float((_answers(rec, g.po, g.eo, vocab) == g.lo).mean())
                r["drop"].append(g.base - after)
                fas.append(float(np.isin(_answers(rec, g.pu, g.eu, vocab), g.words).mean()))
            r["acc"].append(float(np.mean(accs)))
            r["near"].append(float(np.mean(nears)))
            r["fa"].append(float(np.mean(fas)))
        per_k[k] = r
    base = float(np.mean([g.base for g in groups]))
    rows = _rows(per_k, base, sum(len(g.words) for g in groups))
    # Adding one word (5 examples, from landmarks): embeddings + save.
    g0 = groups[0]
    ex_ix = np.flatnonzero(g0.ln == g0.words[0])[:5]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        vocab = UserVocabulary.for_model(rec.classifier)
        examples = [embed_landmarks(rec.classifier, g0.landmarks[i]) for i in ex_ix]
        vocab.add(g0.words[0], np.stack(examples))
        vocab.save(Path(tmp) / "v.json")
        add_s = time.perf_counter() - t0
    print(f"test set: {about}; reps {args.reps}")
    for g in groups:
        n, o, u = g.sizes
        print(f"  {g.name}: {len(g.words)} words, {n} recordings; built-in {o}; unknown {u}")
    print(f"decision: {decision}\n")
    _table(rows)
    print(
        f"\nper signer at K={TUNE_K}: "
        + ", ".join(f"{k} {np.mean(v):.1%}" for k, v in per_group.items())
    )
    print(f"\nadding a word of 5 examples (from landmarks): {add_s * 1000:.0f} ms")
    return {"phase": "test", "set": args.set, "decision": decision, "rows": rows, "add_s": add_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phase", choices=("tune", "test"), required=True)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument(
        "--builtin",
        type=int,
        default=None,
        help="recordings of built-in labels for stealing (0: all; default 1500 tune, 1000 test)",
    )
    ap.add_argument(
        "--set",
        choices=("letters", "bhutan"),
        default="letters",
        help="test: ASL letters (3 signers) or the Bhutanese words (1 signer)",
    )
    ap.add_argument(
        "--without-prototypes",
        action="store_true",
        help="test: the decision of a model file without built-in prototypes",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.builtin is None:
        args.builtin = 1500 if args.phase == "tune" else 1000
    rng = np.random.default_rng(20261126)
    rec = Recognizer(bundled_model_path())
    try:
        out = tune(rec, args, rng) if args.phase == "tune" else test(rec, args, rng)
    finally:
        rec.close()
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
