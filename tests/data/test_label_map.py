"""Renaming labels as they are read (``data.label_map``): synonyms merge before the
vocabulary rule counts signers; malformed maps are config errors."""

from __future__ import annotations

import numpy as np
import pytest

from sign2text.data.sample import Sample
from sign2text.data.select import check_label_map, rename_labels
from sign2text.errors import ConfigError
from sign2text.landmarks import skeleton as sk
from sign2text.train.config import DataConfig, TrainConfig
from sign2text.train.data import select_samples


def _sample(label: str, signer: str, k: int) -> Sample:
    lm = sk.empty(4)
    lm[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop] = 0.1 * k  # distinct recordings
    return Sample(lm, label, signer, f"{signer}/{label}/{k}")


def _data() -> list[Sample]:
    # "bye" and "goodbye" have one signer each: neither passes the rule alone.
    out = [_sample("bye", "a", k) for k in range(3)]
    out += [_sample("goodbye", "b", k) for k in range(3, 6)]
    out += [_sample("hello", s, k) for s in "ab" for k in range(6, 9)]
    out += [_sample("yes", s, k) for s in "ab" for k in range(9, 12)]
    return out


def test_label_map_merges_before_the_vocabulary_rule() -> None:
    rule = {"vocabulary_rule": True, "min_signers": 2, "min_per_signer": 3, "split": "none"}
    kept, vocab = select_samples(_data(), DataConfig(**rule))
    assert vocab == ["hello", "yes"]
    kept, vocab = select_samples(_data(), DataConfig(**rule, label_map={"bye": "goodbye"}))
    assert vocab == ["goodbye", "hello", "yes"]
    assert sum(s.label == "goodbye" for s in kept) == 6
    assert {s.source_id for s in kept if s.label == "goodbye"} >= {"a/bye/0", "b/goodbye/3"}


def test_rename_labels_keeps_everything_else() -> None:
    data = _data()
    out = rename_labels(data, {"bye": "goodbye"})
    assert [s.label for s in out].count("bye") == 0
    for a, b in zip(data, out, strict=True):
        assert a.source_id == b.source_id and a.signer == b.signer
        assert np.array_equal(a.landmarks, b.landmarks, equal_nan=True)
    assert rename_labels(data, {}) == data


@pytest.mark.parametrize(
    "mapping",
    [{"a": "b", "b": "c"}, {"a": ""}, {"": "a"}, {"a": 3}, ["a", "b"]],
)
def test_bad_label_maps_are_config_errors(mapping: object) -> None:
    with pytest.raises(ConfigError):
        check_label_map(mapping)
    with pytest.raises(ConfigError):
        TrainConfig.from_dict({"data": {"paths": ["x.npz"], "label_map": mapping}})


def test_label_map_round_trips_through_the_saved_config() -> None:
    cfg = TrainConfig.from_dict({"data": {"paths": ["x.npz"], "label_map": {"bye": "goodbye"}}})
    again = TrainConfig.from_dict(cfg.to_dict())
    assert dict(again.data.label_map) == {"bye": "goodbye"}
    assert check_label_map({"a": "a"}) == {"a": "a"}  # a label mapped to itself is harmless
