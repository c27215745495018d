"""The bad-input matrix, continued (issue #13, "weak families"): images, leaks, tables, masks, settings, reports.

As in test_bad_input.py: each case goes through the real command line (`main([...])`, the code
`python -m petrilab` runs), asserts the plain message (the file named, what to do) or that the case
is handled, and that every input file is byte for byte unchanged (SHA-256 before and after) with
nothing written into the data folder. README's troubleshooting table lists these tests.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.data.images import image_info, read_image
from petrilab.demo import make_classification_demo, make_multilabel_demo, make_regression_demo, \
    make_segmentation_demo

from helpers import FIXED

from test_bad_input import assert_plain, cli, digest

TINY_TRAINING = ["--set", "training.epochs=1", "--set", "model.filters=[4]", "--set", "model.head_units=[4]",
                 "--set", "training.batch_size=8", "--set", "data.image_size=[16, 16]", *FIXED]


# The two segmentation cases below train only to reach what they check (a warning said as training starts, a
# model that finds nothing): no learning-rate range test, no batch norm to trace, one epoch of small batches.
TINY_UNET = ["--set", "model.batch_norm=false", *FIXED]


def listing(folder: Path) -> set[str]:
    """Every path under a folder: a data folder must hold the same files after PetriLab ran."""
    return {str(p) for p in Path(folder).rglob("*")}


# ---------------------------------------------------------------- image reading


def grey_palette_png(path: Path, values: np.ndarray) -> None:
    """A palette PNG whose colours are greys in reverse order: index i shows grey 255 - i."""
    image = Image.fromarray(values.astype(np.uint8), mode="L").convert("P")
    image.putpalette([v for i in range(256) for v in (255 - i,) * 3])
    image.save(path)


def test_a_palette_png_of_grey_is_read_as_its_grey_values_and_a_palette_mask_as_indices(tmp_path, capsys):
    data = make_segmentation_demo(tmp_path / "cells", task="semantic", n_images=6, size=32, seed=41)
    indices = np.tile(np.arange(32, dtype=np.uint8), (32, 1))
    grey_palette_png(data / "images" / "nuclei_001.png", indices)
    truth = np.asarray(Image.open(data / "masks" / "nuclei_002.png"))
    mask = Image.fromarray(truth.astype(np.uint8), mode="L").convert("P")
    mask.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (253 * 3))  # class 1 drawn red, class 2 green
    mask.save(data / "masks" / "nuclei_002.png")
    before, files = digest(data), listing(data)

    pixels = read_image(data / "images" / "nuclei_001.png")
    assert pixels.shape == (32, 32, 1) and np.array_equal(pixels[..., 0], 255 - indices)  # the grey, not the index
    assert image_info(data / "images" / "nuclei_001.png").channels == 1
    assert np.array_equal(read_image(data / "masks" / "nuclei_002.png", indices=True)[..., 0], truth)
    code, out, _ = cli(capsys, "check", data, "--task", "semantic")
    assert code == 0, out
    assert "palette (indexed) PNGs with grey colours: read as their grey values: 'nuclei_001.png'" in out
    assert "colour image" not in out  # the palette mask is read as its class numbers
    assert digest(data) == before and listing(data) == files


def test_a_cmyk_jpeg_is_converted_to_rgb_and_said(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=42)
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(data / "round" / "print.jpg")  # pure red in print colours
    before = digest(data)
    pixels = read_image(data / "round" / "print.jpg")
    assert pixels.shape == (32, 32, 3) and pixels[..., 0].mean() > 200 and pixels[..., 1].mean() < 60
    assert image_info(data / "round" / "print.jpg").channels == 3
    code, out, _ = cli(capsys, "check", data)
    assert code == 0
    assert "1 image(s) are CMYK JPEGs (print colours): converted to RGB: 'print.jpg'" in out
    assert digest(data) == before


def test_the_exif_orientation_is_applied_and_said_once(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=43)
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255  # a white band on the left, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": viewers show it 40 high, 20 wide
    Image.fromarray(pixels).save(data / "round" / "phone.jpg", exif=exif.tobytes(), quality=95)
    before = digest(data)
    shown = read_image(data / "round" / "phone.jpg")
    info = image_info(data / "round" / "phone.jpg")
    assert shown.shape[:2] == (40, 20) and (info.height, info.width) == (40, 20)
    assert shown[:10].mean() > 200 and shown[-10:].mean() < 50  # the left band is now on top, as viewers show it
    code, out, _ = cli(capsys, "check", data)
    assert code == 0 and out.count("EXIF orientation") == 1 and "'phone.jpg'" in out
    assert digest(data) == before


@contextlib.contextmanager
def as_another_user():
    """Run the block as 'nobody' where we are root: root reads any file whatever its permissions, so a
    chmod 000 file is only unreadable to another user. The real uid stays root, so we can switch back."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def can_open(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except PermissionError:
        return False


