"""Nothing lost, nothing silent (issue #13): prediction and its neighbours, through the command line.

The commands run through `petrilab.cli.main` in the test process (`helpers.petrilab_here`), and in a real
`python -m petrilab` process where the process is what is tested: what a terminal receives for names that
are not UTF-8, and two predictions into one folder at once.

File names that are not UTF-8, output folders in or around the data, earlier
results in the output folder, two predictions into one folder, a full disk,
and files that are not images. Every case checks, by SHA-256, that no input
byte changed and that nothing was added to any data folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from petrilab.demo import make_classification_demo, make_segmentation_demo
from petrilab.file_names import shown

from helpers import FIXED_CHOICES, petrilab_here as petrilab

ENGINE = [sys.executable, "-m", "petrilab"]
TINY = ["model.filters=[4, 8]", "model.batch_norm=false", "training.epochs=1", "training.batch_size=4", *FIXED_CHOICES]
ODD = [b"caf\xe9 %d.png", b"\xe4rger %d.png"]  # Latin-1 names, as a Windows zip unpacked on Linux leaves them


def in_a_process(*args, timeout: int = 600) -> subprocess.CompletedProcess:
    """The real command in its own process; its output must be valid UTF-8 (decoded strictly)."""
    done = subprocess.run(ENGINE + [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args],
                          capture_output=True, timeout=timeout)
    done.stdout, done.stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    return done


def tiny(*settings: str) -> list[str]:
    """--set options for a tiny, quick training (TINY plus `settings`)."""
    return [word for key_value in TINY + list(settings) for word in ("--set", key_value)]


def digest(*folders: Path) -> dict:
    """SHA-256 of every file below the folders, by path (new files show up as new keys)."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def assert_plain(done: subprocess.CompletedProcess, *words: str) -> None:
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "Traceback" not in text and "unexpected problem" not in text and "What to do:" in text, text
    for word in words:
        assert word in text, (word, text)


def rows_of(table: Path) -> list[dict]:
    with open(table, newline="", encoding="utf-8-sig") as f:  # strict UTF-8
        return list(csv.DictReader(f))


def odd_name(folder: Path, pattern: bytes, n: int) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), pattern % n)))


# ---------------------------------------------------------------- two tiny runs, trained once


@pytest.fixture(scope="module")
def odd(tmp_path_factory) -> dict:
    """A classification dataset and a separate test folder whose file names are not UTF-8, and a corrupt
    TIFF among them; trained with `init --test-data` and `train`."""
    root = tmp_path_factory.mktemp("odd")
    data = make_classification_demo(root / "data", n_per_class=8, size=32, seed=5)
    test = make_classification_demo(root / "test", n_per_class=5, size=32, seed=6)
    for folder in (data, test):
        for k, cls in enumerate(sorted(p for p in folder.iterdir() if p.is_dir())):
            first = sorted(cls.iterdir())[0]
            first.rename(odd_name(cls, ODD[k % 2], k))
    odd_name(data / "round", b"d\xe9fectueux %d.tif", 1).write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    for folder in (data, test):  # a class folder too: its name is the class's name
        (folder / "fragmented").rename(odd_name(folder, b"fragment\xe9s%d", 0))
    before = digest(data, test)
    settings = root / "odd.toml"
    done = petrilab("init", "--task", "classification", "--data", data, "--test-data", test, "-o", settings)
    assert done.returncode in (0, 2), done.stderr  # 2: the corrupt file is reported, not fatal for training
    done = petrilab("train", settings, "--quiet", "--run-dir", root / "run", *tiny("data.image_size=[32, 32]"))
    assert done.returncode == 0, done.stderr
    assert digest(data, test) == before
    return {"data": data, "test": test, "run": root / "run", "before": before}


