"""benchmarks/guided_quality.py --quick, end to end for ways (a) and (b), so the benchmark cannot rot.

One dataset (scikit-learn's digits: its data ship inside the wheel), one seed, two epochs: the
hand-written Keras notebook and PetriLab's real command line (init → train → evaluate), both scored
on the same test images. The script's `main` runs in this process (a child of its own would import
TensorFlow once more for nothing); (b) still starts `petrilab` processes, as a user's commands.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                    reason="needs scikit-learn (pip install -e '.[test]'): its bundled digits are the data")
def test_quick_guided_benchmark_trains_both_ways_on_the_same_test_set(tmp_path, monkeypatch, capsys):
    results_md = (REPO / "benchmarks" / "RESULTS.md").read_bytes()
    out = tmp_path / "guided.json"
    # the script puts its folders first on the path and sets TensorFlow's environment when imported: both
    # put back afterwards, so the next tests in this process see neither
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    environment = dict(os.environ)
    try:
        import guided_quality

        code = guided_quality.main(["--quick", "--datasets", "digits", "--seeds", "1", "--ways", "a,b",
                                    "--work", str(tmp_path / "work"), "--json", str(out)])
    finally:
        os.environ.clear()
        os.environ.update(environment)
    printed = capsys.readouterr().out
    assert code == 0, printed[-3000:]

    report = json.loads(out.read_text(encoding="utf-8"))
    digits = report["results"]["digits"]
    assert digits["same_test_set"] is True  # the script refuses to finish otherwise
    a, b = digits["runs"]["a"][0], digits["runs"]["b"][0]
    for run in (a, b):
        assert 0.0 <= run["accuracy"] <= 1.0 and math.isfinite(run["accuracy"])
        assert run["epochs"] == 2
    assert a["n_test"] == digits["n_test"] == 150
    # (b) went through the real command line: its run folder holds what `petrilab evaluate` wrote
    run_dir = Path(b["run_dir"])
    evaluation = json.loads((run_dir / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["metrics"]["accuracy"] == b["accuracy"]
    assert evaluation["n_images"] == 150
    # init's settings, nothing else: the seed (and the quick run's epochs) are the only changes
    assert b["settings"]["training"]["seed"] == 1
    assert b["settings"]["data"]["image_size"] == [32, 32]
    assert "| digits | orientation classes | accuracy" in printed
    # a quick run records nothing in RESULTS.md
    assert (REPO / "benchmarks" / "RESULTS.md").read_bytes() == results_md
