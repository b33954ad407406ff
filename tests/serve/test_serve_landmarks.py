"""POST /v1/recognize/landmarks: real sequences, nulls, and invalid bodies."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serve_helpers import error_of, rest, to_json_frames

from sign2text.landmarks import skeleton as sk
from sign2text.serve import ServeSettings

URL = "/v1/recognize/landmarks"


def test_real_sequence_is_recognized(client: TestClient, words: dict[str, np.ndarray]) -> None:
    lm = words["water"]
    r = client.post(URL, json={"landmarks": to_json_frames(lm), "top_k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "water" and not body["rejected"]
    assert len(body["top_k"]) == 2 and body["frames"] == len(lm)
    assert body["timings"]["decode_ms"] == 0.0 and body["timings"]["model_ms"] > 0


def test_nulls_mark_missing_points(client: TestClient, words: dict[str, np.ndarray]) -> None:
    lm = words["hello"].copy()
    frames = to_json_frames(lm)
    # A coordinate-level null is as good as a point-level null.
    for frame in frames:
        frame[0] = [None, None, None]
    r = client.post(URL, json={"landmarks": frames})
    assert r.status_code == 200, r.text
    assert r.json()["top_k"][0]["label"] == "hello"
    # A frame where nothing was found may be null point by point.
    nothing = [None] * sk.N_POINTS
    r = client.post(URL, json={"landmarks": [nothing, *frames[:10], nothing, *frames[10:]]})
    assert r.status_code == 200, r.text
    assert r.json()["top_k"][0]["label"] == "hello" and r.json()["frames"] == len(frames) + 2


def test_no_hands_is_no_signing(client: TestClient, words: dict[str, np.ndarray]) -> None:
    frames = to_json_frames(rest(words["hello"], 12))
    r = client.post(URL, json={"landmarks": frames})
    assert r.status_code == 422 and error_of(r)["code"] == "no_signing"


def _frame(value: Any = 0.5) -> list[Any]:
    return [[value, value, value] for _ in range(sk.N_POINTS)]


@pytest.mark.parametrize(
    "body",
    [
        {"landmarks": []},
        {"landmarks": [[[0.1, 0.2, 0.3]] * 10]},  # 10 points, not 543
        {"landmarks": [[[0.1, 0.2]] * sk.N_POINTS]},  # 2 coordinates
        {"landmarks": [_frame("0.5")]},  # strings are not numbers
        {"landmarks": [_frame(True)]},
        {"landmarks": "abc"},
        {"landmarks": [_frame()], "top_k": 0},
        {"landmarks": [_frame()], "extra": 1},
        {"top_k": 3},
        [1, 2, 3],
    ],
    ids=[
        "empty",
        "points",
        "coords",
        "string",
        "bool",
        "type",
        "top_k",
        "extra",
        "missing",
        "list",
    ],
)
def test_invalid_bodies(client: TestClient, body: Any) -> None:
    r = client.post(URL, json=body)
    assert r.status_code == 422, r.text
    err = error_of(r)
    assert err["code"] == "invalid_landmarks" and err["message"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "1e39"])
def test_non_finite_numbers(client: TestClient, number: str) -> None:
    frame = json.dumps(_frame(0.5)).replace("0.5", number, 1)
    r = client.post(
        URL, content=f'{{"landmarks": [{frame}]}}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_landmarks"


def test_not_json(client: TestClient) -> None:
    headers = {"content-type": "application/json"}
    r = client.post(URL, content=b'{"landmarks": [[[0.1, 0.2', headers=headers)
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_landmarks"
    r = client.post(URL, content=b"", headers=headers)
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_landmarks"
    r = client.post(URL, content=b"{}", headers={"content-type": "text/csv"})
    assert r.status_code == 415 and error_of(r)["code"] == "unsupported_media"


def test_too_many_frames(client: TestClient, settings: ServeSettings) -> None:
    n = settings.max_landmark_frames + 1
    frame = json.dumps([None] * sk.N_POINTS)
    body = '{"landmarks": [' + ",".join([frame] * n) + "]}"
    r = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    err = error_of(r)
    assert (
        err["code"] == "invalid_landmarks" and str(settings.max_landmark_frames) in err["message"]
    )


def test_a_body_of_more_values_than_the_frame_cap_is_refused_before_parsing(
    client: TestClient, settings: ServeSettings
) -> None:
    """Millions of short numbers would take seconds and hundreds of MB to parse."""
    n = settings.max_landmark_frames * sk.N_POINTS * sk.N_DIMS + 1000
    body = '{"landmarks": [[[' + ",".join(["0"] * n) + "]]]}"
    r = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_landmarks"
    assert f"more values than {settings.max_landmark_frames} frames" in error_of(r)["message"]


def test_a_body_of_exactly_the_frame_cap_is_accepted(
    client: TestClient, settings: ServeSettings, words: dict[str, Any]
) -> None:
    """The comma bound never refuses a sequence the cap allows (full frames, top_k)."""
    lm = np.resize(words["hello"], (settings.max_landmark_frames, sk.N_POINTS, sk.N_DIMS))
    lm = np.nan_to_num(lm, nan=0.5)  # every point present: the most commas a frame has
    short = lm.astype(np.float64).round(3).tolist()  # 3 decimals: under the 2 MiB cap
    r = client.post(URL, json={"landmarks": short, "top_k": 3})
    assert r.status_code == 200, r.text
