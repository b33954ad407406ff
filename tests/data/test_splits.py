"""Splits keep signers apart, are deterministic, and round-trip through their file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sign2text.data.pack import read_pack
from sign2text.data.sample import Sample
from sign2text.data.select import (
    VocabularyRule,
    drop_conflicting_duplicates,
    select_vocabulary,
)
from sign2text.data.splits import (
    leave_signers_out_folds,
    load_split,
    make_signer_split,
    random_split,
    save_split,
)
from sign2text.errors import ConfigError, DatasetError


def _samples(signers: int = 6, labels: int = 4, per: int = 5) -> list[Sample]:
    rng = np.random.default_rng(0)
    out = []
    for s in range(signers):
        for lab in range(labels):
            for k in range(per):
                lm = rng.random((4, 543, 3), dtype=np.float32)
                out.append(Sample(lm, f"w{lab}", f"p{s}", f"p{s}/w{lab}/{k}"))
    return out


def _signers(samples: list[Sample], idx: list[int]) -> set[str]:
    return {samples[i].signer for i in idx}


def test_signer_split_is_disjoint_and_complete() -> None:
    samples = _samples()
    split = make_signer_split(samples, val=0.2, test=0.2, seed=3)
    parts = [set(split[p]) for p in ("train", "val", "test")]
    assert set().union(*parts) == set(range(len(samples)))
    assert sum(len(p) for p in parts) == len(samples)
    tr, va, te = (_signers(samples, split[p]) for p in ("train", "val", "test"))
    assert tr and va and te
    assert not (tr & va) and not (tr & te) and not (va & te)


def test_signer_split_is_deterministic() -> None:
    samples = _samples()
    a = make_signer_split(samples, seed=1)
    b = make_signer_split(samples, seed=1)
    assert a.parts == b.parts


def test_signer_split_needs_signers() -> None:
    samples = [Sample(s.landmarks, s.label, "", s.source_id) for s in _samples(2, 2, 2)]
    with pytest.raises(DatasetError, match="signer"):
        make_signer_split(samples)


def test_folds_test_each_signer_once() -> None:
    samples = _samples(signers=7)
    folds = leave_signers_out_folds(samples, 3, seed=0)
    tested = [s for f in folds for s in f.signers["test"]]
    assert sorted(tested) == sorted({s.signer for s in samples})
    for f in folds:
        assert not (_signers(samples, f["train"]) & _signers(samples, f["test"]))


def test_folds_of_single_signer_data_say_so() -> None:
    with pytest.raises(DatasetError, match="at least 2 signers; the data has 1"):
        leave_signers_out_folds(_samples(signers=1), 2, seed=0)
    with pytest.raises(ConfigError, match=r"n_folds must be in 2\.\.3"):
        leave_signers_out_folds(_samples(signers=3), 4, seed=0)


def test_folds_keep_a_training_signer_for_each_label() -> None:
    # Label "rare" is signed by two people only: they must land in different folds.
    samples = _samples(signers=6, labels=2, per=3)
    rng = np.random.default_rng(1)
    for who in ("p0", "p1"):
        for k in range(3):
            lm = rng.random((4, 543, 3), dtype=np.float32)
            samples.append(Sample(lm, "rare", who, f"{who}/rare/{k}"))
    for f in leave_signers_out_folds(samples, 3, seed=0):
        train_labels = {samples[i].label for i in f["train"]}
        assert "rare" in train_labels


def test_random_split_fractions() -> None:
    samples = _samples(signers=1, labels=2, per=50)
    split = random_split(samples, train=0.7, val=0.2, seed=0)
    assert [len(split[p]) for p in ("train", "val", "test")] == [70, 20, 10]


def test_split_file_round_trip(tmp_path: Path) -> None:
    samples = _samples()
    split = make_signer_split(samples, seed=2)
    save_split(tmp_path / "s.json", split, samples)
    back = load_split(tmp_path / "s.json", list(reversed(samples)))
    for part in ("train", "val", "test"):
        ids = sorted(samples[i].source_id for i in split[part])
        assert sorted(list(reversed(samples))[i].source_id for i in back[part]) == ids


def test_save_split_never_overwrites_what_is_not_a_split(tmp_path: Path) -> None:
    samples = _samples()
    split = make_signer_split(samples, seed=2)
    dataset = tmp_path / "data.npz"
    dataset.write_bytes(b"PK\x03\x04 a pack")
    with pytest.raises(DatasetError, match="exists and is not a split file; not overwritten"):
        save_split(dataset, split, samples)
    assert dataset.read_bytes() == b"PK\x03\x04 a pack"
    save_split(tmp_path / "s.json", split, samples)
    save_split(tmp_path / "s.json", make_signer_split(samples, seed=3), samples)  # a split: ok


def test_a_split_without_training_samples_is_not_written(tmp_path: Path) -> None:
    samples = _samples(signers=1, labels=2, per=50)
    # 1 - 0.99 - 0.01 is a float just above 0: every label rounds to no training sample.
    split = random_split(samples, train=1 - 0.99 - 0.01, val=0.99, seed=0)
    with pytest.raises(ConfigError, match="no training samples"):
        save_split(tmp_path / "s.json", split, samples)
    assert not (tmp_path / "s.json").exists()


def test_split_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DatasetError, match=r"bad\.json"):
        load_split(bad, _samples(2, 1, 1))


def test_traduttore_folds_and_vocabulary(data_dir: Path) -> None:
    samples = read_pack(data_dir / "landmarks" / "traduttore.npz")
    kept, dropped = drop_conflicting_duplicates(samples)
    assert dropped > 0  # the 60 byte-identical all-NaN "_none_" sequences collapse
    vocab = select_vocabulary(kept, VocabularyRule())
    # The 13 traduttore words plus _none_; letters are excluded by the rule.
    assert len(vocab) == 14 and "_none_" in vocab and "a" not in vocab
    folds = leave_signers_out_folds(kept, 3)
    assert sorted(len(f.signers["test"]) for f in folds) == [1, 1, 1]