@pytest.mark.skipif(not hasattr(os, "seteuid"), reason="file permissions are POSIX here")
def test_a_file_without_read_permission_is_named_as_such_not_as_damaged(capsys):
    top = Path(tempfile.mkdtemp(prefix="petrilab-perm-"))  # not under pytest's private (0700) tmp folder
    try:
        data = make_classification_demo(top / "data", n_per_class=6, size=32, seed=44)
        for p in [top, *data.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        locked = data / "round" / "round_003.png"
        locked.chmod(0o000)
        before = {str(p): p.stat().st_size for p in data.rglob("*") if p.is_file()}
        cli(capsys, "check", data)  # every module the check needs is imported as ourselves first
        with as_another_user():
            if can_open(locked):
                pytest.skip("this system lets us read a chmod 000 file even as another user")
            code, out, _ = cli(capsys, "check", data)
        assert code == 0
        assert "The image 'round_003.png' cannot be opened: PetriLab has no permission to read it." in out
        assert "Ask the file's owner" in out and "damaged" not in out.split("round_003.png")[1][:200]
        locked.chmod(0o644)
        assert {str(p): p.stat().st_size for p in data.rglob("*") if p.is_file()} == before
    finally:
        for p in top.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(top)


def test_a_very_large_png_is_read_not_refused_as_a_decompression_bomb(tmp_path, monkeypatch):
    from PIL import Image as PILImage

    path = tmp_path / "tile scan.png"
    Image.fromarray(np.full((300, 400), 9, np.uint8)).save(path)
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)  # Pillow's guard, made small instead of a 2 GB file
    before = digest(tmp_path)
    assert image_info(path).height == 300 and read_image(path).shape == (300, 400, 1)
    from petrilab.data import pillow_read

    monkeypatch.setattr(pillow_read, "MEMORY_SHARE", 1e-9)  # the memory check still refuses what cannot fit
    with pytest.raises(Exception) as refused:
        read_image(path)
    assert "reading it needs about" in str(refused.value) and "Fiji" in refused.value.fix
    assert digest(tmp_path) == before


def test_tiny_and_very_elongated_images_are_named_by_the_check(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=45)
    Image.fromarray(np.full((1, 1), 80, np.uint8)).save(data / "round" / "dot.png")
    Image.fromarray(np.full((10, 400), 80, np.uint8)).save(data / "elongated" / "strip.png")
    before = digest(data)
    code, out, _ = cli(capsys, "check", data)
    assert code == 0
    assert "2 image(s) are tiny or far longer than wide" in out and "'dot.png' (1 × 1)" in out
    assert "'strip.png' (10 × 400)" in out and "squashed out of shape" in out and "crop or pad" in out
    assert digest(data) == before


def test_the_one_colour_image_that_turns_the_set_to_colour_is_named(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "data", n_per_class=12, size=32, seed=46)
    Image.open(data / "round" / "round_004.png").convert("RGB").save(data / "round" / "odd one.png")
    before = digest(data)
    code, out, _ = cli(capsys, "check", data)
    assert code == 0
    assert ("Most images are grey, but 'odd one.png' is colour (RGB): it was kept. Because of it, every image is "
            "given to the model as colour (RGB).") in out
    assert "data.channels = 3" in out and "set 'data.channels' to 1" in out
    assert digest(data) == before


