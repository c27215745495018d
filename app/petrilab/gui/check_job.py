"""The data page's background check of a folder and its test folder, for every task.

Runs in a worker thread (gui/workers.py): emits ("discovered", dataset), for
segmentation ("pairing", Pairing), then ("progress", i, total) while checking,
and returns a `CheckedData`, or None when the user moved on meanwhile.
"""

from __future__ import annotations

from petrilab.data.images import image_info
from petrilab.errors import UserError
from petrilab.gui.dataset_state import CheckedData
from petrilab.gui.tasks import panel
from petrilab.tasks import TASKS, is_table_task


class Cancelled(Exception):
    """The folders changed while they were being checked: the answer is no longer wanted."""


def check_folders(key: tuple, settings, *, emit, cancelled):
    """Discover and check the settings' folder (and test folder) as the task's recipe does for `petrilab
    check`, so the window and the command line judge a folder alike (z-stacks included)."""
    from petrilab.recipes import get_recipe

    task = settings.task.kind
    recipe = get_recipe(task)
    dataset = recipe.discover(settings, settings.data.folder)
    emit(("discovered", dataset))
    total = len(dataset.samples)

    def progress(i: int, n: int) -> None:
        if i == n or i % 25 == 0:
            emit(("progress", i, total))
        if cancelled():
            raise Cancelled()

    try:
        if TASKS[task].has_masks:
            emit(("pairing", pairing_of(dataset, cancelled)))
        report = recipe.check(dataset, progress=progress)
        test_dataset = test_report = None
        if settings.data.test_folder:
            # the test folder is read with the training folder's classes or columns, as training will
            if is_table_task(task):
                settings.data.target_columns = list(dataset.columns)
            elif not TASKS[task].restores:  # restoration has no classes to keep alike
                settings.data.classes = list(report.classes if TASKS[task].has_masks else dataset.classes)
            test_dataset = recipe.discover(settings, settings.data.test_folder)
            test_report = recipe.check(test_dataset)
    except Cancelled:
        return None
    return CheckedData(key, dataset, report, test_dataset, test_report)


def pairing_of(dataset, cancelled=lambda: False):
    """Images, masks found, masks missing and masks of another size (image headers only): a Pairing of the
    family's summary words."""
    p = panel("summary_words").Pairing(images=len(dataset.samples))
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
