"""Dependency audit of the installed environment with pip-audit.

Usage: ``.venv-dev/bin/python tests/reliability/audit_deps.py [--strict]``.

Exit codes: 0 clean (or the audit is unavailable and ``--strict`` is not given),
1 known vulnerabilities, 3 unavailable with ``--strict``. "Unavailable" means pip-audit
could not look packages up: it is not installed, the vulnerability service (OSV, or
PyPI's JSON API with ``--service pypi``) cannot be reached, or it answered for too few
packages. pip-audit itself prints "No known vulnerabilities found" and exits 0 even when
it skipped every package, so the skip count is checked here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# Below this share of audited packages the result says nothing.
MIN_AUDITED = 0.5


def audit(service: str, timeout_s: float) -> tuple[str, dict[str, Any]]:
    """('ok' | 'vulnerable' | 'unavailable', details)."""
    exe = Path(sys.executable).with_name("pip-audit")
    if not exe.is_file():
        return "unavailable", {"reason": "pip-audit is not installed (pip install pip-audit)"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        cmd = [
            str(exe), "--skip-editable", "--progress-spinner", "off",
            "--vulnerability-service", service, "--format", "json", "--output", str(out),
        ]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return "unavailable", {"reason": f"pip-audit took over {timeout_s:.0f} s"}
        if not out.is_file():
            lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            return "unavailable", {"reason": lines[-1][-500:] if lines else "no report"}
        report = json.loads(out.read_text())
    deps = report.get("dependencies", [])
    skipped = [d["name"] for d in deps if d.get("skip_reason")]
    editable = [d["name"] for d in deps if "editable" in str(d.get("skip_reason", ""))]
    audited = len(deps) - len(skipped)
    vulns = [
        {"name": d["name"], "version": d["version"], "id": v["id"], "fix": v.get("fix_versions")}
        for d in deps
        for v in d.get("vulns", [])
    ]
    details = {
        "service": service,
        "packages": len(deps),
        "audited": audited,
        "skipped": len(skipped) - len(editable),
        "vulnerabilities": vulns,
    }
    if vulns:
        return "vulnerable", details
    if audited < MIN_AUDITED * max(1, len(deps) - len(editable)):
        details["reason"] = f"only {audited} of {len(deps)} packages could be looked up"
        return "unavailable", details
    return "ok", details


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="pip-audit of the installed environment")
    p.add_argument("--service", default="osv", choices=["osv", "pypi"])
    p.add_argument("--strict", action="store_true", help="fail when the audit is unavailable")
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args(argv)
    status, details = audit(args.service, args.timeout)
    if status == "unavailable" and args.service == "osv":
        status, details = audit("pypi", args.timeout)  # the other service may answer
    print(f"dependency audit: {status}: {json.dumps(details)}")
    if status == "vulnerable":
        return 1
    if status == "unavailable":
        return 3 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
