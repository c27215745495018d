"""Segmentation in the window: the data page on images/ + masks/ folders (overlays, counts, findings) and the
model page's U-Net summary and patch-size control."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from skimage.segmentation import find_boundaries  # noqa: E402

from petrilab import settings as settings_io  # noqa: E402
from petrilab.gui.tasks.segmentation.summary import Pairing, masks_words, resolved_patch  # noqa: E402
from petrilab.gui.widgets.overlay_view import OverlayView, compose_overlay, shrink_for_display  # noqa: E402
from petrilab.prediction.overlay import GREEN, MAGENTA, YELLOW  # noqa: E402
from petrilab.tasks.segmentation.masks import read_class_mask, read_label_mask  # noqa: E402

from helpers import main_window  # noqa: E402

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


@pytest.fixture
def window(qtbot, tmp_path):
    with main_window(tmp_path, (1280, 800), model_helper=False) as w:
        yield w


@pytest.fixture
def window_with_model_helper(qtbot, tmp_path):
    """The window with its real model helper, for the tests that read the helper's answers."""
    with main_window(tmp_path, (1280, 800)) as w:
        yield w


def open_segmentation(qtbot, window, task: str, folder) -> object:
    window.pages["task"].choose(task)
    assert window.context.settings.task.kind == task
    window.go_to("data", force=True)
    page = window.pages["data"]
    page.set_folder(folder)
    qtbot.waitUntil(lambda: page.checked is not None or page.error is not None, timeout=20_000)
    assert page.error is None, page.error and page.error.message
    gallery = page.pairs_gallery
    qtbot.waitUntil(lambda: gallery.loaded == len(gallery.pairs) and gallery.current is not None, timeout=20_000)
    return page


def make_folder(root: Path, n: int = 6, *, missing=(), smaller=(), binary: bool = True) -> Path:
    """n 64×64 grey images with masks of two squares (0/255 when binary, else labels 1 and 2)."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(1)
    for i in range(n):
        Image.fromarray((rng.random((64, 64)) * 200).astype(np.uint8)).save(root / "images" / f"cell{i}.png")
        if i in missing:
            continue
        mask = np.zeros((64, 64), np.uint8)
        mask[8:24, 8:24] = 255 if binary else 1
        mask[36:56, 30:60] = 255 if binary else 2
        if i in smaller:
            mask = mask[:48]
        Image.fromarray(mask).save(root / "masks" / f"cell{i}.png")
    return root


def texts(page) -> list[str]:
    """Every finding's words, as shown."""
    return [row.findChildren(type(page.status))[-1].text() for row in page.findings_card.rows]


# ---------------------------------------------------------------- the overlay, pixel by pixel


def test_outlines_are_drawn_exactly_on_the_mask_edges_and_nowhere_else():
    image = np.full((40, 50), 1000, np.uint16)
    image[0, 0] = 0  # a contrast to stretch: the flat grey becomes one mid-grey value
    labels = np.zeros((40, 50), np.int32)
    labels[5:15, 5:15] = 1
    labels[20:30, 20:35] = 2
    rgb = compose_overlay(image, labels, mode="outline")
    plain = compose_overlay(image)
    edge = find_boundaries(labels, mode="inner")
    changed = np.any(rgb != plain, axis=2)
    assert np.array_equal(changed, edge)  # every edge pixel coloured, nothing else touched
    assert not np.array_equal(rgb[10, 5], rgb[25, 20])  # two objects, two colours

    filled = compose_overlay(image, labels, mode="fill", alpha=0.5)
    inside = (labels > 0) & ~edge
    assert np.all(np.any(filled[inside] != plain[inside], axis=1))  # the objects are tinted
    assert np.array_equal(filled[labels == 0], plain[labels == 0])  # the background is not

    binary = compose_overlay(image, labels > 0)
    assert tuple(binary[5, 10]) == YELLOW  # a plain mask is yellow


def test_second_overlay_shows_predicted_against_true():
    image = np.random.default_rng(0).random((30, 30)).astype(np.float32)
    true = np.zeros((30, 30), np.int32)
    true[5:15, 5:15] = 1
    pred = np.zeros((30, 30), np.int32)
    pred[5:15, 5:15] = 1
    pred[20:28, 20:28] = 1  # a false positive
    rgb = compose_overlay(image, true, pred)
    assert tuple(rgb[5, 10]) == YELLOW  # both agree
    assert tuple(rgb[20, 24]) == MAGENTA  # predicted only
    pred[5:15, 5:15] = 0
    assert tuple(compose_overlay(image, true, pred)[5, 10]) == GREEN  # missed


