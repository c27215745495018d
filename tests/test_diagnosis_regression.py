"""Underfitting in regression: a loss that stays at what 'always answer the mean value' costs.

Regression learns standardised values, so a network that ignores the image and answers their mean has a
known loss (about 1 with mse, 0.80 with mae, 0.42 with huber): the diagnosis compares the training loss
with it, as it compares a classifier's loss with a blind guess's.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.demo import make_regression_demo
from petrilab.training.diagnosis import chance_loss, diagnose


def regression_settings(loss: str = "auto"):
    s = settings_io.defaults_for("regression")
    s.data.target_columns = ["x", "y"]
    s.training.loss = loss
    return s


def history(train, val):
    return [{"epoch": i, "loss": float(t), "val_loss": float(v)} for i, (t, v) in enumerate(zip(train, val))]


def stuck_at(level: float, n: int = 30, start: float | None = None, seed: int = 0):
    """A loss that falls in a few epochs from `start` to `level` (the bias learns the mean), then stays."""
    rng = np.random.default_rng(seed)
    start = level * 1.6 if start is None else start
    curve = level + (start - level) * np.exp(-np.arange(n) / 1.5)
    return curve + rng.normal(0, 0.01 * level, n), curve * 1.02 + rng.normal(0, 0.015 * level, n)


@pytest.mark.parametrize("loss, expected", [("auto", 1.0), ("mse", 1.0), ("mae", math.sqrt(2 / math.pi)),
                                            ("huber", 0.4247)])
def test_the_mean_value_guess_has_the_loss_of_a_standard_normal(loss, expected):
    assert chance_loss(regression_settings(loss)) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_a_loss_stuck_at_the_mean_guess_is_underfitting_in_plain_words(loss):
    level = chance_loss(regression_settings(loss))
    train, val = stuck_at(level)
    d = diagnose(history(train, val), settings=regression_settings(loss))
    assert d.verdict == "underfitting"
    evidence = " ".join(d.evidence)
    assert "always answering the training images' mean value" in evidence and loss in evidence
    assert "mean value" in d.summary
    assert d.numbers["chance_loss"] == pytest.approx(level)
    assert any("targets.csv" in a.text for a in d.advice)
    # without the settings the same curves fell by a third and then settled: nothing tells it was the mean
    assert diagnose(history(train, val)).verdict != "underfitting"


def test_a_regression_that_learns_is_not_underfitting():
    train, val = stuck_at(0.15, start=1.5)
    d = diagnose(history(train, val), settings=regression_settings("mse"))
    assert d.verdict != "underfitting" and "underfitting" not in d.secondary


def test_the_mae_guess_is_not_the_mse_guess():
    # 0.55 is far below mse's mean guess (1.0) but 69 % of mae's (0.80): only a settled high plateau with mae
    train, val = stuck_at(0.55, start=0.9)
    assert diagnose(history(train, val), settings=regression_settings("mse")).verdict != "underfitting"
    train, val = stuck_at(0.7, start=1.1)
    assert diagnose(history(train, val), settings=regression_settings("mae")).verdict == "underfitting"


@pytest.mark.slow
def test_a_real_regression_that_cannot_learn_is_diagnosed_underfitting(tmp_path):
    """A learning rate of 1e-7: the weights hardly move, the loss stays at the mean guess's level or above."""
    from petrilab.training.trainer import train

    beads = make_regression_demo(tmp_path / "beads", n_images=40, size=16, seed=3)
    s = settings_io.defaults_for("regression")
    s.data.folder = str(beads)
    s.data.image_size = [16, 16]
    s.model.filters = [8]
    s.model.head_units = [8]
    s.training.epochs = 12
    s.training.batch_size = 8
    s.training.learning_rate = 1e-7
    s.training.early_stopping = False
    s.augmentation.geometric = "no"  # helpers.FIXED_CHOICES: the flip probe has its own tests
    run = train(s, runs_dir=tmp_path / "runs", echo=False)
    d = json.loads((run / runs.DIAGNOSIS).read_text())
    assert d["verdict"] == "underfitting", d
    assert d["numbers"]["chance_loss"] == pytest.approx(1.0)
    print(f"regression at 1e-7: training loss {d['numbers']['train_vs_chance']:.3f} times the mean guess's, >= 0.9")
    assert d["numbers"]["train_vs_chance"] >= 0.9
    assert any("mean value" in line for line in d["evidence"])