# ---------------------------------------------------------------- leaks and duplicates


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    """A folder with the same file in two classes, trained through init + train."""
    work = tmp_path_factory.mktemp("leaky")
    data = make_classification_demo(work / "data", n_per_class=8, size=32, seed=47)
    shutil.copy(data / "round" / "round_001.png", data / "elongated" / "copy of round 1.png")
    before, files = digest(data), listing(data)
    assert cli_plain(["init", "--task", "classification", "--data", data, "-o", work / "s.toml"]) == 0
    assert cli_plain(["train", work / "s.toml", "--runs-dir", work / "runs", "--quiet", *TINY_TRAINING]) == 0
    (run,) = (work / "runs").iterdir()
    assert digest(data) == before and listing(data) == files
    return data, run


def cli_plain(args) -> int:
    from petrilab.cli import main

    return main([str(a) for a in args])


@pytest.mark.slow
def test_identical_files_in_two_classes_are_named_and_kept_in_one_subset(leaky, capsys):
    data, run = leaky
    before = digest(data)
    code, out, _ = cli(capsys, "check", data)
    assert code == 0
    assert "'elongated/copy of round 1.png' and 'round/round_001.png' are the same file byte for byte" in out \
        or "'round/round_001.png' and 'elongated/copy of round 1.png' are the same file byte for byte" in out
    assert "different classes ('elongated', 'round')" in out and "keeps identical files in the same subset" in out
    with open(run / runs.SPLIT, newline="", encoding="utf-8") as f:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    assert rows["copy of round 1.png"]["subset"] == rows["round_001.png"]["subset"]
    assert rows["copy of round 1.png"]["sha256"] == rows["round_001.png"]["sha256"]
    assert digest(data) == before


@pytest.mark.slow  # the module's trained run
def test_evaluating_on_images_the_model_trained_on_is_warned(leaky, tmp_path, capsys):
    data, run = leaky
    with open(run / runs.SPLIT, newline="", encoding="utf-8") as f:
        trained = [Path(r["file"]) for r in csv.DictReader(f) if r["subset"] == "train"]
    again = tmp_path / "new test"
    for name in ("round", "elongated", "fragmented"):
        (again / name).mkdir(parents=True)
    seen = [p for p in trained if p.parent.name == "round"][:2]
    for p in seen:
        shutil.copy(p, again / "round" / f"renamed {p.name}")  # renamed: only the bytes tell
    for name in ("elongated", "fragmented"):
        src = sorted((data / name).glob("*.png"))[0]
        Image.fromarray(np.asarray(Image.open(src))[::-1].copy()).save(again / name / "flipped.png")  # new bytes
    before = digest(data, again)
    code, out, err = cli(capsys, "evaluate", run, "--data", again)
    assert code == 0, err
    assert "Note: 2 of the 4 images in" in out and "were used to train this model" in out
    assert "'renamed round_" in out and "scores look better than the model really is" in out
    assert digest(data, again) == before


@pytest.mark.slow
def test_test_images_changed_since_the_split_are_named_by_evaluate(tmp_path, capsys):
    work = tmp_path
    data = make_classification_demo(work / "data", n_per_class=8, size=32, seed=48)
    assert cli_plain(["init", "--task", "classification", "--data", data, "-o", work / "s.toml"]) == 0
    assert cli_plain(["train", work / "s.toml", "--runs-dir", work / "runs", "--quiet", *TINY_TRAINING]) == 0
    (run,) = (work / "runs").iterdir()
    with open(run / runs.SPLIT, newline="", encoding="utf-8") as f:
        tested = [Path(r["file"]) for r in csv.DictReader(f) if r["subset"] == "test"]
    victim = tested[0]
    Image.fromarray(255 - np.asarray(Image.open(victim))).save(victim)  # edited after training
    before = digest(data)
    code, out, err = cli(capsys, "evaluate", run)
    assert code == 0, err
    assert f"1 test image(s) changed since the run was split and trained: '{victim.name}'" in out
    assert digest(data) == before


# ---------------------------------------------------------------- tables


def rewrite_table(path: Path, convert) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(convert(i, line) for i, line in enumerate(lines)) + "\n", encoding="utf-8")


