"""The annotation folder (issue #17) and the classical proposal: engine only, no Qt.

Every test that touches originals checks their SHA-256 afterwards: PetriLab never writes in the user's data.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile

from petrilab.annotation.folder import MANIFEST, SAVED, SKIPPED, SORTED, UNSURE, AnnotationFolder
from petrilab.annotation.proposal import propose
from petrilab.data.discovery import discover
from petrilab.data.images import read_image
from petrilab.errors import UserError
from petrilab.export.tiff import read_pixel_size
from petrilab.tasks.segmentation.masks import check_segmentation, discover_segmentation, read_mask

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def originals(tmp_path) -> Path:
    """Three 16-bit TIFFs with a pixel size (0.5 µm), one PNG whose stem clashes with a TIFF's."""
    folder = tmp_path / "my images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ["a", "b", "c"]:
        tifffile.imwrite(folder / f"{name}.tif", rng.integers(0, 4000, (40, 50), dtype=np.uint16),
                         imagej=True, resolution=(2.0, 2.0), metadata={"unit": "micron"})
    from PIL import Image

    Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8)).save(folder / "a.png")
    return folder


def test_segmentation_folder_saves_masks_petrilab_trains_on(originals, tmp_path):
    before = hashes(originals)
    folder = AnnotationFolder.create(tmp_path / "labels", originals, "instance")
    assert [e.name for e in folder.entries] == ["a.png", "a_2.tif", "b.tif", "c.tif"]  # a.png, a.tif: 2 masks
    mask = np.zeros((40, 50), np.uint16)
    mask[5:15, 5:15], mask[20:30, 30:45] = 1, 300  # a label above 255 stays itself
    tif = next(e for e in folder.entries if e.original.endswith("b.tif"))
    folder.save_mask(tif, mask)

    again = AnnotationFolder.open(tmp_path / "labels")
    entry = next(e for e in again.entries if e.original.endswith("b.tif"))
    assert entry.status == SAVED and entry.saved
    np.testing.assert_array_equal(again.read_mask(entry), mask)
    saved = tifffile.imread(again.mask_path(entry))
    assert saved.dtype == np.uint16
    assert read_pixel_size(again.mask_path(entry)).x == pytest.approx(0.5)  # the original's calibration kept
    # the copy is the original byte for byte; only the labelled image is in the dataset
    assert (tmp_path / "labels" / "images" / "b.tif").read_bytes() == (originals / "b.tif").read_bytes()
    dataset = discover_segmentation("instance", tmp_path / "labels")
    assert [s.path.name for s in dataset.samples] == ["b.tif"]
    np.testing.assert_array_equal(read_mask(dataset.samples[0].mask, "instance"), mask)
    for other in again.entries:
        if other is not entry:
            again.save_mask(other, mask)
    report = check_segmentation(discover_segmentation("instance", tmp_path / "labels"))
    assert report.n_images == 4 and report.ok, report.to_text()
    assert hashes(originals) == before


def test_semantic_masks_are_8_bit_class_indices(originals, tmp_path):
    folder = AnnotationFolder.create(tmp_path / "labels", originals, "semantic", ["background", "cell", "debris"])
    mask = np.zeros((40, 50), np.uint8)
    mask[:10], mask[30:] = 1, 2
    folder.save_mask(folder.entries[0], mask)
    assert tifffile.imread(folder.mask_path(folder.entries[0])).dtype == np.uint8
    with pytest.raises(ValueError):  # a class the folder does not have
        folder.save_mask(folder.entries[0], mask + 1)
    assert json.loads((tmp_path / "labels" / MANIFEST).read_text())["classes"] == ["background", "cell", "debris"]


def test_classification_sorts_into_class_folders(originals, tmp_path):
    before = hashes(originals)
    folder = AnnotationFolder.create(tmp_path / "sorted", originals, "classification", ["healthy", "infected"])
    a_png, a_tif, b, c = folder.entries
    folder.sort(a_png, "healthy")
    folder.sort(a_tif, "infected")
    folder.sort(b, "healthy")
    folder.sort(b, "infected")  # changed one's mind: the copy moves
    folder.sort(c, UNSURE)
    root = tmp_path / "sorted"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "annotation.json", "healthy/a.png", "infected/a_2.tif", "infected/b.tif"]
    folder.sort(a_png, SKIPPED)
    folder.sort(a_png, "healthy")
    dataset = discover("classification", root)
    assert dataset.classes == ["healthy", "infected"]
    assert sorted((s.path.name, s.label) for s in dataset.samples) == [("a.png", 0), ("a_2.tif", 1), ("b.tif", 1)]
    statuses = {e["name"]: (e["status"], e["label"]) for e in json.loads((root / MANIFEST).read_text())["images"]}
    assert statuses["c.tif"] == (UNSURE, None) and statuses["b.tif"] == (SORTED, "infected")
    assert hashes(originals) == before


