"""Shared checks for tests that run the command line (importable from every test folder:
pytest puts ``tests/`` on ``sys.path`` for ``tests/conftest.py``)."""

from __future__ import annotations


def one_line_error(err: str) -> str:
    """The CLI's error report: stderr is exactly one line (blank ones around it aside)
    starting with ``sign2text: error: `` and no traceback; returns that line."""
    lines = err.strip().splitlines()  # a blank line inside is a second line
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    assert lines[0].startswith("sign2text: error: "), err
    return lines[0]
