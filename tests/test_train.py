"""The training loop: loss, schedules, metrics, checkpoints, kill-and-resume, DDP, and the CLI."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vmp.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from vmp.data import ClipTransform, VideoFolder
from vmp.data.synth import SynthConfig, generate
from vmp.metrics import confusion_matrix, summarize, topk_correct
from vmp.models import build_model
from vmp.prompt import SLOPE_RANGE
from vmp.schedule import lr_factor
from vmp.train import EarlyStopping, TrainConfig, evaluate, fit, load_trained, make_optimizer

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


#: The small benchmark the training tests learn.
SMALL = SynthConfig(seed=2, classes=4, clips_per_class=10, frames=5, size=32)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synth"), SMALL)


def datasets(root: Path, frames: int = 5):
    transform = ClipTransform(size=32, short_side=32, train=False)
    return (VideoFolder(root, "train", frames=frames, mode="center", transform=transform),
            VideoFolder(root, "val", frames=frames, mode="center", transform=transform))


def test_schedules():
    assert [round(lr_factor(e, 4, "cosine"), 4) for e in range(4)] == [1.0, 0.8536, 0.5, 0.1464]
    assert [lr_factor(e, 6, "step", milestones=(2, 4), gamma=0.1) for e in range(6)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01]
    )
    assert [lr_factor(e, 5, "cosine", warmup_epochs=2) for e in range(3)] == pytest.approx([1 / 3, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="schedule"):
        lr_factor(0, 3, "exponential")


def test_prompt_parameters_get_their_own_learning_rate():
    model = build_model("tiny3d", 4, 4, 32)
    optimizer = make_optimizer(model, TrainConfig(lr=0.1, prompt_lr=0.5, optimizer="sgd"))
    prompt_group = optimizer.param_groups[1]
    assert prompt_group["lr"] == 0.5 and prompt_group["weight_decay"] == 0.0
    assert {id(p) for p in prompt_group["params"]} == {id(model.prompt.m), id(model.prompt.n)}
    assert len(make_optimizer(build_model("tiny3d", 4, 4, 32, input="frames"), TrainConfig()).param_groups) == 1


def test_metrics_from_a_confusion_matrix():
    confusion = confusion_matrix(torch.tensor([0, 1, 1, 2, 2, 2]), torch.tensor([0, 1, 2, 2, 2, 0]), 3)
    assert confusion.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    summary = summarize(confusion, top5=6, loss_sum=3.0)
    assert summary["top1"] == pytest.approx(4 / 6) and summary["loss"] == 0.5
    assert summary["mean_class_accuracy"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    scores = torch.tensor([[0.1, 0.5, 0.4], [0.8, 0.15, 0.05]])
    assert topk_correct(scores, torch.tensor([2, 2]), 2) == 1 and topk_correct(scores, torch.tensor([2, 2]), 5) == 2


def learning_history(root: Path) -> list[dict]:
    """Four epochs of Tiny3D with the layer and λ = 2 on the small benchmark in ``root`` (its last
    over first training cross-entropy is also measured on other code paths and thread counts by
    ``benchmarks/stochastic_margins.py``, against the test's threshold of 1)."""
    train, val = datasets(root)
    torch.manual_seed(0)
    model = build_model("tiny3d", 4, 4, 32)
    return fit(model, train, val, TrainConfig(epochs=4, batch_size=4, optimizer="adamw", lr=3e-3, tav_weight=2.0))


def test_loss_is_cross_entropy_plus_lambda_tav_and_training_learns(data):
    history = learning_history(data)
    for record in history:
        assert record["train_loss"] == pytest.approx(record["train_ce"] + 2.0 * record["train_tav"], rel=1e-6)
        assert SLOPE_RANGE[0] < record["slope"] <= SLOPE_RANGE[1] and abs(record["shift"]) < 0.6  # by construction
    assert history[-1]["train_ce"] < history[0]["train_ce"]  # it learns the training set
    assert {"val_top1", "val_top5", "val_mean_class_accuracy", "val_loss"} <= set(history[-1])


def test_early_stopping_waits_for_a_rise_of_min_delta_and_keeps_the_best_epoch():
    model = torch.nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    stops = []
    for epoch, value in enumerate([0.5, 0.6, 0.605, 0.58, 0.9], start=1):
        model.weight.data.fill_(epoch)  # the weights say which epoch they are from
        stops.append(stopper.update(epoch, value, model))
        if stops[-1]:
            break
    # 0.605 is the best yet but not a rise of 0.01 over 0.6; with 0.58 that is two epochs without one
    assert stops == [False, False, False, True]
    assert (stopper.best, stopper.best_epoch, stopper.stopped_epoch) == (0.605, 3, 4)
    stopper.restore(model)
    assert model.weight.item() == 3
    tied = EarlyStopping(patience=3)
    for epoch, value in enumerate([0.4, 0.4, 0.3], start=1):
        assert not tied.update(epoch, value, model)
    assert tied.best_epoch == 1  # ties keep the earliest epoch
    with pytest.raises(RuntimeError, match="nothing to restore"):
        EarlyStopping().restore(model)


def test_fit_with_early_stopping_stops_and_ends_at_the_best_validation_weights(data):
    train, val = datasets(data)
    torch.manual_seed(0)
    model = build_model("tiny3d", 4, 4, 32)
    stopper = EarlyStopping(patience=1, min_delta=1.0)  # no later epoch can rise by a whole unit
    history = fit(model, train, val, TrainConfig(epochs=5, batch_size=4, optimizer="adamw", lr=3e-3),
                  early_stopping=stopper)
    assert len(history) == 2 and stopper.stopped_epoch == 2
    curve = [record["val_top1"] for record in history]
    assert stopper.best_epoch == curve.index(max(curve)) + 1 and stopper.best == max(curve)
    assert evaluate(model, val, batch_size=4)["top1"] == pytest.approx(stopper.best)
    with pytest.raises(ValueError, match="validation set"):
        fit(
            build_model("tiny3d", 4, 4, 32),
            train,
            config=TrainConfig(epochs=1, batch_size=4),
            early_stopping=EarlyStopping(),
        )


def test_multi_view_evaluation_averages_views(data):
    transform = ClipTransform(size=32, short_side=32, train=False, spatial_views=3)
    views = VideoFolder(data, "test", frames=5, mode="uniform", temporal_views=2, transform=transform)
    model = build_model("tiny3d", 4, 4, 32)
    metrics = evaluate(model, views, batch_size=2)
    assert metrics["count"] == len(views) and sum(map(sum, metrics["confusion"])) == len(views)
    assert len(metrics["correct"]) == len(views) and set(metrics["correct"]) <= {0, 1}
    assert sum(metrics["correct"]) == sum(metrics["confusion"][k][k] for k in range(4))


def test_evaluate_marks_each_clip_right_or_wrong_in_the_datasets_order():
    class Fixed(torch.utils.data.Dataset):  # clip i is a constant clip whose label is i % 3
        def __len__(self):
            return 7

        def __getitem__(self, index):
            return torch.full((3, 5, 16, 16), float(index)), index % 3

    model = build_model("tiny3d", 3, 4, 16).eval()
    with torch.no_grad():
        predicted = [model(Fixed()[i][0][None]).logits.argmax(1).item() for i in range(7)]
    metrics = evaluate(model, Fixed(), batch_size=3)
    assert metrics["correct"] == [int(p == i % 3) for i, p in enumerate(predicted)]


def test_mismatched_data_fails_before_training(data):
    train, _ = datasets(data)
    with pytest.raises(ValueError, match="4 classes but the model predicts 5"):
        fit(build_model("tiny3d", 5, 4, 32), train)
    with pytest.raises(ValueError, match="clips of 5 frames but the model takes 9"):
        fit(build_model("tiny3d", 4, 8, 32), train)


def test_checkpoint_round_trip_and_damage(tmp_path, data):
    train, val = datasets(data)
    model = build_model("tiny3d", 4, 4, 32)
    args = {"name": "tiny3d", "num_classes": 4, "frames": 4, "crop": 32, "input": "vmp", "classes": train.classes}
    fit(model, train, val, TrainConfig(epochs=1, batch_size=4), out=tmp_path, model_args=args)
    rebuilt, checkpoint = load_trained(tmp_path / "checkpoint.pt")
    assert checkpoint["epoch"] == 0 and len(checkpoint["history"]) == 1
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.state_dict().values(), model.state_dict().values()))
    assert not list(tmp_path.glob(".*partial"))  # atomic writes leave no temporary files
    (tmp_path / "broken.pt").write_bytes((tmp_path / "checkpoint.pt").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="broken.pt is damaged"):
        load_checkpoint(tmp_path / "broken.pt")
    with pytest.raises(CheckpointError, match="does not fit this model"):
        fit(
            build_model("tiny3d", 4, 4, 32, width=8),
            train,
            config=TrainConfig(epochs=2, batch_size=4),
            out=tmp_path,
            resume=True,
        )
    with pytest.raises(CheckpointError, match="nothing to resume"):
        fit(build_model("tiny3d", 4, 4, 32), train, out=tmp_path / "empty", resume=True)


