"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path


def machine() -> str:
    """One line naming the machine: OS, architecture, CPU model, logical CPUs."""
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} logical CPUs"


def fold_export(fold: Path, name: str = "model.fp32.onnx") -> Path:
    """``FOLD/export/<name>`` of a fold run (``scripts/train_default.sh``), exported with
    ``sign2text export`` (fp32 and int8) the first time it is asked for."""
    onnx = fold / "export" / name
    if not onnx.is_file():
        sign2text = str(Path(sys.executable).parent / "sign2text")
        cmd = [sign2text, "-q", "export", str(fold / "best.pt"), "--out", str(fold / "export")]
        subprocess.run(cmd, check=True)
    return onnx
