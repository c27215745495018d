"""A trained run's help in the class sorter (issue #17): the class the model gives each image marked on its
button and accepted with Enter, the images to do numbered most useful first, the next image the most
useful one; with a real tiny classification run trained on the sorted images."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from petrilab.annotation import ranking  # noqa: E402
from petrilab.annotation.folder import SORTED, TO_DO, AnnotationFolder  # noqa: E402
from petrilab.annotation.model_proposal import ModelProposer, prepare  # noqa: E402
from petrilab.gui.annotation.class_sorter import ClassSorter  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "classification"
CLASSES = ["elongated", "fragmented", "round"]
pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def sorted_and_trained(tmp_path):
    """Eight demo cells of each class in one folder, five of each sorted, and a run trained on those."""
    from helpers import small_settings

    from petrilab.training.trainer import train

    cells = tmp_path / "cells"
    cells.mkdir()
    for name in CLASSES:
        for p in sorted((DEMO / name).iterdir())[:8]:
            shutil.copy(p, cells)
    folder = AnnotationFolder.create(tmp_path / "labels", cells, "classification", CLASSES)
    for entry in folder.entries:
        if int(Path(entry.name).stem.split("_")[-1]) <= 5:
            folder.sort(entry, entry.name.split("_")[0])
    s = small_settings(folder.root, training__epochs=8, split__test_fraction=0.0)
    run = train(s, run_dir=tmp_path / "runs" / "first", echo=False)
    return cells, folder, run


def test_the_model_proposes_classes_and_orders_the_images_to_sort(qtbot, sorted_and_trained, tmp_path):
    cells, folder, run = sorted_and_trained
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in cells.iterdir()}
    todo = [e.name for e in folder.entries if e.status == TO_DO]
    assert len(todo) == 9

    record = prepare(run, folder.root, tmp_path / "proposals")  # what the window's child process runs
    assert [n for n, _ in record["order"]] and sorted(n for n, _ in record["order"]) == sorted(todo)
    proposer = ModelProposer(run, AnnotationFolder.open(folder.root))
    for entry in folder.entries:
        name, p = record["proposed"][entry.name]
        assert name in CLASSES and 1 / 3 <= p <= 1
        assert (name, pytest.approx(p, abs=1e-5)) == proposer.propose(folder.read_image(entry))
    unsure = [u for _, u in record["order"]]
    for (n, u) in record["order"]:  # each image's uncertainty: the entropy of its class probabilities
        probs = proposer.predict(folder.read_image(next(e for e in folder.entries if e.name == n)))["probabilities"]
        assert u == pytest.approx(ranking.uncertainty(probs.reshape(1, 1, -1)), abs=1e-5) and 0 <= u <= 1
    assert max(unsure) > min(unsure)
    right = sum(record["proposed"][n][0] == n.split("_")[0] for n in todo)

    sorter = ClassSorter(AnnotationFolder.open(folder.root))
    qtbot.addWidget(sorter)
    sorter.resize(1000, 700)
    sorter.show()
    assert not sorter.next_button.isEnabled() and "No model" in sorter.model_state.text()
    sorter.choose_model(run)  # predicted in a child process: the window never loads TensorFlow
    qtbot.waitUntil(lambda: sorter.model_run is not None, timeout=90_000)
    assert sorter.useful == [n for n, _ in record["order"]] and sorter.next_button.isEnabled()
    for row, entry in enumerate(sorter.folder.entries):
        text = sorter.image_list.item(row).text()
        assert text.endswith(f"#{sorter.useful.index(entry.name) + 1}") if entry.status == TO_DO else "#" not in text

    first_shown = sorter.entry.name
    QTest.keyClick(sorter, Qt.Key.Key_M)  # the most useful image not sorted yet, other than the one shown
    shown = sorter.entry.name
    assert shown == next(n for n in sorter.useful if n != first_shown)
    guess = record["proposed"][shown][0]
    assert f"model: <b>{guess}</b>" in sorter.caption.text()
    marked = [b for b in sorter.class_buttons if b.property("proposed")]
    assert len(marked) == 1 and guess in marked[0].text()

    QTest.keyClick(sorter, Qt.Key.Key_Return)  # Enter: the model's class
    assert sorter.saver.flush()
    entry = next(e for e in sorter.folder.entries if e.name == shown)
    assert entry.status == SORTED and entry.label == guess
    assert (folder.root / guess / shown).is_file()
    left = [n for n in sorter.useful if n != shown]
    assert sorter.entry.name == left[0]  # then the most useful image not sorted yet
    sorter.close()
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in cells.iterdir()} == before
    print(f"the model gave the right class to {right} of {len(todo)} images it had not seen")
