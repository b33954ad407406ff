"""Uploads streamed to a temporary file under a size cap; container sniffing.

:func:`spooled_upload` reads the request body chunk by chunk (never whole into
memory) and accepts either

* ``multipart/form-data`` with a file in the field ``file`` (parsed as it streams with
  ``python_multipart.MultipartParser``; other fields are ignored), or
* a raw body whose ``Content-Type`` is ``video/*`` or ``application/octet-stream``.

The file goes to a ``NamedTemporaryFile`` that is always removed when the ``async
with`` block ends; the upload is over the limit (413) the moment its byte count
passes ``max_bytes``. The media are never kept.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.requests import ClientDisconnect, Request

from sign2text.serve.errors import ApiError

log = logging.getLogger(__name__)

FILE_FIELD = b"file"
SNIFF_BYTES = 512
_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}


@dataclass(frozen=True)
class Upload:
    """An upload spooled to ``path`` (removed when the block ends)."""

    path: Path
    size: int
    filename: str | None
    content_type: str | None

    @property
    def label(self) -> str:
        """How messages name the upload (the client's file name, never our path)."""
        return f"upload {self.filename!r}" if self.filename else "the upload"


def sniff_container(head: bytes) -> str | None:
    """The container family of a file from its first bytes (a suffix), or None.

    Covers what the decoder accepts (:data:`sign2text.io.video.SUPPORTED_FORMATS`):
    ISO BMFF (mp4/mov/m4v/3gp), Matroska/WebM, AVI, MPEG-TS, MPEG-PS, FLV, Ogg.
    """
    if len(head) >= 8 and head[4:8] in _ISO_BOXES:
        return ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".mkv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return ".ts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return ".mpg"
    if head.startswith(b"FLV\x01"):
        return ".flv"
    if head.startswith(b"OggS"):
        return ".ogg"
    return None


def acceptable_media_type(content_type: str | None) -> bool:
    """``video/*``, ``application/octet-stream``, or no type at all."""
    if not content_type:
        return True
    main = content_type.split(";", 1)[0].strip().lower()
    return main.startswith("video/") or main == "application/octet-stream"


def _unsupported(what: str) -> ApiError:
    return ApiError(
        415,
        "unsupported_media",
        f"{what}; send a video (video/* or application/octet-stream), as a raw body "
        "or in the multipart field 'file'",
    )


class _Sink:
    """Writes the file's bytes, counting them against the cap."""

    def __init__(self, fh: IO[bytes], max_bytes: int) -> None:
        self.fh = fh
        self.max_bytes = max_bytes
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise ApiError(
                413, "payload_too_large", f"the upload is over the limit of {self.max_bytes} bytes"
            )
        self.fh.write(data)


class _MultipartReader:
    """Callbacks for ``MultipartParser``: the first ``file`` part goes to the sink."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.found = False
        self.filename: str | None = None
        self.content_type: str | None = None
        self._writing = False
        self._headers: dict[bytes, bytes] = {}
        self._name: list[bytes] = []
        self._value: list[bytes] = []

    def parser(self, boundary: bytes) -> MultipartParser:
        return MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": lambda d, s, e: self._name.append(d[s:e]),
                "on_header_value": lambda d, s, e: self._value.append(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        key = b"".join(self._name).strip().lower()
        self._headers[key] = b"".join(self._value).strip(b" \t")
        self._name.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        if options.get(b"name") != FILE_FIELD or self.found:
            return  # another field, or a second file: ignored
        ctype = self._headers.get(b"content-type")
        self.content_type = ctype.decode("latin-1") if ctype else None
        if not acceptable_media_type(self.content_type):
            raise _unsupported(f"the file part has Content-Type {self.content_type!r}")
        raw_name = options.get(b"filename")
        self.filename = raw_name.decode("utf-8", "replace") if raw_name is not None else None
        self.found = True
        self._writing = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._writing:
            self.sink.write(data[start:end])

    def _part_end(self) -> None:
        self._writing = False


async def _read_multipart(
    request: Request, boundary: bytes | None, sink: _Sink
) -> _MultipartReader:
    if not boundary:
        raise ApiError(400, "bad_request", "multipart/form-data without a boundary")
    reader = _MultipartReader(sink)
    try:
        parser = reader.parser(boundary)
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise ApiError(400, "bad_request", f"malformed multipart body ({exc})") from None
    if parser.state != MultipartState.END:
        raise ApiError(400, "bad_request", "malformed multipart body (it ends too early)")
    if not reader.found:
        raise ApiError(422, "missing_file", "no file in the multipart field 'file'")
    return reader


@asynccontextmanager
async def spooled_upload(
    request: Request, *, max_bytes: int, tmp_dir: Path | None = None
) -> AsyncIterator[Upload]:
    """Stream the request's file to a temporary file; remove it when the block ends."""
    raw_type = request.headers.get("content-type")
    ctype, options = parse_options_header(raw_type)
    multipart = ctype == b"multipart/form-data"
    if not multipart and not (raw_type and acceptable_media_type(raw_type)):
        if raw_type is None:
            raise _unsupported("the request has no Content-Type header")
        raise _unsupported(f"Content-Type {raw_type!r} is not accepted")
    fh = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed and removed in finally)
        prefix="sign2text-upload-", dir=tmp_dir, delete=False
    )
    path = Path(fh.name)
    try:
        sink = _Sink(fh, max_bytes)
        try:
            if multipart:
                reader = await _read_multipart(request, options.get(b"boundary"), sink)
                filename, media = reader.filename, reader.content_type
            else:
                async for chunk in request.stream():
                    sink.write(chunk)
                filename, media = None, raw_type
        except ClientDisconnect:
            raise ApiError(400, "bad_request", "the client went away during the upload") from None
        fh.close()
        yield Upload(path, sink.size, filename, media)
    finally:
        fh.close()
        with suppress(OSError):
            path.unlink()


def check_container(upload: Upload) -> str:
    """Refuse empty and non-video uploads before decoding; return the sniffed suffix."""
    if upload.size == 0:
        raise ApiError(422, "empty_upload", "the uploaded file is empty (0 bytes)")
    with upload.path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    suffix = sniff_container(head)
    if suffix is None:
        raise _unsupported("the upload is not in a video container this service reads")
    return suffix
