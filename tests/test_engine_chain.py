"""The command-line chain on real images: init → train → evaluate → predict → diagnose.

Runs the real engine (Keras, TensorFlow) on small images with tiny models:
seconds, not minutes.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from skimage import data as skdata

from petrilab import runs
from petrilab.cli import main

from helpers import FIXED_CHOICES

RUN_FILES = [runs.SETTINGS, runs.SPLIT, runs.EVENTS, runs.HISTORY, runs.BEST_MODEL, runs.LAST_MODEL,
             runs.DIAGNOSIS, runs.EVALUATION, runs.REPORT, runs.DATASET_CHECK, "test_predictions.csv"]


def tree_digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def texture_dataset(tmp_path):
    """An external folder-per-class dataset from real photographs shipped with scikit-image:
    48×48 crops of brick, grass and gravel, saved as 16-bit TIFF."""
    rng = np.random.default_rng(0)
    root = tmp_path / "textures"
    for name in ("brick", "grass", "gravel"):
        image = getattr(skdata, name)()
        (root / name).mkdir(parents=True)
        for i in range(40):
            y, x = rng.integers(0, image.shape[0] - 48, size=2)
            crop = image[y:y + 48, x:x + 48].astype(np.uint16) * 257
            tifffile.imwrite(root / name / f"{name} crop {i:02d}.tif", crop)
    return root


def run_chain(data_dir: Path, tmp_path: Path, *extra_sets: str) -> Path:
    before = tree_digest(data_dir)
    settings_path = tmp_path / "exp.toml"
    assert main(["init", "--task", "classification", "--data", str(data_dir), "-o", str(settings_path)]) == 0
    sets = [*FIXED_CHOICES, "training.epochs=3", "training.batch_size=16", "model.filters=[8, 16]", "model.head_units=[16]", *extra_sets]
    args = ["train", str(settings_path), "--runs-dir", str(tmp_path / "runs"), "--quiet"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    for name in RUN_FILES:
        assert (run_dir / name).is_file(), name
    assert tree_digest(data_dir) == before  # input files untouched
    return run_dir


@pytest.mark.slow
def test_demo_chain(tiny_classification_dir, tmp_path, capsys):
    run_dir = run_chain(tiny_classification_dir, tmp_path)
    events = [json.loads(line) for line in (run_dir / runs.EVENTS).read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished" and events[-1]["status"] == "completed"
    assert kinds.count("epoch_end") == 3 and "batch" in kinds and "evaluation" in kinds
    started = events[0]
    assert started["device"].startswith("CPU") and started["parameters"] > 0 and len(started["data_fingerprint"]) == 64

    history = runs.read_history(run_dir / runs.HISTORY)
    assert [h["epoch"] for h in history] == [0, 1, 2]
    diagnosis = json.loads((run_dir / runs.DIAGNOSIS).read_text())
    assert diagnosis["verdict"] in ("overfitting", "underfitting", "not_finished", "unrepresentative_validation",
                                    "unrepresentative_training", "good_fit")

    # evaluate again from the command line: same numbers as at the end of training
    first = json.loads((run_dir / runs.EVALUATION).read_text())
    assert main(["evaluate", str(run_dir)]) == 0
    again = json.loads((run_dir / runs.EVALUATION).read_text())
    assert again["confusion_matrix"] == first["confusion_matrix"]
    assert sum(map(sum, again["confusion_matrix"])) == again["n_images"] == started["n_test"]

    # predict a folder of new images (here: one class folder) into a separate output folder
    new_images = next(p for p in tiny_classification_dir.iterdir() if p.is_dir())
    out = tmp_path / "predictions"
    before = tree_digest(new_images)
    assert main(["predict", str(run_dir), str(new_images), str(out)]) == 0
    rows = (out / "predictions.csv").read_text().splitlines()
    assert rows[0].startswith("file,predicted_class,p_")
    assert len(rows) - 1 == len(list(new_images.iterdir()))
    probs = np.array([[float(v) for v in r.split(",")[2:-1]] for r in rows[1:]])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert tree_digest(new_images) == before

    capsys.readouterr()
    assert main(["diagnose", str(run_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == diagnosis["verdict"]


@pytest.mark.slow
def test_external_real_image_dataset_learns(texture_dataset, tmp_path):
    """Real photographs (16-bit TIFF crops): a tiny ConvNet must beat chance clearly."""
    run_dir = run_chain(texture_dataset, tmp_path, "training.epochs=8", "training.batch_size=8", "training.learning_rate=0.003", "data.image_size=[48, 48]")
    evaluation = json.loads((run_dir / runs.EVALUATION).read_text())
    assert evaluation["classes"] == ["brick", "grass", "gravel"]
    print(f"textures: balanced accuracy {evaluation['metrics']['balanced_accuracy']:.3f} against > 0.6")
    assert evaluation["metrics"]["balanced_accuracy"] > 0.6  # chance is 0.33


def test_user_mistake_gives_plain_message_and_exit_2(tmp_path):
    """Through the real executable: no traceback, a message naming the problem."""
    result = subprocess.run([sys.executable, "-m", "petrilab", "init", "--task", "classification",
                             "--data", str(tmp_path / "missing"), "-o", str(tmp_path / "s.toml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "missing" in result.stderr


def test_unknown_task_is_refused_by_name(tmp_path, capsys):
    assert main(["init", "--task", "counting", "--data", str(tmp_path)]) == 2
    assert "'counting' is not a task PetriLab knows" in capsys.readouterr().err


def test_bad_setting_override_is_refused(tiny_classification_dir, tmp_path, capsys):
    settings_path = tmp_path / "exp.toml"
    assert main(["init", "--task", "classification", "--data", str(tiny_classification_dir), "-o", str(settings_path)]) == 0
    capsys.readouterr()
    assert main(["train", str(settings_path), "--set", "training.optimizer=adamw"]) == 2
    assert "training.optimizer" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def _one_class(root):
    (root / "only").mkdir(parents=True)
    tifffile.imwrite(root / "only" / "a.tif", np.zeros((16, 16), np.uint8))


def _empty_class(root):
    _one_class(root)
    (root / "empty").mkdir()


def _loose_images(root):
    root.mkdir()
    tifffile.imwrite(root / "a.tif", np.zeros((16, 16), np.uint8))


@pytest.mark.parametrize("make, words", [
    (_one_class, "only one class"),
    (_empty_class, "empty"),
    (_loose_images, "class"),
])
def test_dataset_mistakes_end_with_a_plain_message(tmp_path, capsys, make, words):
    root = tmp_path / "data"
    make(root)
    code = main(["init", "--task", "classification", "--data", str(root), "-o", str(tmp_path / "s.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and words in err.lower()
    assert "What to do" in err
    assert not (tmp_path / "s.toml").exists()
