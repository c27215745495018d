"""The data page's background check of a folder and its test folder, for every task.

Runs in a worker thread (gui/workers.py): emits ("discovered", dataset), for
segmentation ("pairing", Pairing), then ("progress", i, total) while checking,
and returns a `CheckedData`, or None when the user moved on meanwhile.
"""

from __future__ import annotations

from petrilab.data.check import check_dataset
from petrilab.data.discovery import discover
from petrilab.data.images import image_info
from petrilab.errors import UserError
from petrilab.gui.dataset_state import CheckedData
from petrilab.gui.tasks.segmentation import summary as seg_summary
from petrilab.tasks import MASK_TASKS as SEGMENTATION_TASKS, RESTORATION_TASKS, is_table_task
from petrilab.tasks.restoration.data import check_restoration, discover_restoration
from petrilab.tasks.segmentation.masks import check_segmentation, discover_segmentation
from petrilab.tasks.tables.check import check_table
from petrilab.tasks.tables.dataset import discover_table


class Cancelled(Exception):
    """The folders changed while they were being checked: the answer is no longer wanted."""


def check_folders(key: tuple, task: str, folder: str, test_folder: str, names: list[str], *, emit, cancelled):
    """Discover and check `folder` (and `test_folder`); `names` are the classes, or a table task's columns."""
    if task in SEGMENTATION_TASKS:
        find, check = discover_segmentation, check_segmentation
        names_of = lambda dataset, report: list(report.classes)  # noqa: E731
    elif task in RESTORATION_TASKS:  # images alone, or + targets (restoration.way "auto" decides as training will)
        find, check = (lambda kind, where, _names: discover_restoration(kind, where)), check_restoration
        names_of = lambda dataset, report: []  # noqa: E731
    elif is_table_task(task):
        find, check = discover_table, check_table
        names_of = lambda dataset, report: list(dataset.columns)  # noqa: E731
    else:
        find, check = discover, check_dataset
        names_of = lambda dataset, report: dataset.classes  # noqa: E731
    dataset = find(task, folder, names or None)
    emit(("discovered", dataset))
    total = len(dataset.samples)

    def progress(i: int, n: int) -> None:
        if i == n or i % 25 == 0:
            emit(("progress", i, total))
        if cancelled():
            raise Cancelled()

    try:
        if task in SEGMENTATION_TASKS:
            emit(("pairing", pairing_of(dataset, cancelled)))
        report = check(dataset, progress=progress)
        test_dataset = test_report = None
        if test_folder:
            test_dataset = find(task, test_folder, names_of(dataset, report))
            test_report = check(test_dataset)
    except Cancelled:
        return None
    return CheckedData(key, dataset, report, test_dataset, test_report)


def pairing_of(dataset, cancelled=lambda: False) -> seg_summary.Pairing:
    """Images, masks found, masks missing and masks of another size (image headers only)."""
    p = seg_summary.Pairing(images=len(dataset.samples))
    p.orphans = sum(1 for f in dataset.skipped if f.parent.name == "masks")
    for sample in dataset.samples:
        if cancelled():
            raise Cancelled()
        if sample.mask is None:
            p.missing += 1
            continue
        p.masks += 1
        try:
            a, b = image_info(sample.path), image_info(sample.mask)
        except UserError:
            continue  # unreadable: the check names it
        p.mismatched += (a.height, a.width) != (b.height, b.width)
    return p
