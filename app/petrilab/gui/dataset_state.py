"""The dataset as last checked, shared by the pages that need it (split counts, model input shape).

The data page checks the folder in the background and remembers the result
here, keyed by the context; other pages read it and know it is current when
its folders and classes are still the ones in the settings.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from petrilab.data.check import DatasetReport, resolve_channels
from petrilab.data.discovery import Dataset
from petrilab.errors import UserError
from petrilab.settings import Settings


def data_key(settings: Settings) -> tuple:
    """What decides the dataset: a change in any of these means checking again."""
    d = settings.data
    return (settings.task.kind, d.folder, d.test_folder, tuple(d.classes), tuple(d.target_columns))


@dataclass
class CheckedData:
    key: tuple
    dataset: Dataset
    report: DatasetReport
    test_dataset: Dataset | None = None
    test_report: DatasetReport | None = None

    def usable(self) -> Dataset:
        """The dataset without the unreadable files (they are left out of training)."""
        return self.dataset.excluding(self.report.unreadable) if self.report.unreadable else self.dataset

    def usable_test(self) -> Dataset | None:
        if self.test_dataset is None or self.test_report is None:
            return self.test_dataset
        return self.test_dataset.excluding(self.test_report.unreadable)

    def input_shape(self, settings: Settings) -> list[int]:
        """[height, width, channels] as the model will see them."""
        try:
            channels = resolve_channels(settings.data.channels, self.report)
        except UserError:
            channels = settings.data.channels or 1
        return [*settings.data.image_size, channels]


_checked: "weakref.WeakKeyDictionary[object, CheckedData]" = weakref.WeakKeyDictionary()


def remember(context, checked: CheckedData | None) -> None:
    if checked is None:
        _checked.pop(context, None)
    else:
        _checked[context] = checked


def current(context) -> CheckedData | None:
    """The checked dataset if it still matches the settings, else None."""
    checked = _checked.get(context)
    if checked is None or checked.key != data_key(context.settings):
        return None
    return checked