def test_quoted_decimal_commas_with_semicolons_are_read_as_numbers(tmp_path, capsys):
    from petrilab.tasks.tables.dataset import discover_table

    data = make_regression_demo(tmp_path / "beads", n_images=20, size=32, seed=51)
    original = discover_table("regression", data).values()
    # European Excel: ';' between cells and a decimal comma, each number quoted
    rewrite_table(data / "targets.csv", lambda i, line: line.replace(",", ";") if i == 0 else
                  ";".join([line.split(",")[0]] + [f'"{v.replace(".", ",")}"' for v in line.split(",")[1:]]))
    before = digest(data)
    assert np.allclose(discover_table("regression", data).values(), original)
    code, out, _ = cli(capsys, "check", data, "--task", "regression")
    assert code == 0 and "holds text" not in out and "The data is ready to train." in out
    assert digest(data) == before


def test_true_false_labels_are_read_as_one_and_zero(tmp_path, capsys):
    data = make_multilabel_demo(tmp_path / "cells", n_images=40, size=32, seed=52)
    rewrite_table(data / "labels.csv", lambda i, line: line if i == 0 else ",".join(
        [line.split(",")[0]] + [{"1": "TRUE", "0": "FALSE"}[v] for v in line.split(",")[1:]]))
    before, files = digest(data), listing(data)
    code, out, _ = cli(capsys, "check", data, "--task", "multilabel")
    assert code == 0, out
    assert "'nucleus', 'spots', 'membrane' of labels.csv hold TRUE/FALSE (as Excel writes them): read as 1 and 0" \
        in out
    code, out, err = cli(capsys, "init", "--task", "multilabel", "--data", data, "-o", tmp_path / "s.toml")
    assert code == 0, err
    assert digest(data) == before and listing(data) == files


def test_an_id_column_is_not_learnt_and_init_says_so(tmp_path, capsys):
    data = make_regression_demo(tmp_path / "beads", n_images=20, size=32, seed=53)
    rewrite_table(data / "targets.csv", lambda i, line: ("cell_number," + line) if i == 0 else f"{i},{line}")
    before, files = digest(data), listing(data)
    code, out, err = cli(capsys, "init", "--task", "regression", "--data", data, "-o", tmp_path / "s.toml")
    assert code == 0, err
    assert "The column 'cell_number' of targets.csv looks like a row or object number" in out
    assert "it is not learnt" in out and "Applied: data.target_columns = ['x', 'y']" in out
    assert settings_io.load(tmp_path / "s.toml").data.target_columns == ["x", "y"]
    # chosen on purpose, it is learnt but warned about
    from petrilab.tasks.tables.check import check_table
    from petrilab.tasks.tables.dataset import discover_table

    report = check_table(discover_table("regression", data, ["cell_number", "x"]))
    assert any(f.level == "warning" and "yet it is chosen as a value to learn" in f.message for f in report.findings)
    assert digest(data) == before and listing(data) == files


def test_an_excel_workbook_instead_of_a_csv_is_named_with_the_fix(tmp_path, capsys):
    data = make_regression_demo(tmp_path / "beads", n_images=20, size=32, seed=54)
    (data / "targets.csv").rename(data / "targets.xlsx")  # the bytes do not matter: the name tells
    before = digest(data)
    code, _, err = cli(capsys, "init", "--task", "regression", "--data", data, "-o", tmp_path / "s.toml")
    assert code == 2
    assert_plain(err, f"The folder {data} has targets.xlsx, an Excel workbook", str(data / "targets.xlsx"),
                 "File > Save As > 'CSV UTF-8 (comma delimited)', named targets.csv")
    assert digest(data) == before and not (tmp_path / "s.toml").exists()


def test_a_table_saved_as_csv_txt_by_windows_is_accepted_and_named(tmp_path, capsys):
    data = make_regression_demo(tmp_path / "beads", n_images=20, size=32, seed=55)
    (data / "targets.csv").rename(data / "targets.csv.txt")
    before, files = digest(data), listing(data)
    code, out, _ = cli(capsys, "check", data, "--task", "regression")
    assert code == 0, out
    assert "The table was read from 'targets.csv.txt' (Windows hides the '.txt'" in out
    assert digest(data) == before and listing(data) == files


# ---------------------------------------------------------------- masks


