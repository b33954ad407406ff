"""Entry point of the ``sign2text`` console script.

Each subcommand lives in its own module under :mod:`sign2text.cli` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the
parsed namespace and returning an exit code. Heavy imports happen inside ``func`` so
that ``sign2text --help`` stays fast.

Errors: a :class:`~sign2text.errors.Sign2TextError` prints one line
``sign2text: error: <message>`` and exits 2; any other exception prints one line and
exits 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from sign2text import __version__
from sign2text.cli.native_logs import NativeStderrFilter
from sign2text.errors import Sign2TextError, first_line

# Order here is the order in ``--help``.
COMMAND_MODULES = (
    "sign2text.cli.cmd_landmarks",
    "sign2text.cli.cmd_data",
    "sign2text.cli.cmd_extract",
    "sign2text.cli.cmd_split",
    "sign2text.cli.cmd_train",
    "sign2text.cli.cmd_evaluate",
    "sign2text.cli.cmd_cv",
    "sign2text.cli.cmd_export",
    "sign2text.cli.cmd_prototypes",
    "sign2text.cli.cmd_recognize",
    "sign2text.cli.cmd_live",
    "sign2text.cli.cmd_serve",
    "sign2text.cli.cmd_vocab",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sign2text",
        description="Sign language on video to text.",
    )
    parser.add_argument("--version", action="version", version=f"sign2text {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _setup_logging(debug: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    # Our own INFO messages are progress for users; other libraries' INFO chatter
    # (onnxruntime's quantizer logs every tensor to the root logger, absl, matplotlib)
    # is not, so everything else stays at WARNING unless --debug.
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("sign2text").setLevel(level)
    logging.getLogger("uvicorn").setLevel(level)


def _one_line(text: str) -> str:
    """Messages end up on one line of stderr: line breaks become "; "."""
    return "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _setup_logging(args.debug, args.quiet)
    try:
        code: int = args.func(args)
        return code
    except Sign2TextError as exc:
        if args.debug:
            raise
        print(f"sign2text: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (``sign2text ... | head``)
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # the file system refused: permissions, a folder, a full disk
        if args.debug:
            raise
        # A rename names its destination second (an atomic write's temp file first).
        path = exc.filename2 or exc.filename
        where = f"{path}: " if path else ""
        reason = exc.strerror or str(exc)
        print(f"sign2text: error: {_one_line(where + reason)}", file=sys.stderr)
        return 2
    except RecursionError:  # e.g. a JSON file nested thousands of levels deep
        if args.debug:
            raise
        print("sign2text: error: an input file is nested too deeply to read", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # A second Ctrl-C must not break the clean-up that follows (joining threads,
        # restoring stderr) into a traceback: from here on, Ctrl-C is ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("sign2text: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        msg = first_line(exc, default="")
        print(f"sign2text: internal error: {type(exc).__name__}: {msg}", file=sys.stderr)
        return 1


def entry() -> int:
    """The ``sign2text`` console script: :func:`main` with MediaPipe's native log lines
    filtered out of stderr (kept with ``--debug``)."""
    argv = sys.argv[1:]
    if "--debug" in argv:
        return main(argv)
    with NativeStderrFilter():
        return main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(entry())
