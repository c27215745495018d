"""Nothing lost, nothing unexplained: a killed engine, a batch that does not fit, a full disk, two trainings at once.

Real engines on tiny data: `petrilab train` as a child process that is
SIGKILLed and resumed, an out-of-memory error raised by TensorFlow itself
(a layer that asks for 4 TiB when the batch is too large), a disk that fills
up while a checkpoint is being saved, two trainings started together into
the same runs folder.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the window tests at the end need no display

from petrilab import runs  # noqa: E402
from petrilab import settings as settings_io  # noqa: E402
from petrilab.cli import main  # noqa: E402
from petrilab.demo import make_classification_demo  # noqa: E402
from petrilab.events import read_all  # noqa: E402
from helpers import events_of, small_settings  # noqa: E402

ENGINE = [sys.executable, "-m", "petrilab"]


def digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def load_model(path: Path):
    import keras

    from petrilab.backend import activate

    activate()
    return keras.saving.load_model(path)


def assert_every_file_readable(run_dir: Path) -> None:
    """Each file of the run folder parses as what it claims to be (a killed engine leaves no half file)."""
    for path in sorted(run_dir.iterdir()):
        if path.name.startswith("."):  # a temporary file being written when the engine died: never read
            continue
        if path.suffix == ".toml":
            settings_io.load(path)
        elif path.name == runs.HISTORY:
            assert runs.read_history(path)
        elif path.suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                assert list(csv.reader(f))
        elif path.suffix == ".jsonl":
            lines = path.read_bytes().split(b"\n")
            lines.pop()  # after the last newline: empty, or a line cut by the kill (the follower skips it)
            for line in lines:
                json.loads(line)
            assert len(read_all(path)) == len(lines)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".keras":
            assert load_model(path) is not None
        elif path.suffix in (".html", ".log"):
            path.read_text(encoding="utf-8")
        else:
            raise AssertionError(f"unexpected file in the run folder: {path.name}")


# ---------------------------------------------------------------- kill and resume


@pytest.mark.slow
def test_sigkill_mid_epoch_leaves_readable_files_and_resume_continues_exactly(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=40, size=32, seed=11)
    before = digest(data)
    settings_path = settings_io.save(small_settings(data, training__epochs=500, training__batch_size=4),
                                     tmp_path / "s.toml")
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(ENGINE + ["train", str(settings_path), "--run-dir", str(run_dir), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        mid_epoch = False
        while time.time() < deadline and proc.poll() is None:
            events = read_all(run_dir / runs.EVENTS)
            ends = [e for e in events if e["event"] == "epoch_end"]
            # after two epochs, and a checkpoint to continue from: kill during the next epoch's batches
            if len(ends) >= 2 and (run_dir / runs.CHECKPOINT_RECORD).exists():
                last = events[-1]
                mid_epoch = last["event"] == "batch" and last["batch"] < last["batches"]
                if mid_epoch or len(ends) >= 12:
                    break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    assert not events_of(run_dir, "finished")  # it had no chance to say goodbye
    assert_every_file_readable(run_dir)
    written = runs.read_history(run_dir / runs.HISTORY)
    record = json.loads((run_dir / runs.CHECKPOINT_RECORD).read_text())
    checkpoint = record["epochs_done"]
    assert 1 <= checkpoint <= len(written) and len(written) >= 2
    assert [h["epoch"] for h in written] == list(range(len(written)))

    # continue with three more epochs than the checkpoint holds
    total = checkpoint + 3
    assert main(["train", str(run_dir / runs.SETTINGS), "--resume", str(run_dir), "--quiet",
                 "--set", f"training.epochs={total}"]) == 0
    started = events_of(run_dir, "started")
    assert len(started) == 2 and started[1]["initial_epoch"] == checkpoint
    history = runs.read_history(run_dir / runs.HISTORY)
    assert [h["epoch"] for h in history] == list(range(total))  # no gap, no epoch twice
    for old, new in zip(written[:checkpoint], history[:checkpoint]):
        assert old == new  # the epochs before the checkpoint are the originals, untouched
    assert events_of(run_dir, "finished")[-1]["status"] == "completed"
    assert events_of(run_dir, "finished")[-1]["epochs_done"] == total
    model = load_model(run_dir / runs.BEST_MODEL)
    assert model.count_params() > 0
    assert json.loads((run_dir / runs.CHECKPOINT_RECORD).read_text())["epochs_done"] == total
    assert digest(data) == before


@pytest.mark.slow
def test_checkpoint_epoch_is_recorded_and_checked_against_the_optimizer(tmp_path):
    import keras

    from petrilab.training.resume import checkpoint_epoch, record_checkpoint

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("adam", "mse")
    import numpy as np

    model.fit(np.zeros((12, 3)), np.zeros((12, 1)), batch_size=4, epochs=2, verbose=0)  # 6 optimiser steps
    assert checkpoint_epoch(tmp_path, model, steps_per_epoch=3) == 2  # no record: from the steps
    record_checkpoint(tmp_path, model, epochs_done=5)  # e.g. the batch size was halved on the way
    assert checkpoint_epoch(tmp_path, model, steps_per_epoch=3) == 5
    model.fit(np.zeros((12, 3)), np.zeros((12, 1)), batch_size=4, epochs=1, verbose=0)  # saved after the record
    assert checkpoint_epoch(tmp_path, model, steps_per_epoch=3) == 3  # the stale record is not trusted


# ---------------------------------------------------------------- out of memory


def _batch_limit_layer():
    import keras

    @keras.saving.register_keras_serializable(package="petrilab_tests")
    class BatchLimit(keras.layers.Layer):
        """Asks the framework for 4 TiB when a training batch holds more than `limit` images: TensorFlow's
        allocator refuses with its own ResourceExhaustedError, as on a graphics card that is too small."""

        def __init__(self, limit: int, **kwargs):
            super().__init__(**kwargs)
            self.limit = limit

        def call(self, x, training=None):
            if not training:
                return x
            rows = keras.ops.where(keras.ops.shape(x)[0] > self.limit, 2 ** 30, 1)
            return x + keras.ops.max(keras.ops.zeros((rows, 1024), dtype=x.dtype))

        def get_config(self):
            return {**super().get_config(), "limit": self.limit}

    return BatchLimit


def test_out_of_memory_is_recognised_by_class_name_through_wrappers():
    from petrilab.training.memory import is_out_of_memory

    class OutOfMemoryError(RuntimeError):  # the name torch.cuda uses
        pass

    class ResourceExhaustedError(Exception):  # the name TensorFlow uses
        pass

    assert is_out_of_memory(OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(MemoryError())
    try:
        try:
            raise ResourceExhaustedError("OOM when allocating tensor")
        except ResourceExhaustedError as inner:
            raise RuntimeError("wrapped by a library") from inner
    except RuntimeError as outer:
        assert is_out_of_memory(outer)
    assert not is_out_of_memory(ValueError("shapes do not match"))
    assert not is_out_of_memory(None)


@pytest.mark.slow
def test_a_batch_that_does_not_fit_is_halved_and_training_goes_on(tmp_path, monkeypatch):
    import tensorflow as tf

    import petrilab.models as models
    from petrilab.training.trainer import train

    limit = 5
    BatchLimit = _batch_limit_layer()
    real_build = models.build_model

    def build_with_limit(settings, input_shape, head, **kwargs):
        import keras

        inner = real_build(settings, input_shape, head, **kwargs)
        inputs = keras.Input(tuple(input_shape))
        return keras.Model(inputs, inner(BatchLimit(limit)(inputs)))

    # the limit itself raises TensorFlow's real error class
    with pytest.raises(tf.errors.ResourceExhaustedError):
        import numpy as np

        layer = BatchLimit(limit)
        layer(np.zeros((8, 2), "float32"), training=True)

    monkeypatch.setattr(models, "build_model", build_with_limit)
    data = make_classification_demo(tmp_path / "data", n_per_class=8, size=32, seed=12)
    # a fixed rate and no probe: this test is about the training's own halving (the fake limit raises another
    # error class inside the range test's graph than a real card does)
    run_dir = train(small_settings(data, training__batch_size=8, training__epochs=2, training__learning_rate=0.001,
                                   augmentation__geometric="no"), run_dir=tmp_path / "run", echo=False)

    warnings = [w for w in events_of(run_dir, "warning") if "did not fit" in w["message"]]
    assert [w["message"].split("batch of ")[1].split(" ")[0] for w in warnings] == ["8"]
    assert "batches of 4" in warnings[-1]["message"] and warnings[-1]["fix"]
    assert settings_io.load(run_dir / runs.SETTINGS).training.batch_size == 4  # what really ran
    # learnt, apart from what the user asked: a new training from this run's settings tries 8 again
    assert settings_io.users_choices(settings_io.load(run_dir / runs.SETTINGS)).training.batch_size == 8
    history = runs.read_history(run_dir / runs.HISTORY)
    assert [h["epoch"] for h in history] == [0, 1]
    finished = events_of(run_dir, "finished")[-1]
    assert finished["status"] == "completed"
    assert load_model(run_dir / runs.BEST_MODEL).count_params() > 0


def test_a_model_too_large_even_for_one_image_is_a_plain_refusal():
    from petrilab.errors import UserError
    from petrilab.training.memory import fit_with_smaller_batches

    class ResourceExhaustedError(Exception):
        pass

    tried = []

    def fit(first_epoch):
        raise ResourceExhaustedError("OOM")

    with pytest.raises(UserError) as err:
        fit_with_smaller_batches(fit, 4, tried.append, lambda message, fix: None, lambda: 0)
    assert tried == [2, 1]
    assert "one image per batch" in err.value.message and "smaller" in err.value.fix


def test_memory_estimate_counts_activations_and_parameters():
    import keras

    from petrilab.training.memory import BYTES_PER_NUMBER, MemoryEstimate, activation_numbers, estimate

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, padding="same")(inputs)  # 8·8·2 = 128 numbers per image
    x = keras.layers.MaxPooling2D()(x)  # 4·4·2 = 32
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(x))  # 32 + 3
    model = keras.Model(inputs, outputs)
    assert activation_numbers(model, (8, 8, 1)) == 64 + 128 + 32 + 32 + 3  # the input layer counts too

    est = estimate(model, (8, 8, 1))
    assert est.where == "RAM" and est.available > 0
    assert est.fixed == BYTES_PER_NUMBER * 4 * model.count_params()
    assert est.per_image == BYTES_PER_NUMBER * (3 * 259 + 2 * 64)

    gb = 1024 ** 3
    small = MemoryEstimate("RAM", available=4 * gb, fixed=gb // 2, per_image=gb // 16)  # budget 2 GB
    assert small.largest_batch() == 24
    assert small.proposed_batch(32) == 16 and small.proposed_batch(8) == 8  # never larger than asked
    assert not small.clearly_too_large(32) and small.clearly_too_large(64)
    assert MemoryEstimate("RAM", gb, gb, gb).proposed_batch(32) == 1


def test_a_u_net_of_any_size_is_estimated_for_the_patch_size():
    from petrilab.models import build_model
    from petrilab.tasks import output_head
    from petrilab.training.memory import activation_numbers

    settings = settings_io.defaults_for("semantic")
    settings.model.filters = [4, 8]
    model = build_model(settings, (64, 64, 1), output_head("semantic", 2))
    small, large = activation_numbers(model, (32, 32, 1)), activation_numbers(model, (64, 64, 1))
    assert large == 4 * small  # every layer's map scales with the patch's area


def test_the_trainer_warns_when_the_batch_clearly_will_not_fit(tmp_path):
    from petrilab import events as ev
    from petrilab.models import build_model
    from petrilab.tasks import output_head
    from petrilab.training.device import Device
    from petrilab.training.trainer import _warn_if_batch_too_large

    settings = small_settings(tmp_path, data__image_size=[1024, 1024], training__batch_size=65536)
    model = build_model(settings, (1024, 1024, 1), output_head("classification", 3))
    writer = ev.EventWriter(tmp_path / "events.jsonl", echo=False)
    _warn_if_batch_too_large(model, (1024, 1024, 1), settings, Device("cpu", "CPU", "tensorflow"), writer)
    (warning,) = read_all(tmp_path / "events.jsonl")
    assert "65536 images probably does not fit in RAM" in warning["message"]
    assert "Choose a batch size of" in warning["fix"]
    settings.training.batch_size = 1
    _warn_if_batch_too_large(model, (1024, 1024, 1), settings, Device("cpu", "CPU", "tensorflow"), writer)
    assert len(read_all(tmp_path / "events.jsonl")) == 1  # one image of 1024² fits: no warning


def test_init_says_when_the_batch_size_is_checked(tiny_classification_dir, tmp_path, capsys):
    # init stays light (no model built, no TensorFlow: tests/test_light_commands.py); the trainer checks the batch
    out = tmp_path / "s.toml"
    assert main(["init", "--task", "classification", "--data", str(tiny_classification_dir), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Batch size: 32 (checked against the free memory when training starts)" in printed
    assert settings_io.load(out).training.batch_size == 32


# ---------------------------------------------------------------- disk full


@pytest.mark.slow
def test_disk_full_while_saving_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch, capsys):
    data = make_classification_demo(tmp_path / "data", n_per_class=8, size=32, seed=13)
    settings_path = settings_io.save(small_settings(data, training__epochs=50), tmp_path / "s.toml")
    run_dir = tmp_path / "run"
    real_replace = os.replace
    kept: dict[str, str] = {}

    def disk_fills_up(src, dst, *args, **kwargs):
        # the checkpoints of the first epoch go through; then the disk is full when the next model is saved
        if str(dst).endswith(".keras") and len(runs.read_history(run_dir / runs.HISTORY)) >= 2:
            if not kept:
                kept.update({name: hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
                             for name in (runs.BEST_MODEL, runs.LAST_MODEL)})
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", disk_fills_up)
    code = main(["train", str(settings_path), "--run-dir", str(run_dir), "--quiet"])
    monkeypatch.setattr(os, "replace", real_replace)
    err = capsys.readouterr().err

    assert code == 2 and "Traceback" not in err
    assert "The disk is full" in err and str(run_dir) in err and "Free some space" in err
    error = events_of(run_dir, "error")[-1]
    assert error["file"] == str(run_dir) and "Free some space" in error["fix"]
    assert events_of(run_dir, "finished")[-1]["status"] == "failed"
    assert kept, "the simulated full disk was reached"
    for name, sha in kept.items():  # the previous checkpoints, byte for byte, and they load
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == sha
        assert load_model(run_dir / name) is not None
    history = runs.read_history(run_dir / runs.HISTORY)
    assert [h["epoch"] for h in history] == list(range(len(history))) and len(history) >= 2
    assert not [p.name for p in run_dir.iterdir() if "partial" in p.name]  # no half-written model left


def test_a_folder_that_cannot_be_written_and_a_full_disk_are_said_plainly(tmp_path):
    from petrilab.errors import UserError
    from petrilab.output_folders import disk_problem, writable_folder

    assert disk_problem(RuntimeError("saving failed"), tmp_path) is None  # left to the general handler
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("while saving the model") from exc
    except RuntimeError as wrapped:
        problem = disk_problem(wrapped, tmp_path)
    assert "disk is full" in problem.message and problem.file == str(tmp_path)
    read_only = disk_problem(OSError(errno.EROFS, "Read-only file system", str(tmp_path / "x")), tmp_path)
    assert "not allowed to write" in read_only.message
    a_file = tmp_path / "a file"
    a_file.write_text("not a folder")
    with pytest.raises(UserError) as err:
        writable_folder(a_file / "runs")
    assert "cannot be created or written" in err.value.message and err.value.fix


# ---------------------------------------------------------------- two trainings at once


@pytest.mark.slow
def test_two_trainings_at_once_write_separate_complete_run_folders(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=8, size=32, seed=14)
    settings_path = settings_io.save(small_settings(data, training__epochs=2), tmp_path / "s.toml")
    before = digest(data), settings_path.read_bytes()
    runs_dir = tmp_path / "runs"
    command = ENGINE + ["train", str(settings_path), "--runs-dir", str(runs_dir), "--quiet"]
    procs = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=400)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    folders = sorted(runs_dir.iterdir())
    assert len(folders) == 2
    reported = sorted(line.split("Run folder: ")[1].strip() for out in outputs for line in out.splitlines()
                      if "Run folder: " in line)
    assert reported == [str(f) for f in folders]  # each process says which folder is its own
    for run_dir in folders:
        events = read_all(run_dir / runs.EVENTS)
        started = [e for e in events if e["event"] == "started"]
        assert len(started) == 1 and started[0]["run_dir"] == str(run_dir)
        assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [0, 1]
        assert events[-1]["event"] == "finished" and events[-1]["status"] == "completed"
        assert [h["epoch"] for h in runs.read_history(run_dir / runs.HISTORY)] == [0, 1]
        assert_every_file_readable(run_dir)
    pids = {read_all(f / runs.EVENTS)[0]["pid"] for f in folders}
    assert len(pids) == 2  # really two engines
    assert (digest(data), settings_path.read_bytes()) == before


# ---------------------------------------------------------------- the window after a crash


FAKE_CRASH = '''
import json, sys
from pathlib import Path
from petrilab import events as ev
args = sys.argv[1:]
run_dir = Path(args[args.index("--run-dir") + 1])
w = ev.EventWriter(run_dir / "events.jsonl")
w.emit("started", main_metric="accuracy", epochs=30, initial_epoch=0, device="CPU")
for epoch in range(3):
    w.emit("epoch_end", epoch=epoch, epochs=30, metrics={"loss": 1.0 / (epoch + 1), "val_loss": 1.0}, best=True)
(run_dir / "last.keras").write_bytes(b"checkpoint")
(run_dir / "last.json").write_text(json.dumps({"epochs_done": 3, "optimizer_steps": 9}))
print("Fatal Python error: Segmentation fault (the graphics driver crashed)", file=sys.stderr)
sys.exit(139)
'''


@pytest.mark.gui
def test_window_reports_a_crash_with_the_log_and_offers_to_continue(qtbot, tmp_path):
    from petrilab.gui.context import AppContext
    from petrilab.gui.pages.train_page import CRASHED, TrainPage
    from petrilab.gui.process import EngineProcess

    script = tmp_path / "crash.py"
    script.write_text(FAKE_CRASH, encoding="utf-8")
    context = AppContext(settings_io.Settings(name="cells"), runs_dir=tmp_path / "runs")
    context.settings.data.folder = str(tmp_path / "data")
    page = TrainPage(context, engine=EngineProcess(command=[sys.executable, str(script)]))
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.engine.finished, timeout=30_000):
        run_dir = page.start()
    text = page.message.text()
    assert CRASHED in text and "Segmentation fault" not in text  # plain words; the log's last lines are folded
    assert "Segmentation fault" in page.message.details_text.toPlainText()  # behind Show details / Copy details
    assert "epoch 3" in text and "Continue training" in text
    assert page.resume_button.isVisibleTo(page) and page.status.text() == "The engine stopped unexpectedly"

    recorder = tmp_path / "record.py"
    recorder.write_text("import sys, json, pathlib\npathlib.Path(sys.argv[1]).write_text(json.dumps(sys.argv[2:]))\n")
    page.engine.command = [sys.executable, str(recorder), str(tmp_path / "args.json")]
    with qtbot.waitSignal(page.engine.finished, timeout=30_000):
        page.resume_button.click()
    assert json.loads((tmp_path / "args.json").read_text()) == [
        "train", str(run_dir / runs.SETTINGS), "--resume", str(run_dir), "--quiet"]
    page.follower.stop()


@pytest.mark.gui
def test_window_notices_a_run_whose_engine_died_elsewhere(qtbot, tmp_path):
    from petrilab import events as ev
    from petrilab.gui.context import AppContext
    from petrilab.gui.pages import train_page
    from petrilab.liveness import engine_gone, engine_identity

    # an engine started from a terminal: this process stands in for it, and is then killed
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run_dir = tmp_path / "runs" / "from-a-terminal"
    writer = ev.EventWriter(run_dir / runs.EVENTS, echo=False)
    writer.emit(ev.STARTED, main_metric="accuracy", epochs=30, initial_epoch=0, device="CPU",
                **{**engine_identity(), "pid": stand_in.pid})
    writer.emit(ev.EPOCH_END, epoch=0, epochs=30, metrics={"loss": 0.9, "val_loss": 1.0}, best=True)
    (run_dir / runs.LAST_MODEL).write_bytes(b"checkpoint")
    runs.atomic_write_json(run_dir / runs.CHECKPOINT_RECORD, {"epochs_done": 1, "optimizer_steps": 3})

    page = train_page.TrainPage(AppContext(settings_io.Settings(), runs_dir=tmp_path / "runs"))
    qtbot.addWidget(page)
    page._engine_check.setInterval(50)
    page.show_run(run_dir)
    assert page.status_now() == "running" and not page.resume_button.isVisibleTo(page)
    assert not engine_gone(read_all(run_dir / runs.EVENTS)[0])
    stand_in.kill()
    stand_in.wait()
    qtbot.waitUntil(lambda: page.status_now() == "crashed", timeout=5_000)
    qtbot.waitUntil(lambda: page.resume_button.isVisibleTo(page), timeout=5_000)
    assert train_page.CRASHED in page.message.text() and "epoch 1" in page.message.text()
    assert not engine_gone({"pid": stand_in.pid, "host": "a-cluster-node", "time": 0})  # cannot tell: alive
    page.follower.stop()

    from petrilab.gui.pages.runs_page import RunsPage

    listed = RunsPage(AppContext(settings_io.Settings(), runs_dir=tmp_path / "runs"))
    qtbot.addWidget(listed)
    listed.enter()
    assert listed.table.rowCount() == 1 and listed.table.item(0, 2).text() == "crashed"
    listed.timer.stop()
