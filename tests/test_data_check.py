"""Finding a dataset in a folder, and the dataset check report."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from petrilab.data.check import DatasetReport, check_dataset, propose_image_size, resolve_channels
from petrilab.data.discovery import discover
from petrilab.errors import UserError


def grey(path: Path, size=(20, 20), value=100, dtype=np.uint8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.full(size, value, dtype)
    if path.suffix.lower() in (".tif", ".tiff"):
        tifffile.imwrite(path, data)
    else:
        Image.fromarray(data).save(path)
    return path


def rgb(path: Path, size=(20, 20)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), 80, np.uint8)).save(path)
    return path


def make_classes(root: Path, counts: dict[str, int], suffix=".png", **kw) -> Path:
    for name, n in counts.items():
        for i in range(n):
            grey(root / name / f"img{i:02d}{suffix}", **kw)
    return root


def hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def kinds(report: DatasetReport, level: str) -> list[str]:
    return [f.message for f in report.findings if f.level == level]


# ---------------------------------------------------------------- discovery


def test_discover_sorts_classes_and_ignores_hidden_and_other_files(tmp_path):
    root = make_classes(tmp_path / "data", {"infected": 3, "healthy": 2})
    (root / "healthy" / "notes.txt").write_text("scope settings")
    (root / "healthy" / ".DS_Store").write_bytes(b"\0")
    (root / "healthy" / "._img00.png").write_bytes(b"\0")
    (root / "healthy" / "Thumbs.db").write_bytes(b"\0")
    (root / ".hidden class").mkdir()
    grey(root / ".hidden class" / "x.png")
    (root / "README.txt").write_text("my data")
    dataset = discover("classification", root)
    assert dataset.classes == ["healthy", "infected"]
    assert dataset.root == root.resolve()
    assert [s.path.name for s in dataset.samples] == ["img00.png", "img01.png", "img00.png", "img01.png", "img02.png"]
    np.testing.assert_array_equal(dataset.labels(), [0, 0, 1, 1, 1])
    assert sorted(p.name for p in dataset.skipped) == ["README.txt", "notes.txt"]
    assert dataset.counts() == {"healthy": 2, "infected": 3}


def test_discover_keeps_the_order_of_given_classes(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 2, "b": 2, "c": 2})
    dataset = discover("classification", root, classes=["c", "a"])
    assert dataset.classes == ["c", "a"]
    assert {s.path.parent.name for s in dataset.samples if s.label == 0} == {"c"}
    assert len(dataset.samples) == 4  # 'b' was not asked for


def test_discover_missing_folder(tmp_path):
    with pytest.raises(UserError) as caught:
        discover("classification", tmp_path / "nowhere")
    assert "does not exist" in caught.value.message and "nowhere" in caught.value.message
    assert caught.value.fix


def test_discover_a_file_is_not_a_folder(tmp_path):
    path = grey(tmp_path / "one.png")
    with pytest.raises(UserError, match="is a file, not a folder"):
        discover("classification", path)


def test_discover_no_class_folders(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("x")
    with pytest.raises(UserError) as caught:
        discover("classification", tmp_path / "data")
    assert "no sub-folders" in caught.value.message
    assert "DATA/<class name>/<image>" in caught.value.fix


def test_discover_images_directly_in_the_folder_explains_the_layout(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 2, "b": 2})
    grey(root / "stray.png")
    with pytest.raises(UserError) as caught:
        discover("classification", root)
    assert "'stray.png'" in caught.value.message
    assert "one sub-folder per class" in caught.value.fix


def test_discover_single_class(tmp_path):
    root = make_classes(tmp_path / "data", {"only": 3})
    with pytest.raises(UserError, match="only one class \\('only'\\)"):
        discover("classification", root)


def test_discover_empty_class_folder_names_it(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 2, "b": 2})
    (root / "empty").mkdir()
    (root / "empty" / "readme.txt").write_text("todo")
    with pytest.raises(UserError) as caught:
        discover("classification", root)
    assert "'empty' has no images" in caught.value.message
    assert "readme.txt" in caught.value.message
    assert caught.value.file == str((root / "empty").resolve())


def test_discover_named_class_missing(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 2, "b": 2})
    with pytest.raises(UserError) as caught:
        discover("classification", root, classes=["a", "zebra"])
    assert "'zebra' has no folder" in caught.value.message
    assert "'a'" in caught.value.fix and "'b'" in caught.value.fix


def test_discover_refuses_images_in_nested_folders(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 2, "b": 2})
    grey(root / "a" / "day 2" / "deep.png")
    (root / "b" / "empty notes").mkdir()  # a sub-folder without images is only skipped
    with pytest.raises(UserError) as caught:
        discover("classification", root)
    assert "sub-folder 'day 2'" in caught.value.message


def test_discover_other_tasks_are_not_available_yet(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 2, "b": 2})
    with pytest.raises(UserError, match="not available"):
        discover("semantic", root)
    with pytest.raises(UserError, match="not a task"):
        discover("painting", root)


def test_discover_accepts_non_ascii_names(tmp_path):
    root = make_classes(tmp_path / "données", {"cellules saines": 2, "infectées ü": 2}, suffix=".tif")
    dataset = discover("classification", root)
    assert dataset.classes == ["cellules saines", "infectées ü"]
    assert check_dataset(dataset).n_images == 4


# ---------------------------------------------------------------- the check


def test_check_of_the_tiny_demo_leaves_files_untouched(tiny_classification_dir):
    before = hashes(tiny_classification_dir)
    seen = []
    report = check_dataset(discover("classification", tiny_classification_dir),
                           progress=lambda done, total: seen.append((done, total)))
    assert hashes(tiny_classification_dir) == before
    assert report.ok
    assert report.n_images == 24
    assert report.counts == {"elongated": 8, "fragmented": 8, "round": 8}
    assert report.sizes == {"32x32": 24}
    assert report.channels == {1: 24}
    assert report.dtypes == {"uint8": 24}
    assert report.unreadable == []
    assert report.proposals == {"data.image_size": [32, 32]}
    assert seen[-1] == (24, 24) and len(seen) == 24
    assert len([m for m in kinds(report, "warning") if "has only 8 images" in m]) == 3
    assert "data.class_weights" not in report.proposals


def test_check_unreadable_files_are_listed_and_left_out(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 6, "b": 6}, suffix=".tif")
    broken = root / "b" / "img05.tif"
    broken.write_bytes(broken.read_bytes()[:100])
    before = hashes(root)
    dataset = discover("classification", root)
    report = check_dataset(dataset)
    assert hashes(root) == before
    assert report.unreadable == [str(broken)]
    assert report.counts == {"a": 6, "b": 5}
    assert report.n_images == 11
    warning = next(f for f in report.findings if f.file == str(broken))
    assert warning.level == "warning" and "'img05.tif' cannot be read" in warning.message
    assert "left out of training" in warning.message
    assert report.ok  # the rest can still be trained on
    assert len(dataset.excluding(report.unreadable).samples) == 11


def test_check_too_few_images_is_an_error(tmp_path):
    root = make_classes(tmp_path / "data", {"common": 30, "rare": 3})
    report = check_dataset(discover("classification", root))
    assert not report.ok
    errors = [f for f in report.findings if f.level == "error"]
    assert len(errors) == 1 and "'rare' has only 3" in errors[0].message
    assert "Add images of 'rare'" in errors[0].fix


def test_check_imbalance_proposes_class_weights(tmp_path):
    root = make_classes(tmp_path / "data", {"healthy": 40, "infected": 20})
    report = check_dataset(discover("classification", root))
    assert report.ok
    assert any("imbalanced" in m and "'infected' only 20" in m for m in kinds(report, "warning"))
    assert report.proposals["data.class_weights"] is True


def test_check_balanced_enough_is_not_imbalanced(tmp_path):
    root = make_classes(tmp_path / "data", {"healthy": 30, "infected": 20})  # 1.5, the limit
    report = check_dataset(discover("classification", root))
    assert "data.class_weights" not in report.proposals
    assert not any("imbalanced" in m for m in kinds(report, "warning"))


def test_check_mixed_grey_and_colour(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 6, "b": 6})
    for i in range(3):
        rgb(root / "b" / f"colour{i}.png")
    report = check_dataset(discover("classification", root))
    assert report.channels == {1: 12, 3: 3}
    assert any("mix grey and colour" in m for m in kinds(report, "warning"))
    assert report.proposals["data.channels"] == 3
    assert resolve_channels(0, report) == 3
    assert resolve_channels(1, report) == 1  # the user's choice wins


def test_check_rgba_counts_as_colour(tmp_path):
    root = tmp_path / "data"
    for cls in ("a", "b"):
        for i in range(5):
            path = root / cls / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((20, 20, 4), 200, np.uint8)).save(path)
    report = check_dataset(discover("classification", root))
    assert report.channels == {4: 10} and report.alpha == 10
    assert resolve_channels(0, report) == 3
    assert report.proposals["data.channels"] == 3
    assert any("transparency" in m for m in kinds(report, "info"))


def test_check_mixed_sizes_and_proposed_size(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 5, "b": 5}, size=(300, 400))
    grey(root / "a" / "big.png", size=(600, 800))
    report = check_dataset(discover("classification", root))
    assert report.sizes == {"300x400": 10, "600x800": 1}
    assert any("2 different sizes" in m for m in kinds(report, "info"))
    assert report.proposals["data.image_size"] == [96, 128]


def test_check_mixed_bit_depths_proposes_percentile(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 5, "b": 5}, suffix=".tif")
    grey(root / "a" / "deep.tif", dtype=np.uint16, value=3000)
    report = check_dataset(discover("classification", root))
    assert report.dtypes == {"uint8": 10, "uint16": 1}
    assert any("mix bit depths" in m for m in kinds(report, "warning"))
    assert report.proposals["data.normalisation"] == "percentile"


def test_check_duplicate_names_differing_by_extension(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 5, "b": 5})
    grey(root / "a" / "img03.tif")
    grey(root / "b" / "img03_other.tif")
    report = check_dataset(discover("classification", root))
    duplicates = [f for f in report.findings if "same name" in f.message]
    assert len(duplicates) == 1
    assert "'img03.png'" in duplicates[0].message and "'img03.tif'" in duplicates[0].message
    assert duplicates[0].level == "warning"


def test_check_mentions_skipped_files(tmp_path):
    root = make_classes(tmp_path / "data", {"a": 5, "b": 5})
    (root / "a" / "protocol.txt").write_text("x")
    report = check_dataset(discover("classification", root))
    assert any("'protocol.txt'" in m for m in kinds(report, "info"))
    assert report.skipped == [str((root / "a" / "protocol.txt").resolve())]


def test_report_to_dict_is_json_and_round_trips_and_reads_as_text(tmp_path):
    root = make_classes(tmp_path / "data", {"healthy": 40, "infected": 4})
    report = check_dataset(discover("classification", root))
    body = json.loads(json.dumps(report.to_dict()))
    assert body["ok"] is False
    assert body["counts"] == {"healthy": 40, "infected": 4}
    assert body["channels"] == {"1": 44}
    again = DatasetReport.from_dict(body)
    assert again.channels == {1: 44} and again.findings == report.findings
    text = report.to_text()
    assert "44 readable images in 2 classes" in text
    assert "infected" in text and "What to do:" in text
    assert "data.class_weights = True" in text
    assert "Fix the problems above" in text


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize("heights, widths, expected", [
    ([32], [32], [32, 32]),
    ([50] * 3, [50] * 3, [48, 48]),  # the workshop's red blood cells
    ([85], [85], [88, 88]),
    ([1024, 2048, 2048], [1024, 2048, 2048], [128, 128]),
    ([600], [800], [96, 128]),
    ([10], [12], [16, 16]),
    ([], [], [64, 64]),
])
def test_proposed_image_size(heights, widths, expected):
    assert propose_image_size(heights, widths) == expected


@pytest.mark.parametrize("counts, expected", [
    ({1: 10}, 1),
    ({3: 10}, 3),
    ({1: 5, 3: 1}, 3),
    ({2: 4}, 2),
    ({4: 4}, 4),
    ({2: 3, 4: 1}, 4),
    ({"1": 3}, 1),  # from JSON
])
def test_resolve_channels(counts, expected):
    assert resolve_channels(0, counts) == expected


def test_resolve_channels_without_images():
    with pytest.raises(UserError):
        resolve_channels(0, {})


# ---------------------------------------------------------------- demo data


def test_bundled_demo_data_is_found_and_checks_clean():
    from petrilab.resources import demo_data, resources_dir

    folder = demo_data("classification")
    assert folder == resources_dir() / "demo" / "classification"
    report = check_dataset(discover("classification", folder))
    assert report.ok
    assert report.counts == {"elongated": 80, "fragmented": 80, "round": 80}
    assert report.sizes == {"64x64": 240} and report.channels == {1: 240} and report.dtypes == {"uint8": 240}
    # nothing to warn about in our own demo; one note: a fourth block sees a whole 64-pixel image
    assert [f.level for f in report.findings] == ["info"]
    assert report.proposals == {"data.image_size": [64, 64], "model.filters": [16, 32, 64, 64]}


def test_demo_is_deterministic_and_needs_an_empty_folder(tmp_path):
    from petrilab.demo import make_classification_demo

    a = make_classification_demo(tmp_path / "a", n_per_class=3, size=32, seed=5)
    b = make_classification_demo(tmp_path / "b", n_per_class=3, size=32, seed=5)
    c = make_classification_demo(tmp_path / "c", n_per_class=3, size=32, seed=6)
    strip = lambda hashes, root: {k.replace(str(root), ""): v for k, v in hashes.items()}  # noqa: E731
    assert strip(hashes(a), a) == strip(hashes(b), b)
    assert strip(hashes(a), a) != strip(hashes(c), c)
    with pytest.raises(UserError, match="not empty"):
        make_classification_demo(a)


def test_demo_data_is_generated_when_not_bundled(tmp_path, monkeypatch):
    import petrilab.resources as resources

    monkeypatch.setattr(resources, "resources_dir", lambda: tmp_path / "no-bundle")
    monkeypatch.setattr(resources, "user_data_dir", lambda: tmp_path / "home" / "PetriLab")
    folder = resources.demo_data()
    assert folder == tmp_path / "home" / "PetriLab" / "demo-data" / "classification"
    assert discover("classification", folder).counts() == {"elongated": 80, "fragmented": 80, "round": 80}
    assert [p.name for p in folder.parent.iterdir()] == ["classification"]  # no scratch folder left
    assert resources.demo_data() == folder  # made once


def test_resources_dir_inside_the_frozen_app(tmp_path, monkeypatch):
    import sys

    from petrilab.resources import resources_dir

    assert (resources_dir() / "demo" / "README.md").is_file()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == tmp_path / "resources"


def test_the_check_proposes_enough_blocks_to_see_the_whole_image():
    # per-image tasks: the last map at most 4 × 4; three blocks suffice up to 32 pixels; segmentation not concerned
    from petrilab.data.network_depth import blocks_to_see_whole, proposed_filters

    assert [blocks_to_see_whole([s, s]) for s in (24, 32, 48, 64, 128, 256, 1024)] == [3, 3, 4, 4, 5, 6, 6]
    assert proposed_filters([32, 32]) is None and proposed_filters([64, 48]) == [16, 32, 64, 64]
    assert proposed_filters([128, 128]) == [16, 32, 64, 64, 64]