def test_overlay_view_shows_and_hides_the_mask_and_takes_any_image(qtbot):
    view = OverlayView(minimum=40)
    qtbot.addWidget(view)
    image = np.random.default_rng(0).random((20, 30, 2)).astype(np.float32)  # two channels, float
    labels = np.zeros((20, 30), np.uint8)
    labels[4:10, 4:10] = 1
    view.set_arrays(image, labels)
    assert view.rgb.shape == (20, 30, 3) and tuple(view.rgb[4, 6]) == YELLOW
    view.set_overlay_visible(False)
    assert tuple(view.rgb[4, 6]) != YELLOW
    view.resize(300, 100)
    rect = view.picture_rect()
    assert rect.height() == 100 and rect.width() == 150  # aspect kept
    with pytest.raises(ValueError):
        view.set_arrays(image, labels[:10])
    small, small_labels, _ = shrink_for_display(np.zeros((1000, 400)), np.zeros((1000, 400)), longest=250)
    assert small.shape == small_labels.shape == (250, 100)


# ---------------------------------------------------------------- the data page


def test_semantic_demo_shows_pairs_with_their_masks_and_the_counts(qtbot, window):
    page = open_segmentation(qtbot, window, "semantic", DEMO / "semantic")
    report = page.checked.report
    assert report.n_images == 30 and page.problem() is None
    f = page.summary_fields
    assert all(f[name].isVisibleTo(page) for name in ("Masks", "Mask values", "Objects", "Object sizes"))
    assert "every image has its mask" in f["Masks"].text() and "of another size" not in f["Masks"].text()
    assert "0 = background" in f["Mask values"].text() and "1 = foreground" in f["Mask values"].text()
    assert "140 'foreground' regions" in f["Objects"].text()
    assert "median 306 pixels" in f["Object sizes"].text() and "smallest 76" in f["Object sizes"].text()
    assert "128 × 128 pixels" in f["Training patches"].text()
    assert "grey" in f["Channels"].text()
    assert not page.chart.isVisibleTo(page) and not page.thumbnails.isVisibleTo(page)
    # "from the data" already gives the proposed patch: no button to set it again
    assert "data.patch_size" not in page.proposals_card.buttons

    gallery = page.pairs_gallery
    assert len(gallery.pairs) == 24 and gallery.list.count() == 24  # spread over the 30 pairs
    assert all("foreground" in gallery.list.item(r).text() for r in range(gallery.list.count()))
    # the large view shows exactly the mask's outline, in yellow, on the first pair
    image_path, mask_path = gallery.pairs[0]
    mask = read_class_mask(mask_path)
    edge = find_boundaries(mask, mode="inner")
    rgb = gallery.view.rgb
    assert rgb.shape[:2] == mask.shape
    assert np.all(rgb[edge] == YELLOW)
    assert not np.any(np.all(rgb[~edge] == YELLOW, axis=1))
    # filled: the objects are tinted, the background is the plain image
    gallery.set_mode("fill")
    assert np.all(np.any(gallery.view.rgb[mask > 0] != rgb[mask > 0], axis=1) | edge[mask > 0])
    gallery.set_mode("none")
    assert not np.any(np.all(gallery.view.rgb == YELLOW, axis=2))
    # another pair, then enlarged in its own window
    gallery.select(2)
    qtbot.waitUntil(lambda: gallery.caption.text().startswith(f"<b>{Path(gallery.pairs[2][0]).name}"),
                    timeout=10_000)
    gallery.set_mode("outline")
    gallery.view.clicked.emit()
    assert gallery.enlarged is not None and gallery.enlarged.view.rgb.shape[:2] == gallery.view.rgb.shape[:2]
    gallery.enlarged.close()


def test_instance_demo_colours_each_object_and_counts_them(qtbot, window):
    page = open_segmentation(qtbot, window, "instance", DEMO / "instance")
    f = page.summary_fields
    assert "label images" in f["Mask values"].text() and "binary" not in f["Mask values"].text()
    assert f["Objects"].text().startswith("274 objects, 6–14 per image")
    assert "smallest 19" in f["Object sizes"].text() and "largest 433" in f["Object sizes"].text()
    gallery = page.pairs_gallery
    labels, _ = read_label_mask(gallery.pairs[0][1])
    n = len(np.unique(labels)) - 1
    assert gallery.list.item(0).text().endswith(f"{n} objects")
    rgb = gallery.view.rgb
    edge = find_boundaries(labels, mode="inner")
    colours = {tuple(c) for c in rgb[edge]}
    assert len(colours) >= min(n, 6)  # one colour per object (neighbours never share the same label)
    assert np.all(rgb[edge].max(axis=1) >= 200)  # bright outline colours, not the grey image


