"""Video decoding: codecs and containers, rotation, resampling, caps, hostile inputs."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from sign2text.errors import MediaError, MediaTooLargeError, UnsupportedMediaError
from sign2text.io.video import VideoLimits, iter_frames, probe, read_video, write_video

W, H = 64, 48


def _marked(i: int, w: int = W, h: int = H) -> np.ndarray:
    """A frame with a white 8x8 marker in the top-left corner and a frame-index shade."""
    img = np.full((h, w, 3), (i * 7) % 200, dtype=np.uint8)
    img[:8, :8] = 255
    img[-8:, -8:] = 0
    return img


def encode(
    fmt: str,
    codec: str,
    *,
    n: int = 30,
    fps: int = 30,
    w: int = W,
    h: int = H,
    rotation: int | None = None,
    options: dict[str, str] | None = None,
    path: Path | None = None,
) -> bytes:
    """Encode ``n`` marked frames with PyAV into bytes (through ``path`` when given)."""
    buf = io.BytesIO()
    with av.open(path or buf, "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(_marked(i, w, h), format="rgb24")
            for pkt in stream.encode(frame):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return path.read_bytes() if path else buf.getvalue()


def encode_audio(fmt: str, codec: str) -> bytes:
    """An audio-only container (no video stream)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=44100)
        n = stream.codec_context.frame_size or 1152
        pts = 0
        for _ in range(20):
            samples = np.zeros((1, n), dtype=np.int16 if codec == "mp2" else np.float32)
            layout_fmt = "s16" if codec == "mp2" else "fltp"
            frame = av.AudioFrame.from_ndarray(samples, format=layout_fmt, layout="mono")
            frame.sample_rate = 44100
            frame.pts = pts
            pts += n
            for pkt in stream.encode(frame):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def h264_bytes() -> bytes:
    return encode("mp4", "libx264", n=60)


@pytest.mark.parametrize(
    ("fmt", "codec", "ext", "codec_name"),
    [
        ("mp4", "libx264", ".mp4", "h264"),
        ("avi", "mpeg4", ".avi", "mpeg4"),
        ("webm", "libvpx-vp9", ".webm", "vp9"),
        ("webm", "libvpx", ".webm", "vp8"),
        ("matroska", "libx264", ".mkv", "h264"),
        ("mov", "libx264", ".mov", "h264"),
    ],
)
def test_video_decodes_each_container_and_codec(
    tmp_path: Path, fmt: str, codec: str, ext: str, codec_name: str
) -> None:
    path = tmp_path / f"clip{ext}"
    path.write_bytes(encode(fmt, codec, n=30))
    video = read_video(path)
    assert video.frames.shape == (30, H, W, 3)
    assert video.frames.dtype == np.uint8
    assert video.info.codec == codec_name
    assert video.fps == pytest.approx(30.0, rel=0.01)
    # marker survives lossy coding: top-left bright, bottom-right dark
    assert video.frames[:, :8, :8].mean() > 200
    assert video.frames[:, -8:, -8:].mean() < 40
    assert np.all(np.diff(video.times_s) > 0)


@pytest.mark.parametrize(
    ("rotation", "marker_rows", "marker_cols"),
    [
        # np.rot90 convention: +90 is counter-clockwise, top-left goes to bottom-left
        (90, "bottom", "left"),
        (-90, "top", "right"),
        (180, "bottom", "right"),
    ],
)
def test_video_rotation_metadata_is_honoured(
    rotation: int, marker_rows: str, marker_cols: str
) -> None:
    data = encode("mp4", "libx264", n=5, rotation=rotation)
    assert probe(data).rotation % 360 == rotation % 360
    video = read_video(data)
    frame = video.frames[0]
    if rotation % 180:
        assert frame.shape == (W, H, 3)  # width and height swap
    else:
        assert frame.shape == (H, W, 3)
    rows = slice(-8, None) if marker_rows == "bottom" else slice(0, 8)
    cols = slice(0, 8) if marker_cols == "left" else slice(-8, None)
    assert frame[rows, cols].mean() > 200
    # and the marker is nowhere else in the corners
    corners = [frame[:8, :8], frame[:8, -8:], frame[-8:, :8], frame[-8:, -8:]]
    assert sum(c.mean() > 200 for c in corners) == 1


def test_video_resample_30_to_10_fps(h264_bytes: bytes) -> None:
    full = read_video(h264_bytes)
    low = read_video(h264_bytes, target_fps=10)
    assert len(full.frames) == 60
    assert len(low.frames) == pytest.approx(20, abs=1)
    assert low.fps == 10
    assert np.all(np.diff(low.times_s) > 0)
    assert np.diff(low.times_s).mean() == pytest.approx(0.1, abs=0.01)
    # resampling only drops frames: the kept ones equal source frames 0, 3, 6, ...
    np.testing.assert_array_equal(low.frames[1], full.frames[3])


def test_video_resample_never_upsamples(h264_bytes: bytes) -> None:
    video = read_video(h264_bytes, target_fps=60)
    assert len(video.frames) == 60
    assert video.fps == pytest.approx(30.0, rel=0.01)


def test_video_frame_range(h264_bytes: bytes) -> None:
    full = read_video(h264_bytes)
    cut = read_video(h264_bytes, start=10, stop=25)
    assert len(cut.frames) == 15
    np.testing.assert_array_equal(cut.frames, full.frames[10:25])
    assert cut.times_s[0] == 0.0
    with pytest.raises(MediaError, match="no video frame"):
        read_video(h264_bytes, start=100)


