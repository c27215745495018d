"""`petrilab submit --slurm`: the job script, sweeps, and a real two-job sweep on a one-node SLURM.

The first tests need no SLURM (dry runs, and a PATH without sbatch). The last ones start SLURM on this
computer with tests/slurm/start_slurm.sh (root, Debian's slurm-wlm and munge) and are skipped, saying
why, where it cannot start.
"""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from petrilab import runs
from petrilab.run_state import list_runs, read_run
from petrilab import settings as settings_io
from petrilab.cli import main
from petrilab.cluster import slurm
from petrilab.cluster.script import slurm_time, train_command
from petrilab.cluster.sweep import parse_sweeps, split_values
from petrilab.errors import UserError
from petrilab.resources import resources_dir

from helpers import running_slurm

DEMO = resources_dir() / "demo" / "classification"
TINY = ["--set", "training.epochs=2", "--set", "data.image_size=[32, 32]", "--set", "model.filters=[8]",
        "--set", "model.head_units=[8]", "--set", "training.batch_size=16",
        "--set", "augmentation.geometric=no"]  # the learning rate is what a sweep changes


@pytest.fixture
def experiment(tmp_path):
    """A classification settings file on the demo data, in tmp_path."""
    settings = settings_io.defaults_for("classification")
    settings.name = "demo"
    settings.data.folder = str(DEMO)
    return settings_io.save(settings, tmp_path / "settings.toml")