def test_refusals_are_plain_and_name_the_file(originals, tmp_path):
    before = hashes(originals)
    with pytest.raises(UserError, match="inside the images folder") as inside:
        AnnotationFolder.create(originals / "labels", originals, "semantic")
    assert "outside" in inside.value.fix and not (originals / "labels").exists()
    with pytest.raises(UserError, match="cannot be a folder name"):
        AnnotationFolder.create(tmp_path / "x", originals, "classification", ["ok", "a/b"])
    with pytest.raises(UserError, match="not a PetriLab annotation folder") as not_one:
        AnnotationFolder.open(originals)
    assert not_one.value.file.endswith(MANIFEST)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        AnnotationFolder.create(tmp_path / "full", originals, "semantic")
    assert hashes(originals) == before

    # an original changed after it was added: refused, naming it, and nothing written
    folder = AnnotationFolder.create(tmp_path / "labels", originals, "semantic")
    changed = next(e for e in folder.entries if e.original.endswith("c.tif"))
    tifffile.imwrite(originals / "c.tif", np.ones((40, 50), np.uint16))
    with pytest.raises(UserError, match="has changed since") as exc:
        folder.read_image(changed)
    assert exc.value.file.endswith("c.tif")
    with pytest.raises(UserError, match="has changed since"):
        folder.save_mask(changed, np.zeros((40, 50), np.uint8))
    assert not folder.mask_path(changed).exists() and not (tmp_path / "labels" / "images" / "c.tif").exists()


def test_an_unreadable_image_is_refused_by_name(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "broken.tif").write_bytes(b"II*\x00 not really a tiff")
    folder = AnnotationFolder.create(tmp_path / "labels", images, "semantic")
    with pytest.raises(UserError) as exc:
        folder.read_image(folder.entries[0])
    assert "broken.tif" in str(exc.value)


CHILD = textwrap.dedent("""
    import sys, numpy as np
    from petrilab.annotation.folder import AnnotationFolder
    folder = AnnotationFolder.open(sys.argv[1])
    for k in range(1, 100000):
        entry = folder.entries[k % len(folder.entries)]
        folder.save_mask(entry, np.full((40, 50), k % 60000 + 1, np.uint16))
        print(k, flush=True)
""")


def test_a_kill_while_saving_loses_nothing_saved(originals, tmp_path):
    before = hashes(originals)
    AnnotationFolder.create(tmp_path / "labels", originals, "instance")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "app"))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "labels")], stdout=subprocess.PIPE,
                             env=env, text=True)
    try:
        last = 0
        while last < 40:  # let it save a few dozen masks, then kill it wherever it is
            last = int(child.stdout.readline())
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    folder = AnnotationFolder.open(tmp_path / "labels")  # annotation.json is whole
    for entry in folder.entries:
        mask = folder.read_mask(entry)  # every mask is whole: one value everywhere, one the child wrote
        assert entry.status == SAVED and mask is not None
        assert len(np.unique(mask)) == 1 and int(mask[0, 0]) >= last - 4
    assert hashes(originals) == before


def test_the_proposal_finds_the_demo_nuclei():
    images = sorted((DEMO / "instance" / "images").iterdir())[:4]
    for path in images:
        image = read_image(path)
        truth = read_mask(DEMO / "instance" / "masks" / f"{path.stem}.tif", "instance")
        objects = propose(image, objects=True)
        assert objects.dtype == np.uint16
        iou = ((objects > 0) & (truth > 0)).sum() / ((objects > 0) | (truth > 0)).sum()
        assert iou > 0.85, path
        assert 0.6 * truth.max() <= len(np.unique(objects)) - 1 <= 1.3 * truth.max(), path
        classes = propose(image, objects=False)
        assert classes.dtype == np.uint8 and set(np.unique(classes)) <= {0, 1}
        np.testing.assert_array_equal(classes > 0, objects > 0)


