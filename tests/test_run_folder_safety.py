"""Nothing lost, nothing silent, around the run folder: resume rules, one writer per folder, file modes,
reports that never fail a training, a quiet start and a quiet end.

Everything goes through the real `petrilab` command with real tiny trainings: in this process
(helpers.petrilab_here) unless the process is what a test is about (two at once, the terminal's output,
what the command imports), then in child processes (python -m petrilab …). Every test checks by SHA-256
that no input byte changed and nothing was added to the data folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from petrilab import runs
from petrilab.run_state import read_run
from petrilab import settings as settings_io
from petrilab.demo import make_classification_demo
from petrilab.run_lock import LOCK_FILE, hold_folder, read_lock
from helpers import events_of, petrilab_here, small_settings

ENGINE = [sys.executable, "-m", "petrilab"]
APP = str(Path(__file__).resolve().parents[1] / "app")
# what TensorFlow prints while loading, which the commands must keep off the terminal
CHATTER = ("oneDNN", "cuda drivers", "InitializeLog", "absl", "cpu_feature_guard", "XLA", "I0000", "W0000",
           "TensorFlow binary is optimized", "Traceback")


def digest(folder: Path) -> dict:
    """SHA-256 of every file below `folder` (hidden ones too: nothing may be added, not even a lock)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def petrilab(*args, umask: int | None = None, extra_path: str | None = None, **popen) -> subprocess.Popen:
    """Start `python -m petrilab ARGS` as a child process (with this checkout's app first on the path)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, APP, env.get("PYTHONPATH")) if p)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the command itself must quieten TensorFlow
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.Popen(ENGINE + [str(a) for a in args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=preexec, **popen)


def run(*args, timeout: int = 400, **kwargs) -> subprocess.CompletedProcess:
    proc = petrilab(*args, **kwargs)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@contextlib.contextmanager
def process_umask(mask: int):
    """This process's umask set to `mask` for a command run in it, then put back."""
    before = os.umask(mask)
    try:
        yield
    finally:
        os.umask(before)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One completed two-epoch run of a tiny classifier (data, settings file, run folder); tests copy it."""
    root = tmp_path_factory.mktemp("trained")
    data = make_classification_demo(root / "data", n_per_class=8, size=32, seed=21)
    settings_path = settings_io.save(small_settings(data, training__epochs=2), root / "s.toml")
    with process_umask(0o022):
        done = petrilab_here("train", settings_path, "--run-dir", root / "run", "--quiet")
    assert done.returncode == 0, done.stderr
    return data, settings_path, root / "run"


def copy_run(trained, tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(trained[2], run_dir)
    return run_dir


# ---------------------------------------------------------------- resume rules


@pytest.mark.slow
def test_resume_of_a_finished_run_says_how_to_train_more_and_changes_nothing(trained, tmp_path):
    data, _, _ = trained
    run_dir = copy_run(trained, tmp_path)
    before, data_before = digest(run_dir), digest(data)

    # no settings file needed with --resume (README and the disk-full message say it that way)
    refused = petrilab_here("train", "--resume", run_dir, "--quiet")
    assert refused.returncode == 2, refused.stderr
    assert "is finished" in refused.stderr and "completed 2 epochs" in refused.stderr
    assert f"petrilab train --resume {run_dir} --set training.epochs=" in refused.stderr
    assert not any(word in refused.stderr for word in CHATTER), refused.stderr
    assert digest(run_dir) == before  # not one byte: no `failed` event, settings.toml as it was

    fewer = petrilab_here("train", "--resume", run_dir, "--quiet", "--set", "training.epochs=1")
    assert fewer.returncode == 2 and "Nothing was changed" in fewer.stderr
    assert digest(run_dir) == before

    # the way it names: more epochs than done
    more = petrilab_here("train", "--resume", run_dir, "--quiet", "--set", "training.epochs=3")
    assert more.returncode == 0, more.stderr
    assert [h["epoch"] for h in runs.read_history(run_dir / runs.HISTORY)] == [0, 1, 2]
    assert settings_io.load(run_dir / runs.SETTINGS).training.epochs == 3
    assert events_of(run_dir, "started")[-1]["initial_epoch"] == 2
    finished = events_of(run_dir, "finished")
    assert [f["status"] for f in finished] == ["completed", "completed"] and finished[-1]["epochs_done"] == 3
    assert read_run(run_dir).status == "completed"
    assert not (run_dir / LOCK_FILE).exists()
    assert digest(data) == data_before


@pytest.mark.slow
def test_a_refused_resume_leaves_settings_and_events_as_they_were(trained, tmp_path):
    data, _, _ = trained
    run_dir = copy_run(trained, tmp_path)
    # a run that stopped after its first epoch, whose data has since moved away
    history = runs.read_history(run_dir / runs.HISTORY)[:1]
    runs.write_history(run_dir / runs.HISTORY, history)
    (run_dir / runs.CHECKPOINT_RECORD).write_text(json.dumps({"epochs_done": 1, "optimizer_steps": 2}))
    events = (run_dir / runs.EVENTS).read_text().splitlines()
    (run_dir / runs.EVENTS).write_text("\n".join(events[:-1]).replace('"completed"', '"stopped"') + "\n")
    settings = settings_io.load(run_dir / runs.SETTINGS)
    moved = tmp_path / "moved-data"
    settings.data.folder = str(moved)
    settings_io.save(settings, run_dir / runs.SETTINGS)
    before, data_before = digest(run_dir), digest(data)

    refused = petrilab_here("train", "--resume", run_dir, "--quiet", "--set", "training.epochs=4")
    assert refused.returncode == 2, refused.stderr
    assert str(moved) in refused.stderr and "Traceback" not in refused.stderr
    assert digest(run_dir) == before  # the run still reads `stopped`, not `failed`; no epochs=4 in its settings

    (run_dir / runs.LAST_MODEL).unlink()
    before = digest(run_dir)
    refused = petrilab_here("train", str(run_dir / runs.SETTINGS), "--resume", run_dir, "--quiet")
    assert refused.returncode == 2 and "no last.keras" in refused.stderr
    assert digest(run_dir) == before
    assert digest(data) == data_before


# ---------------------------------------------------------------- one writer per run folder


@pytest.mark.slow
def test_two_resumes_at_once_one_is_refused_naming_the_other(trained, tmp_path):
    data, _, _ = trained
    run_dir = copy_run(trained, tmp_path)
    data_before = digest(data)
    asked = [14, 15]
    # every epoch asked is trained (early stopping off): the epoch counts tell the two processes apart
    procs = [petrilab("train", "--resume", run_dir, "--quiet", "--set", f"training.epochs={n}",
                      "--set", "training.early_stopping=false") for n in asked]
    results = [p.communicate(timeout=600) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], results
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    message = results[loser][1]
    assert "is in use by another PetriLab (training" in message
    assert f"process {procs[winner].pid} on the computer {socket.gethostname()}, since " in message
    assert "Traceback" not in message

    history = runs.read_history(run_dir / runs.HISTORY)
    assert [h["epoch"] for h in history] == list(range(asked[winner]))
    assert settings_io.load(run_dir / runs.SETTINGS).training.epochs == asked[winner]  # the survivor's count
    assert json.loads((run_dir / runs.CHECKPOINT_RECORD).read_text())["epochs_done"] == asked[winner]
    started = events_of(run_dir, "started")
    assert len(started) == 2 and started[1]["pid"] == procs[winner].pid  # the loser wrote no event
    assert events_of(run_dir, "finished")[-1]["status"] == "completed"
    assert not (run_dir / LOCK_FILE).exists()
    assert not [p.name for p in run_dir.iterdir() if "partial" in p.name or p.name.endswith(".tmp")]
    assert digest(data) == data_before


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.slow
def test_a_stale_lock_of_a_dead_process_is_taken_over_and_another_computers_is_respected(trained, tmp_path):
    data, _, _ = trained
    run_dir = copy_run(trained, tmp_path)
    data_before = digest(data)

    # a computer we cannot check: respected, and the message says how to free the folder by hand
    elsewhere = {"pid": 4242, "host": "node-17.cluster", "since": time.time() - 30 * 86400, "what": "training",
                 "token": "x"}
    (run_dir / LOCK_FILE).write_text(json.dumps(elsewhere))
    before = digest(run_dir)
    refused = petrilab_here("train", "--resume", run_dir, "--quiet", "--set", "training.epochs=3")
    assert refused.returncode == 2, refused.stderr
    assert "process 4242 on the computer node-17.cluster" in refused.stderr
    assert f"delete the file {run_dir / LOCK_FILE}" in refused.stderr
    assert digest(run_dir) == before

    # this computer, a process that has ended: taken over
    stale = {"pid": dead_pid(), "host": socket.gethostname(), "since": time.time() - 60, "what": "training",
             "token": "y"}
    (run_dir / LOCK_FILE).write_text(json.dumps(stale))
    resumed = petrilab_here("train", "--resume", run_dir, "--quiet", "--set", "training.epochs=3")
    assert resumed.returncode == 0, resumed.stderr
    assert [h["epoch"] for h in runs.read_history(run_dir / runs.HISTORY)] == [0, 1, 2]
    assert not (run_dir / LOCK_FILE).exists()  # released at the end
    assert digest(data) == data_before


def test_hold_folder_is_exclusive_nested_and_never_removes_another_lock(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    with hold_folder(folder, what="prediction"):
        owner = read_lock(folder)
        assert owner["pid"] == os.getpid() and owner["what"] == "prediction"
        with hold_folder(folder):  # nested in one process: shared
            assert read_lock(folder) == owner
        assert read_lock(folder) == owner
        # another process is refused, with who holds it
        probe = subprocess.run([sys.executable, "-c", (
            "import sys; from petrilab.run_lock import hold_folder, FolderBusy\n"
            "try:\n    hold_folder(sys.argv[1]).__enter__()\nexcept FolderBusy as e:\n    print(e); sys.exit(2)"),
            str(folder)], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": APP}, timeout=60)
        assert probe.returncode == 2 and f"process {os.getpid()}" in probe.stdout
        assert "prediction" in probe.stdout
        # someone replaced our lock by hand: leaving must not remove theirs
        other = {**owner, "token": "someone-else"}
        (folder / LOCK_FILE).write_text(json.dumps(other))
    assert read_lock(folder) == other
    (folder / LOCK_FILE).unlink()
    with hold_folder(folder):
        pass
    assert sorted(os.listdir(folder)) == []


# ---------------------------------------------------------------- file modes


@pytest.mark.slow
def test_files_follow_the_umask_in_run_and_prediction_folders(trained, tmp_path):
    data, _, run_dir = trained  # trained with umask 022
    data_before = digest(data)
    for path in [run_dir, *run_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))

    out = tmp_path / "predictions"
    predicted = run("predict", run_dir, data / "round", out, umask=0o022)
    assert predicted.returncode == 0, predicted.stderr
    assert not any(word in predicted.stderr for word in CHATTER), predicted.stderr
    files = [p for p in out.rglob("*")]
    assert any(p.suffix == ".csv" for p in files)
    for path in [out, *files]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))

    # another umask, another mode: the rule is the umask's, not a fixed 0644
    target = tmp_path / "private.txt"
    done = subprocess.run([sys.executable, "-c", "import sys; from petrilab import runs; "
                           "runs.atomic_write_text(sys.argv[1], 'x')", str(target)],
                          env={**os.environ, "PYTHONPATH": APP}, preexec_fn=lambda: os.umask(0o027), timeout=60)
    assert done.returncode == 0 and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert digest(data) == data_before


# ---------------------------------------------------------------- reports never fail a training


BROKEN_TORCH = "raise OSError('libtorch_cuda.so: cannot open shared object file: No such file or directory')\n"


@pytest.mark.slow
def test_a_half_installed_package_or_a_failing_report_never_fails_a_finished_training(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=8, size=32, seed=22)
    data_before = digest(data)
    settings_path = settings_io.save(small_settings(data, training__epochs=1), tmp_path / "s.toml")
    broken = tmp_path / "broken-site"
    (broken / "torch").mkdir(parents=True)
    (broken / "torch" / "__init__.py").write_text(BROKEN_TORCH)

    # a PyTorch that fails when imported: the report names versions without importing anything
    done = run("train", settings_path, "--run-dir", tmp_path / "run", "--quiet", extra_path=str(broken))
    assert done.returncode == 0, done.stderr
    assert events_of(tmp_path / "run", "finished")[-1]["status"] == "completed"
    report = (tmp_path / "run" / runs.REPORT).read_text(encoding="utf-8")
    assert "tensorflow" in report and "libtorch" not in report
    assert not events_of(tmp_path / "run", "warning") or all(
        "report" not in w["message"] for w in events_of(tmp_path / "run", "warning"))

    # a report that cannot be written at all (its name is taken by a folder): a warning, the run completed
    run_dir = tmp_path / "run2"
    (run_dir / runs.REPORT).mkdir(parents=True)
    # the window writes settings.toml first too: a folder holding it is a run folder, not someone else's
    (run_dir / runs.SETTINGS).write_bytes(Path(settings_path).read_bytes())
    done = petrilab_here("train", settings_path, "--run-dir", run_dir, "--quiet")
    assert done.returncode == 0, done.stderr
    assert events_of(run_dir, "finished")[-1]["status"] == "completed"
    warnings = [w for w in events_of(run_dir, "warning") if "report could not be written" in w["message"]]
    assert len(warnings) == 1 and "petrilab report" in warnings[0]["fix"]
    assert read_run(run_dir).status == "completed"
    assert digest(data) == data_before


# ---------------------------------------------------------------- a quiet start and a quiet end


@pytest.mark.slow
def test_train_quiet_prints_no_tensorflow_chatter(tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=8, size=32, seed=23)
    data_before = digest(data)
    settings_path = settings_io.save(small_settings(data, training__epochs=1), tmp_path / "s.toml")
    done = run("train", settings_path, "--run-dir", tmp_path / "run", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"Run folder: {tmp_path / 'run'}"], done.stderr
    assert done.stdout == ""
    assert digest(data) == data_before


def test_a_reader_that_goes_away_ends_every_command_quietly(tiny_classification_dir, tmp_path):
    data_before = digest(tiny_classification_dir)
    for args in (["check", tiny_classification_dir], ["check", tiny_classification_dir, "--json"], ["--help"]):
        proc = petrilab(*args)
        proc.stdout.close()  # `| head -1` that has read its line
        err = proc.stderr.read()
        proc.wait(timeout=120)
        proc.stderr.close()
        assert proc.returncode in (0, 141), (args, proc.returncode, err)
        assert "BrokenPipe" not in err and "Traceback" not in err and err == "", (args, err)
    # and through a real shell pipe
    shell = subprocess.run(["bash", "-o", "pipefail", "-c", f"{sys.executable} -m petrilab check "
                            f"'{tiny_classification_dir}' | head -1"], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": APP}, timeout=120)
    assert shell.stdout.strip().endswith("classes.") and shell.stderr == ""
    assert digest(tiny_classification_dir) == data_before


def test_commands_without_any_stdout_or_stderr_succeed(tiny_classification_dir, tmp_path):
    """A windowed app (the frozen build on Windows and macOS) has no standard output at all: Python's
    sys.stdout is None. Every command must still work and exit 0; the files are what count."""
    data_before = digest(tiny_classification_dir)
    env = {**os.environ, "PYTHONPATH": APP}
    settings_path = tmp_path / "s.toml"
    for args in (["--version"], ["init", "--task", "classification", "--data", tiny_classification_dir,
                                 "-o", settings_path]):
        done = subprocess.run(ENGINE + [str(a) for a in args], env=env, stdin=subprocess.DEVNULL, timeout=120,
                              preexec_fn=lambda: (os.close(1), os.close(2)))
        assert done.returncode == 0, args
    assert settings_path.is_file()
    assert digest(tiny_classification_dir) == data_before
