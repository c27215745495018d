"""Following cluster runs in the window, and the "Run on cluster…" dialog (offscreen, pytest-qt).

The runs folder is made of real run folders: tiny trainings by the real command line (classification of
generated cell shapes, regression of generated bead positions: tests/finished_runs.py's recipes at two learning
rates), each pair written as a sweep would be (slurm.json beside the run), plus cluster runs still queued and a
job script written but never sent. The dialog and the real SLURM train the bundled classification demo.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab import settings as settings_io  # noqa: E402
from petrilab.cli import main  # noqa: E402
from petrilab.command_events import read_command  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402
from petrilab.gui.widgets.runs_watch import RunsWatch  # noqa: E402

import finished_runs  # noqa: E402
from helpers import running_slurm  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "classification"
TINY = ["data.image_size=[32, 32]", "model.filters=[4, 8]", "model.head_units=[8]", "training.epochs=3",
        "training.batch_size=16", "augmentation.geometric=no"]  # the learning rate is what the sweeps change
SWEEP = "training.learning_rate"
EPOCHS = 2  # of the trained runs (tests/finished_runs.py's classification and regression recipes)

def _init(data: Path, task: str, out: Path) -> Path:
    assert main(["init", "--task", task, "--data", str(data), "-o", str(out)]) == 0
    return out


def _slurm_record(run_dir: Path, sweep: str | None, values: dict, job_id: str | None = "4242",
                  task: int | None = None, dry_run: bool = False) -> None:
    runs.atomic_write_json(run_dir / "slurm.json", {
        "job_id": job_id, "array_task": task, "sweep": sweep, "sweep_values": values, "submitted": 1795000000.0,
        "partition": "gpu", "gpus": 1, "time": "04:00:00", "dry_run": dry_run})


@pytest.fixture(scope="module")
def cells_toml(tmp_path_factory) -> Path:
    """The settings `petrilab init` writes for the bundled classification demo (no training)."""
    return _init(DEMO, "classification", tmp_path_factory.mktemp("cells-settings") / "cells.toml")


RATES = (0.01, 0.001)  # each sweep's learning rates: a training of its own, then the cached finished run's


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cells_toml) -> dict:
    """Four real runs, two sweeps of two learning rates: classification (accuracy) and regression (MAE). One run
    of each sweep is the finished run of tests/finished_runs.py (trained once per version of the app, learning
    rate 0.001); the other is trained here by the real command line from the same recipe at 0.01."""
    work = tmp_path_factory.mktemp("cluster-runs")
    store = work / "trained"
    made = {}
    for task, recipe in (("cells", "classification"), ("beads", "regression")):
        cached = finished_runs.copy_of(recipe, store / f"{task}_lr{RATES[1]}")
        assert {f"{SWEEP}={RATES[1]}", f"training.epochs={EPOCHS}"} <= set(finished_runs.RECIPES[recipe].sets)
        own = store / f"{task}_lr{RATES[0]}"
        changed = [v for v in finished_runs.RECIPES[recipe].sets if not v.startswith(SWEEP + "=")]
        sets = [word for key_value in (*changed, f"{SWEEP}={RATES[0]}") for word in ("--set", key_value)]
        # the real command line, in this process (a set-up: no process boundary here)
        assert main(["train", str(cached.settings), "--run-dir", str(own), "--quiet", *sets]) == 0
        made[task] = [own, cached.run]
    for task, pair in made.items():
        for i, (run_dir, rate) in enumerate(zip(pair, RATES)):
            assert (run_dir / runs.BEST_MODEL).is_file()
            _slurm_record(run_dir, f"{task}-sweep", {SWEEP: rate}, task=i)
    return {"work": work, "cells": made["cells"], "beads": made["beads"], "cells_toml": cells_toml}


@pytest.fixture
def user_settings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    yield tmp_path / "qsettings"


@pytest.fixture
def cluster_disk(trained, tmp_path) -> Path:
    """A runs folder as the shared disk shows it: the four trained runs, one queued job, one script only."""
    disk = tmp_path / "cluster-disk" / "runs"
    disk.mkdir(parents=True)
    for run_dir in trained["cells"] + trained["beads"]:
        shutil.copytree(run_dir, disk / run_dir.name)
    queued = disk / "cells_waiting"
    queued.mkdir()
    shutil.copy(trained["cells"][0] / runs.SETTINGS, queued / runs.SETTINGS)
    _slurm_record(queued, None, {}, job_id="4300")
    unsent = disk / "cells_script-only"
    unsent.mkdir()
    shutil.copy(trained["cells"][0] / runs.SETTINGS, unsent / runs.SETTINGS)
    _slurm_record(unsent, None, {}, job_id=None, dry_run=True)
    return disk


def _page(qtbot, tmp_path, folder: Path | None = None):
    from petrilab.gui.pages.runs_page import RunsPage

    page = RunsPage(AppContext(runs_dir=tmp_path / "own-runs"))
    qtbot.addWidget(page)
    if folder is not None:
        page.add_folder(folder)
    page.enter()
    return page


def _row(page, name: str) -> int:
    rows = {page.table.item(r, 0).text(): r for r in range(page.table.rowCount())}
    return rows[name]


def _kept_value(run_dir: Path, metric: str) -> float:
    """The validation value at the run's best epoch, read straight from its events (not through the GUI)."""
    events = [json.loads(line) for line in (run_dir / runs.EVENTS).read_text().splitlines() if line.strip()]
    best = [e for e in events if e["event"] == "finished"][-1]["best_epoch"]
    (epoch,) = [e for e in events if e["event"] == "epoch_end" and e["epoch"] == best]
    return epoch["metrics"][f"val_{metric}"]