def test_checkpoint_loads_with_weights_only(tmp_path):
    save_checkpoint(tmp_path / "c.pt", model={"w": torch.ones(2)}, epoch=3, history=[{"a": 1.0}])
    assert torch.load(tmp_path / "c.pt", weights_only=True)["epoch"] == 3


def cli_train(out: Path, data: Path, epochs: int, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "vmp", "train", "--data", str(data), "--out", str(out), "--epochs", str(epochs),
               "--frames", "4", "--crop", "32", "--batch-size", "4", "--tav-weight", "0.5", "--seed", "5", *extra]
    return subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def cli_eval(checkpoint: Path, data: Path, *extra: str) -> subprocess.CompletedProcess:
    """``python -m vmp eval`` of ``checkpoint`` on ``data``, its output captured."""
    command = [sys.executable, "-m", "vmp", "eval", "--checkpoint", str(checkpoint), "--data", str(data), *extra]
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # three CLI training processes
def test_killed_mid_epoch_and_resumed_gives_the_same_history(tmp_path, data):
    epochs = 4
    uninterrupted = cli_train(tmp_path / "whole", data, epochs)
    assert uninterrupted.wait(timeout=300) == 0, uninterrupted.stdout.read()
    interrupted = cli_train(tmp_path / "killed", data, epochs)
    history_file = tmp_path / "killed" / "history.json"
    deadline = time.time() + 300
    while time.time() < deadline and interrupted.poll() is None:
        if history_file.exists() and len(json.loads(history_file.read_text())) >= 2:
            break
        time.sleep(0.02)
    assert interrupted.poll() is None, "the run ended before it could be killed"
    interrupted.send_signal(signal.SIGKILL)  # somewhere in epoch 3, or while writing epoch 2's checkpoint
    interrupted.wait()
    completed = len(json.loads(history_file.read_text()))
    assert completed < epochs
    resumed = cli_train(tmp_path / "killed", data, epochs, "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    whole = json.loads((tmp_path / "whole" / "history.json").read_text())
    assert json.loads(history_file.read_text()) == whole  # exactly, every float
    assert json.loads((tmp_path / "killed" / "metrics.json").read_text())["test"] == json.loads(
        (tmp_path / "whole" / "metrics.json").read_text())["test"]


def test_cli_prompt_init_sets_slope_and_shift(tmp_path, data):
    run = cli_train(tmp_path / "init", data, 1, "--prompt-init", "40", "0.1", "--lr", "0", "--prompt-lr", "0")
    assert run.wait(timeout=300) == 0, run.stdout.read()
    record = json.loads((tmp_path / "init" / "history.json").read_text())[0]
    assert record["slope"] == pytest.approx(40.0) and record["shift"] == pytest.approx(0.1, abs=1e-6)


@pytest.mark.slow  # three processes, two of them in a gloo group
def test_two_process_gloo_run_matches_one_process(tmp_path, data):
    script = ROOT / "tests" / "ddp_train.py"
    single = subprocess.run([sys.executable, str(script), str(data), str(tmp_path / "one.json")],
                            env=ENV, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
                "--master_port", "29533", str(script), str(data), str(tmp_path / "two.json")]
    double = subprocess.run(launcher, env=ENV, capture_output=True, text=True, timeout=300)
    assert double.returncode == 0, double.stderr[-3000:]
    one, two = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("one", "two"))
    assert (one["world"], two["world"]) == (1, 2)
    for a, b in zip(one["history"], two["history"]):
        assert a.keys() == b.keys()
        for key in a:
            assert math.isclose(a[key], b[key], rel_tol=1e-4, abs_tol=1e-6), (key, a[key], b[key])
    # evaluation on an odd number of clips: each counted once, metrics equal to one process's
    assert one["odd_clips"] % 2 == 1 and one["test"]["count"] == two["test"]["count"] == one["odd_clips"]
    for key, value in one["test"].items():
        if key == "correct":  # each clip scored by one process, gathered in the dataset's order
            assert value == two["test"][key] and len(value) == one["odd_clips"]
            continue
        assert math.isclose(value, two["test"][key], rel_tol=1e-5, abs_tol=1e-7), (key, value, two["test"][key])