def test_missing_and_misfit_masks_are_named_with_their_fix(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "bad", n=6, missing=(1,), smaller=(2,), binary=False)
    page = open_segmentation(qtbot, window, "semantic", folder)
    found = "\n".join(texts(page))
    assert "'cell1.png' has no mask" in found and "Add its mask with the same name in 'masks'" in found
    assert "'cell2.png' is 48 × 64 pixels but its image 'cell2.png' is 64 × 64" in found
    assert "Save the mask at the image's size" in found
    masks = page.summary_fields["Masks"].text()
    assert "5 of 6 images have a mask" in masks and "1 mask missing" in masks
    assert "1 mask of another size than its image" in masks
    assert page.problem() and "has no mask" in page.problem()  # cannot go on to the split
    # the pair without a mask comes first in the gallery, said plainly
    gallery = page.pairs_gallery
    assert Path(gallery.pairs[0][0]).name == "cell1.png" and gallery.pairs[0][1] is None
    assert gallery.list.item(0).text().endswith("no mask")
    assert "no mask" in gallery.caption.text() and gallery.current["labels"] is None
    row = next(r for r, (image, _m) in enumerate(gallery.pairs) if Path(image).name == "cell2.png")
    assert "mask 48×64, image 64×64" in gallery.list.item(row).text()


def test_binary_masks_for_instance_are_accepted_and_explained(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "binary", n=4, binary=True)
    page = open_segmentation(qtbot, window, "instance", folder)
    values = page.summary_fields["Mask values"].text()
    assert "4 masks are binary" in values and "connected piece" in values and "touch count as one" in values
    found = "\n".join(texts(page))
    assert "binary" in found and "label image" in found  # the finding and its fix
    assert page.summary_fields["Objects"].text().startswith("8 objects")  # two squares per mask
    assert page.pairs_gallery.list.item(0).text().endswith("2 objects (binary mask)")


def test_folder_without_masks_subfolder_is_refused_in_plain_words(qtbot, window, tmp_path):
    (tmp_path / "flat" / "images").mkdir(parents=True)
    window.pages["task"].choose("semantic")
    window.go_to("data", force=True)
    page = window.pages["data"]
    page.set_folder(tmp_path / "flat")
    qtbot.waitUntil(lambda: page.error is not None, timeout=10_000)
    assert "no 'masks' sub-folder" in page.error.message and "DATA/masks" in page.error.fix
    assert page.pairs_gallery.list.count() == 0


def test_pairing_words():
    assert masks_words(Pairing(images=3, masks=3)).startswith("every image has its mask")
    assert "2 masks missing" in masks_words(Pairing(images=5, masks=3, missing=2))
    assert "1 mask without an image" in masks_words(Pairing(images=1, masks=1, orphans=1))
    assert resolved_patch([100, 100], [16, 32, 64]) == [96, 96]  # a multiple of 2^3
    assert resolved_patch(None) is None


# ---------------------------------------------------------------- the model page


def test_patch_size_control_writes_exactly_data_patch_size(qtbot, window):
    open_segmentation(qtbot, window, "semantic", DEMO / "semantic")
    page = window.pages["model"]
    page.enter_controls()
    settings = window.context.settings
    keys = [k for k in ("data.image_size", "model.filters", "training.batch_size", "data.channels",
                        "model.dropout", "augmentation.zoom")]
    others = {k: settings_io.get_value(settings, k) for k in keys}
    control = page.patch_control
    assert settings.data.patch_size == [] and control.from_data.isChecked()
    assert control.height.value() == 128  # what "from the data" resolves to, shown
    control.from_data.setChecked(False)
    assert settings.data.patch_size == [128, 128]
    control.height.setValue(96)
    assert settings.data.patch_size == [96, 128]
    control.from_data.setChecked(True)
    assert settings.data.patch_size == []
    assert {k: settings_io.get_value(settings, k) for k in keys} == others
    assert "Patch size" in control.widget.toolTip() or "patches" in control.widget.toolTip()
    # segmentation shows the patch size, not the (unused) image size
    assert "data.patch_size" in page.visible_keys() and "data.image_size" not in page.visible_keys()
    # a settings file's value comes back into the control
    window.context.set_value("data.patch_size", [64, 32])
    assert not control.from_data.isChecked() and (control.height.value(), control.width.value()) == (64, 32)


