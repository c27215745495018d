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


@pytest.mark.slow  # deciding from the data asks the model catalogue (the models package loads TensorFlow)
def test_the_recipe_checks_stacks_proposes_the_3d_unet_and_learns_the_voxel_and_block(tmp_path):
    from petrilab import settings as settings_io
    from petrilab.errors import UserError
    from petrilab.recipes import get_recipe
    from petrilab.tasks import TASKS
    from petrilab.tasks.segmentation.demo3d import example_stacks

    for kind in STACK_TASKS:
        folder = example_stacks(tmp_path / kind, n=2, size=(10, 48, 48), classes=not TASKS[kind].has_objects)
        before = sha_all(folder)
        recipe, settings = get_recipe(kind), settings_io.defaults_for(kind)
        dataset = recipe.discover(settings, folder)
        report = recipe.check(dataset)
        assert report.ok and report.dimensions == "3d" and report.voxel == [1.0, 0.25, 0.25]
        text = report.to_text()
        assert "2 readable z-stacks" in text and "Sizes (z × y × x): 10 × 48 × 48 (2)" in text
        assert report.proposals["model.architecture"] == "unet3d" and report.proposals["model.filters"] == [8, 16]
        if TASKS[kind].has_objects:
            assert list(report.counts.values()) == [2, 2]
        # the default 2-D U-Net on stacks: refused in words, naming the folder and the 3-D U-Net
        with pytest.raises(UserError, match="holds z-stacks") as refused:
            recipe.decide_from_data(settings, dataset, report)
        assert "unet3d" in refused.value.fix and refused.value.file == str(folder)
        # data.dimensions = "2d" on stacks: refused too (slice by slice is not a choice yet)
        for key, value in report.proposals.items():
            settings_io.apply_override(settings, key, value)
        flat = settings.copy()
        flat.data.dimensions = "2d"
        with pytest.raises(UserError, match="asks for 2-D images"):
            recipe.decide_from_data(flat, dataset, report)
        # with the proposals: decided from the data, as data.channels is
        recipe.decide_from_data(settings, dataset, report)
        assert settings.data.dimensions == "3d" and settings.data.voxel_size == [1.0, 0.25, 0.25]
        # planes 4× apart, filters [8, 16]: no pooling in z, y and x halved twice; blocks cut to the stacks
        assert settings.data.stack_patch_size == [8, 48, 48]
        assert sha_all(folder) == before


@pytest.mark.slow  # as above
def test_the_recipe_refuses_a_3d_network_or_dimensions_on_2d_images(tmp_path):
    from petrilab import settings as settings_io
    from petrilab.errors import UserError
    from petrilab.recipes import get_recipe
    from petrilab.tasks.segmentation.demo import make_segmentation_demo

    folder = make_segmentation_demo(tmp_path / "flat", "semantic", n_images=6, size=64)
    before = sha_all(folder)
    recipe, settings = get_recipe("semantic"), settings_io.defaults_for("semantic")
    dataset = recipe.discover(settings, folder)
    report = recipe.check(dataset)
    assert report.dimensions == "2d" and "model.architecture" not in report.proposals
    for key, value, words in (("model.architecture", "unet3d", "needs z-stacks"),
                              ("data.dimensions", "3d", "asks for z-stacks")):
        asked = settings.copy()
        settings_io.apply_override(asked, key, value)
        with pytest.raises(UserError, match=words):
            recipe.decide_from_data(asked, dataset, report)
    assert sha_all(folder) == before


@pytest.mark.slow  # as above
def test_the_3d_unet_is_in_the_catalogue_for_stacks_only():
    from petrilab.models.catalogue import architectures_for

    for kind in STACK_TASKS:
        assert architectures_for(kind, "3d") == ["unet3d"]
        assert "unet3d" not in architectures_for(kind, "2d") and "unet" in architectures_for(kind, "2d")
    assert architectures_for("classification", "3d") == []


def test_old_settings_without_dimensions_open_as_auto(tmp_path):
    from petrilab import settings as settings_io

    old = tmp_path / "old.toml"
    old.write_text('name = "old"\n[task]\nkind = "semantic"\n[data]\nfolder = "/x"\n', encoding="utf-8")
    loaded = settings_io.load(old)
    assert loaded.data.dimensions == "auto" and loaded.data.voxel_size == [] and loaded.data.stack_patch_size == []
    loaded.data.stack_patch_size = [8, 32]
    with pytest.raises(Exception, match="z, y, x"):
        settings_io.validate(loaded)


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


def test_label_stacks_for_semantic_segmentation_are_an_error_naming_the_mask(tmp_path):
    from petrilab.tasks.segmentation.demo3d import example_stacks

    folder = example_stacks(tmp_path / "data", n=2, size=(10, 48, 48))
    report = check_stack_segmentation(discover_segmentation("semantic", folder))
    error = next(f for f in report.findings if f.level == "error")
    assert "class numbers up to" in error.message and "instance segmentation" in error.message
    assert error.file and error.file.startswith(str(folder / "masks"))
    classes = example_stacks(tmp_path / "classes", n=2, size=(10, 48, 48), classes=True)
    assert check_stack_segmentation(discover_segmentation("semantic", classes)).ok
