"""The bad-input matrix: every mistake a user's data or files can hold, through the real command line and window.

Each case asserts the plain message (it names the file and says what to do)
or that the case is handled correctly, and that every input file is byte for
byte unchanged afterwards (sha256 before and after). README's section
"Troubleshooting: what PetriLab says when…" lists the cases and these tests.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402
from PIL import Image  # noqa: E402

from petrilab import runs  # noqa: E402
from petrilab import settings as settings_io  # noqa: E402
from petrilab.cli import main  # noqa: E402
from petrilab.demo import make_classification_demo, make_regression_demo, make_segmentation_demo  # noqa: E402
from petrilab.events import read_all  # noqa: E402

from helpers import FIXED, main_window  # noqa: E402

ENGINE = [sys.executable, "-m", "petrilab"]

ROUND, LONG, FRAGMENTED = "cellules rondes", "noyaux allongés", "fragmentés"


def digest(*folders: Path) -> dict:
    """sha256 of every file below the folders (the input files a test must leave untouched)."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_plain(err: str, *words: str) -> None:
    assert "Traceback" not in err
    assert "What to do:" in err
    for word in words:
        assert word in err, (word, err)


# ---------------------------------------------------------------- the datasets


def write_truncated_tiff(path: Path) -> None:
    tifffile.imwrite(path, (np.arange(64 * 64, dtype=np.uint16) * 13).reshape(64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a copy interrupted half-way


def make_messy_dataset(root: Path) -> Path:
    """Three classes whose folders and files have spaces and accents, and every kind of trouble inside:
    a corrupt and a truncated TIFF, a text file, a z-stack, the same image twice (.png and .tif), colour
    images among grey ones, and one very large image."""
    make_classification_demo(root, n_per_class=10, size=32, seed=21)
    (root / "round").rename(root / ROUND)
    (root / "elongated").rename(root / LONG)
    (root / "fragmented").rename(root / FRAGMENTED)
    (root / ROUND / "round_001.png").rename(root / ROUND / "image n°1 é.png")
    (root / ROUND / "round_002.png").rename(root / ROUND / "细胞 2.png")
    (root / ROUND / "corrupt.tif").write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    write_truncated_tiff(root / ROUND / "truncated.tif")
    tifffile.imwrite(root / ROUND / "large scan.tif", np.full((3000, 4000), 40, np.uint8))
    (root / LONG / "notes.txt").write_text("imaged on the 3rd, 40x objective", encoding="utf-8")
    tifffile.imwrite(root / LONG / "stack.tif", np.zeros((5, 32, 32), np.uint8), imagej=True,
                     metadata={"axes": "ZYX"})
    grey = np.asarray(Image.open(root / FRAGMENTED / "fragmented_001.png"))
    tifffile.imwrite(root / FRAGMENTED / "fragmented_001.tif", grey)  # the same image saved twice
    for i in (2, 3, 4):
        path = root / FRAGMENTED / f"fragmented_{i:03d}.png"
        Image.open(path).convert("RGB").save(root / FRAGMENTED / f"colour {i}.png")
        path.unlink()
    return root


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    return make_messy_dataset(tmp_path_factory.mktemp("messy") / "données cellules")


@pytest.fixture(scope="module")
def messy_run(messy, tmp_path_factory):
    """The messy folder trained through the command line, as a user would: init, then train."""
    work = tmp_path_factory.mktemp("messy-run")
    before = digest(messy)
    settings_path = work / "expérience 1.toml"
    assert main(["init", "--task", "classification", "--data", str(messy), "-o", str(settings_path)]) == 0
    assert main(["train", str(settings_path), "--runs-dir", str(work / "runs"), "--quiet",
                 "--set", "training.epochs=2", "--set", "model.filters=[8, 16]",
                 "--set", "model.head_units=[16]", "--set", "training.batch_size=8", *FIXED]) == 0
    (run_dir,) = (work / "runs").iterdir()
    assert digest(messy) == before
    return run_dir


def run_warnings(run_dir: Path) -> str:
    return "\n".join(f"{e['message']} | {e.get('file')} | {e.get('fix')}"
                     for e in read_all(run_dir / runs.EVENTS) if e["event"] == "warning")


def split_files(run_dir: Path) -> set[str]:
    with open(run_dir / runs.SPLIT, newline="", encoding="utf-8") as f:
        return {Path(row["file"]).name for row in csv.DictReader(f)}


# ---------------------------------------------------------------- images


@pytest.mark.slow
def test_corrupt_and_truncated_tiff_are_left_out_by_name(messy, messy_run, capsys):
    before = digest(messy)
    code, out, _ = cli(capsys, "check", messy)
    assert code == 0  # a few bad files do not stop the check: they are left out
    for name in ("corrupt.tif", "truncated.tif"):
        assert f"The image '{name}' cannot be read" in out and str(messy / ROUND / name) in out
    assert "left out of training" in out and "Fiji" in out
    warnings = run_warnings(messy_run)
    assert "corrupt.tif" in warnings and "truncated.tif" in warnings and "Replace it with a good copy" in warnings
    assert not {"corrupt.tif", "truncated.tif"} & split_files(messy_run)
    assert digest(messy) == before


@pytest.mark.slow  # the module's trained run
def test_a_file_that_is_not_an_image_is_ignored_and_mentioned(messy, messy_run, capsys):
    before = digest(messy)
    code, out, _ = cli(capsys, "check", messy)
    assert code == 0 and "not images were ignored ('notes.txt')" in out
    assert "notes.txt" not in split_files(messy_run)
    assert digest(messy) == before


@pytest.mark.slow  # the module's trained run
def test_a_z_stack_is_refused_by_name_and_left_out(messy, messy_run, capsys):
    before = digest(messy)
    _, out, _ = cli(capsys, "check", messy)
    assert "The image 'stack.tif' is a z-stack (5 planes)" in out and "Z Project" in out
    assert "stack.tif" in run_warnings(messy_run) and "stack.tif" not in split_files(messy_run)
    assert digest(messy) == before


@pytest.mark.slow  # the module's trained run
def test_the_same_image_saved_twice_is_pointed_out(messy, messy_run, capsys):
    before = digest(messy)
    _, out, _ = cli(capsys, "check", messy)
    assert "'fragmented_001.png', 'fragmented_001.tif' have the same name with different extensions" in out
    assert "Keep one copy" in out and "fragmented_001.tif" in run_warnings(messy_run)
    assert digest(messy) == before


@pytest.mark.slow  # the module's trained run
def test_mixed_grey_and_colour_images_are_all_given_as_colour(messy, messy_run, capsys):
    before = digest(messy)
    _, out, _ = cli(capsys, "check", messy)
    assert "The images mix grey and colour" in out and "data.channels = 3" in out
    assert settings_io.load(messy_run / runs.SETTINGS).data.channels == 3
    assert {"colour 2.png", "fragmented_005.png"} <= split_files(messy_run)  # both kinds trained on
    assert digest(messy) == before


@pytest.mark.slow  # the module's trained run
def test_names_with_spaces_and_accents_train_and_predict_unchanged(messy, messy_run, tmp_path, capsys):
    new = tmp_path / "nouvelles images é"
    new.mkdir()
    shutil.copy(messy / ROUND / "image n°1 é.png", new / "champ n°3 à gauche.png")
    shutil.copy(messy / ROUND / "细胞 2.png", new / "细胞 7.png")
    before = digest(messy, new)
    assert {"image n°1 é.png", "细胞 2.png"} <= split_files(messy_run)
    assert settings_io.load(messy_run / runs.SETTINGS).data.classes == sorted([ROUND, LONG, FRAGMENTED])
    code, _, err = cli(capsys, "predict", messy_run, new, tmp_path / "résultats")
    assert code == 0, err
    with open(tmp_path / "résultats" / "predictions.csv", newline="", encoding="utf-8-sig") as f:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    assert set(rows) == {"champ n°3 à gauche.png", "细胞 7.png"}
    assert all(r["predicted_class"] in (ROUND, LONG, FRAGMENTED) for r in rows.values())
    assert digest(messy, new) == before


@pytest.mark.slow  # the module's trained run
def test_very_large_images_are_resized_for_training_and_prediction(messy, messy_run, tmp_path, capsys):
    assert "large scan.tif" in split_files(messy_run)  # 3000 × 4000, resized to the model's 32 × 32
    _, out, _ = cli(capsys, "check", messy)
    assert "from 32x32 to 3000x4000" in out
    new = tmp_path / "scans"
    new.mkdir()
    tifffile.imwrite(new / "whole slide.tif", np.full((6000, 5000), 30, np.uint8))
    tifffile.imwrite(new / "z stack.tif", np.zeros((4, 32, 32), np.uint8), imagej=True, metadata={"axes": "ZYX"})
    before = digest(new)
    code, _, err = cli(capsys, "predict", messy_run, new, tmp_path / "out")
    assert code == 0, err
    with open(tmp_path / "out" / "predictions.csv", newline="", encoding="utf-8-sig") as f:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    assert rows["whole slide.tif"]["predicted_class"] in (ROUND, LONG, FRAGMENTED)
    assert "z-stack" in rows["z stack.tif"]["problem"] and not rows["z stack.tif"]["predicted_class"]
    assert digest(new) == before
    # segmentation predicts large images by tiles, never whole: see test_segmentation_outputs.py
    # (test_tiled_prediction_into_a_memmap) and benchmarks/RESULTS.md for the peak memory of a 4096² image


def test_the_check_through_a_real_process_shows_no_traceback(messy):
    before = digest(messy)
    result = subprocess.run(ENGINE + ["check", str(messy)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"}, encoding="utf-8")
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr
    assert "corrupt.tif" in result.stdout and "The data is ready to train." in result.stdout
    assert digest(messy) == before


# ---------------------------------------------------------------- folders that cannot be classes


def test_an_empty_class_folder_is_named(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=22)
    (data / "dividing").mkdir()
    before = digest(data)
    code, _, err = cli(capsys, "init", "--task", "classification", "--data", data, "-o", tmp_path / "s.toml")
    assert code == 2
    assert_plain(err, "The class folder 'dividing' has no images", str(data / "dividing"), "remove the empty folder")
    assert not (tmp_path / "s.toml").exists() and digest(data) == before


def test_a_single_class_is_refused(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=23)
    shutil.rmtree(data / "elongated")
    shutil.rmtree(data / "fragmented")
    before = digest(data)
    code, _, err = cli(capsys, "init", "--task", "classification", "--data", data, "-o", tmp_path / "s.toml")
    assert code == 2
    assert_plain(err, "only one class ('round')", str(data), "Add a sub-folder with the images of another class")
    assert digest(data) == before


# ---------------------------------------------------------------- masks


@pytest.fixture
def broken_masks(tmp_path) -> Path:
    data = make_segmentation_demo(tmp_path / "nuclei", task="semantic", n_images=6, size=64, seed=24)
    masks = sorted((data / "masks").iterdir())
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(masks[0])  # drawn on a cropped copy
    masks[1].unlink()  # a probability map saved as the mask
    tifffile.imwrite(data / "masks" / f"{masks[1].stem}.tif", np.full((64, 64), 0.5, np.float32))
    Image.fromarray((np.zeros((64, 64, 3)) + [255, 0, 0]).astype(np.uint8)).save(masks[2])  # a coloured drawing
    return data


def test_a_mask_of_another_size_than_its_image_is_named(broken_masks, capsys):
    before = digest(broken_masks)
    code, out, _ = cli(capsys, "check", broken_masks, "--task", "semantic")
    assert code == 2
    assert "The mask 'nuclei_001.png' is 48 × 64 pixels but its image 'nuclei_001.png' is 64 × 64" in out
    assert str(broken_masks / "masks" / "nuclei_001.png") in out and "Save the mask at the image's size" in out
    assert digest(broken_masks) == before


def test_a_mask_with_unexpected_values_is_explained(broken_masks, capsys):
    before = digest(broken_masks)
    _, out, _ = cli(capsys, "check", broken_masks, "--task", "semantic")
    assert "The mask 'nuclei_002.tif' has fractional values (e.g. 0.5)" in out and "whole numbers" in out
    assert "The mask 'nuclei_003.png' is a colour image" in out
    code, _, err = cli(capsys, "init", "--task", "semantic", "--data", broken_masks,
                       "-o", broken_masks.parent / "s.toml")
    assert code == 2 and "Traceback" not in err
    assert digest(broken_masks) == before


# ---------------------------------------------------------------- tables


def test_a_table_with_missing_rows_text_and_nan_names_the_lines(tmp_path, capsys):
    data = make_regression_demo(tmp_path / "beads", n_images=20, size=32, seed=25)
    lines = (data / "targets.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].split(",")[0] + ",twelve,3.5"
    lines[3] = lines[3].split(",")[0] + ",NaN,3.5"
    missing = lines.pop(5).split(",")[0]
    (data / "targets.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = digest(data)
    code, out, _ = cli(capsys, "check", data, "--task", "regression")
    assert code == 2 and str(data / "targets.csv") in out
    assert "column 'x' holds text instead of a number on line 3 ('twelve')" in out
    assert "not a finite number on line 4 ('NaN')" in out and "Replace NaN" in out
    assert f"have no line in targets.csv: '{missing}'" in out and "Add a line for each of them" in out
    code, _, err = cli(capsys, "init", "--task", "regression", "--data", data, "-o", tmp_path / "s.toml")
    assert code == 2 and "Traceback" not in err
    assert digest(data) == before


# ---------------------------------------------------------------- output folders


@pytest.mark.slow  # the module's trained run
def test_an_output_folder_inside_the_input_is_refused(messy, messy_run, tmp_path, capsys):
    new = tmp_path / "new images"
    new.mkdir()
    shutil.copy(messy / ROUND / "细胞 2.png", new / "a.png")
    before = digest(messy, new)
    code, _, err = cli(capsys, "predict", messy_run, new, new / "results")
    assert code == 2
    assert_plain(err, f"The output folder {new / 'results'} is inside the input folder", "outside the images")
    # a runs folder inside the data would make the run a class of its own and write into the user's data
    settings_path = messy_run / runs.SETTINGS
    code, _, err = cli(capsys, "train", settings_path, "--runs-dir", messy / "runs")
    assert code == 2
    assert_plain(err, f"The runs folder {messy / 'runs'} is inside the data folder", "--runs-dir")
    assert not (new / "results").exists() and not (messy / "runs").exists()
    assert digest(messy, new) == before


@contextlib.contextmanager
def read_only(folder: Path):
    """`folder` made read-only for real: by its permissions, and for root (whom permissions do not stop)
    with the immutable attribute of the file system; skipped where neither is possible."""
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    immutable = False
    try:
        if _writable(folder) and shutil.which("chattr"):
            immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if _writable(folder):
            pytest.skip("no way to make a folder read-only for this user here")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def _writable(folder: Path) -> bool:
    try:
        (folder / "probe").mkdir()
    except OSError:
        return False
    (folder / "probe").rmdir()
    return True


@pytest.mark.slow  # the module's trained run
def test_a_read_only_output_folder_is_refused_in_plain_words(messy, messy_run, tmp_path, capsys):
    new = tmp_path / "images"
    new.mkdir()
    shutil.copy(messy / ROUND / "细胞 2.png", new / "a.png")
    locked = tmp_path / "locked"
    locked.mkdir()
    before = digest(messy, new, messy_run)
    with read_only(locked):
        code, _, err = cli(capsys, "predict", messy_run, new, locked)
        assert code == 2
        assert_plain(err, f"The output folder {locked} is read-only", "Choose a folder you can write to")
        code, _, err = cli(capsys, "train", messy_run / runs.SETTINGS, "--runs-dir", locked / "runs")
        assert code == 2
        assert_plain(err, f"not allowed to write in the runs folder {locked / 'runs'}", "Choose a runs folder")
        assert not list(locked.iterdir())
    assert digest(messy, new, messy_run) == before


# ---------------------------------------------------------------- settings files


@pytest.mark.parametrize("text, words", [
    ("[training]\nepoch = 5\n", ["Unknown setting 'training.epoch'", "Check its spelling"]),
    ("[training]\nepochs = 'many'\n", ["'training.epochs' must be a whole number", "Change 'training.epochs'"]),
    ("[model]\ndropout = true\n", ["'model.dropout' must be a number", "Change 'model.dropout'"]),
])
def test_a_settings_file_with_unknown_keys_or_wrong_types_names_the_key_and_the_file(tmp_path, capsys, text, words):
    path = tmp_path / "mon expérience.toml"
    path.write_text(text, encoding="utf-8")
    before = digest(tmp_path)
    code, _, err = cli(capsys, "train", path)
    assert code == 2
    assert_plain(err, *words, str(path))
    assert digest(tmp_path) == before and not (tmp_path / "runs").exists()


def test_a_settings_file_from_a_newer_version_is_refused_without_a_traceback(tmp_path):
    path = tmp_path / "from the future.toml"
    path.write_text('format = 99\npetrilab_version = "9.0"\n\n[training]\nepochs = 5\n', encoding="utf-8")
    before = digest(tmp_path)
    result = subprocess.run(ENGINE + ["train", str(path)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"}, encoding="utf-8")
    assert result.returncode == 2
    assert_plain(result.stderr, "written by a newer PetriLab (9.0)", str(path), "Update PetriLab")
    assert digest(tmp_path) == before


# ---------------------------------------------------------------- the window


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    with main_window(tmp_path, model_helper=False) as w:
        yield w


def _checked(qtbot, window, folder):
    page = window.pages["data"]
    window.go_to("data", force=True)
    page.set_folder(folder)
    qtbot.waitUntil(lambda: page.checked is not None or page.error is not None, timeout=30_000)
    return page


def _finding_texts(page) -> str:
    from PySide6.QtWidgets import QLabel

    return "\n".join(label.text() for row in page.findings_card.rows for label in row.findChildren(QLabel))


@pytest.mark.gui
def test_window_data_page_names_the_bad_files_of_a_messy_folder(qtbot, window, messy):
    before = digest(messy)
    page = _checked(qtbot, window, messy)
    text = _finding_texts(page)
    for words in ("'corrupt.tif' cannot be read", "'truncated.tif' cannot be read", "'stack.tif' is a z-stack",
                  "same name with different extensions", "mix grey and colour", "notes.txt", "What to do"):
        assert words in text, words
    assert page.problem() is None  # warnings only: the user may go on
    assert digest(messy) == before


@pytest.mark.gui
def test_window_data_page_explains_a_folder_that_cannot_be_used(qtbot, window, tmp_path):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=26)
    (data / "dividing").mkdir()
    before = digest(data)
    page = _checked(qtbot, window, data)
    assert page.error is not None and page.error_card.isVisibleTo(page)
    assert "The class folder 'dividing' has no images" in page.error_text.text()
    assert "What to do" in page.error_text.text()
    assert not window.next_button.isEnabled()
    assert digest(data) == before


@pytest.mark.gui
@pytest.mark.parametrize("text, words", [
    ("[training]\nepoch = 5\n", "Unknown setting 'training.epoch'"),
    ("[training]\nepochs = 'many'\n", "'training.epochs' must be a whole number"),
    ('format = 99\npetrilab_version = "9.0"\n', "written by a newer PetriLab (9.0)"),
])
def test_window_opening_a_bad_settings_file_shows_a_message(window, tmp_path, text, words):
    path = tmp_path / "expérience.toml"
    path.write_text(text, encoding="utf-8")
    assert not window.load_experiment(path)
    box = window.last_message
    shown = box.text() + "\n" + box.informativeText()
    assert box.isVisible() and words in shown and str(path) in shown and "What to do" in shown
    assert "Traceback" not in shown
    box.close()


@pytest.mark.gui
def test_window_refuses_a_runs_folder_inside_the_data(qtbot, tmp_path):
    from petrilab.gui.context import AppContext
    from petrilab.gui.pages.train_page import TrainPage

    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=27)
    before = digest(data)
    settings = settings_io.defaults_for("classification")
    settings.data.folder = str(data)
    page = TrainPage(AppContext(settings, settings_path=data / "experiment.toml"))  # runs beside it: in the data
    qtbot.addWidget(page)
    assert page.start() is None and not page.engine.is_running()
    assert "is inside the data folder" in page.message.text() and "outside the data folder" in page.message.text()
    assert not (data / "runs").exists() and digest(data) == before