@pytest.fixture
def no_sbatch(tmp_path, monkeypatch):
    """A PATH where sbatch cannot be found, except a stand-in that leaves a mark if anyone calls it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "sbatch-was-called"
    fake = bin_dir / "sbatch-standin"
    fake.write_text(f"#!/bin/sh\ntouch {shlex.quote(str(marker))}\necho 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir, marker


def run_cli(args, capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def run_folders(runs_dir: Path) -> list[Path]:
    return sorted(p for p in runs_dir.iterdir() if (p / runs.SETTINGS).exists()) if runs_dir.is_dir() else []


# ---------------------------------------------------------------- no SLURM needed


def test_script_asks_for_the_resources_and_runs_the_exact_train_command(experiment, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--dry-run", "--json", "--partition", "gpu",
                              "--gpus", "2", "--time", "2:30", *TINY], capsys)
    assert code == 0, err
    answer = json.loads(out)  # one JSON object, nothing else on stdout
    assert answer["job_id"] is None and answer["sweep"] is None and len(answer["run_dirs"]) == 1
    run_dir = Path(answer["run_dirs"][0])
    assert Path(answer["script"]) == run_dir / runs.SLURM_SCRIPT
    script = (run_dir / runs.SLURM_SCRIPT).read_text()
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "#SBATCH --partition=gpu" in lines
    assert "#SBATCH --gpus=2" in lines
    assert "#SBATCH --time=02:30:00" in lines  # SLURM would read '2:30' as minutes:seconds
    assert f"#SBATCH --output={run_dir / runs.SLURM_LOG}" in lines
    assert not any(line.startswith("#SBATCH --array") for line in lines)
    command = train_command(run_dir)
    assert " ".join(shlex.quote(p) for p in command) in lines
    assert Path(command[0]).is_absolute() and Path(command[0]).exists()  # this very PetriLab, by full path
    assert command[1:] == ["train", str(run_dir / runs.SETTINGS), "--run-dir", str(run_dir), "--quiet"]
    assert "export KERAS_BACKEND=tensorflow" in lines
    assert any(line.startswith("export PATH=") for line in lines)
    assert subprocess.run(["bash", "-n", str(run_dir / runs.SLURM_SCRIPT)]).returncode == 0  # valid bash

    # the run folder's settings: the file's, with --set applied, and the data folder by absolute path
    saved = settings_io.load(run_dir / runs.SETTINGS)
    assert saved.training.epochs == 2 and saved.model.filters == [8] and saved.data.folder == str(DEMO)
    record = json.loads((run_dir / runs.SLURM_RECORD).read_text())
    assert record["job_id"] is None and record["array_task"] is None and record["sweep"] is None
    assert record["sweep_values"] == {}
    assert (record["partition"], record["gpus"], record["time"], record["dry_run"]) == ("gpu", 2, "02:30:00", True)
    assert abs(record["submitted"] - time.time()) < 600


def test_no_partition_gpus_or_time_leaves_the_clusters_defaults(experiment, tmp_path, capsys):
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--dry-run", "--json"], capsys)
    assert code == 0, err
    script = Path(json.loads(out)["script"]).read_text()
    for option in ("--partition", "--gpus", "--time", "--array"):
        assert f"#SBATCH {option}" not in script
    assert Path(json.loads(out)["run_dirs"][0]).parent == tmp_path / "runs"  # default: 'runs' beside the settings


def test_a_sweep_is_one_job_array_with_one_run_folder_per_combination(experiment, tmp_path, capsys):
    runs_dir = tmp_path / "cluster-runs"
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--dry-run", "--json", "--runs-dir", str(runs_dir),
                              "--sweep", "training.learning_rate=0.001,0.01",
                              "--sweep", "model.filters=[8],[8, 16]", "--set", "training.epochs=2"], capsys)
    assert code == 0, err
    answer = json.loads(out)
    folders = [Path(p) for p in answer["run_dirs"]]
    assert folders == run_folders(runs_dir) and len(folders) == 4
    assert answer["sweep"] and answer["job_id"] is None
    expected = [(0.001, [8]), (0.001, [8, 16]), (0.01, [8]), (0.01, [8, 16])]  # the cartesian product, in order
    base = tomllib.loads(experiment.read_text())
    script = Path(answer["script"]).read_text()
    assert "#SBATCH --array=0-3" in script.splitlines()
    for i, (folder, (rate, filters)) in enumerate(zip(folders, expected)):
        assert "learning_rate=" in folder.name and "filters=" in folder.name  # readable names
        saved = tomllib.loads((folder / runs.SETTINGS).read_text())
        assert saved["training"]["learning_rate"] == rate and saved["model"]["filters"] == filters
        # comparable: the same experiment except the swept keys (and the --set ones, equal in all)
        for section in ("task", "split", "augmentation", "postprocess"):
            assert saved[section] == base[section]
        record = json.loads((folder / runs.SLURM_RECORD).read_text())
        assert record["array_task"] == i and record["sweep"] == answer["sweep"]
        assert record["sweep_values"] == {"training.learning_rate": rate, "model.filters": filters}
        assert (folder / runs.SLURM_SCRIPT).read_text() == script  # every folder: a copy of the array script
        # task i runs the exact command for folder i
        assert f"  {i})  #" in script
        assert " ".join(shlex.quote(p) for p in train_command(folder)) in script
        summary = read_run(folder)
        assert summary.status == "script written" and summary.group == answer["sweep"] and summary.job_id is None


def test_sweep_values_split_on_commas_outside_lists_and_quotes():
    assert split_values("0.001, 0.01,0.1") == ["0.001", "0.01", "0.1"]
    assert split_values("[8, 16],[32]") == ["[8, 16]", "[32]"]
    assert split_values('"a,b",c') == ['"a,b"', "c"]
    assert parse_sweeps(["training.optimizer=adam,sgd", "training.batch_size=8,16"]) == [
        ("training.optimizer", ["adam", "sgd"]), ("training.batch_size", [8, 16])]


@pytest.mark.parametrize("sweep, words", [
    ("training.learning_rat=0.1,0.01", "Unknown setting 'training.learning_rat'"),
    ("training.optimizer=adam,nonsense", "'training.optimizer' cannot be 'nonsense'"),
    ("training.epochs=5,many", "'training.epochs' must be a whole number"),
    ("training.learning_rate=0.1,,0.2", "empty value"),
    ("training.learning_rate", "needs the form"),
    ("training.seed=16,16", "repeats a value"),
    ("training.batch_size=4", "swept twice"),
])
def test_a_bad_sweep_is_a_plain_error_and_nothing_is_created(experiment, tmp_path, capsys, sweep, words):
    runs_dir = tmp_path / "runs"
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--dry-run", "--runs-dir", str(runs_dir),
                              "--sweep", "training.batch_size=8,16", "--sweep", sweep], capsys)
    assert code == 2
    assert words in err and "Traceback" not in err
    assert out == "" and not runs_dir.exists()


def test_a_key_both_set_and_swept_is_refused(experiment, tmp_path, capsys):
    code, _, err = run_cli(["submit", str(experiment), "--slurm", "--dry-run", "--set", "training.epochs=3",
                            "--sweep", "training.epochs=2,4"], capsys)
    assert code == 2 and "both set (--set) and swept" in err


def test_gpus_for_a_training_on_the_processor_are_refused(experiment, tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--dry-run", "--gpus", "2", "--runs-dir",
                              str(runs_dir), "--sweep", "training.device=auto,cpu"], capsys)
    assert code == 2 and "asked for 2 GPU(s)" in err and "training.device" in err and "Traceback" not in err
    assert not runs_dir.exists()
    code, _, err = run_cli(["submit", str(experiment), "--slurm", "--dry-run", "--gpus", "2", "--runs-dir",
                            str(runs_dir), "--set", "training.device=auto"], capsys)
    assert code == 0, err


def test_dry_run_writes_only_the_folders_and_the_script_and_submits_nothing(experiment, tmp_path, capsys, no_sbatch):
    _, marker = no_sbatch  # no sbatch on PATH: a dry run must not need one
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--dry-run", "--sweep",
                              "training.learning_rate=0.001,0.01"], capsys)
    assert code == 0, err
    assert "nothing was submitted" in out and "sbatch" in out
    assert not marker.exists()
    runs_dir = tmp_path / "runs"
    assert sorted(p.name for p in runs_dir.iterdir() if p.is_dir()) == sorted(
        [p.name for p in run_folders(runs_dir)] + ["slurm-logs"])
    for folder in run_folders(runs_dir):
        names = {p.name for p in folder.iterdir()}
        assert names == {runs.SETTINGS, runs.SLURM_SCRIPT, runs.SLURM_RECORD, runs.SLURM_LOG}  # the log: a link
        assert (folder / runs.SLURM_LOG).is_symlink() and not (folder / runs.EVENTS).exists()
        assert json.loads((folder / runs.SLURM_RECORD).read_text())["dry_run"] is True
    assert list((runs_dir / "slurm-logs").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "runs", "settings.toml"]  # nothing else


def test_missing_sbatch_is_a_plain_error_before_anything_is_written(experiment, tmp_path, capsys, no_sbatch):
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--sweep", "training.learning_rate=0.001,0.01"],
                             capsys)
    assert code == 2 and out == ""
    assert "SLURM's sbatch was not found on this computer; run this on the cluster's login node, " \
           "or use --dry-run to write the script only" in err
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_submit_needs_the_slurm_flag(experiment, capsys):
    code, _, err = run_cli(["submit", str(experiment), "--dry-run"], capsys)
    assert code == 2 and "--slurm" in err


def test_missing_data_folder_is_refused_before_submitting(tmp_path, capsys):
    settings = settings_io.defaults_for("classification")
    settings.data.folder = str(tmp_path / "not-here")
    path = settings_io.save(settings, tmp_path / "settings.toml")
    code, _, err = run_cli(["submit", str(path), "--slurm", "--dry-run"], capsys)
    assert code == 2 and "does not exist on this computer" in err and not (tmp_path / "runs").exists()


def test_time_limits_in_slurms_form():
    assert slurm_time("2:30") == "02:30:00"
    assert slurm_time("00:45") == "00:45:00"
    assert slurm_time("12:00:30") == "12:00:30"
    assert slurm_time("1-12:00") == "1-12:00:00"
    assert slurm_time(None) is None
    for bad in ("90", "2h", "1:75", "ten"):
        with pytest.raises(UserError):
            slurm_time(bad)


def submitted_folder(tmp_path, job_id: str) -> Path:
    """A run folder as `petrilab submit` leaves it: settings.toml and slurm.json, no events yet."""
    folder = tmp_path / "run"
    folder.mkdir()
    settings_io.save(settings_io.defaults_for("classification"), folder / runs.SETTINGS)
    runs.atomic_write_json(folder / runs.SLURM_RECORD, {"job_id": job_id, "array_task": 1, "sweep": "s-1",
                                                        "sweep_values": {}, "submitted": time.time(),
                                                        "partition": None, "gpus": 0, "time": None,
                                                        "dry_run": False})
    return folder


def test_a_submitted_run_without_events_is_queued_where_slurm_cannot_be_asked(tmp_path, no_sbatch):
    slurm._cache.clear()
    folder = submitted_folder(tmp_path, "99999999")  # no squeue on PATH: a laptop with the cluster disk mounted
    summary = read_run(folder)
    assert (summary.status, summary.job_id, summary.group, summary.error_message) == ("queued", "99999999", "s-1", "")
    assert [s.status for s in list_runs(tmp_path)] == ["queued"]


# ---------------------------------------------------------------- a real SLURM on this computer


@pytest.fixture(scope="module")
def slurm_cluster():
    with running_slurm() as conf:
        yield conf


def wait_for_job(job_id: str, tasks: int, timeout: float = 300.0) -> list[str]:
    """Poll squeue until every array task has ended (bounded); their final states."""
    deadline = time.monotonic() + timeout
    while True:
        slurm._cache.clear()
        states = [slurm.job_ended(job_id, i) for i in range(tasks)]
        if all(states) or time.monotonic() > deadline:
            return states
        time.sleep(2)


def events(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / runs.EVENTS).read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_a_two_job_sweep_trains_on_a_real_slurm(slurm_cluster, experiment, tmp_path, capsys):
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--json", "--partition", "debug", "--time", "0:10",
                              *TINY, "--sweep", "training.learning_rate=0.001,0.01"], capsys)
    assert code == 0, err
    answer = json.loads(out)
    assert answer["job_id"] and answer["job_id"].isdigit() and answer["sweep"]
    folders = [Path(p) for p in answer["run_dirs"]]
    assert len(folders) == 2
    for folder in folders:  # queued or already running, never failed
        assert read_run(folder).status in ("queued", "running", "completed")

    states = wait_for_job(answer["job_id"], 2)
    logs = {f.name: (f / runs.SLURM_LOG).read_text(errors="replace")[-2000:] for f in folders
            if (f / runs.SLURM_LOG).exists()}
    assert states == ["COMPLETED", "COMPLETED"], logs

    for i, folder in enumerate(folders):
        record = json.loads((folder / runs.SLURM_RECORD).read_text())
        assert record["job_id"] == answer["job_id"] and record["array_task"] == i and record["dry_run"] is False
        finished = [e for e in events(folder) if e["event"] == "finished"]
        assert finished and finished[-1]["status"] == "completed", logs
        for name in (runs.BEST_MODEL, runs.HISTORY, runs.EVALUATION, runs.SPLIT):
            assert (folder / name).is_file(), name
        assert len(runs.read_history(folder / runs.HISTORY)) == 2
        assert json.loads((folder / runs.EVALUATION).read_text())["n_images"] > 0
        assert f"job {answer['job_id']} task {i}" in logs[folder.name]  # slurm.out: this task's output
        slurm._cache.clear()
        summary = read_run(folder)
        assert (summary.status, summary.job_id, summary.group) == ("completed", answer["job_id"], answer["sweep"])

    # comparable: the same images in the same subsets, the same data; the settings differ in the swept key only
    a, b = folders
    assert (a / runs.SPLIT).read_bytes() == (b / runs.SPLIT).read_bytes()
    fingerprints = [next(e for e in events(f) if e["event"] == "started")["data_fingerprint"] for f in folders]
    assert fingerprints[0] == fingerprints[1]
    settings_a, settings_b = (tomllib.loads((f / runs.SETTINGS).read_text()) for f in folders)
    assert (settings_a["training"]["learning_rate"], settings_b["training"]["learning_rate"]) == (0.001, 0.01)
    settings_b["training"]["learning_rate"] = 0.001
    for section in ("task", "split", "model", "augmentation", "postprocess"):
        assert settings_a[section] == settings_b[section]
    assert settings_a["training"] == settings_b["training"]


def test_a_job_that_ends_without_finishing_reads_as_failed(slurm_cluster, experiment, tmp_path, capsys):
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--json", *TINY, "--set", "training.epochs=50"],
                             capsys)
    assert code == 0, err
    answer = json.loads(out)
    folder = Path(answer["run_dirs"][0])
    subprocess.run(["scancel", answer["job_id"]], check=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        slurm._cache.clear()
        if read_run(folder).status == "failed":
            break
        time.sleep(1)
    summary = read_run(folder)
    assert summary.status == "failed" and "cluster job ended" in summary.error_message


def test_a_job_slurm_refuses_leaves_no_run_folder(slurm_cluster, experiment, tmp_path, capsys):
    code, out, err = run_cli(["submit", str(experiment), "--slurm", "--partition", "no-such-partition",
                              "--sweep", "training.learning_rate=0.001,0.01"], capsys)
    assert code == 2 and "SLURM refused the job" in err and "Traceback" not in err
    assert run_folders(tmp_path / "runs") == []


def test_a_job_slurm_does_not_know_reads_as_failed(slurm_cluster, tmp_path):
    slurm._cache.clear()
    folder = submitted_folder(tmp_path, "99999999")  # never submitted here: SLURM has no such job
    summary = read_run(folder)
    assert summary.status == "failed" and "cluster job ended" in summary.error_message


def test_names_and_paths_cannot_become_commands_in_the_script(tmp_path, capsys):
    settings = settings_io.defaults_for("classification")
    settings.name = 'cells\ntouch "$HOME/PWNED" $(id)'
    settings.data.folder = str(DEMO)
    folder = tmp_path / "a $(id) `id` folder"
    path = settings_io.save(settings, folder / "settings.toml")
    code, out, err = run_cli(["submit", str(path), "--slurm", "--dry-run", "--json"], capsys)
    assert code == 0, err
    script = Path(json.loads(out)["script"]).read_text()
    assert not any(line.startswith("touch") for line in script.splitlines())
    assert subprocess.run(["bash", "-n", json.loads(out)["script"]]).returncode == 0
    # every word with the folder's name is quoted for the shell
    assert all("$(id)" not in line or line.startswith("#") or "'" in line for line in script.splitlines())
