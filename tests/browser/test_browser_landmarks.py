"""MediaPipe Holistic in the page builds the same (543, 3) layout as the Python extractor:
same part order, same left/right hands, no mirroring, coordinates close to Python's on
the frames of a real clip. The page's graph without the face mesh (web/build.mjs) gives
the full graph's pose and hand landmarks exactly, and no face."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_helpers import HELLO, VENDOR, PageEnv, skip_reason
from numpy.typing import NDArray

_reason = skip_reason()
if _reason is not None:
    pytest.skip(_reason, allow_module_level=True)

from sign2text.landmarks import skeleton as sk  # noqa: E402
from sign2text.landmarks.holistic import extract_video  # noqa: E402

STEP = 2  # every other frame of the 30 fps clip (time), each compared with Python's


def seen(lm: NDArray[Any], part: sk.Part) -> NDArray[np.bool_]:
    return np.asarray(~np.isnan(lm[:, part.start : part.stop, 0]).all(axis=1))


_PAGE_HOLISTIC = """async ({url, times, face, options, resetEach}) => {
  const runtime = await import('/static/js/runtime.js');
  const { resultsToFrame } = await import('/static/js/landmarks.js');
  const { makeSkeleton } = await import('/static/js/skeleton.js');
  const skel = makeSkeleton(await (await fetch('/v1/skeleton')).json());
  const holistic = await runtime.loadHolistic({ face });
  const video = document.createElement('video');
  video.muted = true;
  video.src = url;
  document.body.append(video);
  await new Promise((ok, fail) => {
    video.addEventListener('loadeddata', ok, { once: true });
    video.addEventListener('error', () => fail(new Error('bad video')), {once: true});
  });
  const out = [];
  for (const t of times) {
    await new Promise((ok) => {
      video.addEventListener('seeked', ok, { once: true });
      video.currentTime = t;
    });
    if (resetEach) await holistic.reset();
    const frame = resultsToFrame(await holistic.process(video), skel);
    out.push(Array.from(frame, (v) => (Number.isNaN(v) ? null : v)));
  }
  holistic.close();
  video.remove();
  return {frames: out, kind: `${holistic.kind}:${holistic.size}`};
}"""


def page_landmarks(
    env: PageEnv, times: list[float], *, face: bool = True, reset_each: bool = False
) -> tuple[NDArray[np.float64], str]:
    """Holistic's (T, 543, 3) landmarks in the page at ``times`` of the hello clip
    (``reset_each``: every frame starts without tracking, as a first frame)."""
    args = {"url": f"/v1/examples/{HELLO}", "times": times, "face": face, "resetEach": reset_each}
    got = env.page.evaluate(_PAGE_HOLISTIC, args)
    frames = np.array(got["frames"], dtype=np.float64)
    return frames.reshape(len(times), sk.N_POINTS, sk.N_DIMS), str(got["kind"])


def test_browser_holistic_matches_python_layout(
    open_page: Callable[..., PageEnv], videos_dir: Path
) -> None:
    want, fps = extract_video(videos_dir / HELLO)
    picks = list(range(0, len(want), STEP))
    times = [(i + 0.5) / fps for i in picks]  # the middle of each source frame
    env = open_page("/")
    got, _ = page_landmarks(env, times)
    ref = want[picks].astype(np.float64)

    # The same parts are found in (almost) the same frames.
    agreement: dict[str, float] = {}
    for part in (sk.FACE, sk.POSE, sk.LEFT_HAND, sk.RIGHT_HAND):
        agree = float((seen(got, part) == seen(ref, part)).mean())
        assert agree >= 0.8, f"{part.name}: seen in the same frames only {agree:.0%} of the time"
        agreement[part.name] = agree
    # The signing hand is the same slot in both (no mirroring, no left/right swap).
    assert seen(ref, sk.RIGHT_HAND).sum() > seen(ref, sk.LEFT_HAND).sum()
    assert seen(got, sk.RIGHT_HAND).sum() > seen(got, sk.LEFT_HAND).sum()

    # Coordinates agree where both found a part: shoulders, wrists, the face's nose tip.
    def close(index: int, tol: float) -> float:
        a, b = got[:, index, :2], ref[:, index, :2]
        both = ~np.isnan(a).any(axis=1) & ~np.isnan(b).any(axis=1)
        assert both.sum() >= 3, f"point {index} found together in only {both.sum()} frames"
        err = float(np.median(np.linalg.norm(a[both] - b[both], axis=1)))
        assert err < tol, f"point {index}: median distance {err:.4f} (image units)"
        return err

    errs = {
        "left shoulder": close(sk.POSE.start + sk.POSE_INDEX["left_shoulder"], 0.02),
        "right shoulder": close(sk.POSE.start + sk.POSE_INDEX["right_shoulder"], 0.02),
        "right wrist": close(sk.RIGHT_HAND.start, 0.03),
        "nose tip": close(sk.FACE.start + 1, 0.02),
    }
    print(
        f"\nbrowser vs Python Holistic on {len(picks)} frames: parts seen in the same frames "
        + ", ".join(f"{k} {v:.0%}" for k, v in agreement.items())
        + "; median distance "
        + ", ".join(f"{k} {v:.4f}" for k, v in errs.items())
    )


def test_browser_holistic_without_face_keeps_pose_and_hands(
    open_page: Callable[..., PageEnv],
) -> None:
    # In the page, tracked frames are not reproducible even on one graph: the solution
    # stamps frames with the wall clock, and Holistic's filters depend on the time
    # between frames. A frame without tracking (the graph reset before it) is: there the
    # graph without the face mesh must give the full graph's pose and hands exactly.
    times = [0.3 + 0.1 * i for i in range(16)]  # the hand is up from about 0.4 s
    env = open_page("/")
    full, kind_full = page_landmarks(env, times, face=True, reset_each=True)
    body, kind_body = page_landmarks(env, times, face=False, reset_each=True)
    assert kind_full == kind_body and kind_body.startswith("workers:")  # graphs in workers
    assert seen(full, sk.FACE).mean() > 0.8  # the full graph finds the face
    assert not seen(body, sk.FACE).any()  # the other one has none
    assert seen(body, sk.RIGHT_HAND).sum() >= 5
    rest = slice(sk.FACE.stop, sk.N_POINTS)  # left hand, pose, right hand
    np.testing.assert_array_equal(body[:, rest], full[:, rest])


def test_body_graph_replaces_only_holistics_node() -> None:
    from mediapipe.framework import calculator_pb2

    def graph(name: str) -> Any:
        g = calculator_pb2.CalculatorGraphConfig()
        g.ParseFromString((VENDOR / "holistic" / name).read_bytes())
        return g

    full, body = graph("holistic.binarypb"), graph("holistic_body.binarypb")
    kept = [n for n in full.node if n.calculator != "HolisticLandmarkGpu"]
    assert len(kept) == len(full.node) - 1
    added = [n for n in body.node if n not in kept]
    assert [n.calculator for n in added] == [
        "PoseLandmarkGpu",
        "HandLandmarksLeftAndRightGpu",
        "ConstantSidePacketCalculator",
        "GateCalculator",
    ]
    assert [n for n in body.node if n in kept] == kept  # the rest unchanged, in order
    pose, hands, constant, gate = added
    # Named as inside HolisticLandmarkGpu, so the solution's threshold option reaches it:
    # holistic.js names the node to set by its expanded path.
    assert pose.name == "holisticlandmarkgpu__poselandmarkgpu"
    solution = (VENDOR / "holistic" / "holistic.js").read_text()
    assert f'calculatorName:"{pose.name}__poselandmarkbyroigpu__' in solution
    assert "LANDMARKS:pose_landmarks" in pose.output_stream
    assert list(hands.input_stream) == ["IMAGE:image_transformed", "POSE_LANDMARKS:pose_landmarks"]
    assert list(gate.output_stream) == ["face_landmarks"]  # empty: the gate stays closed
    assert list(gate.input_side_packet) == ["ALLOW:sign2text_no_face"]
    assert list(constant.output_side_packet) == ["PACKET:sign2text_no_face"]
    assert "bool_value: false" in str(constant.options)
    assert not any(n.calculator.startswith("FaceLandmarks") for n in body.node)
