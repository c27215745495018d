"""The fit diagnosis: the workshop's six verdicts on constructed curves, edge cases, live stability, advice."""

from __future__ import annotations

import copy
import csv
import json
import math
import re

import numpy as np
import pytest

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.errors import UserError
from petrilab.settings import Settings
from petrilab.training import diagnosis as dg
from petrilab.training.diagnosis import VERDICTS, Advice, Diagnosis, diagnose, diagnose_file

SEEDS = (0, 1, 2)


# ---------------------------------------------------------------- curve makers


def decay(n, start, end, tau, rng=None, noise=0.0):
    """A loss falling like exp(-epoch / tau) from `start` to `end`, with multiplicative noise."""
    e = np.arange(n, dtype=float)
    y = end + (start - end) * np.exp(-e / tau)
    if noise:
        y = y * (1 + noise * rng.standard_normal(n))
    return y


def history(train, val, **extra):
    rows = []
    for i, (t, v) in enumerate(zip(train, val)):
        row = {"epoch": i, "loss": float(t), "val_loss": float(v)}
        for key, values in extra.items():
            row[key] = float(values[i])
        rows.append(row)
    return rows


def run_settings() -> Settings:
    """The settings of a run that trained at a learning rate of 0.001, without early stopping (what the
    advice is computed from; a new experiment's "auto" rate is a number in its run)."""
    s = Settings()
    s.training.learning_rate = 0.001
    s.training.early_stopping = False
    return s


def binary_settings(**changes) -> Settings:
    s = run_settings()
    s.data.classes = ["healthy", "infected"]
    for key, value in changes.items():
        settings_io.apply_override(s, key, value)
    return s


def epochs_in(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"epochs? (\d+)", text)]


# ---------------------------------------------------------------- the six verdicts


