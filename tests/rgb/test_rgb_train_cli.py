"""The toolkit path for RGB models: ``sign2text train`` on a generated folder dataset
(TensorBoard logs), then ``evaluate``, ``export`` and ``recognize`` on its output, and the
runtime stays torch-free. TwoOutNet learns its pose head from MediaPipe targets of real clips."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from sign2text.cli.main import main  # noqa: E402
from sign2text.errors import ConfigError  # noqa: E402
from sign2text.train.config import load_config  # noqa: E402
from sign2text.train.trainer import train  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]

CONFIG = """
epochs = 2
batch_size = 4
seed = 0
device = "cpu"
[data]
kind = "video"
paths = ["{root}"]
split = "random"
val = 0.25
test = 0.0
[clips]
size = 16
resize = 20
frames = 4
fps = 10.0
[model]
name = "{model}"
[model.args]
channels = [4, 8, 8]
dense = 8
[optim]
lr = 3e-3
[[augment]]
name = "random_crop"
[[augment]]
name = "flip"
p = 0.5
[[augment]]
name = "color_jitter"
p = 0.5
"""


def _config(tmp_path: Path, root: Path, model: str) -> Path:
    path = tmp_path / f"{model}.toml"
    path.write_text(CONFIG.format(root=root, model=model))
    return path


def test_rgb_train_evaluate_export_recognize(
    folder_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    cfg = _config(tmp_path, folder_dataset, "simplenet3d")
    overrides = ["--set", "epochs=10", "--set", "optim.lr=1e-2"]
    assert main(["-q", "train", str(cfg), "--out", str(run), *overrides]) == 0
    for name in ("best.pt", "last.pt", "config.json", "split.json", "history.json", "curves.png"):
        assert (run / name).is_file(), name
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert (run / "val" / "report.json").is_file()
    assert list((run / "clip_cache").glob("clip-*.npz"))
    ckpt = torch.load(run / "best.pt", weights_only=True)
    assert ckpt["input"]["kind"] == "rgb" and ckpt["input"]["size"] == 16

    out = tmp_path / "eval"
    assert (
        main(["-q", "evaluate", str(run / "best.pt"), str(folder_dataset), "--out", str(out)]) == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert report["n_samples"] == 8 and report["meta"]["input"] == "rgb"
    assert set(report["per_class"]) == {"blue", "red"} and "" in report["per_signer"]
    # Colour alone separates the words: 7 of 8 (0.875) here; chance is 0.5.
    assert report["top1"] >= 0.75, report["top1"]

    exp = tmp_path / "export"
    args = ["-q", "export", str(run / "best.pt"), "--out", str(exp), "--data", str(folder_dataset)]
    assert main(args) == 0
    parity = json.loads((exp / "parity.json").read_text())
    assert parity["n"] == 8 and parity["max_abs_logit_diff"]["torch_vs_fp32"] < 1e-4
    delta = parity["delta_points"]
    assert delta is not None  # accuracy was measured on the data
    assert parity["decision"] == ("int8" if delta >= -0.5 else "fp32"), delta
    capsys.readouterr()

    clip = sorted(folder_dataset.glob("red/*.mp4"))[0]
    onnx = exp / "model.fp32.onnx"
    assert main(["-q", "recognize", str(clip), "--model", str(onnx), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["timings"]["landmarks_ms"] == 0.0  # no MediaPipe for an RGB model
    assert sorted(label for label, _ in result["top_k"]) == ["blue", "red"]
    assert sum(p for _, p in result["top_k"]) == pytest.approx(1.0, abs=1e-3)
    onnx_eval = tmp_path / "eval_onnx"
    assert main(["-q", "evaluate", str(onnx), str(folder_dataset), "--out", str(onnx_eval)]) == 0
    onnx_report = json.loads((onnx_eval / "report.json").read_text())
    assert onnx_report["top1"] == report["top1"]

    code = (
        "import sys; from sign2text.runtime import Recognizer\n"
        f"r = Recognizer({str(onnx)!r}); res = r.recognize_video({str(clip)!r})\n"
        "assert 'torch' not in sys.modules, 'runtime imported torch'\n"
        "print(res.top_k[0][0])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == result["top_k"][0][0]
    _serve_rgb_model(onnx, clip, tmp_path, result["top_k"][0][0])
    # Live mode runs on landmarks: a one-line error, not a failure mid-stream.
    capsys.readouterr()
    assert main(["live", "--video", str(clip), "--model", str(onnx), "--no-window"]) == 2
    assert "takes RGB clips" in capsys.readouterr().err


def _serve_rgb_model(onnx: Path, clip: Path, tmp_path: Path, want: str) -> None:
    """The service runs an RGB model: uploads are recognized; the landmark endpoint and
    the stream, which carry landmarks, answer a clear error instead of failing."""
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from sign2text.serve import ServeSettings, create_app

    settings = ServeSettings(model=onnx, workers=1, queue_size=2, static_dir=tmp_path / "none")
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/model").json()["input"] == "rgb"
        r = client.post("/v1/recognize", files={"file": ("c.mp4", clip.read_bytes(), "video/mp4")})
        assert r.status_code == 200, r.text
        assert r.json()["top_k"][0]["label"] == want
        r = client.post("/v1/recognize/landmarks", json={"landmarks": [[[0.5, 0.5, 0.0]] * 543]})
        assert r.status_code == 409 and r.json()["error"]["code"] == "model_input_mismatch"
        with client.websocket_connect("/v1/stream") as ws:
            assert ws.receive_json()["code"] == "model_input_mismatch"
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1003


# Real clips (people in them), so MediaPipe gives the pose head real targets.
POSE_CLIPS = {
    "yes": ["yes__Osushi2022__64287.mp4", "yes__sdb1228__yes.mp4"],
    "no": ["no__Osushi2022__69411.mp4", "no__sdb1228__no.mp4"],
    "book": ["book__Osushi2022__07074.mp4", "book__sdb1228__book.mp4"],
    "thank-you": ["thank-you__sdb1228__thank-you.mp4", "thank-you__sdb1228__thankyou.mp4"],
}


def test_twooutnet_trains_with_its_pose_loss(videos_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "people"
    for label, names in POSE_CLIPS.items():
        (root / label).mkdir(parents=True)
        for name in names:
            shutil.copyfile(videos_dir / name, root / label / name)
    path = _config(tmp_path, root, "twooutnet")
    cache = tmp_path / "clip_cache"  # MediaPipe runs once for both runs
    common = ["epochs=20", "optim.lr=1e-2", "data.val=0.5", f"data.cache_dir={cache}"]
    trained = train(load_config(path, [*common, "model.args.pose_weight=20.0"]), tmp_path / "a")
    ignored = train(load_config(path, [*common, "model.args.pose_weight=0.0"]), tmp_path / "b")
    assert list(cache.glob("clip-*.pose.npz"))
    for result in (trained, ignored):  # the clips' landmarks were targets
        assert all(r["train_pose_loss"] > 0 and r["val_pose_loss"] > 0 for r in result.history)
    # Same seed and clips: only the pose loss's weight differs, and it must have taught
    # the pose head (an untrained head's sigmoid stays far from the landmarks).
    final = [result.history[-1]["val_pose_loss"] for result in (trained, ignored)]
    assert final[0] < 0.75 * final[1], final  # measured: 0.033 against 0.068


def test_model_and_data_kind_must_agree(tmp_path: Path) -> None:
    from sign2text.train.video import VideoTrainer, is_video_config

    with pytest.raises(ConfigError, match="takes RGB clips"):
        is_video_config(load_config(None, ["model.name=simplenet3d", "data.kind=landmarks"]))
    with pytest.raises(ConfigError, match=r"data\.kind"):
        load_config(None, ["data.kind=pictures"])
    assert is_video_config(load_config(None, ["model.name=twooutnet"]))
    with pytest.raises(ConfigError, match="mixup does not apply to twooutnet"):
        VideoTrainer(
            load_config(None, ["model.name=twooutnet", "mixup.alpha=0.2"]), tmp_path, samples=[]
        )
    assert not is_video_config(load_config(None, ["model.name=gru"]))
