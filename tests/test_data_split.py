"""Splitting into train / validation / test, and split.csv."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from petrilab.data.discovery import Dataset, Sample, discover
from petrilab.data.split import (SUBSETS, changed_files, data_fingerprint, fingerprint, load_split, make_split,
                                 save_split)
from petrilab.errors import UserError
from petrilab.settings import SplitSettings


def fake_dataset(tmp_path: Path, counts: dict[str, int]) -> Dataset:
    """Small real files (the split hashes them), one byte pattern each."""
    samples = []
    for label, (name, n) in enumerate(counts.items()):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            path = folder / f"{i:03d}.png"
            path.write_bytes(f"{name}-{i}".encode())
            samples.append(Sample(path, label))
    return Dataset("classification", tmp_path / "data", samples, list(counts), [])


def names(samples) -> set[str]:
    return {str(s.path) for s in samples}


def test_stratified_split_keeps_class_proportions(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 100, "b": 40, "c": 20})
    split = make_split(dataset, SplitSettings(validation_fraction=0.2, test_fraction=0.1, seed=1))
    counts = split.counts(dataset.classes)
    assert counts["validation"] == {"a": 20, "b": 8, "c": 4}
    assert counts["test"] == {"a": 10, "b": 4, "c": 2}
    assert counts["train"] == {"a": 70, "b": 28, "c": 14}
    # every image in exactly one subset
    assert len(split.assignments) == 160
    assert len({str(s.path) for s, _ in split.assignments}) == 160
    assert sum(len(split.subset(name)) for name in SUBSETS) == 160


def test_same_seed_same_split_other_seed_other_split(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 30, "b": 30})
    first = make_split(dataset, SplitSettings(seed=7))
    again = make_split(dataset, SplitSettings(seed=7))
    other = make_split(dataset, SplitSettings(seed=8))
    assert names(first.subset("validation")) == names(again.subset("validation"))
    assert names(first.subset("test")) == names(again.subset("test"))
    assert names(first.subset("validation")) != names(other.subset("validation"))


def test_small_classes_still_get_a_validation_image(tmp_path):
    dataset = fake_dataset(tmp_path, {"big": 50, "two": 2, "three": 3, "one": 1})
    split = make_split(dataset, SplitSettings(validation_fraction=0.1, test_fraction=0.1))
    counts = split.counts(dataset.classes)
    assert counts["validation"]["two"] == 1 and counts["train"]["two"] == 1
    assert counts["validation"]["three"] == 1 and counts["test"]["three"] == 1 and counts["train"]["three"] == 1
    assert counts["train"]["one"] == 1 and counts["validation"]["one"] == 0


def test_unstratified_split_still_validates_every_class(tmp_path):
    dataset = fake_dataset(tmp_path, {"big": 90, "rare": 4})
    for seed in range(10):
        split = make_split(dataset, SplitSettings(validation_fraction=0.1, test_fraction=0.1, stratify=False,
                                                  seed=seed))
        counts = split.counts(dataset.classes)
        assert counts["validation"]["rare"] >= 1
        assert sum(counts["validation"].values()) in (9, 10)  # 9, plus one moved in when chance missed 'rare'


def test_separate_test_folder(tmp_path):
    dataset = fake_dataset(tmp_path / "train", {"a": 20, "b": 20})
    test = fake_dataset(tmp_path / "test", {"a": 5, "b": 3})
    split = make_split(dataset, SplitSettings(validation_fraction=0.25, test_fraction=0.15), test_dataset=test)
    assert names(split.subset("test")) == names(test.samples)
    assert names(split.subset("train")) | names(split.subset("validation")) == names(dataset.samples)
    assert split.counts(dataset.classes)["validation"] == {"a": 5, "b": 5}


def test_test_folder_with_other_classes_is_refused(tmp_path):
    dataset = fake_dataset(tmp_path / "train", {"a": 20, "b": 20})
    test = fake_dataset(tmp_path / "test", {"a": 5, "c": 3})
    with pytest.raises(UserError, match="test folder's classes"):
        make_split(dataset, SplitSettings(), test_dataset=test)


def test_empty_subset_is_an_error_but_no_test_set_on_purpose_is_fine(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 1, "b": 1})
    with pytest.raises(UserError) as caught:
        make_split(dataset, SplitSettings())
    assert "none for the validation set" in caught.value.message
    dataset = fake_dataset(tmp_path / "more", {"a": 10, "b": 10})
    split = make_split(dataset, SplitSettings(test_fraction=0.0))
    assert split.subset("test") == []
    assert len(split.subset("validation")) == 4


def test_save_and_load_split(tmp_path):
    dataset = fake_dataset(tmp_path, {"zebra": 10, "ant": 6})  # not alphabetical: the order must survive
    split = make_split(dataset, SplitSettings(seed=3))
    path = save_split(split, tmp_path / "run" / "split.csv", dataset.classes)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["file", "class", "subset", "sha256"]
    first = rows[0]
    assert first["sha256"] == hashlib.sha256(Path(first["file"]).read_bytes()).hexdigest()
    loaded, classes = load_split(path)
    assert classes == ["zebra", "ant"]
    original = {(str(s.path), s.label, subset) for s, subset in split.assignments}
    assert {(str(s.path), s.label, subset) for s, subset in loaded.assignments} == original
    assert data_fingerprint(loaded) == data_fingerprint(split)
    assert not list(path.parent.glob(".*tmp"))  # the atomic write left no temporary file


def test_save_split_without_fingerprints(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 5, "b": 5})
    path = save_split(make_split(dataset, SplitSettings()), tmp_path / "split.csv", dataset.classes,
                      with_fingerprints=False)
    with open(path, newline="", encoding="utf-8") as f:
        assert all(row["sha256"] == "" for row in csv.DictReader(f))


def test_fingerprints_follow_the_bytes(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 5, "b": 5})
    split = make_split(dataset, SplitSettings())
    path = save_split(split, tmp_path / "split.csv", dataset.classes)
    before = data_fingerprint(split)
    assert len(before) == 64
    assert changed_files(path) == []
    victim = dataset.samples[0].path
    assert fingerprint(victim) == hashlib.sha256(victim.read_bytes()).hexdigest()
    victim.write_bytes(b"edited in Fiji, a longer file now")
    assert changed_files(path) == [str(victim)]
    assert data_fingerprint(split) != before


def test_data_fingerprint_depends_on_the_split(tmp_path):
    dataset = fake_dataset(tmp_path, {"a": 10, "b": 10})
    assert data_fingerprint(make_split(dataset, SplitSettings(seed=1))) != \
        data_fingerprint(make_split(dataset, SplitSettings(seed=2)))


def test_load_split_refuses_a_bad_file(tmp_path):
    bad = tmp_path / "split.csv"
    bad.write_text("file,class,subset\nx.png,a,training\n")
    with pytest.raises(UserError, match="subset 'training'"):
        load_split(bad)
    bad.write_text("name,class\nx.png,a\n")
    with pytest.raises(UserError, match="no column 'file'"):
        load_split(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_split(tmp_path / "nope.csv")


def test_split_of_a_real_folder(tiny_classification_dir):
    dataset = discover("classification", tiny_classification_dir)
    split = make_split(dataset, SplitSettings(validation_fraction=0.25, test_fraction=0.25, seed=0))
    counts = split.counts(dataset.classes)
    assert counts["validation"] == {"elongated": 2, "fragmented": 2, "round": 2}
    assert counts["test"] == {"elongated": 2, "fragmented": 2, "round": 2}