@pytest.mark.slow
def test_every_mask_empty_is_refused_and_no_objects_are_never_a_perfect_score(tmp_path, capsys):
    data = make_segmentation_demo(tmp_path / "nuclei", task="instance", n_images=8, size=32, seed=61)
    empty = make_segmentation_demo(tmp_path / "blank", task="instance", n_images=4, size=32, seed=62)
    for mask in (empty / "masks").iterdir():
        tifffile.imwrite(mask, np.zeros((32, 32), np.uint16))
    before, files = digest(data, empty), listing(empty)
    code, _, err = cli(capsys, "init", "--task", "instance", "--data", empty, "-o", tmp_path / "blank.toml")
    assert code == 2 and "Traceback" not in err
    code, out, _ = cli(capsys, "check", empty, "--task", "instance")
    assert code == 2 and f"Every mask in {empty / 'masks'} is empty (background only): there is nothing to learn" \
        in out and "Draw the objects in the masks" in out
    # a model that finds nothing (every object removed by min_size), scored on masks with nothing: no score at all
    assert cli_plain(["init", "--task", "instance", "--data", data, "-o", tmp_path / "s.toml"]) == 0
    assert cli_plain(["train", tmp_path / "s.toml", "--run-dir", tmp_path / "run", "--quiet",
                      "--set", "training.epochs=1", "--set", "model.filters=[4, 8]", "--set", "data.patch_size=[32, 32]",
                      "--set", "training.batch_size=2", "--set", "postprocess.min_size=100000", *TINY_UNET]) == 0
    code, out, err = cli(capsys, "evaluate", tmp_path / "run", "--data", empty)
    assert code == 0, err
    assert "no objects to score (none in the test masks, none predicted)" in out and "F1 1.000" not in out
    assert "Note: No objects to score" in out and "not a perfect 1.0" in out
    import json

    result = json.loads((tmp_path / "run" / "evaluation_blank.json").read_text(encoding="utf-8"))
    assert result["metrics"]["object_f1"] is None and result["metrics"]["object_precision"] is None
    assert digest(data, empty) == before and listing(empty) == files


def test_an_object_number_in_two_separate_pieces_is_named(tmp_path, capsys):
    data = make_segmentation_demo(tmp_path / "nuclei", task="instance", n_images=6, size=32, seed=63)
    path = data / "masks" / "nuclei_002.tif"
    labels = tifffile.imread(path)
    labels[0:2, 0:2] = labels.max()  # the last object's number painted again in a far corner
    labels[-2:, -2:] = 0
    tifffile.imwrite(path, labels)
    before = digest(data)
    code, out, _ = cli(capsys, "check", data, "--task", "instance")
    assert code == 0
    assert f"In the mask 'nuclei_002.tif', object number(s) {labels.max()} are made of separate pieces" in out
    assert str(path) in out and "Connected Components Labeling" in out
    assert digest(data) == before


def test_jpeg_masks_are_warned_about(tmp_path, capsys):
    data = make_segmentation_demo(tmp_path / "nuclei", task="semantic", n_images=6, size=32, seed=64)
    mask = data / "masks" / "nuclei_003.png"
    Image.open(mask).save(data / "masks" / "nuclei_003.jpg", quality=100)
    mask.unlink()
    before = digest(data)
    code, out, _ = cli(capsys, "check", data, "--task", "semantic")
    assert "1 mask(s) are JPEG files ('nuclei_003.jpg')" in out and "Save masks as PNG or TIFF" in out
    assert digest(data) == before


def test_masks_named_with_a_suffix_are_matched_and_said(tmp_path, capsys):
    data = make_segmentation_demo(tmp_path / "nuclei", task="semantic", n_images=6, size=32, seed=65)
    for mask in sorted((data / "masks").iterdir()):
        mask.rename(mask.with_name(f"{mask.stem}_mask{mask.suffix}"))
    before, files = digest(data), listing(data)
    code, out, err = cli(capsys, "init", "--task", "semantic", "--data", data, "-o", tmp_path / "s.toml")
    assert code == 0, err
    assert "6 mask(s) were matched to their image by the suffix of their name ('nuclei_001_mask.png' is the mask " \
           "of 'nuclei_001.png')" in out and "has no mask" not in out
    assert digest(data) == before and listing(data) == files


