"""The ``pose`` format: ``.pose`` files of pose-format (sign-language-processing/pose).

A MediaPipe holistic ``.pose`` file has components ``POSE_LANDMARKS`` (33 points),
``FACE_LANDMARKS`` (468, or a subset named by index), ``LEFT_HAND_LANDMARKS`` and
``RIGHT_HAND_LANDMARKS`` (21 each); other components (``POSE_WORLD_LANDMARKS``) are
ignored. pose-format stores x and y in pixels: they are divided by the header's
width and height to get MediaPipe's normalised coordinates; z is kept. A point with
confidence 0 becomes NaN. Only the first person of a file is read.

Labels of a folder of ``.pose`` files come from a ``labels.csv`` sidecar at the root
(columns ``path,label`` and optionally ``signer,split``; ``path`` relative to the root),
else from the ``<label>/<name>.pose`` layout.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.importers._common import normalize_label, walk_files
from sign2text.data.importers.base import (
    LANDMARK_IMPORTERS,
    LandmarkImporter,
    check_inside,
    safe_join,
)
from sign2text.data.sample import UNKNOWN_SIGNER, Sample
from sign2text.errors import DatasetError
from sign2text.io.atomic import atomic_write_bytes
from sign2text.landmarks.skeleton import (
    FACE,
    LEFT_HAND,
    POSE,
    POSE_NAMES,
    RIGHT_HAND,
    Part,
    empty,
    hand_connections,
    limbs,
    pose_connections,
)

log = logging.getLogger(__name__)

POSE_SUFFIX = frozenset({".pose"})
SIDECAR = "labels.csv"

# MediaPipe HandLandmark names, in index order.
HAND_NAMES = [
    "WRIST",
    "THUMB_CMC",
    "THUMB_MCP",
    "THUMB_IP",
    "THUMB_TIP",
    "INDEX_FINGER_MCP",
    "INDEX_FINGER_PIP",
    "INDEX_FINGER_DIP",
    "INDEX_FINGER_TIP",
    "MIDDLE_FINGER_MCP",
    "MIDDLE_FINGER_PIP",
    "MIDDLE_FINGER_DIP",
    "MIDDLE_FINGER_TIP",
    "RING_FINGER_MCP",
    "RING_FINGER_PIP",
    "RING_FINGER_DIP",
    "RING_FINGER_TIP",
    "PINKY_MCP",
    "PINKY_PIP",
    "PINKY_DIP",
    "PINKY_TIP",
]


@dataclass(frozen=True)
class _Component:
    name: str
    part: Part
    points: tuple[str, ...]


COMPONENTS = (
    _Component("POSE_LANDMARKS", POSE, tuple(n.upper() for n in POSE_NAMES)),
    _Component("FACE_LANDMARKS", FACE, tuple(str(i) for i in range(FACE.size))),
    _Component("LEFT_HAND_LANDMARKS", LEFT_HAND, tuple(HAND_NAMES)),
    _Component("RIGHT_HAND_LANDMARKS", RIGHT_HAND, tuple(HAND_NAMES)),
)


def _point_index(comp: _Component, name: str, position: int, where: Path) -> int:
    """Index within the part of the point called ``name`` (pose-format names points)."""
    lookup = {n: i for i, n in enumerate(comp.points)}
    if name in lookup:
        return lookup[name]
    if name.isdigit() and int(name) < comp.part.size:
        return int(name)
    if position < comp.part.size:
        return position
    raise DatasetError(f"{where}: {comp.name} has an unknown point {name!r}")


def read_pose_file(path: Path) -> tuple[NDArray[Any], float]:
    """The (T, 543, 3) float32 landmarks and the fps of one ``.pose`` file."""
    from pose_format import Pose

    try:
        pose = Pose.read(path.read_bytes())
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    except Exception as exc:  # pose-format raises struct/Index/Value/Unicode errors
        raise DatasetError(f"{path}: not a readable .pose file ({type(exc).__name__})") from None
    header, body = pose.header, pose.body
    width = float(header.dimensions.width)
    height = float(header.dimensions.height)
    if width <= 0 or height <= 0:
        raise DatasetError(f"{path}: header has no image dimensions ({width}x{height})")
    data = np.asarray(body.data.data, dtype=np.float32)
    conf = np.asarray(body.confidence, dtype=np.float32)
    if data.ndim != 4 or data.shape[-1] < 2:
        raise DatasetError(f"{path}: pose body has shape {data.shape}, expected (T, P, N, D)")
    by_name = {c.name: c for c in COMPONENTS}
    found = [c.name for c in header.components if c.name in by_name]
    if not found:
        valid = ", ".join(by_name)
        raise DatasetError(f"{path}: no MediaPipe holistic component (expected {valid})")
    frames = data.shape[0]
    out = empty(frames)
    if data.shape[1] == 0:
        return out, float(body.fps)
    offset = 0
    for component in header.components:
        n = len(component.points)
        comp = by_name.get(component.name)
        if comp is not None:
            idx = [_point_index(comp, str(p), i, path) for i, p in enumerate(component.points)]
            xyz = data[:, 0, offset : offset + n, :3].copy()
            if xyz.shape[-1] == 2:
                xyz = np.concatenate([xyz, np.zeros((*xyz.shape[:2], 1), np.float32)], axis=-1)
            xyz[..., 0] /= width
            xyz[..., 1] /= height
            seen = conf[:, 0, offset : offset + n] > 0
            xyz[~seen] = np.nan
            out[:, comp.part.start + np.asarray(idx, dtype=np.int64)] = xyz
        offset += n
    return out, float(body.fps)


def _header_components() -> list[object]:
    from pose_format.pose_header import PoseHeaderComponent

    face_limbs = [
        (a - FACE.start, b - FACE.start)
        for a, b in limbs()
        if FACE.start <= a < FACE.stop and FACE.start <= b < FACE.stop
    ]
    connections = {
        "POSE_LANDMARKS": list(pose_connections()),
        "FACE_LANDMARKS": face_limbs,
        "LEFT_HAND_LANDMARKS": list(hand_connections()),
        "RIGHT_HAND_LANDMARKS": list(hand_connections()),
    }
    return [
        PoseHeaderComponent(
            name=c.name,
            points=list(c.points),
            limbs=connections[c.name],
            colors=[(255, 0, 0)],
            point_format="XYZC",
        )
        for c in COMPONENTS
    ]


MAX_POSE_SIDE = 65535
MAX_POSE_FPS = 10_000.0


def pose_bytes(sample: Sample, fps: float, width: int, height: int) -> bytes:
    """Serialise ``sample`` as a pose-format file (header v0.2, holistic components)."""
    from pose_format import Pose
    from pose_format.numpy.pose_body import NumPyPoseBody
    from pose_format.pose_header import PoseHeader, PoseHeaderDimensions

    # The header stores width and height as uint16 and the frame rate as float32.
    if not (0 < width <= MAX_POSE_SIDE and 0 < height <= MAX_POSE_SIDE):
        raise DatasetError(
            f"bad .pose image size {width}x{height}: width and height must be 1 to "
            f"{MAX_POSE_SIDE} pixels"
        )
    if not 0 < fps <= MAX_POSE_FPS:
        raise DatasetError(
            f"bad .pose frame rate {fps}: must be above 0 and at most {MAX_POSE_FPS}"
        )
    lm = np.asarray(sample.landmarks, dtype=np.float32)
    order = np.concatenate([c.part.indices for c in COMPONENTS])
    xyz = lm[:, order].copy()
    missing = np.isnan(xyz).any(axis=-1)
    xyz[..., 0] *= width
    xyz[..., 1] *= height
    xyz[missing] = 0.0
    conf = np.where(missing, 0.0, 1.0).astype(np.float32)
    header = PoseHeader(
        version=0.2,
        dimensions=PoseHeaderDimensions(width=width, height=height, depth=1000),
        components=_header_components(),
    )
    body = NumPyPoseBody(fps=fps, data=xyz[:, None], confidence=conf[:, None])
    buf = io.BytesIO()
    Pose(header, body).write(buf)
    return buf.getvalue()


def write_pose(path: str | Path, sample: Sample, fps: float, width: int, height: int) -> None:
    """Write ``sample`` as a ``.pose`` file readable by pose-format (atomically).

    Normalised x and y are multiplied by ``width`` and ``height`` (pose-format keeps
    pixels); NaN points get confidence 0.
    """
    atomic_write_bytes(path, pose_bytes(sample, fps, width, height))


def detect_pose(path: Path) -> bool:
    """A ``.pose`` file, or a folder holding ``.pose`` files at depth one or two."""
    if path.is_file():
        return path.suffix.lower() == ".pose"
    if not path.is_dir():
        return False
    return any(path.glob("*.pose")) or any(path.glob("*/*.pose"))


def _read_sidecar(root: Path) -> dict[str, dict[str, str]]:
    side = root / SIDECAR
    if not side.is_file():
        return {}
    check_inside(root, side)
    try:
        with side.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not {"path", "label"} <= set(reader.fieldnames or []):
                raise DatasetError(f"{side}: needs columns path,label")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{side}: unreadable CSV ({exc})") from None
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        rel = Path(row["path"] or "")
        safe_join(root, rel)
        out[rel.as_posix()] = row
    return out


def load_pose(path: Path) -> list[Sample]:
    """Load one ``.pose`` file or a folder of them (labels: sidecar or parent folder)."""
    if path.is_file():
        root, files = path.parent, [path]
    elif path.is_dir():
        root, files = path, walk_files(path, POSE_SUFFIX)
    else:
        raise DatasetError(f"{path}: no such file or folder")
    sidecar = _read_sidecar(root)
    samples: list[Sample] = []
    for file in files:
        rel = file.relative_to(root).as_posix()
        row = sidecar.get(rel)
        if row is not None:
            label, signer = row["label"], row.get("signer") or UNKNOWN_SIGNER
            split = row.get("split") or None
        elif file.parent != root or path.is_file():
            label, signer, split = file.parent.name, UNKNOWN_SIGNER, None
        else:
            raise DatasetError(f"{file}: no label (not in {SIDECAR}, not in a <label>/ folder)")
        landmarks, fps = read_pose_file(file)
        if len(landmarks) == 0:
            log.warning("%s: no frames, skipped", file)
            continue
        samples.append(
            Sample(
                landmarks=landmarks,
                label=normalize_label(label),
                signer=signer,
                source_id=rel,
                split=split,
                meta={"fps": f"{fps:g}"},
            )
        )
    if not samples:
        raise DatasetError(f"{path}: no .pose files with frames found")
    return samples


LANDMARK_IMPORTERS.add(
    "pose",
    LandmarkImporter(
        name="pose",
        description="pose-format .pose files (MediaPipe holistic), labels from "
        f"{SIDECAR} or <label>/<name>.pose",
        detect=detect_pose,
        load=load_pose,
    ),
)
