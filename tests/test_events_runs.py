"""The run folder: atomic writes, unique folders, history files, and following events."""

import json
import math

from petrilab import events as ev
from petrilab import runs


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


def test_summary_follows_the_status(tmp_path):
    run = runs.new_run_dir(tmp_path, "r")
    assert runs.summarise(run).status == "queued"
    w = ev.EventWriter(run / runs.EVENTS, echo=False)
    w.emit(ev.STARTED, main_metric="accuracy")
    w.emit(ev.EPOCH_END, epoch=0, metrics={"loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.6})
    s = runs.summarise(run)
    assert (s.status, s.epochs_done, s.main_value) == ("running", 1, 0.6)
    w.emit(ev.DIAGNOSIS, verdict="not_finished")
    w.emit(ev.FINISHED, status="stopped")
    s = runs.summarise(run)
    assert (s.status, s.verdict) == ("stopped", "not_finished")
    assert [r.name for r in runs.list_runs(tmp_path)] == [run.name]