@pytest.fixture(scope="module")
def seg(tmp_path_factory) -> dict:
    """A tiny semantic-segmentation run (DATA/images + DATA/masks), trained through the command line."""
    root = tmp_path_factory.mktemp("seg")
    data = make_segmentation_demo(root / "data", task="semantic", n_images=12, size=64, seed=2)
    settings = root / "seg.toml"
    assert petrilab("init", "--task", "semantic", "--data", data, "-o", settings).returncode == 0
    done = petrilab("train", settings, "--quiet", "--run-dir", root / "run",
                    *tiny("data.patch_size=[32, 32]", "split.validation_fraction=0.25", "split.test_fraction=0.25"))
    assert done.returncode == 0, done.stderr
    return {"data": data, "run": root / "run", "before": digest(data)}


def copies(folder: Path, sources: list[Path]) -> Path:
    folder.mkdir(parents=True)
    for source in sources:
        shutil.copy(source, folder / source.name)
    return folder


# ---------------------------------------------------------------- 1. names that are not UTF-8


@pytest.mark.slow
def test_file_names_that_are_not_utf8_train_evaluate_and_predict_shown_escaped(odd, tmp_path):
    run = odd["run"]
    shown_names = {r"caf\xe9 0.png", r"\xe4rger 1.png", r"caf\xe9 2.png"}
    # split.csv, events.jsonl, test_predictions.csv and the report: valid UTF-8, each odd byte as \xNN
    split = rows_of(run / "split.csv")
    assert shown_names <= {Path(r["file"]).name for r in split}
    assert {r["subset"] for r in split if r["file"].startswith(str(odd["test"]))} == {"test"}
    events = [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    assert events[-1]["event"] == "finished" and events[-1]["status"] == "completed"
    warnings = " ".join(e["message"] for e in events if e["event"] == "warning")
    assert r"d\xe9fectueux 1.tif" in warnings  # the corrupt file is named, escaped the same way
    tested = {Path(r["file"]).name for r in rows_of(run / "test_predictions.csv")}
    assert tested == {p.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                      for p in odd["test"].rglob("*.png")}
    assert r"d\xe9fectueux 1.tif" in (run / "report.html").read_text(encoding="utf-8")
    # settings.toml keeps the class and reads back the folder's real name
    from petrilab import settings as settings_io

    assert r'"fragment\\xe9s0"' in (run / "settings.toml").read_text(encoding="utf-8")
    assert odd_name(odd["data"], b"fragment\xe9s%d", 0).name in settings_io.load(run / "settings.toml").data.classes
    # evaluate finds the test images again from split.csv (the shown names lead back to the files)
    done = petrilab("evaluate", run)
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "evaluation.json").read_text(encoding="utf-8"))["n_images"] == 15
    # predict: in a folder whose own name is not UTF-8, with an unreadable odd-named file
    new = odd_name(tmp_path, b"nouvelles \xe9 %d", 1)
    new.mkdir()
    for path in odd["test"].rglob("*.png"):
        shutil.copy(path, new / path.name)
    shutil.copy(odd_name(odd["data"] / "round", b"d\xe9fectueux %d.tif", 1), new / "x.tif")
    os.rename(new / "x.tif", odd_name(new, b"cass\xe9 %d.tif", 9))
    before = digest(new)
    out = odd_name(tmp_path, b"r\xe9sultats %d", 1)
    done = in_a_process("predict", run, new, out)  # a real process: what a terminal receives is the test
    assert done.returncode == 0, done.stderr
    assert r"r\xe9sultats 1" in done.stdout and r"cass\xe9 9.tif" in done.stderr and "Traceback" not in done.stderr
    rows = {r["file"]: r for r in rows_of(out / "predictions.csv")}
    assert len(rows) == 16 and shown_names <= set(rows)
    assert all(r["predicted_class"] for name, r in rows.items() if name != r"cass\xe9 9.tif")
    assert "cannot be read" in rows[r"cass\xe9 9.tif"]["problem"]
    assert rows[r"\xe4rger 1.png"]["predicted_class"] in ("elongated", r"fragment\xe9s0", "round")
    assert r"p_fragment\xe9s0" in rows[r"\xe4rger 1.png"]
    record = json.loads((out / "prediction.json").read_text(encoding="utf-8"))
    assert [s["file"] for s in record["skipped"]] == [r"cass\xe9 9.tif"]
    assert record["input_folder"].endswith(r"nouvelles \xe9 1")
    assert digest(new) == before and digest(odd["data"], odd["test"]) == odd["before"]