@pytest.mark.parametrize(
    ("limits", "match"),
    [
        (VideoLimits(max_frames=10), "frames"),
        (VideoLimits(max_duration_s=0.5), "limit"),
        (VideoLimits(max_pixels=1000), "resolution"),
        (VideoLimits(max_bytes=100), "bytes"),
        (VideoLimits(max_decoded_bytes=W * H * 3 * 5), "decoded"),
    ],
)
def test_video_caps_raise_too_large(h264_bytes: bytes, limits: VideoLimits, match: str) -> None:
    with pytest.raises(MediaTooLargeError, match=match) as info:
        read_video(h264_bytes, limits=limits)
    assert "\n" not in str(info.value)


def test_video_duration_cap_holds_for_matroska_streaming() -> None:
    data = encode("matroska", "libx264", n=60)
    with pytest.raises(MediaTooLargeError):
        list(iter_frames(data, limits=VideoLimits(max_duration_s=1.0)))


def _png_bytes() -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", np.zeros((16, 16, 3), np.uint8))
    assert ok
    return bytes(buf.tobytes())


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("empty", b"", MediaError),
        ("text", b"this is a text file, not a video\n" * 20, MediaError),
        ("png", None, UnsupportedMediaError),
        ("random", np.random.default_rng(0).bytes(20_000), MediaError),
        ("aac_mp4", "aac/mp4", MediaError),
        ("mp2_mkv", "mp2/matroska", MediaError),
    ],
)
def test_video_hostile_inputs_raise_typed_one_line_errors(
    tmp_path: Path, name: str, content: bytes | str | None, error: type[Exception]
) -> None:
    if content is None:
        data = _png_bytes()
    elif isinstance(content, str):
        codec, fmt = content.split("/")
        data = encode_audio(fmt, codec)
    else:
        data = content
    path = tmp_path / f"{name}.mp4"
    path.write_bytes(data)
    for source in (path, data):
        if not data and isinstance(source, bytes):
            source = b""
        with pytest.raises(error) as info:
            read_video(source)
        message = str(info.value)
        assert "\n" not in message and message
        if isinstance(source, Path):
            assert str(path) in message
    if name.endswith(("mp4", "mkv")):
        with pytest.raises(MediaError, match="no video stream"):
            read_video(path)


def test_video_missing_file_is_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        read_video(tmp_path / "nope.mp4")
    (tmp_path / "clips.mp4").mkdir()
    with pytest.raises(MediaError, match="is a folder, not a video file"):
        read_video(tmp_path / "clips.mp4")


@pytest.mark.parametrize("fmt", ["mp4", "matroska"])
@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.995])
def test_video_truncated_is_error_or_correct_prefix(fmt: str, fraction: float) -> None:
    data = encode(fmt, "libx264", n=60)
    reference = read_video(data).frames
    cut = data[: int(len(data) * fraction)]
    try:
        video = read_video(cut)
    except MediaError as exc:
        assert "\n" not in str(exc)
        return
    k = len(video.frames)
    assert 0 < k <= len(reference)
    # every frame but the last (possibly cut mid-packet) matches the full decode
    diff = np.abs(video.frames[: k - 1].astype(int) - reference[: k - 1].astype(int))
    assert diff.max(initial=0) == 0


def test_video_truncated_faststart_mp4_is_error(tmp_path: Path) -> None:
    # index first (as web-ready MP4s are): the cut file opens, but frames are missing
    faststart = {"movflags": "faststart"}
    data = encode("mp4", "libx264", n=90, w=160, h=120, options=faststart, path=tmp_path / "f.mp4")
    assert data[4:8] == b"ftyp" and data.find(b"moov") < data.find(b"mdat")
    assert len(read_video(data).frames) == 90
    with pytest.raises(MediaError, match="truncated") as info:
        read_video(data[: len(data) // 2])
    assert "\n" not in str(info.value)


def test_video_bytes_input_matches_file(tmp_path: Path, h264_bytes: bytes) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(h264_bytes)
    np.testing.assert_array_equal(read_video(h264_bytes).frames, read_video(path).frames)


def test_video_write_round_trip(tmp_path: Path) -> None:
    frames = np.stack([_marked(i, 66, 50) for i in range(12)])
    path = tmp_path / "out" / "clip.mp4"
    write_video(path, frames, fps=25)
    video = read_video(path)
    assert video.frames.shape == (12, 50, 66, 3)
    assert video.fps == pytest.approx(25.0, rel=0.01)
    err = np.abs(video.frames.astype(int) - frames.astype(int)).mean()
    assert err < 6
    assert not list(path.parent.glob(".*.tmp"))


def test_video_write_odd_size_is_cropped_even(tmp_path: Path) -> None:
    frames = np.stack([_marked(i, 65, 49) for i in range(3)])
    write_video(tmp_path / "odd.mp4", frames, fps=29.97)
    video = read_video(tmp_path / "odd.mp4")
    assert video.frames.shape == (3, 48, 64, 3)
    assert video.fps == pytest.approx(29.97, rel=0.01)


def test_video_write_refuses_nothing(tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        write_video(tmp_path / "x.mp4", [], fps=30)
    assert not (tmp_path / "x.mp4").exists()
