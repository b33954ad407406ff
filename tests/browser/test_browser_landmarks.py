"""MediaPipe Holistic in the page builds the same (543, 3) layout as the Python extractor:
same part order, same left/right hands, no mirroring, coordinates close to Python's on
the frames of a real clip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_helpers import HELLO, PageEnv, skip_reason
from numpy.typing import NDArray

_reason = skip_reason()
if _reason is not None:
    pytest.skip(_reason, allow_module_level=True)

from sign2text.landmarks import skeleton as sk  # noqa: E402
from sign2text.landmarks.holistic import extract_video  # noqa: E402

STEP = 2  # every other frame of the 30 fps clip (time), each compared with Python's


def seen(lm: NDArray[Any], part: sk.Part) -> NDArray[np.bool_]:
    return np.asarray(~np.isnan(lm[:, part.start : part.stop, 0]).all(axis=1))


def test_browser_holistic_matches_python_layout(
    open_page: Callable[..., PageEnv], videos_dir: Path
) -> None:
    want, fps = extract_video(videos_dir / HELLO)
    picks = list(range(0, len(want), STEP))
    times = [(i + 0.5) / fps for i in picks]  # the middle of each source frame
    env = open_page("/")
    got_frames = env.page.evaluate(
        """async ({url, times}) => {
             const runtime = await import('/static/js/runtime.js');
             const { resultsToFrame } = await import('/static/js/landmarks.js');
             const { makeSkeleton } = await import('/static/js/skeleton.js');
             const skel = makeSkeleton(await (await fetch('/v1/skeleton')).json());
             const holistic = await runtime.loadHolistic();
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
               const frame = resultsToFrame(await holistic.process(video), skel);
               out.push(Array.from(frame, (v) => (Number.isNaN(v) ? null : v)));
             }
             return out;
           }""",
        {"url": f"/v1/examples/{HELLO}", "times": times},
    )
    got = np.array(got_frames, dtype=np.float64).reshape(len(picks), sk.N_POINTS, sk.N_DIMS)
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
