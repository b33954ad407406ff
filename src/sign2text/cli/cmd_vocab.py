"""``sign2text vocab``: teach new words from a few examples (personal vocabulary).

The vocabulary is a JSON file tied to one model (see :mod:`sign2text.runtime.vocab`);
default ``$SIGN2TEXT_VOCAB``, else ``$XDG_DATA_HOME/sign2text/vocabulary.json``
(``~/.local/share/sign2text/vocabulary.json``).
``recognize``, ``live`` and ``serve`` use it when it exists (or with ``--vocab``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sign2text.cli.argtypes import int_range, positive_float

if TYPE_CHECKING:
    from sign2text.runtime.vocab import UserVocabulary

log = logging.getLogger(__name__)

_LANDMARK_SUFFIXES = (".npy",)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "vocab",
        help="teach new signs from a few examples (personal vocabulary)",
        description=(
            "Manage user words: 'vocab add WORD CLIP...' teaches a word from 1-50 example "
            "clips (videos, or .npy landmark arrays (T, 543, 3)) or from the camera. "
            "recognize, live and serve then answer it. The file is tied to the model it "
            "was made with."
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--vocab",
        type=Path,
        help="vocabulary file (default: $SIGN2TEXT_VOCAB, else "
        "$XDG_DATA_HOME/sign2text/vocabulary.json, ~/.local/share/... by default)",
    )
    common.add_argument("--model", type=Path, help="an exported .onnx model (default: bundled)")
    vs = p.add_subparsers(dest="vocab_command", metavar="ACTION", required=True)

    a = vs.add_parser("add", parents=[common], help="teach a word from example clips or the camera")
    a.add_argument("word", help="the word (must not be a built-in word of the model)")
    a.add_argument("clips", nargs="*", type=Path, help="example clips or .npy landmark files")
    a.add_argument("--camera", type=int, help="record the examples with this camera")
    a.add_argument(
        "--count", type=int_range(1, 50), help="examples to record with --camera (default 5)"
    )
    a.add_argument(
        "--seconds",
        type=_record_seconds,
        help="seconds per example recorded with --camera (default 3)",
    )
    mode = a.add_mutually_exclusive_group()
    mode.add_argument("--replace", action="store_true", help="replace an existing word")
    mode.add_argument("--append", action="store_true", help="add examples to an existing word")
    a.set_defaults(func=run_add)

    ls = vs.add_parser("list", parents=[common], help="list the user words")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run_list)

    r = vs.add_parser("remove", parents=[common], help="forget a user word")
    r.add_argument("word")
    r.set_defaults(func=run_remove)

    e = vs.add_parser(
        "export", parents=[common], help="write the vocabulary to a file (same format)"
    )
    e.add_argument("file", type=Path)
    e.set_defaults(func=run_export)

    i = vs.add_parser("import", parents=[common], help="add the words of a vocabulary file")
    i.add_argument("file", type=Path)
    i.add_argument("--replace", action="store_true", help="overwrite words already present")
    i.set_defaults(func=run_import)


def open_vocabulary(path: Path | None, model: Path | None) -> UserVocabulary | None:
    """The vocabulary for ``recognize``/``live``: ``path``, else the user file when it
    exists, else None. A missing ``path`` given explicitly is an error."""
    from sign2text.runtime import bundled_model_path
    from sign2text.runtime.vocab import UserVocabulary, default_vocab_path, model_identity

    if path is None:
        path = default_vocab_path()
        if not path.is_file():
            return None
    if model is not None:
        # A broken --model must be reported as such, not as "a vocabulary made for
        # another model" (its checksum matches no vocabulary).
        from sign2text.runtime import OnnxClassifier

        OnnxClassifier(model)
    model_path = model if model is not None else bundled_model_path()
    return UserVocabulary.load(path, model_sha256=model_identity(model_path))


def _open(args: argparse.Namespace) -> tuple[Any, UserVocabulary, Path]:
    from sign2text.runtime import OnnxClassifier, bundled_model_path
    from sign2text.runtime.vocab import default_vocab_path, load_for_model

    path = args.vocab if args.vocab is not None else default_vocab_path()
    clf = OnnxClassifier(args.model if args.model is not None else bundled_model_path())
    return clf, load_for_model(path, clf), path


def _example_landmarks(clip: Path, extractor: Any) -> Any:
    import numpy as np

    from sign2text.errors import InputError, MediaError, NoSigningError
    from sign2text.io.video import iter_frames
    from sign2text.runtime import DEFAULT_EXTRACT_FPS

    if clip.is_dir():
        raise InputError(f"{clip}: is a folder, not a clip")
    if not clip.is_file():
        raise InputError(f"{clip}: no such file")
    if clip.stat().st_size == 0:
        raise MediaError(f"{clip}: empty file")
    if clip.suffix.lower() in _LANDMARK_SUFFIXES:
        try:
            return np.load(clip, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"{clip}: not a landmark array ({exc})") from None
    extractor.reset()
    rows = [extractor.process(f.image) for f in iter_frames(clip, target_fps=DEFAULT_EXTRACT_FPS)]
    if not rows:
        raise NoSigningError(f"{clip}: no frames")
    return np.stack(rows)


def _record_seconds(text: str) -> float:
    """Seconds per recorded example: 0.5 to 60 (a typing mistake must not record for
    ever)."""
    value = positive_float(text)
    if not 0.5 <= value <= 60:
        raise argparse.ArgumentTypeError(f"must be 0.5 to 60 seconds: {text!r}")
    return value


def _record(camera: int, count: int, seconds: float, extractor: Any) -> list[Any]:
    import numpy as np

    from sign2text.io.camera import CameraSource

    out = []
    # One frame generator for every example: closing it releases the camera.
    frames = CameraSource(camera).frames()
    try:
        extractor.warm_up()  # before the first example's clock starts
        for k in range(count):
            print(f"example {k + 1}/{count}: sign now ({seconds:g} s)", flush=True)
            extractor.reset()
            rows = []
            start = time.monotonic()
            for frame in frames:
                rows.append(extractor.process(frame.image))
                if time.monotonic() - start >= seconds:
                    break
            out.append(np.stack(rows) if rows else np.zeros((0, 543, 3), np.float32))
    finally:
        getattr(frames, "close", lambda: None)()  # a generator: releases the camera
    return out


def run_add(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from sign2text.errors import ConfigError, InputError, NoSigningError
    from sign2text.features import reads_face
    from sign2text.landmarks.holistic import HolisticConfig, HolisticExtractor
    from sign2text.runtime.vocab import MAX_EXAMPLES, embed_landmarks

    if args.camera is None and not args.clips:
        raise ConfigError("give example clips or --camera N")
    if args.camera is not None and args.clips:
        raise ConfigError("give example clips or --camera N, not both")
    if args.camera is None and (args.count is not None or args.seconds is not None):
        raise ConfigError("--count and --seconds are for --camera recording")
    count = (args.count or 5) if args.camera is not None else len(args.clips)
    if not 1 <= count <= MAX_EXAMPLES:
        raise ConfigError(f"1-{MAX_EXAMPLES} examples expected, got {count}")
    clf, vocab, path = _open(args)
    vocab.check_word(args.word)
    if args.word.strip() in vocab and not (args.replace or args.append):
        raise InputError(f"{args.word.strip()!r} is already a user word; use --replace or --append")
    t0 = time.perf_counter()
    names = [str(c) for c in args.clips] or [f"camera example {k + 1}" for k in range(count)]
    needs_holistic = args.camera is not None or any(
        c.suffix.lower() not in _LANDMARK_SUFFIXES for c in args.clips
    )
    holistic = HolisticConfig(face=reads_face(clf.metadata.features))  # as the Recognizer
    extractor = HolisticExtractor(holistic) if needs_holistic else None
    try:
        if args.camera is not None:
            seqs = _record(args.camera, count, args.seconds or 3.0, extractor)
        else:
            clips = tqdm(args.clips, desc="examples", unit="clip", disable=args.quiet, delay=0.5)
            seqs = [_example_landmarks(c, extractor) for c in clips]
    finally:
        if extractor is not None:
            extractor.close()
    embs = []
    for name, lm in zip(names, seqs, strict=True):
        try:
            embs.append(embed_landmarks(clf, lm))
        except NoSigningError as exc:
            raise NoSigningError(f"{name}: {exc}") from None
        except InputError as exc:  # e.g. a recording with no frames: name the example
            raise InputError(f"{name}: {exc}") from None
    word = vocab.add(args.word, np.stack(embs), replace=args.replace, append=args.append)
    vocab.save(path)
    n = len(vocab.examples(word))
    print(f"added {word!r} ({n} examples) to {path} in {time.perf_counter() - t0:.1f} s")
    return 0


def run_list(args: argparse.Namespace) -> int:
    _clf, vocab, path = _open(args)
    if args.json:
        words = {w: len(vocab.examples(w)) for w in vocab.words}
        print(json.dumps({"file": str(path), "words": words}))
        return 0
    if not len(vocab):
        print(f"no user words ({path})")
        return 0
    print(f"{len(vocab)} user words ({path}):")
    for w in vocab.words:
        print(f"  {w:<24} {len(vocab.examples(w))} examples")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    _clf, vocab, path = _open(args)
    vocab.remove(args.word)
    vocab.save(path)
    print(f"removed {args.word!r} from {path}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    _clf, vocab, _path = _open(args)
    vocab.save(args.file)
    print(f"wrote {len(vocab)} user words to {args.file}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from sign2text.runtime.vocab import UserVocabulary

    _clf, vocab, path = _open(args)
    other = UserVocabulary.load(args.file, model_sha256=vocab.model_sha256)
    words = vocab.merge(other, replace=args.replace)
    vocab.save(path)
    print(f"imported {len(words)} words into {path}: {', '.join(words)}")
    return 0