def test_unet_summary_uses_the_workshop_words_and_follows_the_settings(qtbot, window):
    open_segmentation(qtbot, window, "semantic", DEMO / "semantic")
    page = window.pages["model"]
    page.enter_controls()
    assert window.context.settings.model.architecture == "unet"
    text = page.unet_text.text()
    assert "a small U-Net" in text and "petit" not in text and "depth 3" in text and "16 → 32 → 64" in text and "base filters 16" in text
    assert "Batch normalisation on" in text and "dropout 10%" in text and "128 × 128 pixels, a size chosen from the data" in text
    page.controls["model.filters"].widget.setText("32, 64, 128, 256")
    page.controls["model.batch_norm"].widget.setChecked(False)
    text = page.unet_text.text()
    assert "larger U-Net of depth 4" in text and "base filters 32" in text and "Batch normalisation off" in text
    page.choose_architecture("convnet")
    assert not page.unet_text.isVisibleTo(page)
    from petrilab.gui.tasks.segmentation.summary import unet_words

    unchecked = unet_words(window.context.settings, proposal=None)  # before the data check: no "patches of from"
    assert "patches whose size is chosen from the data" in unchecked and " of from " not in unchecked


@pytest.mark.slow
def test_unet_parameter_count_and_architecture_names_not_cut(qtbot, window_with_model_helper):
    window = window_with_model_helper
    open_segmentation(qtbot, window, "semantic", DEMO / "semantic")
    assert window.go_to("model", force=True)
    page = window.pages["model"]
    qtbot.waitUntil(lambda: page.description is not None or page.helper_note is not None, timeout=90_000)
    assert page.helper_note is None, page.helper_note
    first = page.description["total"]
    assert 100_000 < first < 2_000_000 and page.count_label.text() == f"{first:,} parameters"
    names = [page.layer_table.item(r, 0).text() for r in range(page.layer_table.rowCount())]
    assert "down1_conv1" in names and "bottleneck_conv1" in names and "output" in names
    assert page.layer_table.horizontalHeaderItem(1).text() == "Channels"
    assert page.layer_table.item(names.index("down1_conv1"), 1).text() == "16"
    page.controls["model.filters"].widget.setText("8, 16")
    qtbot.waitUntil(lambda: page.description is not None and page.description["total"] != first, timeout=30_000)
    assert page.description["total"] < first
    # every architecture's name fits its button
    assert page.catalogue
    for key, button in page.architecture_buttons.items():
        needed = button.fontMetrics().horizontalAdvance(button.text())
        assert button.width() >= needed + 20, (key, button.text(), button.width(), needed)


def test_split_page_counts_images_not_classes_for_segmentation(qtbot, window):
    open_segmentation(qtbot, window, "semantic", DEMO / "semantic")
    assert window.go_to("split", force=True)
    page = window.pages["split"]
    page.recompute()
    assert page.table.rowCount() == 1 and page.table.item(0, 0).text() == "Images with their masks"
    assert page.table.item(0, 4).text() == "30"
    assert not page.stratify.isVisibleTo(page)
    assert "goes whole, with its mask, to one subset" in page.note.text()


def test_three_classes_keep_their_colour_in_every_image_and_are_named_in_the_legend(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "three", n=4, binary=False)  # classes 1 and 2 in every mask
    only_one = np.zeros((64, 64), np.uint8)
    only_one[8:24, 8:24] = 1  # the last mask holds class 1 alone
    Image.fromarray(only_one).save(folder / "masks" / "cell3.png")
    page = open_segmentation(qtbot, window, "semantic", folder)
    assert page.checked.report.classes == ["background", "class 1", "class 2"]
    gallery = page.pairs_gallery
    qtbot.waitUntil(lambda: gallery.n_classes == 3 and gallery.loaded == len(gallery.pairs)
                    and gallery.current is not None, timeout=10_000)
    assert "1 class 1" in gallery.legend.text() and "2 class 2" in gallery.legend.text()
    first = tuple(gallery.current["pictures"][("outline", True)][8, 12])
    gallery.select(3)
    qtbot.waitUntil(lambda: gallery.current is not None and gallery.current_row == 3
                    and Path(gallery.pairs[3][0]).name in gallery.caption.text(), timeout=10_000)
    alone = tuple(gallery.view.rgb[8, 12])
    assert first == alone != YELLOW  # class 1 has one colour, also in the image without class 2


def test_a_segmentation_test_folder_is_checked_too(qtbot, window, tmp_path):
    train = make_folder(tmp_path / "train", n=4, binary=False)
    test = make_folder(tmp_path / "test", n=3, missing=(0,), binary=False)
    window.pages["task"].choose("semantic")
    window.context.set_value("data.test_folder", str(test))
    page = open_segmentation(qtbot, window, "semantic", train)
    assert page.checked.test_report is not None
    assert page.summary_fields["Test folder"].text() == "2 image/mask pairs"
    assert "Test folder: The image 'cell0.png' has no mask." in "\n".join(texts(page))