# ---------------------------------------------------------------- 2. never into the data


@pytest.mark.slow
def test_an_output_in_or_around_the_data_is_refused_for_every_command(seg, odd, tmp_path):
    run, data = seg["run"], seg["data"]
    new = copies(tmp_path / "new", sorted((data / "images").iterdir())[:2])
    cases = [
        ((data / "images", data), f"The output folder {data} is the data folder {data}"),  # the case
        ((new, data / "masks"), f"The output folder {data / 'masks'} is inside the data folder {data}"),
        ((new, tmp_path.parent), f"The output folder {tmp_path.parent} contains the data folder"),
        ((new, new), f"The output folder {new} is the input folder {new}"),
        ((new, tmp_path), f"The output folder {tmp_path} contains the input folder {new}"),
    ]
    for (images, output), words in cases:
        assert_plain(petrilab("predict", run, images, output), words, "never writes into your data", "outside")
    # a folder the run was only tested on (its settings' test folder and split.csv)
    assert_plain(petrilab("predict", odd["run"], new, odd["test"] / "round"),
                 f"is inside the data folder {odd['test']}")
    assert_plain(petrilab("report", run, "--pdf", "-o", data / "report.pdf"), "The PDF file", "is inside the data folder")
    assert_plain(petrilab("export", run, "-o", data / "images" / "model.zip"), "The package file",
                 "is inside the data folder")
    assert digest(data) == seg["before"] and digest(odd["data"], odd["test"]) == odd["before"]
    assert sorted(p.name for p in new.iterdir()) == sorted(p.name for p in sorted((data / "images").iterdir())[:2])


# ---------------------------------------------------------------- 3. earlier results, two predictions at once


@pytest.mark.slow
def test_earlier_results_are_replaced_only_when_asked_and_only_petrilabs(seg, tmp_path):
    run, data = seg["run"], seg["data"]
    out = tmp_path / "results"
    assert petrilab("predict", run, data / "images", out).returncode == 0
    assert len(list((out / "masks").iterdir())) == 12
    three = copies(tmp_path / "three", sorted((data / "images").iterdir())[:3])
    os.rename(three / "nuclei_001.png", odd_name(three, b"noyau \xe9 %d.png", 1))  # its mask is named so too
    (out / "my notes.txt").write_text("the user's own file", encoding="utf-8")
    (out / "masks" / "my own mask.tif").write_bytes(b"not PetriLab's")
    earlier = digest(out)
    done = petrilab("predict", run, three, out)
    assert_plain(done, f"The output folder {out} already holds the results of an earlier prediction",
                 "Choose another", "--overwrite")
    assert digest(out) == earlier
    done = petrilab("predict", run, three, out, "--overwrite")
    assert done.returncode == 0, done.stderr
    rows = rows_of(out / "predictions.csv")
    masks = sorted(shown(p.name) for p in (out / "masks").iterdir())
    assert len(rows) == 3 and masks == sorted([Path(r["mask_file"]).name for r in rows] + ["my own mask.tif"])
    assert (out / "my notes.txt").read_text(encoding="utf-8") == "the user's own file"
    assert (out / "masks" / "my own mask.tif").read_bytes() == b"not PetriLab's"
    record = json.loads((out / "prediction.json").read_text(encoding="utf-8"))
    ours = {shown(p.relative_to(out).as_posix()) for p in out.rglob("*") if p.is_file()} - {
        "prediction.json", "my notes.txt", "masks/my own mask.tif"}
    assert set(record["outputs"]) == ours and record["n_inputs"] == 3 and record["input_folder"] == str(three)
    assert r"masks/noyau \xe9 1_mask.tif" in ours
    assert record["model_sha256"] == hashlib.sha256((run / "model.keras").read_bytes()).hexdigest()
    # results of an earlier PetriLab without the record are recognised by their table too
    (out / "prediction.json").unlink()
    assert_plain(petrilab("predict", run, three, out), "already holds the results")
    assert petrilab("predict", run, three, out, "--overwrite").returncode == 0
    assert len(rows_of(out / "predictions.csv")) == 3 and (out / "my notes.txt").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no lock, no temporary folder left
    assert digest(data) == seg["before"]


