"""`petrilab evaluate` and `predict` on a real tiny run: options passed as parameters (never the environment),
one CSV writer for every table; their events (as training's) and the record of what they were made with."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from petrilab import runs
from petrilab.cli import main
from petrilab.command_events import EVALUATION_EVENTS, PREDICTION_EVENTS
from petrilab.events import read_all

import finished_runs

BOM = b"\xef\xbb\xbf"
pytestmark = pytest.mark.slow  # reads a real (tiny) trained run, trained once per version of the app


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(run folder, data folder): a copy of the finished classification run of tests/finished_runs.py."""
    finished = finished_runs.copy_of("classification", tmp_path_factory.mktemp("records") / "run")
    return finished.run, finished.data


def test_excel_is_an_option_of_the_command_for_every_table(trained, tmp_path):
    run, data = trained
    images = sorted(p for p in data.iterdir() if p.is_dir())[0]
    assert main(["predict", str(run), str(images), str(tmp_path / "plain")]) == 0
    before = dict(os.environ)  # after the engine's first load in this process (it sets its own variables)
    assert main(["predict", str(run), str(images), str(tmp_path / "excel"), "--excel"]) == 0
    assert dict(os.environ) == before  # the option did not travel through the environment
    assert not (tmp_path / "plain" / "predictions.csv").read_bytes().startswith(BOM)
    assert (tmp_path / "excel" / "predictions.csv").read_bytes().startswith(BOM)
    assert json.loads((tmp_path / "excel" / "prediction.json").read_text(encoding="utf-8"))["excel"] is True
    # a later command in the same process without the option writes plain tables again
    assert main(["predict", str(run), str(images), str(tmp_path / "again")]) == 0
    assert not (tmp_path / "again" / "predictions.csv").read_bytes().startswith(BOM)
    assert main(["evaluate", str(run), "--excel"]) == 0
    assert (run / "test_predictions.csv").read_bytes().startswith(BOM)
    assert main(["evaluate", str(run)]) == 0
    assert not (run / "test_predictions.csv").read_bytes().startswith(BOM)
    assert not (run / runs.EVALUATION).read_bytes().startswith(BOM)


def kinds(path: Path) -> list[str]:
    return [e["event"] for e in read_all(path)]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_evaluate_and_predict_write_events_and_what_they_were_made_with(trained, tmp_path, capsys):
    run, data = trained
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert '{"event"' not in capsys.readouterr().out  # the terminal keeps its plain lines
    found = read_all(run / EVALUATION_EVENTS)
    assert [e["event"] for e in found][0] == "started" and found[-1] == {**found[-1], "event": "finished",
                                                                        "status": "completed"}
    started, progress = found[0], [e for e in found if e["event"] == "progress"]
    assert started["command"] == "evaluate" and started["total"] >= 1 and started["pid"] == os.getpid()
    assert progress and progress[-1]["done"] == progress[-1]["total"] == started["total"]
    record = json.loads((run / runs.EVALUATION).read_text(encoding="utf-8"))["made_with"]
    assert record["model_sha256"] == sha256(run / runs.BEST_MODEL) and record["run"] == str(run.resolve())
    assert record["n_inputs"] == started["total"] and len(record["inputs_sha256"]) == 64
    assert record["input_folder"] == str(data) and "postprocess" in record and record["version"]

    images = sorted(p for p in data.iterdir() if p.is_dir())[1]
    out = tmp_path / "predicted"
    assert main(["predict", str(run), str(images), str(out)]) == 0
    found = read_all(out / PREDICTION_EVENTS)
    assert [e["event"] for e in found][0] == "started" and found[-1]["event"] == "finished"
    assert found[-1]["status"] == "completed" and found[0]["total"] == len(list(images.iterdir()))
    assert found[0]["input_folder"] == str(images.resolve()) and found[0]["output_folder"] == str(out.resolve())
    record = json.loads((out / "prediction.json").read_text(encoding="utf-8"))
    assert PREDICTION_EVENTS in record["outputs"]  # it belongs to these results: --overwrite replaces it too
    assert record["model_sha256"] == sha256(run / runs.BEST_MODEL) and record["n_inputs"] == found[0]["total"]
    assert record["postprocess"] and record["probabilities"] is False and record["input_folder"] == str(images)
    # the same inputs give the same fingerprint, wherever the results go
    assert main(["predict", str(run), str(images), str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "prediction.json").read_text(encoding="utf-8"))
    assert again["inputs_sha256"] == record["inputs_sha256"]