@pytest.mark.slow
def test_runs_view_shows_each_status_of_a_cluster_folder(qtbot, tmp_path, user_settings, cluster_disk):
    page = _page(qtbot, tmp_path, cluster_disk)
    assert page.table.rowCount() == 6
    status = {page.table.item(r, 0).text(): page.table.item(r, 2).text() for r in range(6)}
    assert status.pop("cells_waiting") == "queued"
    assert status.pop("cells_script-only") == "script written"
    assert set(status.values()) == {"completed"}
    # two tasks listed: the column says whose metric each value is
    assert page.table.horizontalHeaderItem(4).text() == "Validation score"
    beads = _row(page, "beads_lr0.01")
    assert page.table.item(beads, 4).text().startswith("MAE ")
    assert page.table.item(beads, 6).text() == "learning rate 0.01"  # the sweep column, shown
    assert not page.table.isColumnHidden(6)
    page.timer.stop()


@pytest.mark.slow  # the module's four trained runs
def test_remembered_folders_come_back_and_can_be_forgotten(qtbot, tmp_path, user_settings, cluster_disk):
    page = _page(qtbot, tmp_path)
    assert page.table.rowCount() == 0
    page.add_folder(cluster_disk, remember=True)
    assert page.table.rowCount() == 6
    again = _page(qtbot, tmp_path)  # a new window, the same user
    assert again.table.rowCount() == 6 and str(cluster_disk) in again.where.text()
    again.forget_folder(cluster_disk)
    assert again.table.rowCount() == 0
    assert _page(qtbot, tmp_path).table.rowCount() == 0
    assert cluster_disk.is_dir() and len(list(cluster_disk.iterdir())) == 6  # nothing deleted
    for p in (page, again):
        p.timer.stop()


@pytest.mark.slow  # the module's four trained runs
@pytest.mark.parametrize("task, metric, title, lower_better", [
    ("beads", "mae", "Validation MAE", True),
    ("cells", "accuracy", "Validation accuracy", False),
])
def test_a_sweep_is_compared_best_first_by_its_tasks_metric(qtbot, tmp_path, user_settings, cluster_disk,
                                                            trained, task, metric, title, lower_better):
    page = _page(qtbot, tmp_path, cluster_disk)
    first = cluster_disk / trained[task][0].name
    page.select_runs([first])
    assert page.sweep_button.isEnabled()
    page.compare_sweep()
    assert set(page.selected_runs()) == {cluster_disk / p.name for p in trained[task]}
    table = page.comparison
    assert table.isVisibleTo(page) and table.metric_header() == title
    assert table.rowCount() == 2
    # the order follows the metric and its direction, by the values in the runs' own events
    truth = {f"learning rate {rate}": _kept_value(cluster_disk / p.name, metric)
             for p, rate in zip(trained[task], RATES)}
    shown = [table.item(r, 1).text() for r in range(2)]
    values = [truth[f"learning rate {v}"] for v in shown]  # equal values (a tie) may come in either order
    assert values == sorted(values, reverse=not lower_better) and len(set(shown)) == 2
    expected = [f"learning rate {v}" for v in shown]
    assert table.horizontalHeaderItem(1).text() == "Learning rate"
    # one curve colour per run, the legend names the swept values in the table's order
    legend = page.legend.text()
    assert legend.index(expected[0]) < legend.index(expected[1])
    assert page.curves.metric.plotItem.titleLabel.text.lower().startswith(
        "mean absolute" if metric == "mae" else "accuracy")
    assert page.curves.loss.point_count() == 2 * 2 * EPOCHS  # two runs × training and validation × epochs
    page.timer.stop()


