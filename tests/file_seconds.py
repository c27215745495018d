"""The suite's files, longest first: `--dist loadfile` hands whole files to the parallel workers in the order
collected, so a long file collected last keeps one worker busy while the other has finished. Ordering them by
their last measured seconds (tests/file_seconds.json; a file not listed counts as short) keeps the two busy to
the end. A stale list only costs some of that; refresh it from a run's JUnit file:

    pytest --junitxml=suite.xml && python tests/file_seconds.py suite.xml
"""

from __future__ import annotations

import collections
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SECONDS = Path(__file__).with_name("file_seconds.json")


def longest_first(items: list) -> None:
    """Sort pytest's collected `items` in place, longest file first, keeping each file's own order."""
    seconds = json.loads(SECONDS.read_text(encoding="utf-8")) if SECONDS.is_file() else {}
    items.sort(key=lambda item: -seconds.get(item.path.name, 0.0))


def write_from_junit(junit: str) -> None:
    seconds = collections.Counter()
    for case in ET.parse(junit).iter("testcase"):
        module = next(part for part in case.get("classname").split(".") if part.startswith("test_"))  # not a class
        seconds[module + ".py"] += float(case.get("time"))
    ranked = {name: round(s, 1) for name, s in sorted(seconds.items(), key=lambda pair: -pair[1])}
    SECONDS.write_text(json.dumps(ranked, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_from_junit(sys.argv[1])
