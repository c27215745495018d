"""The run folder: atomic writes, unique folders, history files, following events, and a run's state."""

import json
import math
import os
import socket
import subprocess
import sys

from petrilab import events as ev
from petrilab import runs
from petrilab.run_state import RunReader, RunState, list_runs, read_run


def test_follower_reads_only_new_complete_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    writer = ev.EventWriter(path, echo=False)
    follower = ev.EventFollower(path)
    assert follower.poll() == []  # no file yet
    writer.emit(ev.STARTED, device="CPU")
    with open(path, "a") as f:
        f.write('{"event": "batch", "ba')  # a line still being written
    got = follower.poll()
    assert [e["event"] for e in got] == ["started"]
    with open(path, "a") as f:
        f.write('tch": 3}\n')
    assert follower.poll()[0]["batch"] == 3
    assert follower.poll() == []


def test_events_never_contain_nan(tmp_path):
    path = tmp_path / "events.jsonl"
    ev.EventWriter(path, echo=False).emit(ev.EPOCH_END, metrics={"loss": math.nan, "val_loss": math.inf})
    line = path.read_text().strip()
    assert json.loads(line)["metrics"] == {"loss": None, "val_loss": None}  # strict JSON parses it


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a.json"
    runs.atomic_write_json(target, {"x": 1})
    runs.atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "a.txt"
    runs.atomic_write_text(target, "old")

    def explode(f):
        f.write(b"half")
        raise OSError("disk full")

    try:
        runs._atomic(target, explode)
    except OSError:
        pass
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_two_runs_started_together_get_two_folders(tmp_path):
    a = runs.new_run_dir(tmp_path, "same name")
    b = runs.new_run_dir(tmp_path, "same name")
    assert a != b and a.is_dir() and b.is_dir()
    assert a.name.endswith("same-name")


def test_history_round_trip_and_keras_csvlogger(tmp_path):
    history = [{"epoch": 0, "loss": 1.0, "val_loss": 1.1}, {"epoch": 1, "loss": 0.5, "val_loss": 0.7, "accuracy": 0.8}]
    runs.write_history(tmp_path / "h.csv", history)
    back = runs.read_history(tmp_path / "h.csv")
    assert back[1]["val_loss"] == 0.7 and back[1]["accuracy"] == 0.8 and math.isnan(back[0]["accuracy"])
    (tmp_path / "k.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,0.69,0.5,0.70\n1,0.6,0.6,0.55,0.65\n")
    logged = runs.read_history(tmp_path / "k.csv")
    assert [h["epoch"] for h in logged] == [0, 1] and logged[1]["val_loss"] == 0.65


def test_the_run_state_follows_the_status(tmp_path):
    run = runs.new_run_dir(tmp_path, "r")
    (run / runs.SETTINGS).write_text("")
    (run / runs.HISTORY).write_text("epoch,loss,val_loss\n0,1.0,1.1\n")
    state = read_run(run)
    assert (state.status, state.epochs_done) == ("running", 1)  # history.csv only: a run copied without events
    w = ev.EventWriter(run / runs.EVENTS, echo=False)
    w.emit(ev.STARTED, main_metric="accuracy", pid=os.getpid(), host=socket.gethostname())
    assert read_run(run).status == "running" and read_run(run).epochs_done == 0  # events replace the history
    w.emit(ev.EPOCH_END, epoch=0, metrics={"loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.6}, best=True)
    w.emit(ev.EPOCH_END, epoch=1, metrics={"loss": 0.9, "val_loss": 1.2, "val_accuracy": 0.7})
    s = read_run(run)
    assert (s.status, s.epochs_done, s.best_epoch, s.main_value) == ("running", 2, 0, 0.6)  # the kept epoch's
    w.emit(ev.DIAGNOSIS, verdict="not_finished", title="Not finished")
    w.emit(ev.FINISHED, status="stopped", best_epoch=0)
    s = read_run(run)
    assert (s.status, s.verdict, s.verdict_title, s.error_message) == ("stopped", "not_finished", "Not finished", "")
    assert [r.run_dir.name for r in list_runs(tmp_path)] == [run.name]


def test_a_run_whose_engine_died_is_crashed_and_a_resumed_one_running_again(tmp_path):
    run = runs.new_run_dir(tmp_path, "r")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    w = ev.EventWriter(run / runs.EVENTS, echo=False)
    w.emit(ev.STARTED, main_metric="accuracy", pid=dead.pid, host=socket.gethostname())
    w.emit(ev.EPOCH_END, epoch=0, metrics={"val_accuracy": 0.5})
    assert read_run(run).status == "crashed"
    w.emit(ev.STARTED, main_metric="accuracy", pid=os.getpid(), host=socket.gethostname(), initial_epoch=1)
    assert read_run(run).status == "running"
    w.emit(ev.ERROR, message="The images are gone.")
    w.emit(ev.FINISHED, status="failed")
    s = read_run(run)
    assert (s.status, s.error_message, s.epochs_done) == ("failed", "The images are gone.", 1)


def test_the_reader_reads_only_what_was_appended_and_starts_again_on_a_new_file(tmp_path):
    run = tmp_path / "run"
    w = ev.EventWriter(run / runs.EVENTS, echo=False)
    w.emit(ev.STARTED, main_metric="accuracy")
    reader, state = RunReader(run), RunState(run_dir=run)
    state.take(reader.look())
    assert not reader.look() and reader.reads == 1  # nothing new: nothing read
    w.emit(ev.FINISHED, status="completed")
    news = reader.look()
    assert [e["event"] for e in news.events] == ["finished"] and reader.finished
    state.take(news)
    assert state.status == "completed"
    (run / runs.EVENTS).write_text('{"event": "started", "time": 1.0}\n')  # a new run in the same folder
    news = reader.look()
    assert news.reset and not reader.finished
    state.take(news)
    assert state.status in ("running", "crashed") and not state.finished
