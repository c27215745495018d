"""The fit diagnosis on real trainings, as the workshop shows them: the verdict is asserted."""

import json

import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.demo import make_classification_demo
from petrilab.training.trainer import train


def run(tmp_path, data, **changes):
    s = settings_io.defaults_for("classification")
    s.data.folder = str(data)
    s.data.image_size = [32, 32]
    for key in ("flip_horizontal", "flip_vertical", "rotate_90"):
        setattr(s.augmentation, key, False)
    # the workshop's fixed-length trainings: the curves' shapes are what is diagnosed here
    s.training.early_stopping = False
    s.training.learning_rate = 0.001
    for key, value in changes.items():
        settings_io.apply_override(s, key.replace("__", "."), value)
    run_dir = train(s, runs_dir=tmp_path / "runs", echo=False)
    return json.loads((run_dir / runs.DIAGNOSIS).read_text())


@pytest.fixture(scope="module")
def few_images(tmp_path_factory):
    return make_classification_demo(tmp_path_factory.mktemp("few") / "data", n_per_class=12, size=32, seed=7)


@pytest.mark.slow
def test_large_network_on_few_images_overfits(few_images, tmp_path):
    """~650 k weights for 24 training images, 40 epochs: the network learns them by heart (its validation loss
    was lowest at epoch 17 and had risen 25 % by epoch 40, 16 % by epoch 30: a clear verdict needs 10 %)."""
    diagnosis = run(tmp_path, few_images, model__architecture="dense", model__dense_layers=[512, 256],
                    training__epochs=40, training__batch_size=8)
    assert diagnosis["verdict"] == "overfitting"
    assert any("dropout" in a["text"].lower() or "model.dropout" in a["changes"] for a in diagnosis["advice"])


@pytest.mark.slow
def test_too_few_epochs_is_not_finished(few_images, tmp_path):
    diagnosis = run(tmp_path, few_images, training__epochs=4, training__batch_size=8)
    assert diagnosis["verdict"] == "not_finished"
    resume = [a for a in diagnosis["advice"] if a["resume"]]
    assert resume and resume[0]["changes"]["training.epochs"] > 4