@pytest.mark.slow  # the module's four trained runs
def test_only_one_task_listed_names_its_metric_in_the_header(qtbot, tmp_path, user_settings, trained):
    disk = tmp_path / "beads-only"
    disk.mkdir()
    for run_dir in trained["beads"]:
        shutil.copytree(run_dir, disk / run_dir.name)
    page = _page(qtbot, tmp_path, disk)
    assert page.table.horizontalHeaderItem(4).text() == "Validation MAE"
    page.timer.stop()


def _replay(source: Path, target: Path, upto_epoch: int) -> list[str]:
    """A run as a cluster node writes it: the real events of `source`, up to an epoch; the rest returned."""
    lines = [line for line in (source / runs.EVENTS).read_text().splitlines() if line.strip()]
    target.mkdir(parents=True)
    shutil.copy(source / runs.SETTINGS, target / runs.SETTINGS)
    cut = next(i for i, line in enumerate(lines)
               if json.loads(line)["event"] == "epoch_end" and json.loads(line)["epoch"] == upto_epoch) + 1
    started = [i for i, line in enumerate(lines) if json.loads(line)["event"] == "started"][0]
    event = json.loads(lines[started])
    event["host"] = "node042"  # written on a cluster node: this computer cannot see its process
    lines[started] = json.dumps(event)
    (target / runs.EVENTS).write_text("\n".join(lines[:cut]) + "\n")
    return lines[cut:]


@pytest.mark.slow  # the module's four trained runs
def test_a_running_cluster_run_is_followed_live_in_the_background(qtbot, tmp_path, user_settings, trained):
    disk = tmp_path / "live"
    rest = _replay(trained["cells"][0], disk / "cells_live", upto_epoch=0)
    page = _page(qtbot, tmp_path, disk)
    page.timer.setInterval(50)
    run = disk / "cells_live"
    page.select_runs([run])
    assert page.table.item(0, 2).text() == "running"
    assert page.curves.loss.point_count() == 2  # one epoch: training and validation
    with open(run / runs.EVENTS, "a") as f:  # the node writes the next epoch
        f.write("\n".join(line for line in rest if json.loads(line)["event"] in ("batch", "epoch_end")
                          and json.loads(line).get("epoch") == 1) + "\n")
    qtbot.waitUntil(lambda: page.curves.loss.point_count() == 4, timeout=10_000)
    assert page.table.item(0, 3).text() == "2"
    with open(run / runs.EVENTS, "a") as f:  # ... and the end of the run
        f.write("\n".join(rest) + "\n")
    qtbot.waitUntil(lambda: page.table.item(0, 2).text() == "completed", timeout=10_000)
    page.timer.stop()


@pytest.mark.slow  # the module's four trained runs
def test_runs_compared_stay_selected_while_the_table_changes(qtbot, tmp_path, user_settings, trained):
    disk = tmp_path / "live"
    rest = _replay(trained["cells"][0], disk / "cells_live", upto_epoch=0)
    shutil.copytree(trained["cells"][1], disk / trained["cells"][1].name)
    page = _page(qtbot, tmp_path, disk)
    both = [disk / "cells_live", disk / trained["cells"][1].name]
    page.select_runs(both)
    assert set(page.selected_runs()) == set(both) and page.comparison.isVisibleTo(page)
    assert page.curves.loss.point_count() == 2 + 2 * EPOCHS  # the live run's first epoch, the other run
    with open(both[0] / runs.EVENTS, "a") as f:
        f.write("\n".join(rest) + "\n")
    page.refresh()  # the live run's row changes (epochs, status): the table is rebuilt
    assert page.table.item(_row(page, "cells_live"), 2).text() == "completed"
    assert set(page.selected_runs()) == set(both) and page.comparison.isVisibleTo(page)
    assert page.curves.loss.point_count() == 2 * EPOCHS + 2 * EPOCHS
    page.timer.stop()


