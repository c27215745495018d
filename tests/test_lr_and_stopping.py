"""A training length and a learning rate that need no guess: the range test, and early stopping that keeps
the best epoch's weights (real trainings on tiny data)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from helpers import events_of, small_settings
from PIL import Image

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.training.lr_finder import BAND, choose


def test_the_rate_is_where_the_loss_falls_fastest_below_the_lowest_loss_and_never_outside_the_band():
    rates = list(np.logspace(-6, 0, 61))
    # a loss that falls fastest at 1e-3, is lowest at 1e-2 and blows up after
    losses = [1.0 - 0.8 / (1 + np.exp(-4 * (np.log10(r) + 3))) if r <= 1e-2 else 0.2 + 20 * (r - 1e-2)
              for r in rates]
    choice = choose(rates, losses, "adam")
    assert choice.lowest_at == pytest.approx(1e-2, rel=0.3)
    assert choice.steepest_at == pytest.approx(1e-3, rel=0.3)
    assert choice.learning_rate == pytest.approx(1e-3, rel=0.3)
    # a steepest fall right beside the lowest loss: kept three times below it
    edge = [1.0 if r < 5e-3 else 0.3 if r <= 1e-2 else 2.0 for r in rates]
    assert choose(rates, edge, "adam").learning_rate <= 1e-2 / 3 * 1.05
    assert "training uses" in choice.message
    flat = choose(rates, [1.0] * 60, "adam")
    assert flat.learning_rate == 1e-3 and "hardly fell" in flat.message
    sgd = choose(rates, [max(0.1, 1.0 - 0.2 * i) for i in range(60)], "sgd")  # lowest early: kept in the band
    assert BAND["sgd"][0] <= sgd.learning_rate <= BAND["sgd"][1]


@pytest.mark.slow
def test_the_range_test_on_a_real_network_puts_the_weights_back():
    import keras

    from petrilab.training.lr_finder import find_learning_rate

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    choice = find_learning_rate(model, {"x": x, "y": y, "batch_size": 16}, "adam")
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert 1e-4 <= choice.learning_rate <= 1e-2, choice.message
    assert 10 <= len(choice.rates) <= 100 and choice.losses[-1] > min(choice.losses)  # ran until it rose
    # the chosen rate learns: a few epochs reach a good accuracy
    model.compile(keras.optimizers.Adam(choice.learning_rate), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def _noise_classes(folder, n_per_class=24, size=16, seed=0):
    """Pure noise in two folders: nothing to learn, so the validation loss rises as training memorises."""
    rng = np.random.default_rng(seed)
    for cls in ("a", "b"):
        (folder / cls).mkdir(parents=True)
        for i in range(n_per_class):
            Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8), mode="L").save(folder / cls / f"{i}.png")
    return folder


@pytest.mark.slow
def test_early_stopping_ends_the_run_and_keeps_the_best_epochs_weights(tmp_path):
    import keras

    from petrilab.data.images import read_image
    from petrilab.data.preprocess import Preprocessing
    from petrilab.training.trainer import train

    data = _noise_classes(tmp_path / "noise")
    s = small_settings(data, **{"training__epochs": 60, "training__patience": 4, "training__learning_rate": 0.003,
                                "augmentation__geometric": "no", "model__head_units": [64]})
    assert s.training.early_stopping  # the default
    run = train(s, runs_dir=tmp_path / "runs", echo=False)
    (finished,) = events_of(run, "finished")
    history = runs.read_history(run / runs.HISTORY)
    assert finished["epochs_done"] == len(history) < 60  # stopped long before the cap
    best = min(range(len(history)), key=lambda i: history[i]["val_loss"])
    assert finished["best_epoch"] == best and best < len(history) - 1  # it went on past the best, then stopped
    # model.keras holds the best epoch: its validation loss is the best one in the history
    settings = settings_io.load(run / runs.SETTINGS)
    with open(run / runs.SPLIT, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["subset"] == "validation"]
    prep = Preprocessing.from_settings(settings.data, settings.data.channels)
    x = np.stack([prep(read_image(r["file"])) for r in rows])
    y = np.array([[float(settings.data.classes.index(r["class"]))] for r in rows], dtype="float32")
    model = keras.saving.load_model(run / runs.BEST_MODEL)
    loss = float(keras.losses.binary_crossentropy(y, model.predict(x, verbose=0)).numpy().mean())
    assert loss == pytest.approx(history[best]["val_loss"], rel=1e-3)
    assert loss < history[-1]["val_loss"]
    # the verdict of a run that early stopping ended is never "not finished"
    diagnosis = events_of(run, "diagnosis")[-1]
    assert diagnosis["verdict"] != "not_finished"
    assert "validation set has only" in " ".join(diagnosis["evidence"])  # 9 validation images: too few to tell
