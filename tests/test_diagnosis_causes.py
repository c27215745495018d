"""Underfitting whose cause the settings show (a learning rate far too small or too large, heavy
regularisation): that cause's advice comes first, before "a bigger network" (benchmarks/advice_check.py
found the bigger network useless for these runs)."""

from __future__ import annotations

import numpy as np
import pytest

from petrilab.training.diagnosis import diagnose

from test_diagnosis import history, underfitting_curves


def _stuck(**settings):
    train, val, s = underfitting_curves("stuck at chance, ten classes", np.random.default_rng(0))
    for key, value in settings.items():
        section, name = key.split("__")
        setattr(getattr(s, section), name, value)
    d = diagnose(history(train, val), settings=s)
    assert d.verdict == "underfitting"
    return d


@pytest.mark.parametrize("lr", [1e-5, 3e-6])
def test_a_learning_rate_far_too_small_goes_back_to_the_range_test_first(lr):
    d = _stuck(training__learning_rate=lr)
    assert d.advice[0].changes == {"training.learning_rate": "auto"}
    assert "far below" in d.advice[0].text and "range test" in d.advice[0].text
    assert any("model.filters" in a.changes for a in d.advice[1:])  # the bigger network is still offered


def test_a_learning_rate_far_too_large_goes_back_to_the_range_test_first():
    d = _stuck(training__learning_rate=0.3)
    assert d.advice[0].changes == {"training.learning_rate": "auto"}
    assert "far above" in d.advice[0].text
    sgd = _stuck(training__learning_rate=0.3, training__optimizer="sgd")  # a usual rate for plain SGD
    assert "model.filters" in sgd.advice[0].changes


def test_heavy_regularisation_is_removed_first_and_said_once():
    d = _stuck(model__dropout=0.8, model__l2=0.1)
    assert d.advice[0].changes == {"model.dropout": 0.0, "model.l2": 0.0}
    assert sum(a.changes == d.advice[0].changes for a in d.advice) == 1
    usual = _stuck(model__dropout=0.25)  # a usual dropout: the network's size stays the first suspect
    assert "model.filters" in usual.advice[0].changes