@pytest.mark.slow
def test_two_predictions_into_one_folder_never_lose_rows(seg, tmp_path):
    run, data = seg["run"], seg["data"]
    images = sorted((data / "images").iterdir())
    first, second = copies(tmp_path / "first", images[:8]), copies(tmp_path / "second", images[8:])
    out = tmp_path / "together"
    started = [subprocess.Popen(ENGINE + ["predict", str(run), str(f), str(out)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE) for f in (first, second)]
    ended = [(p.wait(timeout=600), p.stdout.read().decode(), p.stderr.read().decode()) for p in started]
    won = [k for k, (code, _, _) in enumerate(ended) if code == 0]
    assert len(won) == 1, ended  # one writes; the other is refused (busy, or finding the first's results)
    code, _, err = ended[1 - won[0]]
    assert code == 2 and "Traceback" not in err
    assert "Another prediction is writing into the output folder" in err or "already holds the results" in err
    winner = (first, second)[won[0]]
    assert {r["file"] for r in rows_of(out / "predictions.csv")} == {p.name for p in winner.iterdir()}
    # a prediction that is still running holds the folder: refused by process and computer
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        lock = tmp_path / "busy" / ".petrilab-prediction.lock"
        lock.parent.mkdir()
        lock.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "started": "now"}))
        done = petrilab("predict", run, first, lock.parent)
        assert_plain(done, f"process {holder.pid} on the computer {socket.gethostname()}", "Wait until")
        assert os.listdir(lock.parent) == [lock.name]
    finally:
        holder.kill()
        holder.wait()
    done = petrilab("predict", run, first, lock.parent)  # its process is gone: the lock is stale
    assert done.returncode == 0, done.stderr
    assert not lock.exists() and len(rows_of(lock.parent / "predictions.csv")) == 8
    assert digest(data) == seg["before"]


# ---------------------------------------------------------------- 4. a full disk


