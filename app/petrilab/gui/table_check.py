"""The data page's background check for tasks whose values come from a table (regression, multi-label).

Same contract as the class-folder check (`pages.data_page.check_folders`):
progress is emitted as ("discovered", dataset) then ("progress", i, total),
the result is a `CheckedData`, or None when cancelled.
"""

from __future__ import annotations

from petrilab.data.tables import check_table, discover_table
from petrilab.gui.dataset_state import CheckedData


class _Cancelled(Exception):
    pass


def check_table_folders(key: tuple, task: str, folder: str, test_folder: str, columns: list[str], *, emit,
                        cancelled):
    dataset = discover_table(task, folder, columns or None)
    emit(("discovered", dataset))
    total = len(dataset.samples)

    def progress(i: int, n: int) -> None:
        if i == n or i % 25 == 0:
            emit(("progress", i, total))
        if cancelled():
            raise _Cancelled()

    try:
        report = check_table(dataset, progress=progress)
        test_dataset = test_report = None
        if test_folder:
            test_dataset = discover_table(task, test_folder, list(dataset.columns))
            test_report = check_table(test_dataset)
    except _Cancelled:
        return None
    return CheckedData(key, dataset, report, test_dataset, test_report)