def test_a_failure_is_an_error_event_with_its_file_and_fix(trained, tmp_path):
    run, data = trained
    images = sorted(p for p in data.iterdir() if p.is_dir())[0]
    events = tmp_path / "window" / "predict.events.jsonl"
    missing = tmp_path / "no such folder"
    assert main(["predict", str(run), str(missing), str(tmp_path / "out"), "--events", str(events)]) == 2
    assert kinds(events) == ["error", "finished"]  # refused before it started: said all the same
    error, finished = read_all(events)
    assert error["message"] == f"The folder {missing} does not exist." and error["file"] == str(missing)
    assert error["fix"] == "Check the path of the images to predict." and finished["status"] == "failed"
    assert not (tmp_path / "out").exists()

    # earlier results: refused, and without --events the folder is left as it was (no event written there)
    out = tmp_path / "results"
    assert main(["predict", str(run), str(images), str(out)]) == 0
    before = {p.name: sha256(p) for p in out.iterdir()}
    assert main(["predict", str(run), str(images), str(out)]) == 2
    assert {p.name: sha256(p) for p in out.iterdir()} == before
    assert main(["predict", str(run), str(images), str(out), "--events", str(events)]) == 2
    error = [e for e in read_all(events) if e["event"] == "error"][-1]
    assert "already holds the results of an earlier prediction" in error["message"] and "--overwrite" in error["fix"]

    # evaluate on a folder of other images: the plain message is an event in the file the caller named
    empty = tmp_path / "empty test"
    empty.mkdir()
    assert main(["evaluate", str(run), "--data", str(empty), "--events", str(tmp_path / "evaluate.jsonl")]) == 2
    error = read_all(tmp_path / "evaluate.jsonl")[-2]
    assert error["event"] == "error" and error["message"] and error["fix"]

    # an events file inside the data is refused, and nothing is written there
    before = sorted(p.name for p in images.iterdir())
    assert main(["predict", str(run), str(images), str(tmp_path / "x"), "--events", str(images / "e.jsonl")]) == 2
    assert sorted(p.name for p in images.iterdir()) == before


def test_tune_export_report_and_submit_say_what_they_made_or_why_not_in_their_events(trained, tmp_path, capsys):
    from petrilab.command_events import read_command

    from test_tune import tree_digest

    run, data = trained
    events = tmp_path / "window" / "report.events.jsonl"
    assert main(["report", str(run), "--events", str(events)]) == 0
    done = read_command(events)
    assert (done.command, done.status) == ("report", "completed")
    assert done.finished["report"] == str((run / runs.REPORT).resolve()) and "pdf" not in done.finished
    submit = tmp_path / "window" / "submit.events.jsonl"
    settings = run / runs.SETTINGS
    assert main(["submit", str(settings), "--slurm", "--dry-run", "--runs-dir", str(tmp_path / "cluster"),
                 "--events", str(submit), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    made = read_command(submit).finished
    assert made["status"] == "completed" and {k: made[k] for k in answer} == answer  # what --json prints
    refused = tmp_path / "window" / "export.events.jsonl"
    assert main(["export", str(tmp_path / "no-run"), "-o", str(tmp_path / "m.zip"), "--events", str(refused)]) == 2
    assert read_command(refused).status == "failed" and read_command(refused).error["message"]
    # an events file inside the data is refused before anything is written there, as any output is
    before = tree_digest(data)
    for command in (["tune", str(settings), "--budget", "1"], ["submit", str(settings), "--slurm", "--dry-run",
                                                                "--runs-dir", str(tmp_path / "cluster")]):
        assert main([*command, "--events", str(data / "new" / "events.jsonl")]) == 2
        assert "never writes into your data" in capsys.readouterr().err
    assert tree_digest(data) == before and not (data / "new").exists()
