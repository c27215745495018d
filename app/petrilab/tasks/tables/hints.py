"""What spreadsheets do to a table, recognised: TRUE/FALSE cells, a row-number column, an Excel
workbook instead of a CSV, and the '.csv.txt' name Windows hides.

tables.py reads the table; this module only recognises these cases, so the
reader stays one job and each case is said in plain words by the check.
"""

from __future__ import annotations

import re
from pathlib import Path

# Excel writes TRUE/FALSE, and in its own language in French and German.
BOOLEANS = {"true": 1.0, "false": 0.0, "vrai": 1.0, "faux": 0.0, "wahr": 1.0, "falsch": 0.0}
# Names people give a column that numbers the rows or the cells rather than measuring them.
_ID_NAME = re.compile(r"^(id|idx|index|no|nr|n°|#|number|row|line|cell|object|label)?[ _-]?"
                      r"(id|idx|index|no|nr|n°|#)$", re.IGNORECASE)
# Spreadsheet files PetriLab does not read, found where the CSV table should be.
WORKBOOKS = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")


def boolean(text: str) -> float | None:
    return BOOLEANS.get(text.strip().casefold())


def looks_like_row_number(name: str, cells: list[str]) -> bool:
    """An id-like column: named like one (id, cell_id, index, No.) or holding 1, 2, 3 … N in table order."""
    if _ID_NAME.match(name.strip().rstrip(".")):
        return True
    try:
        numbers = [float(c) for c in cells]
    except ValueError:
        return False
    if len(numbers) < 5 or any(n != int(n) for n in numbers):
        return False
    start = numbers[0]
    return start in (0.0, 1.0) and all(b - a == 1 for a, b in zip(numbers, numbers[1:]))


def hidden_txt(root: Path, name: str) -> Path | None:
    """'targets.csv.txt': Notepad's save with Windows hiding known extensions, so it looks like targets.csv."""
    for p in root.iterdir():
        if p.is_file() and p.name.casefold() == name.casefold() + ".txt":
            return p
    return None


def workbook(root: Path, name: str) -> Path | None:
    """'targets.xlsx' (or .xls, .ods…) where 'targets.csv' should be."""
    stem = Path(name).stem.casefold()
    for p in sorted(root.iterdir()):
        if p.is_file() and p.stem.casefold() == stem and p.suffix.casefold() in WORKBOOKS:
            return p
    return None
