"""Training under control: stop and resume, streaming from disk, class weights, offline transfer learning."""

import threading
import time

import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.demo import make_classification_demo
from petrilab.errors import UserError
from petrilab.training.trainer import train

from helpers import events_of, small_settings


@pytest.mark.slow
def test_stop_keeps_checkpoints_and_resume_continues_the_epochs(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=20, size=32, seed=2)
    settings = small_settings(data, training__epochs=40)
    run_dir = tmp_path / "run"
    worker = threading.Thread(target=train, args=(settings,), kwargs={"run_dir": run_dir, "echo": False})
    worker.start()
    deadline = time.time() + 120
    while time.time() < deadline and len(events_of(run_dir, "epoch_end")) < 2 if (run_dir / runs.EVENTS).exists() else True:
        time.sleep(0.05)
    (run_dir / runs.STOP_REQUEST).touch()  # what the GUI's Stop button does
    worker.join(timeout=120)
    assert not worker.is_alive()

    finished = events_of(run_dir, "finished")[-1]
    assert finished["status"] == "stopped"
    done = finished["epochs_done"]
    assert 2 <= done < 40
    assert not (run_dir / runs.STOP_REQUEST).exists()  # honoured, so a resume is not stopped at once
    for name in (runs.BEST_MODEL, runs.LAST_MODEL, runs.HISTORY, runs.DIAGNOSIS, runs.REPORT):
        assert (run_dir / name).exists(), name
    history = runs.read_history(run_dir / runs.HISTORY)
    assert [h["epoch"] for h in history] == list(range(done))

    # Resume with a few more epochs: the history goes on from the checkpoint's epoch.
    resumed = settings_io.load(run_dir / runs.SETTINGS)
    resumed.training.epochs = done + 2
    train(resumed, resume=run_dir, echo=False)
    history = runs.read_history(run_dir / runs.HISTORY)
    epochs = [h["epoch"] for h in history]
    assert epochs == list(range(done + 2)) or epochs == list(range(len(epochs)))
    assert epochs[-1] == done + 1
    started = events_of(run_dir, "started")
    assert len(started) == 2 and started[1]["initial_epoch"] in (done - 1, done)
    assert events_of(run_dir, "finished")[-1]["status"] == "completed"


@pytest.mark.slow
def test_streaming_from_disk_trains_like_memory(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=10, size=32, seed=3)
    run_dir = train(small_settings(data, data__load="stream", training__epochs=2), run_dir=tmp_path / "run", echo=False)
    started = events_of(run_dir, "started")[0]
    assert started["in_memory"] is False
    assert len(runs.read_history(run_dir / runs.HISTORY)) == 2


@pytest.mark.slow
def test_imbalance_gets_class_weights_that_training_applies(tmp_path):
    from petrilab.cli import main

    data = make_classification_demo(tmp_path / "data", n_per_class=24, size=32, seed=4)
    for path in sorted((data / "round").iterdir())[8:]:  # make 'round' rare: 8 images against 24
        path.unlink()
    out = tmp_path / "s.toml"
    assert main(["init", "--task", "classification", "--data", str(data), "-o", str(out)]) == 0
    settings = settings_io.load(out)
    assert settings.data.class_weights is True
    settings.training.epochs = 1
    # the weights are what is tested: the range test and the flip probe would only cost seconds (FIXED_CHOICES)
    settings.training.learning_rate, settings.augmentation.geometric = 0.001, "no"
    run_dir = train(settings, run_dir=tmp_path / "run", echo=False)
    weights = events_of(run_dir, "started")[0]["class_weights"]
    assert weights["round"] > weights["elongated"] * 2


def test_transfer_learning_offline_says_so_plainly(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=5)
    settings = small_settings(data, model__architecture="transfer", model__weights="imagenet")
    try:
        import keras
        from pathlib import Path

        cached = list((Path(keras.config.keras_home()) / "models").glob("mobilenet*"))
    except Exception:
        cached = []
    if cached:
        pytest.skip("ImageNet weights are cached on this machine, so the offline path cannot be shown")
    with pytest.raises(UserError) as err:
        train(settings, run_dir=tmp_path / "run", echo=False)
    assert "random" in (err.value.fix or "") + err.value.message
    error = events_of(tmp_path / "run", "error")[0]
    assert error["message"] == err.value.message
    assert events_of(tmp_path / "run", "finished")[0]["status"] == "failed"


@pytest.mark.slow
def test_unreadable_image_is_left_out_with_a_warning(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=8, size=32, seed=6)
    broken = data / "round" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    run_dir = train(small_settings(data, training__epochs=1), run_dir=tmp_path / "run", echo=False)
    warnings = events_of(run_dir, "warning")
    assert any("broken.png" in (w.get("file") or "") + w["message"] for w in warnings)
    split_text = (run_dir / runs.SPLIT).read_text()
    assert "broken.png" not in split_text
    assert broken.read_bytes() == b"\x89PNG\r\n\x1a\n not really"  # the user's file is untouched


@pytest.mark.slow
def test_terminal_signal_stops_politely(tmp_path):
    """`petrilab train` as a real process: SIGTERM (a scheduler, or Ctrl+C) ends it after the batch, saved."""
    import os
    import signal
    import subprocess
    import sys

    data = make_classification_demo(tmp_path / "data", n_per_class=12, size=32, seed=8)
    settings_path = settings_io.save(small_settings(data, training__epochs=500), tmp_path / "s.toml")
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "petrilab", "train", str(settings_path), "--run-dir", str(run_dir),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not ((run_dir / runs.EVENTS).exists() and events_of(run_dir, "epoch_end")):
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM if os.name != "nt" else signal.CTRL_C_EVENT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert events_of(run_dir, "finished")[-1]["status"] == "stopped"
    assert (run_dir / runs.BEST_MODEL).exists() and (run_dir / runs.LAST_MODEL).exists()


@pytest.mark.slow
def test_early_stopping_ends_before_the_planned_epochs(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=8, size=32, seed=9)
    # a learning rate this small cannot improve the validation loss for long: patience 2 ends it early
    settings = small_settings(data, training__epochs=200, training__early_stopping=True, training__patience=2,
                              training__learning_rate=1e-7)
    run_dir = train(settings, run_dir=tmp_path / "run", echo=False)
    finished = events_of(run_dir, "finished")[-1]
    assert finished["status"] == "completed"
    assert finished["epochs_done"] <= 10
