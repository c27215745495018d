"""No module in app/petrilab over 450 lines (issue #16): a module that grows past it holds more than one job
and is split along a real seam (one job per module), not squeezed."""

from __future__ import annotations

from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "app" / "petrilab"
MOST_LINES = 450


def lines_of(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_count_is_of_lines(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("a = 1\n\n# a comment\n", encoding="utf-8")
    assert lines_of(module) == 3


def test_no_module_is_over_450_lines():
    modules = sorted(ENGINE.rglob("*.py"))
    assert len(modules) > 100  # the walk found the app, not an empty folder
    too_long = {str(p.relative_to(ENGINE)): n for p in modules if (n := lines_of(p)) > MOST_LINES}
    assert not too_long, (f"Over {MOST_LINES} lines: {too_long}. Split each along a seam: one job per module "
                          "(e.g. data/check.py and data/check_report.py).")