@pytest.mark.slow  # the module's four trained runs
def test_looking_again_costs_one_listing_and_one_stat_per_live_run(trained, tmp_path):
    """A slow network disk: nothing that did not change is read again; finished runs are not even stat'ed."""
    disk = tmp_path / "many"
    for i in range(50):
        shutil.copytree(trained["cells"][i % 2], disk / f"run{i:02d}")
    _replay(trained["cells"][0], disk / "run50-live", upto_epoch=0)
    watch = RunsWatch()
    watch.set_sources([disk], [])
    watch.scan()
    paths, news, _ = watch.take()
    assert len(paths) == 51 and all(news[p].events for p in paths)
    before = dict(watch.stats)
    watch.scan()
    assert watch.stats["listings"] - before["listings"] == 1
    assert watch.stats["stats"] - before["stats"] == 1  # the live run only
    assert watch.stats["reads"] == before["reads"]  # it did not grow: nothing read
    assert watch.take()[1] == {}


def test_the_train_page_tells_a_queued_and_a_script_only_run_as_the_runs_page_does(qtbot, tmp_path, user_settings):
    from petrilab.gui.pages.train_page import TrainPage

    page = TrainPage(AppContext(runs_dir=tmp_path / "runs"))
    qtbot.addWidget(page)
    for job_id, dry_run, status, words in (("4300", False, "queued", "Waiting for the run to start…"),
                                           (None, True, "script written", "Its cluster job script was written")):
        run = tmp_path / f"run-{status}"
        settings_io.save(settings_io.defaults_for("classification"), run / runs.SETTINGS)
        _slurm_record(run, None, {}, job_id=job_id, dry_run=dry_run)
        page.show_run(run)
        assert page.status_now() == status and page.status.text().startswith(words)
        page.follower.stop()


# ---------------------------------------------------------------- the dialog


def _dialog(qtbot, context, tmp_path):
    from petrilab.gui.cluster_dialog import ClusterDialog

    dialog = ClusterDialog(context)
    qtbot.addWidget(dialog)
    return dialog


@pytest.fixture
def experiment(cells_toml, tmp_path) -> AppContext:
    path = tmp_path / "cells.toml"
    shutil.copy(cells_toml, path)
    settings = settings_io.load(path)
    return AppContext(settings, settings_path=path, runs_dir=tmp_path / "runs")


