"""Nothing lost, nothing silent: numbers that are not numbers, a learning rate that blows up, a regression that
learns nothing, data that disappears while a training streams it.

Every case goes through the real command line with a real (tiny) training, and checks by SHA-256 that no
input byte changed and that nothing was added to any data folder. README's troubleshooting table lists them.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402
from PIL import Image  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab.cli import main  # noqa: E402
from petrilab.demo import make_classification_demo  # noqa: E402
from petrilab.events import read_all  # noqa: E402

from helpers import FIXED


def digest(*folders: Path) -> dict:
    """sha256 of every file below the folders: a changed byte or an added file shows."""
    import hashlib

    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err

TINY = ["--set", "model.filters=[8, 16]", "--set", "model.head_units=[16]", "--set", "training.batch_size=8", *FIXED]


def events(run_dir: Path, kind: str) -> list[dict]:
    return [e for e in read_all(run_dir / runs.EVENTS) if e["event"] == kind]


def status(run_dir: Path) -> str:
    return events(run_dir, "finished")[-1]["status"]


def only_run(runs_dir: Path) -> Path:
    (run_dir,) = runs_dir.iterdir()
    return run_dir


# ---------------------------------------------------------------- one NaN pixel


def float_dataset(root: Path) -> Path:
    """Two classes of 32-bit float TIFFs (the demo's cells in arbitrary units); 'round_003.tif' has one NaN
    pixel and 'elongated_004.tif' one +infinity."""
    source = make_classification_demo(root.parent / "png", n_per_class=12, size=32, seed=1)
    for name in ("round", "elongated"):
        (root / name).mkdir(parents=True)
        for png in sorted((source / name).glob("*.png")):
            pixels = np.asarray(Image.open(png)).astype(np.float32) * 3.7 + 12.5
            tifffile.imwrite(root / name / f"{png.stem}.tif", pixels)
    for path, value in ((root / "round" / "round_003.tif", np.nan), (root / "elongated" / "elongated_004.tif", np.inf)):
        pixels = tifffile.imread(path)
        pixels[5, 7] = value
        tifffile.imwrite(path, pixels)
    return root


@pytest.mark.slow
def test_a_nan_pixel_is_named_by_the_check_filled_at_load_time_and_flagged_in_predictions(tmp_path, capsys):
    data = float_dataset(tmp_path / "float cells")
    before = digest(data)

    code, out, _ = cli(capsys, "check", data)
    assert code == 0 and "The data is ready to train." in out
    assert "2 image(s) have pixels that are not numbers (NaN or infinity)" in out
    assert "'round_003.tif' (1 pixel)" in out and "'elongated_004.tif' (1 pixel)" in out
    assert "replaces each of them by the median" in out and "the file itself is not changed" in out

    settings = tmp_path / "float.toml"
    assert main(["init", "--task", "classification", "--data", str(data), "-o", str(settings)]) == 0
    code, _, _ = cli(capsys, "train", settings, "--quiet", "--runs-dir", tmp_path / "runs", *TINY,
                     "--set", "training.epochs=3")
    run = only_run(tmp_path / "runs")
    assert code == 0 and status(run) == "completed"
    told = " ".join(e["message"] for e in events(run, "warning"))
    assert "round_003.tif" in told and "not numbers" in told
    checked = json.loads((run / runs.DATASET_CHECK).read_text())
    assert {Path(p).name: n for p, n in checked["nonfinite"].items()} == {"round_003.tif": 1, "elongated_004.tif": 1}

    # a sane model: finite weights, and the test images do not all get the same probability (with the NaN left
    # in, normalisation made the image NaN, the weights followed, and every image got 0.500195)
    import keras

    model = keras.saving.load_model(run / runs.BEST_MODEL)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    with open(run / "test_predictions.csv", newline="", encoding="utf-8") as f:
        p_round = [float(r["p_round"]) for r in csv.DictReader(f)]
    assert len(p_round) >= 2 and np.ptp(p_round) > 1e-4

    new = tmp_path / "new images"
    new.mkdir()
    for name in ("round/round_003.tif", "round/round_001.tif"):
        (new / Path(name).name).write_bytes((data / name).read_bytes())
    new_before = digest(new)
    code, _, err = cli(capsys, "predict", run, new, tmp_path / "out")
    assert code == 0 and "Traceback" not in err
    assert "'round_003.tif' has 1 pixel(s) that are not numbers" in err
    with open(tmp_path / "out" / "predictions.csv", newline="", encoding="utf-8") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    assert rows["round_003.tif"]["nonfinite_pixels"] == "1" and rows["round_001.tif"]["nonfinite_pixels"] == ""
    assert rows["round_003.tif"]["predicted_class"] in ("round", "elongated")
    assert digest(data) == before and digest(new) == new_before  # not a byte changed, nothing added


def test_reading_fills_non_finite_pixels_with_the_median_and_masks_keep_them(tmp_path):
    from petrilab.data.images import read_image

    pixels = np.arange(12, dtype=np.float32).reshape(3, 4)
    pixels[0, 0], pixels[1, 1], pixels[2, 3] = np.nan, np.inf, -np.inf
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, pixels)
    filled = read_image(path)[..., 0]
    finite = pixels[np.isfinite(pixels)]
    assert np.isfinite(filled).all()
    assert filled[0, 0] == filled[1, 1] == filled[2, 3] == np.median(finite)
    assert np.array_equal(filled[np.isfinite(pixels)], finite)
    assert np.isnan(read_image(path, finite=False)[0, 0, 0])  # masks and the check see the file as it is


def test_a_network_whose_weights_are_nan_behind_a_relu_is_caught_though_its_loss_looks_normal():
    import keras

    from petrilab.training import nonfinite

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    assert nonfinite.problem({"loss": 0.693, "val_loss": 0.693}, model) is None
    weights = model.get_weights()
    weights[0][0, 0] = np.nan
    model.set_weights(weights)
    assert "weights became NaN" in nonfinite.problem({"loss": 0.693, "val_loss": 0.693}, model)
    assert "validation loss became infinite" in nonfinite.problem({"loss": 0.7, "val_loss": math.inf}, model)


# ---------------------------------------------------------------- a training that goes non-finite


def regression_folder(root: Path, n: int = 32, flat: bool = False) -> Path:
    """DATA/images/*.png + DATA/targets.csv. flat: every image the same grey (a camera that recorded nothing),
    so no network can do better than always answering the mean value."""
    rng = np.random.default_rng(5)
    (root / "images").mkdir(parents=True)
    lines = ["filename,size"]
    for i in range(n):
        size = float(rng.uniform(2, 12))
        if flat:
            pixels = np.full((16, 16), 90, np.uint8)
            pixels[0, 0] = i  # files not byte-identical (identical files would share one subset of the split)
        else:
            yy, xx = np.mgrid[:16, :16]
            pixels = (200 * (np.hypot(yy - 8, xx - 8) < size / 1.5) + rng.integers(0, 30, (16, 16))).astype(np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"bead_{i:03d}.png")
        lines.append(f"bead_{i:03d}.png,{size:.3f}")
    (root / "targets.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.mark.slow
def test_a_training_whose_loss_becomes_infinite_ends_with_a_plain_error_not_completed(tmp_path, capsys):
    data = regression_folder(tmp_path / "beads")
    before = digest(data)
    settings = tmp_path / "beads.toml"
    assert main(["init", "--task", "regression", "--data", str(data), "-o", str(settings)]) == 0
    # plain SGD with a learning rate of 10: the squared errors multiply by ~10^7 an epoch until they overflow
    code, _, err = cli(capsys, "train", settings, "--quiet", "--runs-dir", tmp_path / "runs", *TINY,
                       "--set", "training.epochs=12", "--set", "training.optimizer=sgd",
                       "--set", "training.learning_rate=10")
    run = only_run(tmp_path / "runs")
    assert code == 2 and "Traceback" not in err
    assert "Training went wrong at epoch" in err and ("infinite" in err or "NaN" in err)
    assert "Lower the learning rate (training.learning_rate, now 10)" in err
    assert "Warning: The learning rate is 10" in err  # said before training, too
    assert status(run) == "failed"
    (error,) = events(run, "error")
    assert "Training went wrong" in error["message"] and "Lower the learning rate" in error["fix"]
    history = runs.read_history(run / runs.HISTORY)
    last = [history[-1].get(k) for k in ("loss", "val_loss")]
    last = [v for k, v in history[-1].items() if k != "epoch"]  # loss, val_loss and the metrics
    assert len(history) < 12 and not all(isinstance(v, float) and math.isfinite(v) for v in last)  # stopped at once
    verdict = json.loads((run / runs.DIAGNOSIS).read_text())
    assert verdict["verdict"] == "diverged" and verdict["title"] == "Training diverged"
    assert verdict["advice"][0]["changes"] == {"training.learning_rate": 0.001}  # plain SGD: lowered, not "auto"
    assert digest(data) == before


# ---------------------------------------------------------------- learning rate 10, and a regression stuck at the mean


@pytest.mark.slow
def test_a_learning_rate_of_10_is_warned_about_and_read_as_diverged(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "cells", n_per_class=12, size=32, seed=1)
    before = digest(data)
    settings = tmp_path / "cells.toml"
    assert main(["init", "--task", "classification", "--data", str(data), "-o", str(settings)]) == 0
    text = settings.read_text(encoding="utf-8").replace('learning_rate = "auto"', "learning_rate = 10.0")
    settings.write_text(text, encoding="utf-8")

    code, out, _ = cli(capsys, "check", settings)
    assert code == 0 and "Warning: The learning rate is 10 (training.learning_rate)" in out
    assert "0.001 suits most trainings" in out
    code, _, err = cli(capsys, "train", settings, "--quiet", "--runs-dir", tmp_path / "runs", *TINY,
                       "--set", "training.epochs=3", "--set", "training.learning_rate=10.0")
    run = only_run(tmp_path / "runs")
    assert code == 0 and "Warning: The learning rate is 10" in err
    assert any("The learning rate is 10" in e["message"] for e in events(run, "warning"))
    verdict = json.loads((run / runs.DIAGNOSIS).read_text())
    assert verdict["verdict"] == "diverged", verdict  # it was "not finished: train longer"
    assert "blew up" in " ".join(verdict["evidence"]) and "blind guess" in " ".join(verdict["evidence"])
    print(f"learning rate 10: loss {verdict['numbers']['loss_times_reference']:.3g} times the blind guess's, >= 10")
    assert verdict["numbers"]["loss_times_reference"] >= 10
    assert verdict["advice"][0]["changes"] == {"training.learning_rate": "auto"}  # the range test picks it
    assert digest(data) == before


@pytest.mark.slow
def test_a_regression_stuck_at_the_mean_reads_as_learning_nothing_not_train_longer(tmp_path, capsys):
    data = regression_folder(tmp_path / "blank", flat=True)
    before = digest(data)
    settings = tmp_path / "blank.toml"
    assert main(["init", "--task", "regression", "--data", str(data), "-o", str(settings)]) == 0
    code, _, _ = cli(capsys, "train", settings, "--quiet", "--runs-dir", tmp_path / "runs", *TINY,
                     "--set", "training.epochs=4", "--set", "training.learning_rate=0.001")
    run = only_run(tmp_path / "runs")
    assert code == 0
    history = runs.read_history(run / runs.HISTORY)
    print(f"stuck regression: last loss {history[-1]['loss']:.4f}, within 0.03 of 1.0")
    assert abs(history[-1]["loss"] - 1.0) < 0.03  # the mean value's standardised MSE
    verdict = json.loads((run / runs.DIAGNOSIS).read_text())
    assert verdict["verdict"] == "underfitting" and verdict["numbers"]["case"] == "stuck", verdict
    assert verdict["title"] == "Underfitting: learning nothing"
    assert "always answers the average" in verdict["summary"]
    assert not any(a.get("resume") for a in verdict["advice"])  # not "train N more epochs"
    assert digest(data) == before


def test_the_diagnosis_panel_shows_the_diverged_verdict_with_its_title_colour_and_one_click_advice(qtbot):
    from petrilab import settings as settings_io
    from petrilab.gui.widgets.diagnosis_panel import VERDICT_COLOURS, DiagnosisPanel
    from petrilab.training.diagnosis import VERDICTS, diagnose

    assert set(VERDICTS) <= set(VERDICT_COLOURS)
    s = settings_io.defaults_for("classification")
    s.data.classes = ["elongated", "round"]
    s.training.learning_rate = 10.0
    losses = [9.9e5, 7.9e6, 1.0e4, 1.2e4, 6.7e3, 6.4e3]  # what a learning rate of 10 gave the demo cells
    verdict = diagnose([{"epoch": i, "loss": v, "val_loss": v / 2} for i, v in enumerate(losses)], settings=s)
    panel = DiagnosisPanel()
    qtbot.addWidget(panel)
    panel.show_diagnosis(verdict.to_dict(), epoch=6)
    assert panel.verdict.text() == "Training diverged"
    assert VERDICT_COLOURS["diverged"][1] in panel.verdict.styleSheet()
    assert "blew up" in panel.evidence.text()
    applied = []
    panel.advice_applied.connect(applied.append)
    panel.advice_buttons[0].click()
    assert applied[0]["changes"] == {"training.learning_rate": "auto"}


# ---------------------------------------------------------------- data that disappears mid-training


ENGINE = [sys.executable, "-m", "petrilab"]


@pytest.mark.slow
def test_data_renamed_away_during_a_streamed_training_stops_plainly_and_the_run_resumes(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "cells", n_per_class=12, size=32, seed=1)
    before = digest(data)
    settings = tmp_path / "cells.toml"
    assert main(["init", "--task", "classification", "--data", str(data), "-o", str(settings)]) == 0
    run = tmp_path / "run"
    engine = subprocess.Popen([*ENGINE, "train", str(settings), "--quiet", "--run-dir", str(run), *TINY,
                               "--set", "training.batch_size=4", "--set", "training.epochs=400",
                               "--set", "data.load=stream"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (run / runs.LAST_MODEL).exists():  # the first checkpoint: then the USB disk is pulled
            assert engine.poll() is None and time.monotonic() < deadline, "training did not start"
            time.sleep(0.2)
        moved = data.rename(tmp_path / "cells (unplugged)")
        _, err = engine.communicate(timeout=240)
    finally:
        if engine.poll() is None:
            engine.kill()
    assert engine.returncode == 2
    assert "Traceback" not in err and "Graph execution error" not in err and "PyFunc" not in err
    assert "an image could not be read any more" in err and "is not there any more" in err
    assert "The last checkpoint (last.keras" in err and "--resume" in err
    assert status(run) == "stopped"
    (error,) = events(run, "error")
    assert "could not be read any more" in error["message"] and "--resume" in error["fix"]
    held = json.loads((run / runs.CHECKPOINT_RECORD).read_text())["epochs_done"]
    assert held >= 1

    moved.rename(data)  # the disk is back
    code, _, err = cli(capsys, "train", run / runs.SETTINGS, "--quiet", "--resume", run,
                       "--set", f"training.epochs={held + 1}")
    assert code == 0 and status(run) == "completed"
    assert [h["epoch"] for h in runs.read_history(run / runs.HISTORY)] == list(range(held + 1))
    assert digest(data) == before  # not a byte changed, nothing added
