"""Z-stacks in the window: the data page checks them as `petrilab check` does and shows each stack with its
mask in the stack viewer (a plane with a z slider, cross-sections XZ and YZ at the stack's proportions)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import hashlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from petrilab.gui.widgets.stack_viewer import CROSSHAIR, StackViewer, display_stack  # noqa: E402
from petrilab.tasks.segmentation.demo3d import VOXEL, example_stacks  # noqa: E402

from helpers import main_window  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path):
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))


def digests(folder):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def a_stack(z=6, y=20, x=30):
    """A stack whose every plane has its own brightness, with one box-shaped object (label 3)."""
    pixels = np.zeros((z, y, x), np.uint16)
    pixels += (np.arange(z) * 1000).astype(np.uint16)[:, None, None]
    labels = np.zeros((z, y, x), np.int64)
    labels[1:4, 5:12, 8:20] = 3
    return pixels, labels


def test_one_contrast_for_the_whole_stack():
    pixels, _ = a_stack()
    shown = display_stack(pixels)
    assert shown.shape == (6, 20, 30, 3) and shown.dtype == np.uint8
    means = shown[..., 0].mean(axis=(1, 2))
    assert np.all(np.diff(means) > 0)  # a dim plane stays dim: planes are not stretched one by one


def test_planes_and_cross_sections_show_the_stack_at_its_proportions(qtbot):
    pixels, labels = a_stack()
    viewer = StackViewer()
    qtbot.addWidget(viewer)
    viewer.resize(600, 500)
    viewer.set_stack(display_stack(pixels), labels, voxel=(1.0, 0.25, 0.25))
    assert viewer.thickness == 4  # planes 4× farther apart than pixels: drawn 4 pixels thick
    assert (viewer.z, viewer.y, viewer.x) == (3, 10, 15) and viewer.slider.maximum() == 5
    assert viewer.xy.rgb.shape == (20, 30, 3)
    assert viewer.xz.rgb.shape == (6 * 4, 30, 3)
    assert viewer.yz.rgb.shape == (20, 6 * 4, 3)
    # the crosshair marks where the other views cut: row y and column x on the plane
    assert (viewer.xy.rgb[10, 0] == CROSSHAIR).all() and (viewer.xy.rgb[0, 15] == CROSSHAIR).all()

    viewer.set_view("outline", overlay_visible=False)
    viewer.slider.setValue(5)
    assert viewer.z == 5
    plain_top = viewer.xy.rgb.copy()
    viewer.slider.setValue(0)
    assert viewer.xy.rgb[2, 2].sum() < plain_top[2, 2].sum()  # another plane, darker
    assert "1 of 6 (z = 0.0 µm)" in viewer.where.text()

    # the object (planes 1–3) is outlined on plane 2, absent from plane 5
    viewer.set_view("fill", overlay_visible=True)
    viewer.set_plane(2)
    assert not np.array_equal(viewer.xy.rgb[5:12, 8:20], display_stack(pixels)[2, 5:12, 8:20])
    viewer.set_plane(5)
    outside = viewer.xy.rgb.copy()
    outside[10, :] = outside[:, 15] = 0  # the crosshair aside
    expected = display_stack(pixels)[5].copy()
    expected[10, :] = expected[:, 15] = 0
    assert np.array_equal(outside, expected)

    # a click on the plane moves the cross-sections there
    target = viewer.xy.picture_rect()
    point = QPoint(target.x() + int(target.width() * 25.5 / 30), target.y() + int(target.height() * 2.5 / 20))
    qtbot.mouseClick(viewer.xy, Qt.LeftButton, pos=point)
    assert (viewer.y, viewer.x) == (2, 25)

    with pytest.raises(ValueError):
        viewer.set_stack(display_stack(pixels), labels[:, :10])


def test_the_data_page_checks_stacks_and_shows_them_in_the_stack_viewer(qtbot, tmp_path):
    data = example_stacks(tmp_path / "stacks", n=6, size=(12, 48, 48))
    before = digests(data)
    with main_window(tmp_path, (1280, 800)) as window:
        window.pages["task"].choose("instance")
        window.go_to("data", force=True)
        page = window.pages["data"]
        page.set_folder(data)
        qtbot.waitUntil(lambda: page.checked is not None or page.error is not None, timeout=30_000)
        assert page.error is None, page.error and page.error.message
        report = page.checked.report
        assert report.dimensions == "3d" and report.n_images == 6 and report.voxel == pytest.approx(list(VOXEL))
        words = " ".join(f.message for f in report.findings)
        assert "6 z-stacks" in words and "4× farther apart" in words and "is a z-stack" not in words
        per_stack = [len(np.unique(tifffile.imread(m))) - 1 for m in sorted((data / "masks").iterdir())]
        objects = report.masks["objects"]["object"]
        assert objects["count"] == sum(per_stack) and objects["per_image"]["max"] == max(per_stack)

        gallery = page.pairs_gallery
        qtbot.waitUntil(lambda: gallery.current is not None, timeout=30_000)
        assert gallery.stack_view.isVisible() and not gallery.view.isVisible()
        assert f"{per_stack[0]} objects in 12 planes" in gallery.caption.text()
        viewer = gallery.stack_view
        assert viewer.xz.rgb.shape[0] == 12 * 4
        first = viewer.xy.rgb.copy()
        viewer.slider.setValue(0)
        assert not np.array_equal(first, viewer.xy.rgb)
        gallery.set_mode("none")
        assert not viewer.xy.overlay_visible
    assert digests(data) == before
