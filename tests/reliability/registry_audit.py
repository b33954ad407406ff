"""Dependency audit from the package registries themselves (no advisory service needed).

Usage: ``.venv-dev/bin/python tests/reliability/registry_audit.py [--strict] [--json F]``.

pip-audit needs OSV or PyPI's JSON API, which machines that reach only the package
registries cannot use (``audit_deps.py``). What the registries do publish is their own
verdict on a release, and this script checks every installed distribution and every
package of ``web/package-lock.json`` against it:

* **PyPI** (PEP 691 JSON of the simple index, the API pip itself uses): an installed
  version whose files are **yanked** (PEP 592; releases are yanked for security holes
  and broken builds) is a finding, with the yank reason.
* **npm** (the registry's package document): a locked version marked **deprecated**
  is a finding, with the deprecation message; a locked version the registry no longer
  has is a finding too.

Releases that are behind the newest one are listed, not counted as findings: an
older pin is not a vulnerability by itself. Exit codes: 0 no finding, 1 findings, 3 the
registries could not be asked (with ``--strict``; 0 without).

This is not a vulnerability database: a release with a published CVE that was neither
yanked nor deprecated passes. ``audit_deps.py`` (pip-audit) covers that where OSV answers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

PYPI_SIMPLE = "https://pypi.org/simple/"
NPM_REGISTRY = "https://registry.npmjs.org/"
LOCK = Path(__file__).resolve().parents[2] / "web" / "package-lock.json"
# Below this share of packages answered the result says nothing.
MIN_ANSWERED = 0.9
_PEP691 = "application/vnd.pypi.simple.v1+json"


def _get_json(url: str, accept: str, timeout: float) -> Any:
    req = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "sign2text-audit"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read().decode("utf-8"))


def _file_version(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def installed_distributions(skip: Iterable[str] = ("sign2text",)) -> dict[str, str]:
    """Canonical name -> version of every distribution in this environment."""
    drop = {canonicalize_name(n) for n in skip}
    out: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonicalize_name(name) not in drop:
            out[canonicalize_name(name)] = dist.version
    return dict(sorted(out.items()))


def check_pypi(name: str, version: str, index: str, timeout: float) -> dict[str, Any]:
    """One distribution: {'answered', 'yanked' (reason or None), 'newest', 'found'}."""
    try:
        doc = _get_json(f"{index.rstrip('/')}/{name}/", _PEP691, timeout)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return {"answered": False, "error": str(exc)[:200]}
    try:
        want = Version(version)
    except InvalidVersion:
        return {"answered": True, "found": False, "yanked": None, "newest": None}
    base = Version(want.base_version)  # a local build (2.13.0+cpu) is its public release
    mine, newest = [], None
    for f in doc.get("files", []):
        v = _file_version(str(f.get("filename", "")))
        if v is None:
            continue
        if v in (want, base):
            mine.append(f)
        elif not f.get("yanked") and not v.is_prerelease and (newest is None or v > newest):
            newest = v
    yanked = [f for f in mine if f.get("yanked")]
    reason = None
    if mine and len(yanked) == len(mine):
        r = yanked[0].get("yanked")
        reason = r if isinstance(r, str) and r else "yanked (no reason given)"
    behind = newest is not None and newest > base
    return {
        "answered": True,
        "found": bool(mine),
        "yanked": reason,
        "newest": str(newest) if behind else None,
    }


def locked_npm_packages(lock: Path = LOCK) -> dict[str, str]:
    """name -> version of every package in an npm v2/v3 lock file."""
    data = json.loads(lock.read_text())
    out: dict[str, str] = {}
    for path, entry in data.get("packages", {}).items():
        if not path or entry.get("link"):
            continue
        name = entry.get("name") or re.sub(r"^.*node_modules/", "", path)
        out[f"{name}@{entry['version']}"] = entry["version"]
    return dict(sorted(out.items()))


def check_npm(spec: str, registry: str, timeout: float) -> dict[str, Any]:
    name, _, version = spec.rpartition("@")
    try:
        doc = _get_json(f"{registry.rstrip('/')}/{name}", "application/json", timeout)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return {"answered": False, "error": str(exc)[:200]}
    entry = doc.get("versions", {}).get(version)
    latest = doc.get("dist-tags", {}).get("latest")
    return {
        "answered": True,
        "found": entry is not None,
        "deprecated": (entry or {}).get("deprecated") or None,
        "newest": latest if latest and latest != version else None,
    }


def audit(
    *,
    index: str = PYPI_SIMPLE,
    registry: str = NPM_REGISTRY,
    python: dict[str, str] | None = None,
    npm: dict[str, str] | None = None,
    timeout: float = 20.0,
    workers: int = 8,
) -> tuple[str, dict[str, Any]]:
    """('ok' | 'findings' | 'unavailable', details)."""
    py = installed_distributions() if python is None else python
    js = locked_npm_packages() if npm is None else npm
    with ThreadPoolExecutor(workers) as pool:
        py_res = dict(
            zip(py, pool.map(lambda kv: check_pypi(*kv, index, timeout), py.items()), strict=True)
        )
        js_res = dict(zip(js, pool.map(lambda s: check_npm(s, registry, timeout), js), strict=True))
    findings = [
        {"registry": "pypi", "package": f"{n}=={py[n]}", "why": f"yanked: {r['yanked']}"}
        for n, r in py_res.items()
        if r.get("yanked")
    ]
    findings += [
        {"registry": "npm", "package": s, "why": f"deprecated: {r['deprecated']}"}
        for s, r in js_res.items()
        if r.get("deprecated")
    ]
    findings += [
        {"registry": "npm", "package": s, "why": "version not in the registry"}
        for s, r in js_res.items()
        if r.get("answered") and not r.get("found")
    ]
    answered = sum(r["answered"] for r in (*py_res.values(), *js_res.values()))
    total = len(py_res) + len(js_res)
    details: dict[str, Any] = {
        "pypi": {"index": index, "packages": len(py_res)},
        "npm": {"registry": registry, "packages": len(js_res)},
        "answered": answered,
        "findings": findings,
        "not_on_index": sorted(n for n, r in py_res.items() if r["answered"] and not r["found"]),
        "behind": sorted(
            [f"{n} {py[n]} (newest {r['newest']})" for n, r in py_res.items() if r.get("newest")]
            + [f"{s} (newest {r['newest']})" for s, r in js_res.items() if r.get("newest")]
        ),
    }
    if findings:
        return "findings", details
    if answered < MIN_ANSWERED * total:
        details["reason"] = f"only {answered} of {total} packages answered"
        errors = [r["error"] for r in (*py_res.values(), *js_res.values()) if "error" in r]
        details["errors"] = errors[:3]
        return "unavailable", details
    return "ok", details


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="audit dependencies against the registries")
    p.add_argument("--strict", action="store_true", help="exit 3 when the registries fail")
    p.add_argument("--index", default=PYPI_SIMPLE)
    p.add_argument("--registry", default=NPM_REGISTRY)
    p.add_argument("--json", type=Path, help="write the full report here")
    args = p.parse_args(argv)
    status, details = audit(index=args.index, registry=args.registry)
    if args.json:
        args.json.write_text(json.dumps({"status": status, **details}, indent=1) + "\n")
    n_py, n_js = details["pypi"]["packages"], details["npm"]["packages"]
    print(f"registry audit: {status}: {n_py} Python distributions, {n_js} npm packages")
    for f in details["findings"]:
        print(f"  finding: {f['registry']} {f['package']}: {f['why']}")
    print(f"  behind the newest release (not findings): {len(details['behind'])}")
    if status == "unavailable":
        print(f"  {details['reason']}")
    if status == "findings":
        return 1
    return 3 if status == "unavailable" and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