# ---------------------------------------------------------------- settings files


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_settings_file_with_a_bom_or_in_utf16_is_read(tmp_path, capsys, encoding):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=71)
    path = tmp_path / "from notepad.toml"
    text = settings_io.dumps(settings_io.defaults_for("classification"))
    text = text.replace('folder = ""', f'folder = "{data.as_posix()}"', 1).replace("epochs = ", "epochs = 3 #", 1)
    path.write_bytes(text.encode(encoding))  # Notepad: a byte-order mark, or UTF-16 ("Unicode")
    before = digest(tmp_path)
    loaded = settings_io.load(path)
    assert loaded.data.folder == str(data) and loaded.training.epochs == 3
    code, _, err = cli(capsys, "train", path, "--set", "training.epochs=0")  # read, then refused for the value
    assert code == 2 and "not valid TOML" not in err and "'training.epochs' is 0" in err
    assert digest(tmp_path) == before


def test_windows_paths_in_a_settings_file_are_explained_or_converted(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "lab" / "cells", n_per_class=6, size=32, seed=72)
    path = tmp_path / "from windows.toml"
    text = settings_io.dumps(settings_io.defaults_for("classification"))
    path.write_text(text.replace('folder = ""', 'folder = "C:\\\\Users\\\\me\\\\data"', 1), encoding="utf-8")
    before = digest(tmp_path)
    code, _, err = cli(capsys, "train", path, "--runs-dir", tmp_path / "runs")
    assert code == 2
    assert_plain(err, "The data folder 'C:\\Users\\me\\data' is a Windows path: this settings file was written on "
                      "Windows", "Point the data folder at the folder on this computer")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("model.keras"))
    # a relative path with backslashes is this computer's path once converted
    path.write_text(text.replace('folder = ""', 'folder = "lab\\\\cells"', 1), encoding="utf-8")
    assert settings_io.load(path).data.folder == str(data)
    assert digest(tmp_path / "lab") == {k: v for k, v in before.items() if "/lab/" in k}


def test_a_run_dir_full_of_other_files_is_refused(tmp_path, capsys):
    data = make_classification_demo(tmp_path / "data", n_per_class=6, size=32, seed=73)
    assert cli_plain(["init", "--task", "classification", "--data", data, "-o", tmp_path / "s.toml"]) == 0
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter 1.docx").write_bytes(b"my thesis")
    before = digest(data, thesis)
    code, _, err = cli(capsys, "train", tmp_path / "s.toml", "--run-dir", thesis)
    assert code == 2
    assert_plain(err, f"The folder {thesis} is not empty ('chapter 1.docx') and is not a PetriLab run folder",
                 "Give --run-dir a new or empty folder")
    assert sorted(p.name for p in thesis.iterdir()) == ["chapter 1.docx"] and digest(data, thesis) == before


@pytest.mark.slow
def test_a_patch_larger_than_the_images_is_said(tmp_path, capsys):
    from petrilab.events import read_all

    data = make_segmentation_demo(tmp_path / "nuclei", task="semantic", n_images=6, size=32, seed=74)
    small = data / "images" / "nuclei_004.png"
    Image.open(small).crop((0, 0, 24, 32)).save(small)
    mask = data / "masks" / "nuclei_004.png"
    Image.open(mask).crop((0, 0, 24, 32)).save(mask)
    assert cli_plain(["init", "--task", "semantic", "--data", data, "-o", tmp_path / "s.toml"]) == 0
    before, files = digest(data), listing(data)
    code, _, err = cli(capsys, "train", tmp_path / "s.toml", "--run-dir", tmp_path / "run", "--quiet",
                       "--set", "data.patch_size=[48, 48]", "--set", "training.epochs=1", "--set", "model.filters=[4, 8]",
                       "--set", "training.batch_size=2", *TINY_UNET)
    assert code == 0, err
    said = "\n".join(e["message"] for e in read_all(tmp_path / "run" / runs.EVENTS) if e["event"] == "warning")
    assert "The training patches (48 × 48, data.patch_size) are larger than some images: the smallest, " \
           "'nuclei_004.png', is 32 × 24" in said and "mirror-padded" in said
    assert settings_io.load(tmp_path / "run" / runs.SETTINGS).data.patch_size == [48, 48]
    assert digest(data) == before and listing(data) == files


# ---------------------------------------------------------------- reports