def test_every_tensor_handed_to_all_reduce_has_a_backend_for_its_device(monkeypatch):
    """On a GPU machine the group must serve the CPU tensors the metrics are summed in (NCCL alone
    refuses them): checked here on CPU by recording what the loop hands to all_reduce."""
    import torch.distributed as dist

    import vmp.train as train

    chosen = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda backend: chosen.append(backend))
    train.distributed_context()  # only the backend string it asks for matters here
    backend = chosen[0]
    served = dict(part.split(":") for part in backend.split(",")) if ":" in backend else \
        ({"cuda": "nccl"} if backend == "nccl" else {"cpu": backend, "cuda": backend})

    reduced = []
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_rank", lambda: 0)
    monkeypatch.setattr(dist, "get_world_size", lambda: 1)
    monkeypatch.setattr(dist, "all_reduce", lambda tensor: reduced.append(tensor.device.type))
    model = build_model("tiny3d", 2, 2, 16, norm="group")
    clips = torch.utils.data.TensorDataset(torch.randn(4, 3, 3, 16, 16), torch.tensor([0, 1, 0, 1]))
    loader = torch.utils.data.DataLoader(clips, batch_size=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train.train_one_epoch(model, loader, optimizer, TrainConfig(), torch.device("cpu"), None, "test")
    train.evaluate(model, clips)
    assert reduced, "the loop reduced nothing"
    assert all(device in served for device in reduced), (backend, reduced)


def test_cli_rejects_an_unknown_model_and_mismatched_eval_data(tmp_path, data):
    bad = subprocess.run([sys.executable, "-m", "vmp", "train", "--model", "alexnet", "--out", str(tmp_path)],
                         env=ENV, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "unknown model 'alexnet'" in bad.stderr
    assert not (tmp_path / "checkpoint.pt").exists()
    assert not (tmp_path / "synthetic").exists()  # refused before generating any data
    other = generate(tmp_path / "other", SynthConfig(seed=2, classes=3, clips_per_class=3, frames=5, size=32))
    run = cli_train(tmp_path / "run", data, 1)
    assert run.wait(timeout=300) == 0
    mismatch = cli_eval(tmp_path / "run" / "checkpoint.pt", other)
    assert mismatch.returncode != 0 and "are not the checkpoint's" in mismatch.stderr


def test_cli_eval_needs_only_the_split_it_evaluates(tmp_path, data):
    run = cli_train(tmp_path / "run", data, 1)
    assert run.wait(timeout=300) == 0
    test_only = tmp_path / "test_only"
    test_only.mkdir()
    (test_only / "test").symlink_to(data / "test", target_is_directory=True)
    for split in ("test", "val"):
        result = cli_eval(tmp_path / "run" / "checkpoint.pt", test_only if split == "test" else data, "--split", split)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.split("confusion")[0])["count"] == 8


def test_tqdm_disable_hides_progress_bars_in_notebooks_too(monkeypatch):
    import tqdm.notebook

    import vmp.train

    monkeypatch.setattr(vmp.train, "tqdm", tqdm.notebook.tqdm)  # what tqdm.auto picks in a kernel
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert vmp.train.progress(range(3), "epoch").disable
    monkeypatch.setenv("TQDM_DISABLE", "0")
    bar = vmp.train.progress(range(3), "epoch")
    assert not bar.disable
    bar.close()


def test_loaders_pin_memory_for_a_gpu_only(monkeypatch):
    import vmp.train as train

    assert train.pins_memory(torch.device("cuda", 0)) and train.pins_memory("cuda")
    assert not train.pins_memory(torch.device("cpu"))
    clips = torch.utils.data.TensorDataset(torch.randn(4, 3, 3, 16, 16), torch.tensor([0, 1, 0, 1]))
    assert train._distributed_loader(clips, 2, 0, pin_memory=True).pin_memory
    asked = []
    monkeypatch.setattr(train, "pins_memory", lambda device: asked.append(torch.device(device).type) or False)
    train.evaluate(build_model("tiny3d", 2, 2, 16, norm="group"), clips, device=torch.device("cpu"))
    assert asked == ["cpu"]
