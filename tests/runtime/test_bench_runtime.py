"""benchmarks/bench_runtime.py times the right file for each precision."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
from tiny_export import export_tiny

pytest.importorskip("torch")

from sign2text.export import quantize_int8

pytestmark = pytest.mark.torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module("bench_runtime")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bench")
    _, fp32 = export_tiny(root / "model.fp32.onnx")
    int8 = quantize_int8(fp32, root / "model.int8.onnx")
    alone = root / "alone"
    alone.mkdir()
    return {
        "fp32": fp32,
        "int8": int8,
        "int8_alone": Path(shutil.copy(int8, alone / "model.onnx")),
        "fp32_alone": Path(shutil.copy(fp32, alone / "other.onnx")),
    }


def test_precision_is_read_from_the_graph(bench: ModuleType, exports: dict[str, Path]) -> None:
    assert bench.precision(exports["fp32"]) == "fp32"
    assert bench.precision(exports["int8"]) == "int8"
    assert bench.precision(exports["int8_alone"]) == "int8"  # whatever its name


def test_precision_pairs(bench: ModuleType, exports: dict[str, Path], tmp_path: Path) -> None:
    fp32, int8 = exports["fp32"], exports["int8"]
    # An int8 model: its fp32 sibling, or the one given, or none (never itself as "fp32").
    assert bench.precision_pair(int8, None, tmp_path) == {"fp32": fp32, "int8": int8}
    alone = exports["int8_alone"]
    assert bench.precision_pair(alone, None, tmp_path) == {"fp32": None, "int8": alone}
    assert bench.precision_pair(alone, fp32, tmp_path) == {"fp32": fp32, "int8": alone}
    # An fp32 model: its int8 sibling, or a fresh quantize_int8 of it.
    assert bench.precision_pair(fp32, None, tmp_path) == {"fp32": fp32, "int8": int8}
    pair = bench.precision_pair(exports["fp32_alone"], None, tmp_path)
    assert pair["fp32"] == exports["fp32_alone"] and pair["int8"] is not None
    assert pair["int8"].parent == tmp_path and bench.precision(pair["int8"]) == "int8"


def test_fp32_option_is_checked(bench: ModuleType, exports: dict[str, Path]) -> None:
    fp32, int8 = exports["fp32"], exports["int8"]
    assert bench.fp32_problem(None, int8) is None
    assert bench.fp32_problem(fp32, int8) is None
    assert bench.fp32_problem(fp32.with_name("missing.onnx"), int8) == "no such file"
    assert "not an fp32 export" in str(bench.fp32_problem(int8, int8))
    assert "only for an int8 --model" in str(bench.fp32_problem(fp32, fp32))
