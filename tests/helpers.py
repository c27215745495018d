"""Helpers the training tests share (imported as `helpers`: pytest puts tests/ on the path)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.events import read_all


# The automatic choices (the learning-rate range test, the flip probe) have their own tests
# (test_lr_and_stopping.py, test_auto_geometry.py, test_welcome.py); elsewhere they cost seconds per training
# and would decide what these values say on tiny data anyway (the range test cannot tell, the probe says no).
FIXED_CHOICES = ["training.learning_rate=0.001", "augmentation.geometric=no"]
FIXED = [word for key_value in FIXED_CHOICES for word in ("--set", key_value)]


def petrilab_here(*args) -> subprocess.CompletedProcess:
    """`petrilab ARGS` through the command line's own `main` in this test process, its printed output captured:
    what `python -m petrilab ARGS` does and says, without starting (and importing TensorFlow into) a child
    process, which costs the suite seconds of processor time each. Tests about the process boundary itself
    (stop, kill, crash, two processes at once, the terminal's encoding) start a real one instead."""
    import io

    from petrilab.cli import main

    argv = [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # --help, a usage error: argparse exits with its code
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(["petrilab", *argv], code, out.getvalue(), err.getvalue())


def small_settings(data_dir, **changes):
    """Classification settings for a tiny, quick training on `data_dir`: 32 × 32 images, a two-block ConvNet,
    batches of 8, 3 epochs. `changes` are settings keys with '__' for the dot (training__epochs=5)."""
    s = settings_io.defaults_for("classification")
    s.name = "small"
    s.data.folder = str(data_dir)
    s.data.image_size = [32, 32]
    s.model.filters = [8, 16]
    s.model.head_units = [16]
    s.training.batch_size = 8
    s.training.epochs = 3
    s.training.learning_rate, s.augmentation.geometric = 0.001, "no"  # FIXED_CHOICES
    for key, value in changes.items():
        settings_io.apply_override(s, key.replace("__", "."), value)
    return s


def events_of(run_dir: Path, kind: str) -> list[dict]:
    """The run's events of one kind, in order."""
    return [e for e in read_all(Path(run_dir) / runs.EVENTS) if e.get("event") == kind]


def train_tiny_segmentation(data, task: str, tmp_path: Path, *settings: str) -> Path:
    """`petrilab init` then `petrilab train` of a tiny U-Net (64-pixel patches, batches of 4, a quarter of the
    images each for validation and test); `settings` are more 'key=value' for --set. Returns the run folder."""
    from petrilab.cli import main

    path = tmp_path / f"{task}.toml"
    assert main(["init", "--task", task, "--data", str(data), "-o", str(path)]) == 0
    run = tmp_path / "run"
    tiny = ["model.filters=[8, 16]", "model.batch_norm=false", "training.learning_rate=0.003",
            "augmentation.geometric=no",
            "training.batch_size=4", "data.patch_size=[64, 64]", "split.validation_fraction=0.25",
            "split.test_fraction=0.25", *settings]
    overrides = [word for key_value in tiny for word in ("--set", key_value)]
    assert main(["train", str(path), "--quiet", "--run-dir", str(run), *overrides]) == 0
    return run


START_SLURM = Path(__file__).parent / "slurm" / "start_slurm.sh"


@contextlib.contextmanager
def running_slurm():
    """SLURM running on this computer (started by tests/slurm/start_slurm.sh, left running for the next tests;
    tests/slurm/stop_slurm.sh stops it), with SLURM_CONF pointing at it while inside: sbatch passes it on to
    the jobs, and a window's child processes read it. Skips, saying why, where SLURM cannot start."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("a test SLURM needs root on Linux (its daemons run as root)")
    missing = [p for p in ("munged", "slurmctld", "slurmd", "sbatch", "squeue") if shutil.which(p) is None]
    if missing or not START_SLURM.is_file():
        pytest.skip(f"SLURM is not installed here ({', '.join(missing) or START_SLURM.name} missing; "
                    "apt-get install slurm-wlm munge)")
    try:
        import fcntl  # POSIX only, like SLURM

        # one start at a time: the suite's parallel workers share this computer's one test SLURM
        with open(Path(tempfile.gettempdir()) / "petrilab-slurm-start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            done = subprocess.run(["bash", str(START_SLURM)], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.skip("SLURM did not start within 2 minutes")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("SLURM_CONF="):
        pytest.skip(f"SLURM could not start here: {(done.stderr or done.stdout).strip()[-400:]}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLURM_CONF", lines[-1].split("=", 1)[1])
        yield os.environ["SLURM_CONF"]


# The window starts its model helper (`petrilab describe-model --serve`, which loads Keras) as soon as a setting
# changes. Most window tests never read its answers, and a helper stopped half-way through loading TensorFlow costs
# seconds of processor time per window. This stand-in reads the requests and answers none (it ends when the window
# closes its input): the Model page stays at "computing", as with the real helper in its first seconds.
SILENT_MODEL_HELPER = [sys.executable, "-c", "import sys; sys.stdin.read()"]


@contextlib.contextmanager
def main_window(tmp_path: Path, size: tuple[int, int] | None = None, model_helper: bool = True):
    """The real main window on a runs folder in tmp_path, shown. Afterwards it is closed without asking to
    save (not by qtbot.addWidget: pytest-qt would close it before the experiment is marked saved), which
    stops the pages' child processes, and destroyed now rather than at interpreter exit. `model_helper=False`:
    the silent stand-in above, for tests that never read the Model page's parameter counts or memory."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from petrilab.gui.context import AppContext
    from petrilab.gui.main_window import MainWindow

    w = MainWindow(AppContext(runs_dir=tmp_path / "runs"))
    if not model_helper:
        w.pages["model"].describer.command = SILENT_MODEL_HELPER
    if size:
        w.resize(*size)
    w.show()
    yield w
    w.context.dirty = False
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
