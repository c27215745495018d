"""Diagnosis that sees lost accuracy, a validation loss stuck at a blind guess, and a validation set too
small to tell — beyond the shape of the curves (training/diagnosis/evidence.py)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np

from petrilab.settings import Settings
from petrilab.training.diagnosis import diagnose


def _settings(**changes) -> Settings:
    s = Settings()
    s.data.classes = [str(d) for d in range(10)]
    s.training.learning_rate = 0.001
    for key, value in changes.items():
        section, name = key.split(".")
        setattr(getattr(s, section), name, value)
    return s


def _settled(n=40, train_acc=0.93, val_acc=0.90, seed=0):
    """Curves that settled with a small gap, training accuracy stuck at `train_acc` (flips that turn a 6 into
    a 9 do that): the shape of a good fit."""
    rng = np.random.default_rng(seed)
    epochs = np.arange(n)
    t = 0.25 + 2.0 * np.exp(-epochs / 4) + 0.004 * rng.standard_normal(n)
    v = 0.30 + 2.0 * np.exp(-epochs / 4) + 0.008 * rng.standard_normal(n)
    acc = np.minimum(train_acc, 0.1 + (train_acc - 0.1) * (1 - np.exp(-epochs / 3))) + 0.003 * rng.standard_normal(n)
    val = np.minimum(val_acc, 0.1 + (val_acc - 0.1) * (1 - np.exp(-epochs / 3)))
    return [{"epoch": int(i), "loss": float(a), "val_loss": float(b), "accuracy": float(c), "val_accuracy": float(d)}
            for i, a, b, c, d in zip(epochs, t, v, acc, val)]


def test_training_accuracy_stuck_below_100_percent_is_not_a_good_fit():
    history = _settled()
    d = diagnose(history, settings=_settings())
    assert d.verdict == "underfitting" and d.numbers["case"] == "lost_accuracy", (d.verdict, d.evidence)
    assert "Training accuracy settled at 93 %" in d.evidence[0]
    assert d.advice[0].changes == {"augmentation.geometric": "no"}  # the flips, first
    assert any("model.filters" in a.changes for a in d.advice)  # then a wider network
    # the user answered "yes, flips keep the class": not advised against; the wider network stays
    answered = diagnose(history, settings=_settings(**{"augmentation.geometric": "yes"}))
    assert all(a.changes != {"augmentation.geometric": "no"} for a in answered.advice)
    assert answered.advice[-1].changes == {"model.filters": [32, 64, 128]}
    # a training accuracy that reached 99 % is the good fit it looks like
    assert diagnose(_settled(train_acc=0.99, val_acc=0.97), settings=_settings()).verdict == "good_fit"


def test_a_validation_loss_that_never_beats_a_blind_guess():
    n = 30
    epochs = np.arange(n)
    chance = math.log(10)
    history = [{"epoch": int(i), "loss": float(chance * (0.3 + 0.7 * math.exp(-i / 5))),
                "val_loss": float(chance * (1.0 + 0.01 * math.sin(i))), "accuracy": 0.99, "val_accuracy": 0.1}
               for i in epochs]
    d = diagnose(history, settings=_settings())
    assert d.verdict == "overfitting" and d.numbers["case"] == "val_chance", (d.verdict, d.evidence)
    assert "does not carry over" in d.evidence[0]
    assert d.advice[0].page == "data"  # the labels first


def test_a_validation_set_too_small_to_tell_is_counted_and_said():
    history = _settled(train_acc=0.99, val_acc=0.97)
    few = diagnose(history, settings=_settings(), n_validation=12)
    assert "The validation set has only 12 images (about 1 per class)" in " ".join(few.evidence)
    assert "8.3 %" in " ".join(few.evidence) and few.numbers["n_validation"] == 12
    assert "unrepresentative_validation" in few.secondary
    assert {"split.validation_fraction": 0.3} in [a.changes for a in few.advice]
    enough = diagnose(history, settings=_settings(), n_validation=400)
    assert "n_validation" not in enough.numbers and enough.evidence == diagnose(history, settings=_settings()).evidence


def test_an_early_stopped_run_is_never_not_finished():
    n = 40
    history = [{"epoch": i, "loss": float(t), "val_loss": float(v)}
               for i, (t, v) in enumerate(zip(np.linspace(1.0, 0.4, n), np.linspace(1.0, 0.5, n)))]
    assert diagnose(history, settings=_settings()).verdict == "not_finished"
    assert diagnose(history, settings=_settings(), stopped_early=True).verdict != "not_finished"


def test_the_rules_module_imports_nothing_heavy():
    code = "import sys, petrilab.training.diagnosis.evidence; print('keras' in sys.modules, 'PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
