"""Out-of-vocabulary rejection study: which score tells an unknown word from a known one.

For every signer fold of a cross-validation run, the fold's exported model scores

- in-vocabulary words of the fold's test signers (never seen by that model), and
- out-of-vocabulary (OOV) recordings by the same test signers: labels of the loaded data
  outside the model's vocabulary (``_none_``, single letters, the excluded non-ASL
  signers and synthetic copies are left out).

Candidate acceptance scores (higher = accept): top softmax probability (today's rule),
margin top1-top2, logsumexp of the logits (negative energy), cosine similarity of the
embedding to the predicted class's prototype (mean of L2-normalized embeddings of the
fold's TRAINING signers), the max cosine over all prototypes, and the combination
"probability AND prototype". A prediction of ``_none_`` is always rejected.

Thresholds are fitted on folds 0-2 (keep 95% / 90% of their correct in-vocabulary
answers) and then applied unchanged to folds 3-4, the untouched check. With ``--clips``
the final model (prototypes from all its training data) is also run on the real clips
(``<word>__<source>__<name>.mp4``); those are only reported, never used to choose.

    .venv-dev/bin/python benchmarks/bench_reject.py [--runs runs/default] [--clips]

Each fold's model is ``FOLD/export/<--model-file>``, exported with ``sign2text export``
the first time (needs the train extra). Arrays are cached under ``<runs>/reject-cache``
(delete it after retraining).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import fold_export
from numpy.typing import NDArray

from sign2text.data.select import is_letter
from sign2text.features import compute_features
from sign2text.runtime.metadata import NONE_LABEL
from sign2text.runtime.onnx_model import OnnxClassifier, softmax
from sign2text.train import data as tdata
from sign2text.train.config import load_config

Arr = NDArray[Any]
TUNE = (0, 1, 2)
CHECK = (3, 4)
KEEPS = (0.95, 0.90)


def _norm(x: Arr) -> Arr:
    x = np.asarray(x, dtype=np.float64)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    out: Arr = x / np.maximum(n, 1e-12)
    return out


def _run_model(clf: OnnxClassifier, feats: list[tuple[Arr, Arr]]) -> tuple[Arr, Arr]:
    los, ems = [], []
    for i in range(0, len(feats), 256):
        chunk = feats[i : i + 256]
        x = np.stack([f for f, _ in chunk])
        m = np.stack([k for _, k in chunk])
        lo, em = clf.logits_and_embedding(x, m)
        los.append(lo)
        ems.append(em)
    return np.concatenate(los), np.concatenate(ems)


def prototypes(emb: Arr, y: Arr, n_classes: int) -> Arr:
    """(C, E) mean of L2-normalized embeddings per class, re-normalized (0 when absent)."""
    e = _norm(emb)
    out = np.zeros((n_classes, e.shape[1]))
    for c in range(n_classes):
        if (y == c).any():
            out[c] = e[y == c].mean(axis=0)
    return _norm(out)


def collect(runs: Path, model_name: str, cache: Path) -> dict[int, dict[str, Arr]]:
    """Per fold: logits, embeddings, labels of test words, OOV and train-signer words."""
    folds = sorted(runs.glob("fold-*"), key=lambda p: int(p.name.split("-")[1]))
    out: dict[int, dict[str, Arr]] = {}
    todo = [f for f in folds if not (cache / f"{f.name}.npz").is_file()]
    if todo:
        cfg = load_config(todo[0] / "config.json")
        everything = tdata.load_data(cfg.data)
        feats_cache: dict[str, tuple[Arr, Arr]] = {}
    for fold in folds:
        k = int(fold.name.split("-")[1])
        path = cache / f"{fold.name}.npz"
        if not path.is_file():
            cfg = load_config(fold / "config.json")
            samples, vocab = tdata.select_samples(everything, cfg.data)
            parts, _ = tdata.make_split(samples, cfg.data)
            split = json.loads((fold / "split.json").read_text())
            test_signers = set(split["signers"]["test"])
            if sorted(samples[i].source_id for i in parts["test"]) != sorted(
                split["parts"]["test"]
            ):
                raise SystemExit(f"{fold}: rebuilt test part differs from split.json")
            loose = dataclasses.replace(cfg.data, vocabulary_rule=False, labels=())
            allkept, _ = tdata.select_samples(everything, loose)
            vset = set(vocab)
            oov = [
                s
                for s in allkept
                if s.signer in test_signers
                and s.label not in vset
                and s.label != NONE_LABEL
                and not is_letter(s.label)
            ]
            clf = OnnxClassifier(fold_export(fold, model_name), threads=1)
            labels = list(clf.labels)
            index = {lab: i for i, lab in enumerate(labels)}
            fcfg = clf.metadata.features

            def feats(group: list[Any], fcfg: Any = fcfg) -> list[tuple[Arr, Arr]]:
                res = []
                for s in group:
                    if s.source_id not in feats_cache:
                        feats_cache[s.source_id] = compute_features(s.landmarks, fcfg)
                    res.append(feats_cache[s.source_id])
                return res

            arrays: dict[str, Arr] = {"labels": np.array(labels)}
            groups = {
                "test": [samples[i] for i in parts["test"]],
                "train": [samples[i] for i in parts["train"]],
                "oov": oov,
            }
            for name, group in groups.items():
                lo, em = _run_model(clf, feats(group))
                arrays[f"{name}_logits"] = lo
                arrays[f"{name}_emb"] = em.astype(np.float32)
                arrays[f"{name}_y"] = np.array([index.get(s.label, -1) for s in group])
                arrays[f"{name}_word"] = np.array([s.label for s in group])
                arrays[f"{name}_signer"] = np.array([s.signer for s in group])
            cache.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(path, **arrays)
            print(f"{fold.name}: {len(groups['test'])} test, {len(oov)} OOV", file=sys.stderr)
        with np.load(path) as d:
            out[k] = {key: d[key] for key in d.files}
    return out


# ---- scores ---------------------------------------------------------------------------


def base_scores(logits: Arr, emb: Arr, protos: Arr, none_idx: int) -> dict[str, Arr]:
    p = softmax(logits).astype(np.float64)
    srt = np.sort(p, axis=-1)
    top = p.argmax(-1)
    cos = _norm(emb) @ protos.T
    word = np.ones(p.shape[1], bool)
    word[none_idx] = False
    lg = logits.astype(np.float64)
    mx = lg.max(-1)
    return {
        "prob": srt[:, -1],
        "margin": srt[:, -1] - srt[:, -2],
        "logsumexp": mx + np.log(np.exp(lg - mx[:, None]).sum(-1)),
        "maxlogit": mx,
        "proto": cos[np.arange(len(top)), top],
        "proto_max": cos[:, word].max(-1),
        "_top": top.astype(np.float64),
    }


def fold_scores(d: dict[str, Arr]) -> dict[str, dict[str, Arr]]:
    labels = list(d["labels"])
    none_idx = labels.index(NONE_LABEL)
    protos = prototypes(d["train_emb"], d["train_y"], len(labels))
    res = {}
    for part in ("test", "oov"):
        s = base_scores(d[f"{part}_logits"], d[f"{part}_emb"], protos, none_idx)
        s["y"] = d[f"{part}_y"].astype(np.float64)
        res[part] = s
    return res


def pooled(scores: dict[int, dict[str, dict[str, Arr]]], folds: tuple[int, ...], part: str) -> Any:
    keys = scores[folds[0]][part].keys()
    return {k: np.concatenate([scores[f][part][k] for f in folds]) for k in keys}


def auroc(pos: Arr, neg: Arr) -> float:
    """P(score of a positive > score of a negative), ties count half."""
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="stable")
    ranks = np.empty(len(allv))
    sv = allv[order]
    # average ranks for ties
    _, inv, counts = np.unique(sv, return_inverse=True, return_counts=True)
    cum = np.cumsum(counts)
    avg = cum - (counts - 1) / 2.0
    ranks[order] = avg[inv]
    rp = ranks[: len(pos)].sum()
    return float((rp - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


Rule = Callable[[dict[str, Arr]], Arr]


def make_rules(tune_correct: dict[str, Arr]) -> dict[str, Rule]:
    """Acceptance scores. Combinations use the empirical CDF over the tuning folds'
    correct answers, so "min of the two CDFs >= q" is "both above their q-quantile"."""

    def cdf(name: str) -> Callable[[Arr], Arr]:
        ref = np.sort(tune_correct[name])
        return lambda v: np.searchsorted(ref, v, side="right") / len(ref)

    def single(name: str) -> Rule:
        return lambda s: s[name]

    rules: dict[str, Rule] = {
        name: single(name)
        for name in ("prob", "margin", "logsumexp", "maxlogit", "proto", "proto_max")
    }
    cp, cc, cm = cdf("prob"), cdf("proto"), cdf("margin")
    rules["prob AND proto"] = lambda s: np.minimum(cp(s["prob"]), cc(s["proto"]))
    rules["margin AND proto"] = lambda s: np.minimum(cm(s["margin"]), cc(s["proto"]))
    rules["proto + prob"] = lambda s: s["proto"] + s["prob"]
    return rules


def evaluate(
    rule: Rule, thr: float, test: dict[str, Arr], oov: dict[str, Arr], none_idx: int
) -> dict[str, float]:
    word = test["y"] != none_idx
    top_t, top_o = test["_top"], oov["_top"]
    acc_t = (rule(test) >= thr) & (top_t != none_idx)
    acc_o = (rule(oov) >= thr) & (top_o != none_idx)
    correct = word & (top_t == test["y"])
    right = correct & acc_t
    return {
        "kept_correct": float(right.sum() / max(correct.sum(), 1)),
        "oov_rejected": float(1 - acc_o.mean()),
        "inv_acc_before": float(correct.sum() / word.sum()),
        "inv_acc_after": float(right.sum() / word.sum()),
        "precision_accepted": float(right.sum() / max((acc_t & word).sum(), 1)),
    }


def rule_auroc(rule: Rule, test: dict[str, Arr], oov: dict[str, Arr], none_idx: int) -> float:
    word = test["y"] != none_idx
    correct = word & (test["_top"] == test["y"])
    st, so = rule(test).astype(np.float64), rule(oov).astype(np.float64)
    so = np.where(oov["_top"] == none_idx, -np.inf, so)
    return auroc(st[correct], so)


def signer_bootstrap(
    data: dict[int, dict[str, Arr]],
    scores: dict[int, dict[str, dict[str, Arr]]],
    rules: dict[str, Rule],
    none_idx: int,
    n: int = 200,
) -> dict[str, list[float]]:
    """95% interval of (AUROC of a rule - AUROC of prob) on the check folds, resampling
    test signers with replacement (their in-vocabulary and OOV recordings together)."""
    t, o = pooled(scores, CHECK, "test"), pooled(scores, CHECK, "oov")
    st = np.concatenate([data[f]["test_signer"] for f in CHECK])
    so = np.concatenate([data[f]["oov_signer"] for f in CHECK])
    signers = np.unique(np.concatenate([st, so]))
    by_t = {g: np.flatnonzero(st == g) for g in signers}
    by_o = {g: np.flatnonzero(so == g) for g in signers}
    rng = np.random.default_rng(0)
    diffs: dict[str, list[float]] = {name: [] for name in rules}
    for _ in range(n):
        pick = rng.choice(signers, len(signers))
        it = np.concatenate([by_t[g] for g in pick])
        io = np.concatenate([by_o[g] for g in pick])
        if len(io) == 0:
            continue
        tt = {k: v[it] for k, v in t.items()}
        oo = {k: v[io] for k, v in o.items()}
        base = rule_auroc(rules["prob"], tt, oo, none_idx)
        for name, rule in rules.items():
            diffs[name].append(rule_auroc(rule, tt, oo, none_idx) - base)
    return {
        k: [float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))] for k, v in diffs.items()
    }


def study(data: dict[int, dict[str, Arr]], card_threshold: float) -> dict[str, Any]:
    scores = {k: fold_scores(d) for k, d in data.items()}
    labels = list(data[0]["labels"])
    none_idx = labels.index(NONE_LABEL)
    tune_t, tune_o = pooled(scores, TUNE, "test"), pooled(scores, TUNE, "oov")
    chk_t, chk_o = pooled(scores, CHECK, "test"), pooled(scores, CHECK, "oov")
    all_folds = tuple(sorted(scores))
    all_t = pooled(scores, all_folds, "test")
    correct = (tune_t["y"] != none_idx) & (tune_t["_top"] == tune_t["y"])
    rules = make_rules({k: v[correct] for k, v in tune_t.items()})
    rows = []
    for name, rule in rules.items():
        row: dict[str, Any] = {
            "rule": name,
            "auroc_tune": rule_auroc(rule, tune_t, tune_o, none_idx),
            "auroc_check": rule_auroc(rule, chk_t, chk_o, none_idx),
        }
        for keep in KEEPS:
            thr = float(np.quantile(rule(tune_t)[correct], 1 - keep))
            row[f"thr@{keep}"] = thr
            row[f"tune@{keep}"] = evaluate(rule, thr, tune_t, tune_o, none_idx)
            row[f"check@{keep}"] = evaluate(rule, thr, chk_t, chk_o, none_idx)
        # a retention-matched view of the check folds (threshold fitted on them: not a
        # deployable number, only the ROC point at the same retention for every rule)
        chk_correct = (chk_t["y"] != none_idx) & (chk_t["_top"] == chk_t["y"])
        for keep in KEEPS:
            thr = float(np.quantile(rule(chk_t)[chk_correct], 1 - keep))
            row[f"matched@{keep}"] = evaluate(rule, thr, chk_t, chk_o, none_idx)
        for f in CHECK:
            row[f"auroc_fold{f}"] = rule_auroc(rule, scores[f]["test"], scores[f]["oov"], none_idx)
        rows.append(row)
    boot = signer_bootstrap(data, scores, rules, none_idx)
    for row in rows:
        row["auroc_check_minus_prob_ci95"] = boot[row["rule"]]
    today = {
        "threshold": card_threshold,
        "tune": evaluate(rules["prob"], card_threshold, tune_t, tune_o, none_idx),
        "check": evaluate(rules["prob"], card_threshold, chk_t, chk_o, none_idx),
    }
    # thresholds of the chosen candidates refit on all folds (what a shipped model uses)
    all_correct = (all_t["y"] != none_idx) & (all_t["_top"] == all_t["y"])
    ship = {"prob@card": card_threshold}
    ship |= {
        f"{n}@{keep}": float(np.quantile(all_t[n][all_correct], 1 - keep))
        for n in ("prob", "proto")
        for keep in KEEPS
    }
    counts = {
        k: {
            "test_words": int((s["test"]["y"] != none_idx).sum()),
            "test_none": int((s["test"]["y"] == none_idx).sum()),
            "oov": len(s["oov"]["y"]),
            "oov_words": len(set(data[k]["oov_word"])),
        }
        for k, s in scores.items()
    }
    return {"rows": rows, "today": today, "ship_thresholds_all_folds": ship, "counts": counts}


def markdown(r: dict[str, Any]) -> str:
    def pct(v: float) -> str:
        return f"{100 * v:.1f}"

    lines = [
        "| rule | AUROC tune | AUROC check | keep | threshold | check: kept correct | "
        "check: OOV rejected | check: in-vocab acc after | tune: OOV rejected | "
        "check, retention-matched: OOV rejected |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    t = r["today"]
    c = t["check"]
    lines.append(
        f"| prob (today's card) | | | {pct(t['tune']['kept_correct'])}% (tune) | "
        f"{t['threshold']:.4f} | {pct(c['kept_correct'])}% | **{pct(c['oov_rejected'])}%** | "
        f"{pct(c['inv_acc_after'])}% (of {pct(c['inv_acc_before'])}%) | "
        f"{pct(t['tune']['oov_rejected'])}% | |"
    )
    for row in r["rows"]:
        for keep in KEEPS:
            c, t = row[f"check@{keep}"], row[f"tune@{keep}"]
            lines.append(
                f"| {row['rule']} | {row['auroc_tune']:.3f} | {row['auroc_check']:.3f} | "
                f"{int(keep * 100)}% | {row[f'thr@{keep}']:.4f} | {pct(c['kept_correct'])}% | "
                f"**{pct(c['oov_rejected'])}%** | {pct(c['inv_acc_after'])}% "
                f"(of {pct(c['inv_acc_before'])}%) | {pct(t['oov_rejected'])}% | "
                f"{pct(row[f'matched@{keep}']['oov_rejected'])}% |"
            )
    lines += [
        "",
        "| rule | AUROC fold 3 | AUROC fold 4 | check AUROC minus prob's, 95% signer bootstrap |",
        "| --- | --- | --- | --- |",
    ]
    for row in r["rows"]:
        lo, hi = row["auroc_check_minus_prob_ci95"]
        lines.append(
            f"| {row['rule']} | {row['auroc_fold3']:.3f} | {row['auroc_fold4']:.3f} | "
            f"[{lo:+.3f}, {hi:+.3f}] |"
        )
    return "\n".join(lines) + "\n"


# ---- real clips -------------------------------------------------------------------------


def clip_landmarks(videos: Path, cache: Path, fps: float) -> dict[str, Arr]:
    path = cache / f"clips-{fps:g}fps.npz"
    if path.is_file():
        with np.load(path) as d:
            return {k: d[k] for k in d.files}
    from sign2text.errors import Sign2TextError
    from sign2text.io.video import VideoLimits, iter_frames
    from sign2text.landmarks.holistic import HolisticConfig, HolisticExtractor

    out: dict[str, Arr] = {}
    with HolisticExtractor(HolisticConfig()) as ex:
        for clip in sorted(videos.glob("*.mp4")):
            ex.reset()
            try:
                rows = [
                    ex.process(f.image)
                    for f in iter_frames(clip, target_fps=fps, limits=VideoLimits())
                ]
            except Sign2TextError:
                continue
            if rows:
                out[clip.name] = np.stack(rows)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **out)
    return out


def final_prototypes(runs: Path, model: Path, cache: Path) -> Arr:
    path = cache / "final-prototypes.npy"
    if path.is_file():
        out: Arr = np.load(path)
        return out
    cfg = load_config(runs / "final" / "config.json")
    samples, _ = tdata.select_samples(tdata.load_data(cfg.data), cfg.data)
    clf = OnnxClassifier(model, threads=1)
    index = {lab: i for i, lab in enumerate(clf.labels)}
    feats = [compute_features(s.landmarks, clf.metadata.features) for s in samples]
    _, em = _run_model(clf, feats)
    protos = prototypes(em, np.array([index[s.label] for s in samples]), len(clf.labels))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, protos)
    return protos


def real_clips(
    runs: Path, model: Path, videos: Path, cache: Path, thresholds: dict[str, float]
) -> dict[str, Any]:
    from sign2text.landmarks import skeleton as sk

    clf = OnnxClassifier(model, threads=1)
    labels = list(clf.labels)
    none_idx = labels.index(NONE_LABEL)
    protos = final_prototypes(runs, model, cache)
    lms = clip_landmarks(videos, cache, 15.0)
    vocab = set(labels)
    res: dict[str, Any] = {}
    per_clip = []
    for name, lm in sorted(lms.items()):
        word = name.split("__")[0]
        lm = sk.validate(lm)
        if sk.hand_rate(lm) == 0.0:
            continue  # the runtime answers "no signing" (a rejection)
        f, m = compute_features(lm, clf.metadata.features)
        lo, em = clf.logits_and_embedding(f[None], m[None])
        s = base_scores(lo, em, protos, none_idx)
        per_clip.append((name, word, word in vocab, labels[int(s["_top"][0])], s))
    for rule, thr in thresholds.items():
        name = rule.split("@")[0]
        inv_right = oov_rej = n_inv = n_oov = 0
        for _, word, iv, top, s in per_clip:
            accepted = top != NONE_LABEL and float(s[name][0]) >= thr
            if iv:
                n_inv += 1
                inv_right += int(accepted and top == word)
            else:
                n_oov += 1
                oov_rej += int(not accepted)
        for clip in set(lms) - {c[0] for c in per_clip}:  # no hands: a rejection
            if clip.split("__")[0] in vocab:
                n_inv += 1
            else:
                n_oov += 1
                oov_rej += 1
        res[rule] = {"threshold": thr, "inv_right": inv_right, "n_inv": n_inv}
        res[rule] |= {"oov_rejected": oov_rej, "n_oov": n_oov}
    res["clips"] = [
        {
            "clip": n,
            "in_vocab": iv,
            "top1": t,
            "prob": float(s["prob"][0]),
            "proto": float(s["proto"][0]),
        }
        for n, _, iv, t, s in per_clip
    ]
    res["no_hands"] = sorted(set(lms) - {c["clip"] for c in res["clips"]})
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, default=Path("runs/default"))
    p.add_argument("--model-file", default="model.int8.onnx", help="per-fold export file")
    p.add_argument("--clips", action="store_true", help="also run the final model on clips")
    p.add_argument("--model", type=Path, default=None, help="final model (default: bundled)")
    p.add_argument("--videos", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    cache = args.runs / "reject-cache"
    data = collect(args.runs, args.model_file, cache / args.model_file.replace(".onnx", ""))
    card_thr = float(json.loads((args.runs / "cv" / "cv.json").read_text())["reject_threshold"])
    r = study(data, card_thr)
    r["date"] = dt.date.today().isoformat()
    print(f"# OOV rejection study ({args.runs}, {args.model_file}), {r['date']}\n")
    print("per fold:", json.dumps(r["counts"]), "\n")
    print("Thresholds fitted on folds 0-2; 'check' = folds 3-4, untouched.\n")
    print(markdown(r))
    print("thresholds refit on all folds:", json.dumps(r["ship_thresholds_all_folds"]))
    if args.clips:
        from sign2text.runtime.recognizer import bundled_model_path
        from sign2text.settings import get_settings

        model = args.model or bundled_model_path()
        videos = args.videos or get_settings().videos_dir
        clips = real_clips(args.runs, model, videos, cache, r["ship_thresholds_all_folds"])
        r["real_clips"] = clips
        print("\nReal clips, final model:")
        for rule, v in clips.items():
            if rule in ("clips", "no_hands"):
                continue
            print(
                f"- {rule} (thr {v['threshold']:.4f}): in-vocab right "
                f"{v['inv_right']}/{v['n_inv']}, OOV rejected {v['oov_rejected']}/{v['n_oov']}"
            )
    if args.json:
        args.json.write_text(json.dumps(r, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