def good_fit_curves(shape, rng):
    if shape == "quick plateau":
        return decay(40, 0.7, 0.2, 5, rng, 0.015), decay(40, 0.72, 0.23, 5, rng, 0.04)
    if shape == "long run":
        return decay(150, 0.7, 0.15, 15, rng, 0.01), decay(150, 0.7, 0.17, 15, rng, 0.05)
    if shape == "ten classes":  # categorical cross-entropy from ln(10)
        return decay(30, 2.3, 0.3, 3, rng, 0.02), decay(30, 2.2, 0.33, 3, rng, 0.04)
    raise ValueError(shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", ["quick plateau", "long run", "ten classes"])
def test_good_fit(shape, seed):
    train, val = good_fit_curves(shape, np.random.default_rng(seed))
    d = diagnose(history(train, val))
    assert d.verdict == "good_fit", (d.verdict, d.evidence)
    n = len(train)
    best = int(np.argmin(val)) + 1
    text = " ".join(d.evidence)
    assert f"–{n})" in text  # the last epochs are named
    assert f"lowest at epoch {best} " in text  # the epoch model.keras holds
    assert d.numbers["best_val_epoch"] == best
    assert d.advice and not any(a.changes for a in d.advice)  # nothing to change


def overfitting_curves(shape, rng):
    """Returns train, val and the epoch (1-based) where the noise-free validation loss is lowest."""
    e = np.arange
    if shape == "classic":
        n, m = 40, 12
        train = decay(n, 0.7, 0.01, 8, rng, 0.02)
        clean = 0.3 + 0.4 * np.exp(-e(n) / 4) + 0.012 * np.clip(e(n) - m, 0, None)
        noise = 0.03
    elif shape == "big network, few images":  # learns the few images by heart within a few epochs, noisy validation
        n, m = 60, 4
        train = decay(n, 0.69, 0.002, 2, rng, 0.05)
        clean = 0.45 + 0.25 * np.exp(-e(n) / 1.5) + 0.02 * np.clip(e(n) - m, 0, None)
        noise = 0.1
    elif shape == "long, slow rise":
        n, m = 200, 60
        train = decay(n, 0.7, 0.02, 30, rng, 0.01)
        clean = 0.25 + 0.45 * np.exp(-e(n) / 15) + 1e-5 * np.clip(e(n) - m, 0, None) ** 2
        noise = 0.04
    else:
        raise ValueError(shape)
    return train, clean * (1 + noise * rng.standard_normal(n)), int(np.argmin(clean)) + 1


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", ["classic", "big network, few images", "long, slow rise"])
def test_overfitting(shape, seed):
    train, val, true_min = overfitting_curves(shape, np.random.default_rng(seed))
    d = diagnose(history(train, val), settings=binary_settings())
    assert d.verdict == "overfitting", (d.verdict, d.evidence)
    n = len(train)
    first = d.evidence[0]
    best = int(np.argmin(val)) + 1
    assert first.startswith(f"Validation loss was lowest at epoch {best} ({val[best - 1]:.3g})")
    assert f"by epoch {n}" in first
    assert abs(best - true_min) <= max(4, n // 10)  # the minimum named is where the curve has it, give or take noise
    assert "training loss" in first
    # early stopping first; the best checkpoint is explained with its epoch
    assert d.advice[0].changes == {"training.early_stopping": True}
    assert f"epoch {best}" in d.advice[0].text
    assert d.numbers["best_val_epoch"] == best


def test_overfitting_when_validation_only_levels_off():
    """Validation loss stopped improving while training loss still falls fast, gap large: overfitting begins."""
    rng = np.random.default_rng(3)
    train = decay(40, 0.7, 0.0, 14, rng, 0.01)
    val = decay(40, 0.72, 0.45, 3, rng, 0.02)
    d = diagnose(history(train, val))
    assert d.verdict == "overfitting"
    assert d.numbers["case"] == "onset"
    assert "(28–40" in d.evidence[0]


def underfitting_curves(shape, rng):
    if shape == "flat":
        return 0.69 * (1 + 0.01 * rng.standard_normal(30)), 0.70 * (1 + 0.02 * rng.standard_normal(30)), None
    if shape == "settled high":  # binary, stops near 0.6: 87 % of ln 2
        return decay(40, 0.69, 0.6, 4, rng, 0.01), decay(40, 0.7, 0.61, 4, rng, 0.02), binary_settings()
    if shape == "stuck at chance, ten classes":
        s = run_settings()
        s.data.classes = [f"c{i}" for i in range(10)]
        chance = math.log(10)
        return chance * (1 + 0.01 * rng.standard_normal(25)), chance * (1 + 0.02 * rng.standard_normal(25)), s
    raise ValueError(shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", ["flat", "settled high", "stuck at chance, ten classes"])
def test_underfitting(shape, seed):
    train, val, s = underfitting_curves(shape, np.random.default_rng(seed))
    d = diagnose(history(train, val), settings=s)
    assert d.verdict == "underfitting", (d.verdict, d.evidence)
    n = len(train)
    assert str(n) in " ".join(d.evidence)
    assert any("model.filters" in a.changes for a in d.advice) == (s is not None)
    assert any(a.page == "model" for a in d.advice)  # a bigger model
    if s is not None:
        assert 0.4 < d.numbers["train_vs_chance"] < 1.2


def test_underfitting_flat_names_first_and_last_epoch():
    rng = np.random.default_rng(0)
    d = diagnose(history(0.69 * (1 + 0.01 * rng.standard_normal(30)), 0.7 * (1 + 0.02 * rng.standard_normal(30))))
    assert epochs_in(d.evidence[0]) == [1, 30]


def test_a_slow_start_is_not_finished_but_a_long_stay_at_chance_is_underfitting():
    """The demo ConvNet sits near ln 3 for its first epochs before it takes off (numbers from a real run)."""
    s = run_settings()
    s.data.classes = ["elongated", "fragmented", "round"]
    train = [1.101, 1.099, 1.099, 1.096, 1.094]
    val = [1.098, 1.098, 1.097, 1.096, 1.095]
    d = diagnose(history(train, val), settings=s)
    assert d.verdict == "not_finished" and d.secondary == ["underfitting"]
    assert "(1.100 at epoch 1, 1.095 at epoch 5)" in d.evidence[0]  # smoothed values, with the digits that differ
    assert d.advice[0].resume
    assert {"training.learning_rate": 0.003} in [a.changes for a in d.advice]
    rng = np.random.default_rng(0)
    flat = math.log(3) * (1 + 0.002 * rng.standard_normal(30))
    assert diagnose(history(flat, flat + 0.001), settings=s).verdict == "underfitting"


def test_unstable_training_loss_rising_again():
    rng = np.random.default_rng(0)
    train = np.concatenate([decay(15, 0.7, 0.3, 3), np.linspace(0.3, 0.75, 15)]) * (1 + 0.01 * rng.standard_normal(30))
    val = train * 1.05
    d = diagnose(history(train, val), settings=binary_settings())
    assert d.verdict == "underfitting"
    assert d.numbers["case"] == "unstable"
    assert d.advice[0].changes == {"training.learning_rate": 0.0001}
    assert "rose again" in d.advice[0].text and "blew up" not in d.advice[0].text  # it did not diverge
    low = epochs_in(d.evidence[0])[0]
    assert 12 <= low <= 18 and "by epoch 30" in d.evidence[0]


def not_finished_curves(shape, rng):
    if shape == "slow":
        return decay(30, 0.7, 0.1, 30, rng, 0.01), decay(30, 0.72, 0.15, 30, rng, 0.03)
    if shape == "few epochs of a learning model":
        return decay(6, 0.69, 0.15, 4, rng, 0.01), decay(6, 0.66, 0.2, 4, rng, 0.03)
    if shape == "straight line":
        return np.linspace(1.0, 0.4, 100) * (1 + 0.01 * rng.standard_normal(100)), np.linspace(1.0, 0.5, 100) * (
            1 + 0.04 * rng.standard_normal(100))
    raise ValueError(shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", ["slow", "few epochs of a learning model", "straight line"])
def test_not_finished(shape, seed):
    train, val = not_finished_curves(shape, np.random.default_rng(seed))
    n = len(train)
    s = binary_settings(**{"training.epochs": n})
    d = diagnose(history(train, val), settings=s)
    assert d.verdict == "not_finished", (d.verdict, d.evidence)
    assert f"–{n})" in d.evidence[0]
    resume = d.advice[0]
    assert resume.resume and resume.page == "train"
    assert resume.changes["training.epochs"] > n  # the new total, as Keras' epochs with initial_epoch
    # for the next runs: twice as many, and at least the default 30
    assert {"training.epochs": max(2 * n, 30)} in [a.changes for a in d.advice]


def unrepresentative_validation_curves(shape, rng):
    if shape == "noisy":
        return decay(40, 0.7, 0.3, 5, rng, 0.01), decay(40, 0.72, 0.32, 5, rng, 0.2)
    if shape == "noisy, long":
        return decay(150, 0.7, 0.3, 10, rng, 0.01), decay(150, 0.72, 0.32, 10, rng, 0.15)
    if shape == "better than training":
        return decay(40, 0.7, 0.3, 5, rng, 0.01), decay(40, 0.6, 0.2, 5, rng, 0.03)
    raise ValueError(shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", ["noisy", "noisy, long", "better than training"])
def test_unrepresentative_validation(shape, seed):
    train, val = unrepresentative_validation_curves(shape, np.random.default_rng(seed))
    d = diagnose(history(train, val), settings=binary_settings())
    assert d.verdict == "unrepresentative_validation", (d.verdict, d.evidence)
    text = " ".join(d.evidence)
    if shape.startswith("noisy"):
        assert "jumps by about ±" in text
    else:
        n = len(train)
        assert f"({n - 13 + 1}–{n})" in text and "below training loss" in text
    assert d.advice[0].changes == {"split.validation_fraction": 0.3}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_near_perfect_fit_on_few_validation_images_is_a_good_fit(seed):
    """The classification demo's curve: three classes, validation loss from ln 3 down to about 0.08 and
    jumping by ±40 % of that small level (one or two of 48 images decide it). Relative to the blind
    guess's loss the jumps are tiny: a good fit, not an unrepresentative validation set."""
    rng = np.random.default_rng(seed)
    train, val = decay(70, 1.1, 0.02, 8, rng, 0.3), decay(70, 1.1, 0.08, 8, rng, 0.4)
    d = diagnose(history(train, val), settings=binary_settings(**{"data.classes": ["a", "b", "c"]}))
    assert d.verdict == "good_fit", (d.verdict, d.evidence)


def test_dropout_explains_a_small_lead_of_validation():
    """Dropout raises the training loss only: validation 15 % below training is no alarm with 50 % dropout."""
    rng = np.random.default_rng(0)
    train, val = decay(40, 0.7, 0.3, 5, rng, 0.01), decay(40, 0.62, 0.255, 5, rng, 0.02)
    assert diagnose(history(train, val), settings=binary_settings()).verdict == "unrepresentative_validation"
    assert diagnose(history(train, val), settings=binary_settings(**{"model.dropout": 0.5})).verdict == "good_fit"


def unrepresentative_training_curves(shape, rng):
    if shape == "settled apart":
        return decay(40, 0.7, 0.1, 4, rng, 0.01), decay(40, 0.75, 0.5, 4, rng, 0.03)
    if shape == "long run":
        return decay(100, 0.8, 0.05, 8, rng, 0.01), decay(100, 0.8, 0.45, 8, rng, 0.04)
    raise ValueError(shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", ["settled apart", "long run"])
def test_unrepresentative_training(shape, seed):
    train, val = unrepresentative_training_curves(shape, np.random.default_rng(seed))
    d = diagnose(history(train, val), settings=binary_settings())
    assert d.verdict == "unrepresentative_training", (d.verdict, d.evidence)
    n = len(train)
    assert f"–{n})" in d.evidence[0]
    assert "does not close" in d.evidence[1]
    assert d.advice[0].page == "data"
    assert any(k.startswith("augmentation.") for a in d.advice for k in a.changes)


# ---------------------------------------------------------------- edge cases


@pytest.mark.parametrize("n", [1, 2, 3])
def test_one_to_three_epochs(n):
    rng = np.random.default_rng(0)
    h = history(decay(n, 0.7, 0.2, 3, rng, 0.01), decay(n, 0.72, 0.25, 3, rng, 0.02))
    live = diagnose(h, final=False)
    assert live.verdict == "too_early" and not live.final and live.epochs_seen == n
    final = diagnose(h, final=True)
    assert final.verdict == "not_finished"
    assert f"Only {n} epoch" in final.evidence[0]
    assert final.advice[0].resume


def test_nan_loss_is_divergence():
    rng = np.random.default_rng(0)
    train, val = decay(20, 0.7, 0.2, 3, rng, 0.01), decay(20, 0.72, 0.25, 3, rng, 0.02)
    train[12:] = np.nan
    val[12:] = np.nan
    s = binary_settings()
    d = diagnose(history(train, val), settings=s)
    assert d.verdict == "diverged" and d.title == "Training diverged"
    assert "NaN" in d.evidence[0] and "epoch 13" in d.evidence[0]
    assert d.numbers["diverged_epoch"] == 13
    assert d.advice[0].changes == {"training.learning_rate": 0.0001}
    assert diagnose(history(train, val)).advice[0].changes == {"training.learning_rate": 0.0001}
    s.training.learning_rate = 0.03
    assert diagnose(history(train, val), settings=s).advice[0].changes == {"training.learning_rate": 0.003}
    # live too, even before four epochs
    assert diagnose(history(train, val)[:13], final=False).title == "Training diverged"


def test_missing_loss_values_from_json_null_and_infinity():
    h = history([0.7, 0.5, 0.4, 0.35, 0.3], [0.7, 0.55, 0.45, 0.4, 0.38])
    h[3]["loss"] = None  # events.jsonl writes NaN as null
    assert diagnose(h).title == "Training diverged"
    h = history([0.7, 0.5, 0.4, 0.35, 0.3], [0.7, 0.55, math.inf, 0.4, 0.38])
    d = diagnose(h)
    assert d.verdict == "diverged" and "Validation loss became infinite at epoch 3" in d.evidence[0]


def test_constant_loss():
    d = diagnose(history([0.6931] * 20, [0.6931] * 20))
    assert d.verdict == "underfitting"
    assert "stayed flat" in d.evidence[0]
    json.dumps(d.to_dict(), allow_nan=False)


def test_validation_missing_on_some_epochs_is_skipped():
    rng = np.random.default_rng(0)
    train, val, _ = overfitting_curves("classic", rng)
    h = history(train, val)
    for row in h[1::2]:
        row["val_loss"] = float("nan")  # validated every second epoch
    d = diagnose(h)
    assert d.verdict == "overfitting"
    assert d.epochs_seen == 40 and d.numbers["epochs_analysed"] == 20
    assert epochs_in(d.evidence[0])[0] % 2 == 1  # only validated epochs are named


def test_missing_val_loss_is_a_user_error():
    with pytest.raises(UserError, match="validation curve"):
        diagnose([{"epoch": 0, "loss": 0.7}, {"epoch": 1, "loss": 0.5}])
    with pytest.raises(UserError) as info:
        diagnose([{"loss": 0.7, "val_loss": None}, {"loss": 0.6, "val_loss": None}])
    assert "validation" in info.value.fix
    with pytest.raises(UserError):
        diagnose([])


def test_extra_metric_columns():
    rng = np.random.default_rng(1)
    train, val, _ = overfitting_curves("classic", rng)
    n = len(train)
    h = history(train, val, accuracy=np.linspace(0.6, 1.0, n), val_accuracy=np.linspace(0.6, 0.85, n),
                seconds=np.full(n, 1.5), lr=np.full(n, 1e-3))
    d = diagnose(h)
    assert d.verdict == "overfitting"
    assert any(e.startswith("Validation accuracy was") for e in d.evidence)


def test_high_training_accuracy_is_not_underfitting():
    """An easy task learnt in the first epoch: the loss barely moves afterwards, accuracy is 99 %."""
    rng = np.random.default_rng(0)
    train, val = 0.03 * (1 + 0.02 * rng.standard_normal(20)), 0.035 * (1 + 0.03 * rng.standard_normal(20))
    assert diagnose(history(train, val)).verdict == "underfitting"  # without accuracy it looks flat
    h = history(train, val, accuracy=np.full(20, 0.99), val_accuracy=np.full(20, 0.985))
    assert diagnose(h).verdict == "good_fit"


def test_keras_csvlogger_file(tmp_path):
    rng = np.random.default_rng(2)
    train, val, _ = overfitting_curves("classic", rng)
    path = tmp_path / "training.log"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "accuracy", "loss", "val_accuracy", "val_loss"])
        for i, (t, v) in enumerate(zip(train, val)):
            writer.writerow([i, 0.5 + i / 100, t, 0.5 + i / 200, v])
    before = path.read_bytes()
    d = diagnose_file(path)
    assert d.verdict == "overfitting" and d.final and d.epochs_seen == 40
    assert path.read_bytes() == before  # input files are never modified


def test_csv_without_val_loss(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,accuracy\n0,0.7,0.5\n1,0.6,0.6\n")
    with pytest.raises(UserError) as info:
        diagnose_file(path)
    assert "validation curve" in info.value.message and info.value.file == str(path)
    assert "validation" in info.value.fix
    other = tmp_path / "notes.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="no 'loss' column"):
        diagnose_file(other)
    with pytest.raises(UserError, match="does not exist"):
        diagnose_file(tmp_path / "nowhere.csv")
    with pytest.raises(UserError, match="history.csv"):
        diagnose_file(tmp_path)  # a folder that is not a run


def test_run_folder_uses_its_settings_and_classes(tmp_path):
    rng = np.random.default_rng(0)
    train, val, _ = underfitting_curves("settled high", rng)
    runs.write_history(tmp_path / runs.HISTORY, history(train, val))
    s = run_settings()
    s.model.dropout = 0.25
    settings_io.save(s, tmp_path / runs.SETTINGS)  # classes left to the sub-folders...
    (tmp_path / runs.EVENTS).write_text(json.dumps({"event": "started", "time": 0, "classes": ["a", "b"]}) + "\n")
    d = diagnose_file(tmp_path)  # ...and read from the started event
    assert d.verdict == "underfitting"
    assert d.numbers["chance_loss"] == pytest.approx(math.log(2))
    assert any(a.changes.get("model.dropout") == 0.0 for a in d.advice)  # less regularisation, from the settings
    assert "model.filters" in d.advice[0].changes


# ---------------------------------------------------------------- live use


def live_verdicts(train, val, settings=None) -> list[str]:
    h = history(train, val)
    return [diagnose(h[:k], final=False, settings=settings).verdict for k in range(1, len(h) + 1)]


def changes(verdicts: list[str]) -> int:
    return sum(a != b for a, b in zip(verdicts, verdicts[1:]))


def assert_no_flicker(verdicts: list[str]) -> None:
    """At most three changes, and every verdict between the first and the last is shown for 3 epochs or more."""
    runs_ = []
    for v in verdicts:
        if runs_ and runs_[-1][0] == v:
            runs_[-1][1] += 1
        else:
            runs_.append([v, 1])
    assert len(runs_) - 1 <= 3, runs_
    assert all(length >= 3 for _, length in runs_[1:-1]), runs_


@pytest.mark.parametrize("seed", range(3))
def test_live_verdict_is_stable_on_a_noisy_plateau(seed):
    """A quick descent, then a long noisy-but-steady plateau: the live verdict settles and stays."""
    rng = np.random.default_rng(seed)
    train, val = decay(80, 0.7, 0.2, 4, rng, 0.02), decay(80, 0.72, 0.23, 4, rng, 0.06)
    verdicts = live_verdicts(train, val)
    assert verdicts[:3] == ["too_early"] * 3
    assert set(verdicts[40:]) == {"good_fit"}
    assert changes(verdicts[3:]) <= 1  # one change: from "not finished" to the steady verdict


@pytest.mark.parametrize("seed", range(3))
def test_live_verdict_is_stable_while_overfitting(seed):
    rng = np.random.default_rng(seed)
    n, m = 70, 15
    train = decay(n, 0.7, 0.005, 6, rng, 0.02)
    val = (0.3 + 0.4 * np.exp(-np.arange(n) / 4) + 0.006 * np.clip(np.arange(n) - m, 0, None)) * (
        1 + 0.05 * rng.standard_normal(n))
    verdicts = live_verdicts(train, val)
    assert set(verdicts[35:]) == {"overfitting"}
    assert changes(verdicts[3:]) <= 1  # one change: from "not finished" to the steady verdict


@pytest.mark.parametrize("seed", range(3))
def test_live_verdict_is_stable_while_still_learning(seed):
    rng = np.random.default_rng(seed)
    train, val = np.linspace(1.0, 0.4, 80) * (1 + 0.01 * rng.standard_normal(80)), np.linspace(1.0, 0.5, 80) * (
        1 + 0.04 * rng.standard_normal(80))
    verdicts = live_verdicts(train, val)
    # By epoch 20 validation loss has fallen by three noise deviations: from then on, "not finished" throughout.
    assert set(verdicts[19:]) == {"not_finished"}
    assert changes(verdicts[3:]) <= 1  # one change: from "not finished" to the steady verdict


STEADY_CASES = {
    "noisy validation": lambda rng: (decay(70, 0.7, 0.3, 5, rng, 0.01), decay(70, 0.72, 0.32, 5, rng, 0.2)),
    "validation below training": lambda rng: (decay(70, 0.7, 0.3, 5, rng, 0.01), decay(70, 0.6, 0.2, 5, rng, 0.03)),
    "gap that never closes": lambda rng: (decay(70, 0.7, 0.1, 5, rng, 0.01), decay(70, 0.75, 0.5, 5, rng, 0.03)),
    "flat at chance": lambda rng: (0.69 * (1 + 0.01 * rng.standard_normal(60)),
                                   0.7 * (1 + 0.03 * rng.standard_normal(60))),
}
STEADY_VERDICT = {"noisy validation": "unrepresentative_validation",
                  "validation below training": "unrepresentative_validation",
                  "gap that never closes": "unrepresentative_training", "flat at chance": "underfitting"}


@pytest.mark.parametrize("seed", [0, 4])  # 4: the noisy curve's verdict wavers once while training loss settles
@pytest.mark.parametrize("case", list(STEADY_CASES))
def test_live_verdict_is_stable_on_other_steady_curves(case, seed):
    train, val = STEADY_CASES[case](np.random.default_rng(seed))
    verdicts = live_verdicts(train, val, binary_settings())
    assert set(verdicts[40:]) == {STEADY_VERDICT[case]}
    assert_no_flicker(verdicts[3:])  # usually a single change, from "not finished" to the steady verdict
    assert verdicts[3:9] == ["not_finished"] * 6  # the first epochs: too early to tell a slow start


# ---------------------------------------------------------------- advice and output


def every_case() -> list[tuple[str, list[dict]]]:
    rng = np.random.default_rng(7)
    cases = [("good", history(*good_fit_curves("quick plateau", rng))),
             ("over", history(*overfitting_curves("classic", rng)[:2])),
             ("under", history(*underfitting_curves("settled high", rng)[:2])),
             ("flat", history(*underfitting_curves("flat", rng)[:2])),
             ("notfin", history(*not_finished_curves("slow", rng))),
             ("few", history(*not_finished_curves("slow", rng))[:2]),
             ("val", history(*unrepresentative_validation_curves("noisy", rng))),
             ("train", history(*unrepresentative_training_curves("settled apart", rng)))]
    nan = history(*good_fit_curves("quick plateau", rng))
    nan[20]["loss"] = float("nan")
    return cases + [("nan", nan)]


def settings_variants() -> list[Settings | None]:
    variants: list[Settings | None] = [None, run_settings(), binary_settings()]
    for changes_ in ({"model.dropout": 0.45, "model.l2": 0.005, "model.batch_norm": True},
                     {"model.architecture": "transfer", "model.fine_tune_layers": 4},
                     {"model.architecture": "transfer"},
                     {"model.architecture": "dense", "model.dense_layers": [3, 2]},
                     {"training.learning_rate": 0.05, "training.early_stopping": True},
                     {"training.learning_rate": 1e-7, "training.epochs": 1},
                     {"training.learning_rate": 1e-8, "training.epochs": 100_000},
                     {"model.filters": [8192], "model.dense_layers": [8192]},
                     {"split.validation_fraction": 0.45, "split.stratify": False, "split.test_fraction": 0.4},
                     {"augmentation.rotation": 180.0, "augmentation.brightness": 0.5, "augmentation.contrast": 0.5},
                     {"model.filters": [8192, 1], "model.head_units": [1]}):
        variants.append(binary_settings(**changes_))
    return variants


def test_every_advice_is_a_valid_settings_change():
    checked = 0
    for name, h in every_case():
        for s in settings_variants():
            d = diagnose(h, settings=s)
            assert d.verdict in VERDICTS, name
            assert d.advice, (name, d.verdict)
            for advice in d.advice:
                assert isinstance(advice, Advice) and advice.text.strip()
                assert advice.page in (None, "model", "data", "split", "train")
                for target in (run_settings(), copy.deepcopy(s)) if s is not None else (run_settings(),):
                    for key, value in advice.changes.items():
                        settings_io.apply_override(target, key, value)
                        checked += 1
                    settings_io.validate(target)
                if s is not None:  # a change is a change: never the value already set
                    for key, value in advice.changes.items():
                        assert settings_io.get_value(s, key) != value, (name, key, value)
    assert checked > 100


def test_advice_is_concrete_with_settings():
    rng = np.random.default_rng(0)
    train, val, _ = overfitting_curves("classic", rng)
    s = binary_settings(**{"model.dropout": 0.0})
    tips = {k: v for a in diagnose(history(train, val), settings=s).advice for k, v in a.changes.items()}
    assert tips["model.dropout"] == 0.3
    assert tips["model.filters"] == [8, 16, 32]
    assert tips["augmentation.rotation"] == 90.0
    s.model.dropout = 0.3
    tips = {k: v for a in diagnose(history(train, val), settings=s).advice for k, v in a.changes.items()}
    assert tips["model.dropout"] == 0.4


def test_to_dict_is_json():
    for _, h in every_case():
        for final in (True, False):
            d = diagnose(h, final=final, settings=binary_settings())
            body = d.to_dict()
            text = json.dumps(body, allow_nan=False)
            back = json.loads(text)
            assert back["verdict"] == d.verdict and back["final"] == final
            assert isinstance(back["advice"], list)
            assert all(set(a) == {"text", "changes", "page", "resume"} for a in back["advice"])
            assert set(back["secondary"]) <= set(VERDICTS) - {d.verdict}
            assert isinstance(d, Diagnosis)


def test_verdict_priority_lists_the_others_as_secondary():
    """A rising validation loss on a noisy curve: overfitting first, the noise as a secondary verdict."""
    rng = np.random.default_rng(0)
    n, m = 60, 10
    train = decay(n, 0.7, 0.01, 5, rng, 0.01)
    val = (0.3 + 0.4 * np.exp(-np.arange(n) / 3) + 0.015 * np.clip(np.arange(n) - m, 0, None)) * (
        1 + 0.15 * rng.standard_normal(n))
    d = diagnose(history(train, val))
    assert d.verdict == "overfitting"
    assert "unrepresentative_validation" in d.secondary
    assert dg.PRIORITY.index("overfitting") < dg.PRIORITY.index("unrepresentative_validation")
