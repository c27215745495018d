"""Light commands stay light: `petrilab init` and `petrilab check` never load Keras or TensorFlow
(seconds of start-up for a command that only reads a folder and writes a settings file), and the commands that
read a run refuse a folder that is no run before loading them."""

from __future__ import annotations

import json

import pytest
import subprocess
import sys


PROBE = """
import json, sys
from petrilab.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(m for m in ("keras", "tensorflow", "torch") if m in sys.modules)}))
"""


def run_in_child(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_init_loads_neither_keras_nor_tensorflow(tiny_classification_dir, tmp_path):
    data = tiny_classification_dir
    out = tmp_path / "settings.toml"
    result = run_in_child(["init", "--task", "classification", "--data", str(data), "-o", str(out)])
    assert result["code"] == 0 and out.exists()
    assert result["loaded"] == []


def test_check_loads_neither_keras_nor_tensorflow(tiny_classification_dir):
    data = tiny_classification_dir
    result = run_in_child(["check", str(data), "--task", "classification", "--json"])
    assert result["loaded"] == []


def test_init_for_segmentation_loads_neither(tmp_path):
    from petrilab.demo import make_segmentation_demo

    data = make_segmentation_demo(tmp_path / "seg", task="semantic", n_images=6, size=32, seed=1)
    out = tmp_path / "settings.toml"
    result = run_in_child(["init", "--task", "semantic", "--data", str(data), "-o", str(out)])
    assert out.exists() and result["loaded"] == []  # the patch size is chosen without a model too


@pytest.mark.parametrize("command", [["evaluate"], ["predict", "IMAGES", "OUT"], ["report"], ["report", "--pdf"]])
def test_a_folder_that_is_no_run_is_refused_before_tensorflow_loads(command, tiny_classification_dir, tmp_path):
    not_a_run = tmp_path / "my-images"
    not_a_run.mkdir()
    args = [word.replace("IMAGES", str(tiny_classification_dir / "round")).replace("OUT", str(tmp_path / "out"))
            for word in command[1:]]
    result = run_in_child([command[0], str(not_a_run), *args])
    assert result["code"] == 2 and result["loaded"] == []
    assert not (tmp_path / "out").exists() and sorted(not_a_run.iterdir()) == []
