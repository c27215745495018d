"""The data check for z-stacks (tasks/segmentation/stack_check.py): sizes, voxel sizes, masks of the same shape."""

import hashlib

import numpy as np
import pytest
import tifffile

from petrilab.data.check import ERROR
from petrilab.tasks import STACK_TASKS
from petrilab.tasks.segmentation.masks import discover_segmentation
from petrilab.tasks.segmentation.stack_check import check_stack_segmentation

TASK = STACK_TASKS[0]


def sha_all(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def write(path, data, voxel=(1.0, 0.25, 0.25)):
    z, y, x = voxel
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / x, 1 / y),
                     metadata={"spacing": z, "unit": "micron", "axes": "ZYX"})


def stacks_folder(tmp_path, n=3, mask_shape=None, voxels=None):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    rng = np.random.default_rng(1)
    for i in range(n):
        image = rng.integers(0, 255, (6, 16, 20)).astype(np.uint8)
        mask = (image > 128).astype(np.uint8)
        if mask_shape and i == 1:
            mask = np.zeros(mask_shape, np.uint8)
        voxel = voxels[i] if voxels else (1.0, 0.25, 0.25)
        write(tmp_path / "images" / f"stack{i}.tif", image, voxel)
        write(tmp_path / "masks" / f"stack{i}.tif", mask, voxel)
    return tmp_path


def test_good_stacks_reported_in_plain_words(tmp_path):
    folder = stacks_folder(tmp_path)
    report = check_stack_segmentation(discover_segmentation(TASK, folder))
    assert report.ok and report.n_images == 3 and report.sizes == {"6 × 16 × 20": 3}
    words = " ".join(f.message for f in report.findings)
    assert "3 z-stacks: 3 of 6 × 16 × 20 (z × y × x)" in words
    assert "planes are 4× farther apart than pixels" in words
    assert report.masks["values"] == [0, 1]


def test_mask_of_another_shape_is_named(tmp_path):
    folder = stacks_folder(tmp_path, mask_shape=(5, 16, 20))
    before = sha_all(folder)
    report = check_stack_segmentation(discover_segmentation(TASK, folder))
    errors = [f for f in report.findings if f.level == ERROR]
    assert not report.ok and len(errors) == 1 and report.n_images == 2
    assert "'stack1.tif' is 5 × 16 × 20 but its stack 'stack1.tif' is 6 × 16 × 20" in errors[0].message
    assert errors[0].file.endswith("masks/stack1.tif") and errors[0].fix
    assert sha_all(folder) == before


def test_a_2d_mask_for_a_stack_is_named(tmp_path):
    folder = stacks_folder(tmp_path, n=2)
    tifffile.imwrite(folder / "masks" / "stack0.tif", np.zeros((16, 20), np.uint8))
    before = sha_all(folder)
    report = check_stack_segmentation(discover_segmentation(TASK, folder))
    assert not report.ok
    assert any("'stack0.tif' is a single 2-D image" in f.message for f in report.findings if f.level == ERROR)
    assert sha_all(folder) == before


def test_different_voxel_sizes_warned(tmp_path):
    folder = stacks_folder(tmp_path, n=2, voxels=[(1.0, 0.25, 0.25), (0.5, 0.25, 0.25)])
    report = check_stack_segmentation(discover_segmentation(TASK, folder))
    assert report.ok
    warning = next(f for f in report.findings if "same voxel size" in f.message)
    assert "4× farther" in warning.message and "2× farther" in warning.message


def test_the_recipe_checks_stacks_and_refuses_to_train_on_them_in_words(tmp_path):
    from petrilab import settings as settings_io
    from petrilab.errors import UserError
    from petrilab.recipes import get_recipe
    from petrilab.tasks import TASKS
    from petrilab.tasks.segmentation.demo3d import example_stacks

    folder = example_stacks(tmp_path / "data", n=2, size=(10, 48, 48))
    before = sha_all(folder)
    for kind in STACK_TASKS:
        recipe, settings = get_recipe(kind), settings_io.defaults_for(kind)
        dataset = recipe.discover(settings, folder)
        report = recipe.check(dataset)
        assert report.ok and report.dimensions == "3d" and report.voxel == [1.0, 0.25, 0.25]
        text = report.to_text()
        assert "2 readable z-stacks" in text and "Sizes (z × y × x): 10 × 48 × 48 (2)" in text
        assert "does not train on them yet" in text
        if TASKS[kind].has_objects:
            assert list(report.counts.values()) == [2, 2]
        with pytest.raises(UserError, match="holds z-stacks") as refused:
            recipe.decide_from_data(settings, dataset, report)
        assert refused.value.fix
    assert sha_all(folder) == before


def test_the_recipe_refuses_a_folder_mixing_stacks_and_2d_images(tmp_path):
    from petrilab import settings as settings_io
    from petrilab.errors import UserError
    from petrilab.recipes import get_recipe

    folder = stacks_folder(tmp_path, n=2)
    tifffile.imwrite(folder / "images" / "flat.tif", np.zeros((16, 20), np.uint8))
    tifffile.imwrite(folder / "masks" / "flat.tif", np.zeros((16, 20), np.uint8))
    before = sha_all(folder)
    recipe = get_recipe(TASK)
    with pytest.raises(UserError) as refused:
        recipe.check(recipe.discover(settings_io.defaults_for(TASK), folder))
    assert "'flat.tif'" in refused.value.message and "'stack0.tif'" in refused.value.message
    assert sha_all(folder) == before