def test_the_watershed_splits_two_touching_discs():
    yy, xx = np.mgrid[:60, :90]
    image = (((yy - 30) ** 2 + (xx - 30) ** 2 < 15 ** 2) | ((yy - 30) ** 2 + (xx - 56) ** 2 < 15 ** 2)) * 200.0
    labels = propose(image[..., None], objects=True)
    assert len(np.unique(labels)) == 3  # background and two objects, not one
    assert labels[30, 30] != labels[30, 56] and labels[30, 30] and labels[30, 56]
    assert propose(np.zeros((20, 20, 1)), objects=True).max() == 0  # a blank image proposes nothing


def test_petrilab_check_reads_an_annotation_folder_as_data(originals, tmp_path):
    """The command the Data page runs, on both layouts the annotation folder writes."""
    segmentation = AnnotationFolder.create(tmp_path / "masks", originals, "semantic")
    for entry in segmentation.entries:
        mask = np.zeros((40, 50), np.uint8)
        mask[10:30, 10:30] = 1
        segmentation.save_mask(entry, mask)
    sorting = AnnotationFolder.create(tmp_path / "classes", originals, "classification", ["dim", "bright"])
    for entry, choice in zip(sorting.entries, ["dim", "bright", "dim", UNSURE]):
        sorting.sort(entry, choice)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "app"))
    reports = {}
    for task, folder in [("semantic", "masks"), ("classification", "classes")]:
        done = subprocess.run([sys.executable, "-m", "petrilab", "check", "--task", task, "--json",
                               str(tmp_path / folder)], capture_output=True, text=True, env=env, timeout=120)
        reports[task] = json.loads(done.stdout)
    assert reports["semantic"]["ok"] and reports["semantic"]["n_images"] == 4
    classes = reports["classification"]
    assert classes["n_images"] == 3 and classes["counts"] == {"bright": 1, "dim": 2}
    # three images are too few to train on, and the check says so; nothing else is wrong with the layout
    assert all("too few" in f["message"] for f in classes["findings"] if f["level"] == "error")


def test_multi_label_tags_write_images_and_labels_csv(originals, tmp_path):
    from petrilab.tasks.tables.dataset import discover_table

    before = hashes(originals)
    folder = AnnotationFolder.create(tmp_path / "tags", originals, "multilabel", ["nucleus", "mito", "golgi"])
    a_png, a_tif, b, c = folder.entries
    folder.tag(a_png, ["golgi", "nucleus"])
    folder.tag(a_tif, [])  # no label at all is an answer
    folder.tag(b, ["mito"])
    folder.sort(c, UNSURE)
    folder.tag(b, ["mito", "nucleus"])  # changed
    root = tmp_path / "tags"
    assert (root / "labels.csv").read_text().splitlines() == [
        "filename,nucleus,mito,golgi", "a.png,1,0,1", "a_2.tif,0,0,0", "b.tif,1,1,0"]
    assert sorted(p.name for p in (root / "images").iterdir()) == ["a.png", "a_2.tif", "b.tif"]
    folder.sort(a_tif, SKIPPED)  # its copy and its row go
    assert not (root / "images" / "a_2.tif").exists() and "a_2.tif" not in (root / "labels.csv").read_text()
    dataset = discover_table("multilabel", root)
    assert dataset.columns == ["nucleus", "mito", "golgi"]
    assert sorted((s.path.name, s.values) for s in dataset.samples) == [("a.png", (1.0, 0.0, 1.0)),
                                                                         ("b.tif", (1.0, 1.0, 0.0))]
    again = AnnotationFolder.open(root)
    assert again.entries[0].tags == ["nucleus", "golgi"] and again.done() == 2
    with pytest.raises(UserError, match="keeps for itself"):
        AnnotationFolder.create(tmp_path / "bad", originals, "multilabel", ["filename", "x"])
    assert hashes(originals) == before


def test_the_proposal_on_scikit_images_coins():
    """A real photograph shipped with scikit-image: 24 coins on a background lit unevenly."""
    from scipy import ndimage as ndi
    from skimage.data import coins

    image = coins()[..., None]
    classes = propose(image, objects=False)
    parts, n = ndi.label(classes)
    sizes = np.bincount(parts.ravel())[1:]
    assert 20 <= (sizes > 500).sum() <= 24 and (sizes <= 500).sum() <= 3  # coins, a few touching, few specks
    objects = propose(image, objects=True)
    object_sizes = np.bincount(objects.ravel())[1:]
    assert 20 <= (object_sizes > 500).sum() <= 30  # touching coins split, about one object per coin
    np.testing.assert_array_equal(objects > 0, classes > 0)