@pytest.fixture
def with_sbatch(tmp_path, monkeypatch):
    """A PATH on which an sbatch exists (never called in these tests: they write scripts only)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text("#!/bin/sh\nexit 1\n")
    sbatch.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


def test_dialog_builds_the_exact_command_and_remembers_the_fields(qtbot, tmp_path, user_settings, experiment,
                                                                  with_sbatch):
    dialog = _dialog(qtbot, experiment, tmp_path)
    assert dialog.dry_run.isEnabled() and not dialog.dry_run.isChecked()
    dialog.partition.setText("gpu")
    dialog.gpus.setValue(2)
    dialog.time.setText("04:30")
    dialog.runs_dir.setText("/shared/lab/runs")
    dialog.sweep.setPlainText("training.learning_rate=0.001,0.01\n\nmodel.dropout=0,0.3\n")
    assert dialog.arguments("cells.toml") == [
        "submit", "cells.toml", "--slurm", "--partition", "gpu", "--gpus", "2", "--time", "04:30",
        "--runs-dir", "/shared/lab/runs", "--sweep", "training.learning_rate=0.001,0.01",
        "--sweep", "model.dropout=0,0.3", "--json"]
    dialog.dry_run.setChecked(True)
    assert dialog.arguments("cells.toml")[-2:] == ["--dry-run", "--json"]
    assert dialog.submit_button.text() == "Write script"
    assert "petrilab submit" in dialog.command_label.text() and "--partition gpu" in dialog.command_label.text()
    dialog.remember()
    dialog.close()

    again = _dialog(qtbot, experiment, tmp_path)  # the next time, the same fields
    assert (again.partition.text(), again.gpus.value(), again.time.text(), again.runs_dir.text()) == \
        ("gpu", 2, "04:30", "/shared/lab/runs")
    assert again.sweep.toPlainText() == "training.learning_rate=0.001,0.01\n\nmodel.dropout=0,0.3"
    assert again.dry_run.isChecked()
    # nothing optional filled in: only what is needed
    for edit in (again.partition, again.time):
        edit.clear()
    again.gpus.setValue(0)
    again.sweep.clear()
    again.dry_run.setChecked(False)
    assert again.arguments("x.toml") == ["submit", "x.toml", "--slurm", "--runs-dir", "/shared/lab/runs", "--json"]


def test_dialog_says_what_is_missing_before_running_anything(qtbot, tmp_path, user_settings, experiment,
                                                             with_sbatch):
    dialog = _dialog(qtbot, experiment, tmp_path)
    assert not dialog.submit()
    assert "runs folder" in dialog.message.label.text() and dialog.process is None
    dialog.runs_dir.setText(str(tmp_path / "shared"))
    dialog.sweep.setPlainText("training.learning_rate")
    assert not dialog.submit()
    assert "setting=value1,value2" in dialog.message.label.text()


def test_without_sbatch_the_dialog_says_so_and_offers_the_script_only(qtbot, tmp_path, user_settings, experiment,
                                                                      monkeypatch):
    empty = tmp_path / "no-slurm-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    dialog = _dialog(qtbot, experiment, tmp_path)
    text = dialog.message.label.text()
    assert "sbatch" in text and "not installed" in text and "Write script only" in text
    assert dialog.message.isVisibleTo(dialog)
    assert dialog.dry_run.isChecked() and not dialog.dry_run.isEnabled()
    assert dialog.submit_button.text() == "Write script"
    assert "--dry-run" in dialog.arguments("s.toml")


def _submit_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("petrilab.cluster.submit") is not None
    except ImportError:
        return False


@pytest.mark.skipif(not _submit_available(), reason="petrilab submit is not in this version yet")
def test_write_script_only_through_the_dialog_end_to_end(qtbot, tmp_path, user_settings, experiment):
    """The real `petrilab submit --dry-run --json` in a child process; the Runs page then lists the sweep."""
    from petrilab.gui.pages.runs_page import RunsPage

    runs_page = RunsPage(experiment)
    qtbot.addWidget(runs_page)
    pages: list[str] = []
    experiment.go_to_page.connect(pages.append)
    dialog = _dialog(qtbot, experiment, tmp_path)
    shared = tmp_path / "shared" / "runs"
    dialog.runs_dir.setText(str(shared))
    dialog.time.setText("01:30")
    dialog.sweep.setPlainText("training.learning_rate=0.001,0.01")
    dialog.dry_run.setChecked(True)
    with qtbot.waitSignal(dialog.submitted, timeout=60_000) as signal:
        assert dialog.submit()
    answer = signal.args[0]
    assert answer["job_id"] is None and len(answer["run_dirs"]) == 2 and answer["sweep"]
    script = Path(answer["script"])
    assert script.is_file() and "#SBATCH" in dialog.script.toPlainText()
    assert "sbatch" in dialog.message.label.text()
    assert pages == ["runs"]
    for run_dir in map(Path, answer["run_dirs"]):
        record = json.loads((run_dir / "slurm.json").read_text())
        assert record["dry_run"] is True and record["sweep"] == answer["sweep"]
    # the Runs page lists them, selected for comparison, each labelled by its swept value
    assert set(runs_page.selected_runs()) == {Path(p) for p in answer["run_dirs"]}
    statuses = {runs_page.table.item(r, 2).text() for r in range(runs_page.table.rowCount())}
    assert statuses == {"script written"}
    assert "learning rate 0.001" in runs_page.legend.text()
    runs_page.timer.stop()


@pytest.mark.skipif(not _submit_available(), reason="petrilab submit is not in this version yet")
def test_a_refusal_of_the_engine_is_shown_in_plain_words(qtbot, tmp_path, user_settings, experiment):
    dialog = _dialog(qtbot, experiment, tmp_path)
    dialog.runs_dir.setText(str(tmp_path / "shared"))
    dialog.dry_run.setChecked(True)
    dialog.sweep.setPlainText("training.no_such_setting=1,2")
    assert dialog.submit()
    qtbot.waitUntil(lambda: not dialog.is_running() and dialog.message.kind == "error", timeout=60_000)
    text = dialog.message.label.text()
    assert "no_such_setting" in text and "Traceback" not in text
    assert not (tmp_path / "shared").exists() or not any((tmp_path / "shared").iterdir())
    # read from the command's error event, not its terminal text
    error = read_command(dialog._events).error
    assert "no_such_setting" in error["message"] and html.escape(error["message"]) in text


# ---------------------------------------------------------------- a real SLURM on this computer

@pytest.fixture(scope="module")
def slurm_here():
    """SLURM running on this computer (shared with test_slurm.py); else skipped."""
    with running_slurm():
        yield


@pytest.mark.slow
def test_a_sweep_sent_from_the_dialog_trains_on_slurm_and_the_runs_page_follows_it(
        qtbot, tmp_path, user_settings, trained, slurm_here):
    from petrilab.gui.pages.runs_page import RunsPage

    settings = settings_io.load(trained["cells_toml"])
    for text in [*TINY, "training.epochs=2"]:
        settings_io.apply_override(settings, *settings_io.parse_override(text))
    context = AppContext(settings, runs_dir=tmp_path / "runs")  # never saved: the dialog writes a copy
    runs_page = RunsPage(context)
    qtbot.addWidget(runs_page)
    runs_page.timer.setInterval(300)
    dialog = _dialog(qtbot, context, tmp_path)
    assert not dialog.dry_run.isChecked() and dialog.dry_run.isEnabled()
    shared = tmp_path / "shared" / "runs"
    dialog.runs_dir.setText(str(shared))
    dialog.partition.setText("debug")
    dialog.time.setText("00:10")
    dialog.sweep.setPlainText("training.learning_rate=0.01,0.0003")
    with qtbot.waitSignal(dialog.submitted, timeout=60_000) as signal:
        assert dialog.submit()
    answer = signal.args[0]
    assert answer["job_id"] and answer["job_id"].isdigit() and len(answer["run_dirs"]) == 2
    folders = [Path(p) for p in answer["run_dirs"]]
    assert set(runs_page.selected_runs()) == set(folders)
    runs_page.timer.start()
    seen: set[str] = set()

    def all_completed() -> bool:
        statuses = [runs_page.table.item(r, 2).text() for r in range(runs_page.table.rowCount())]
        seen.update(statuses)
        return statuses == ["completed", "completed"]

    try:
        qtbot.waitUntil(all_completed, timeout=400_000)
    except AssertionError:
        logs = {f.name: (f / runs.SLURM_LOG).read_text(errors="replace")[-1500:] for f in folders
                if (f / runs.SLURM_LOG).exists()}
        raise AssertionError(f"statuses seen: {seen}; logs: {logs}") from None
    assert "failed" not in seen and "crashed" not in seen
    table = runs_page.comparison
    assert table.isVisibleTo(runs_page) and table.metric_header() == "Validation accuracy"
    assert sorted(table.column_texts(1)) == ["0.0003", "0.01"]
    assert runs_page.curves.loss.point_count() == 2 * 2 * 2  # two runs × training and validation × 2 epochs
    runs_page.timer.stop()


@pytest.mark.slow
def test_a_cluster_job_cancelled_before_it_finished_shows_as_failed(qtbot, tmp_path, user_settings, trained,
                                                                   slurm_here):
    from petrilab.gui.pages.runs_page import RunsPage

    context = AppContext(settings_io.load(trained["cells_toml"]), settings_path=trained["cells_toml"],
                         runs_dir=tmp_path / "runs")
    runs_page = RunsPage(context)
    qtbot.addWidget(runs_page)
    runs_page.timer.setInterval(300)
    dialog = _dialog(qtbot, context, tmp_path)
    dialog.runs_dir.setText(str(tmp_path / "shared"))
    dialog.partition.setText("debug")
    dialog.time.setText("00:10")
    dialog.sweep.clear()
    with qtbot.waitSignal(dialog.submitted, timeout=60_000) as signal:
        assert dialog.submit()
    job_id = signal.args[0]["job_id"]
    (run_dir,) = map(Path, signal.args[0]["run_dirs"])
    assert runs_page.table.item(0, 2).text() in ("queued", "running")
    subprocess.run([shutil.which("scancel"), job_id], check=True, timeout=30)
    runs_page.timer.start()
    qtbot.waitUntil(lambda: runs_page.table.item(0, 2).text() == "failed", timeout=120_000)
    tip = runs_page.table.item(0, 2).toolTip()
    assert "cluster job ended before the training finished" in tip and "cancelled" in tip
    runs_page.timer.stop()