@pytest.fixture
def small_disk(tmp_path):
    """A real tiny file system (tmpfs) that fills up; its size is set by `resize(kilobytes)`."""
    mount = tmp_path / "small disk"
    mount.mkdir()
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {done.stderr.decode().strip()}")

    def resize(kilobytes: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={kilobytes}k", str(mount)], check=True, capture_output=True)

    try:
        yield mount, resize
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def used_kb(folder: Path) -> int:
    stat = os.statvfs(folder)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize // 1024


@pytest.mark.slow
def test_a_full_disk_leaves_complete_results_or_none_and_says_so(seg, small_disk, tmp_path):
    mount, resize = small_disk
    run, data = seg["run"], seg["data"]
    one = copies(tmp_path / "one", sorted((data / "images").iterdir())[:1])
    out = mount / "results"
    done = petrilab("predict", run, data / "images", out, "--probabilities")  # 12 images do not fit in 64 kB
    assert_plain(done, f"The disk is full: PetriLab could not save in the output folder {out}",
                 "Free some space on that disk, or choose an output folder on another disk")
    assert os.listdir(mount) == []  # no partial masks, no table, no temporary folder
    assert petrilab("predict", run, one, out).returncode == 0  # one image fits
    earlier = digest(out)
    done = petrilab("predict", run, data / "images", out, "--probabilities", "--overwrite")
    assert_plain(done, "The disk is full", "earlier results, if any, are as they were")
    assert digest(out) == earlier and sorted(os.listdir(out)) == sorted(p.name for p in out.iterdir()
                                                                       if not p.name.startswith("."))
    # evaluate, report and export on a run folder whose disk is full
    shutil.rmtree(out)
    resize(4096)
    copy = Path(shutil.copytree(run, mount / "run"))
    resize(used_kb(mount) + 4)
    kept = digest(copy)
    for args, words in [(("evaluate", copy), "Free some space on that disk, then evaluate again"),
                        (("report", copy), "then run the report again"),
                        (("export", copy, "-o", mount / "model.zip", "--name", "tiny nuclei"), "then export again")]:
        assert_plain(petrilab(*args), "The disk is full", words)
        after = digest(copy)
        after.pop(str(copy / "evaluation_events.jsonl"), None)  # evaluate's events: started, and the error if it fit
        assert after == kept and sorted(os.listdir(mount)) == ["run"]
        assert not [p for p in copy.iterdir() if p.name.startswith(".")]
    assert digest(data) == seg["before"]


# ---------------------------------------------------------------- 5. files that are not images


@pytest.mark.slow
def test_files_predict_cannot_read_are_named_with_the_reason(odd, tmp_path):
    new = tmp_path / "mixed"
    new.mkdir()
    picture = np.asarray(Image.open(next((odd["test"] / "round").glob("round_*.png"))).convert("RGB"))
    Image.fromarray(picture).save(new / "good.png")
    Image.fromarray(picture).save(new / "movie.gif")
    (new / "cells.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    (new / "notes.txt").write_text("40x objective", encoding="utf-8")
    (new / "broken.tif").write_bytes(b"II*\x00" + bytes(64))
    (new / "Thumbs.db").write_bytes(b"\x00")  # the system's own file: not data, not mentioned
    before = digest(new)
    done = petrilab("predict", odd["run"], new, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "Note: Skipped 'movie.gif': a GIF file, which PetriLab does not read: save it as PNG or TIFF" in done.stderr
    assert "Note: Skipped 'cells.webp': a WebP file" in done.stderr
    assert "Note: Skipped 'notes.txt': not an image" in done.stderr
    assert "Note: Skipped 'broken.tif': " in done.stderr and "Thumbs.db" not in done.stderr
    record = json.loads((tmp_path / "out" / "prediction.json").read_text(encoding="utf-8"))
    skipped = {s["file"]: s["reason"] for s in record["skipped"]}
    assert set(skipped) == {"movie.gif", "cells.webp", "notes.txt", "broken.tif"} and all(skipped.values())
    assert {r["file"] for r in rows_of(tmp_path / "out" / "predictions.csv")} == {"good.png", "broken.tif"}
    assert digest(new) == before


# ---------------------------------------------------------------- the window asks before replacing


@pytest.mark.slow
def test_window_asks_before_replacing_earlier_results(qtbot, odd, tmp_path, monkeypatch):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QMessageBox

    from petrilab.gui.context import AppContext
    from petrilab.gui.pages.predict_page import PredictPage

    out = tmp_path / "out"
    assert petrilab("predict", odd["run"], odd["test"] / "round", out).returncode == 0
    context = AppContext()
    page = PredictPage(context)
    qtbot.addWidget(page)
    context.set_run(odd["run"])
    page.enter()
    page.input_edit.setText(str(odd["test"] / "elongated"))
    page.output_edit.setText(str(out))
    started = []
    monkeypatch.setattr(page.engine, "start_predict", lambda *a, **k: started.append(k.get("extra")))
    asked = []
    answer = QMessageBox.No
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer)
    assert page.predict() is False and not started  # No: nothing starts
    assert "already holds the results of an earlier prediction" in asked[0]
    answer = QMessageBox.Yes
    assert page.predict() and started == [["--overwrite"]]
    page.output_edit.setText(str(tmp_path / "fresh"))
    assert page.predict() and started[-1] == [] and len(asked) == 2  # a new folder: no question