def test_class_names_in_greek_and_cyrillic_print_in_the_pdf_with_the_shipped_font(tmp_path, monkeypatch, capsys):
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF back (pip install pypdf: the 'test' extra)")
    from petrilab.export import pdf

    shipped = pdf.FONT_FILES[0]
    assert all(Path(f).is_file() for f in shipped) and "resources" in shipped[0]  # in the repository and the app
    monkeypatch.setattr(pdf, "FONT_FILES", [shipped])  # as on a computer with no font of its own
    run = tmp_path / "run"
    run.mkdir()
    settings_io.save(settings_io.defaults_for("multilabel"), run / runs.SETTINGS)
    labels = {"ядро": {"threshold": 0.5, "precision": 0.9, "recall": 0.8, "f1": 0.85, "auc": 0.95, "support": 7},
              "μιτοχόνδρια": {"threshold": 0.5, "precision": 0.5, "recall": 0.4, "f1": 0.44, "auc": 0.7, "support": 3}}
    runs.atomic_write_json(run / runs.EVALUATION, {
        "task": "multilabel", "source": "test split", "warnings": [], "n_images": 10, "classes": list(labels),
        "metrics": {"exact_match": 0.5, "hamming_loss": 0.2, "macro_f1": 0.645, "macro_auc": 0.825,
                    "per_label": labels}})
    before = digest(run)
    code, _, err = cli(capsys, "report", run, "--pdf", "-o", tmp_path / "report.pdf")
    assert code == 0, err
    reader = pypdf.PdfReader(str(tmp_path / "report.pdf"))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "ядро 0.500 0.900 0.800" in text and "μιτοχόνδρια 0.500 0.500 0.400" in text and "???" not in text
    assert {k: v for k, v in digest(run).items() if k in before} == before  # the run's files read, not changed


def test_cjk_class_names_print_where_the_computer_has_a_cjk_font(tmp_path, capsys):
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF back")
    from petrilab.export import pdf

    if not any(Path(p).is_file() for p in pdf.CJK_FONTS):
        pytest.skip("no Chinese/Japanese/Korean font on this computer (e.g. apt-get install fonts-noto-cjk); "
                    "DejaVu, which PetriLab ships, has none")
    run = tmp_path / "run"
    run.mkdir()
    settings_io.save(settings_io.defaults_for("multilabel"), run / runs.SETTINGS)
    labels = {"细胞核": {"threshold": 0.5, "precision": 0.9, "recall": 0.8, "f1": 0.85, "auc": 0.95, "support": 7},
              "other": {"threshold": 0.5, "precision": 0.5, "recall": 0.4, "f1": 0.44, "auc": 0.7, "support": 3}}
    runs.atomic_write_json(run / runs.EVALUATION, {
        "task": "multilabel", "source": "test split", "warnings": [], "n_images": 10, "classes": list(labels),
        "metrics": {"exact_match": 0.5, "hamming_loss": 0.2, "macro_f1": 0.645, "macro_auc": 0.825,
                    "per_label": labels}})
    assert cli(capsys, "report", run, "--pdf", "-o", tmp_path / "report.pdf")[0] == 0
    reader = pypdf.PdfReader(str(tmp_path / "report.pdf"))
    assert "细胞核" in "".join(page.extract_text() for page in reader.pages)


# ---------------------------------------------------------------- a real process


def test_the_weak_cases_through_a_real_process_show_no_traceback(tmp_path):
    import subprocess
    import sys

    data = make_classification_demo(tmp_path / "data", n_per_class=8, size=32, seed=81)
    grey_palette_png(data / "round" / "palette.png", np.tile(np.arange(32, dtype=np.uint8), (32, 1)))
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(data / "round" / "print.jpg")
    Image.fromarray(np.full((1, 1), 80, np.uint8)).save(data / "elongated" / "dot.png")
    shutil.copy(data / "round" / "round_001.png", data / "fragmented" / "twin.png")
    before, files = digest(data), listing(data)
    result = subprocess.run([sys.executable, "-m", "petrilab", "check", str(data)], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONIOENCODING": "utf-8"}, encoding="utf-8")
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr
    for words in ("read as their grey values: 'palette.png'", "converted to RGB: 'print.jpg'", "'dot.png' (1 × 1)",
                  "are the same file byte for byte"):
        assert words in result.stdout, words
    assert digest(data) == before and listing(data) == files
