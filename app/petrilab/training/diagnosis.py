"""Reading the training curves, as the workshop taught it.

From the loss history (one row per epoch) this module gives one of the six
verdicts the users learnt — good fit, overfitting, underfitting, not
finished, unrepresentative validation set, unrepresentative training set —
or "diverged" (the loss blew up or stopped being a number; read first, see
training/curve_cases.py), with the evidence behind it (epochs and values)
and advice that changes the settings in one click.

Pure numpy, no Keras: the trainer calls it after every epoch (live) and at
the end (final), `petrilab diagnose` calls it on a run folder or a Keras
CSVLogger file, and the GUI only shows the resulting dictionary.

How the curves are read
-----------------------
Loss values jump from epoch to epoch, so every rule looks at robust
summaries rather than single values:
- each curve is smoothed with a moving median (a single odd epoch is
  ignored, a real minimum is kept);
- "at the end" means the last third of the epochs; whether a curve is still
  falling there is how much lower that third lies than the third before,
  compared with how much the curve has fallen in total and with its level;
- noise is the epoch-to-epoch jitter (spread of second differences, which
  ignore a steady trend), relative to the curve's level;
- a change only counts when it is larger than the noise, and a curve can be
  "still falling", "stopped", or unsure when the noise hides which.
The rules are checked in a fixed priority order (see `PRIORITY`); the first
that holds is the verdict and the others that also hold go to `secondary`.
While training runs (final=False) the verdict shown is the one reached most
often over the last few epochs, so it does not flicker on a noisy curve.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from petrilab.errors import UserError
from petrilab.settings import RANGES, Settings
from petrilab.training import curve_cases

VERDICTS = ("overfitting", "underfitting", "not_finished", "unrepresentative_validation",
            "unrepresentative_training", "good_fit", "diverged")
TOO_EARLY = "too_early"  # live only: fewer than MIN_EPOCHS_TO_JUDGE epochs so far

# When several verdicts apply, the first in this order is shown. A network
# that cannot learn (or diverged) must be fixed before anything else; a
# rising validation loss is the most costly thing to miss; a curve still
# falling makes the "settled" verdicts meaningless; the validation set's own
# problems come before conclusions drawn from comparing against it.
PRIORITY = ("underfitting", "overfitting", "not_finished", "unrepresentative_validation",
            "unrepresentative_training", "good_fit")

TITLES = {
    "good_fit": "Good fit",
    "overfitting": "Overfitting",
    "underfitting": "Underfitting",
    "not_finished": "Not finished",
    "unrepresentative_validation": "Unrepresentative validation set",
    "unrepresentative_training": "Unrepresentative training set",
    "diverged": "Training diverged",  # the loss blew up or stopped being a number (read before the others)
    TOO_EARLY: "Too early to tell",
}

# ---------------------------------------------------------------- thresholds

# Three points cannot tell a trend from noise; from four on the rules have a
# minimum, a tail and a noise estimate to work with.
MIN_EPOCHS_TO_JUDGE = 4

# Moving-median window: about a tenth of the epochs, so a long noisy run is
# smoothed more than a short one; at least 3 (ignores one odd epoch), at most
# 15 (wider windows flatten a real minimum into a plateau).
SMOOTH_FRACTION = 0.10
SMOOTH_MIN_WINDOW = 3
SMOOTH_MAX_WINDOW = 15

# "At the end" is the last third of the epochs (the part of the plot the
# workshop reads the verdict from), at least four epochs (fewer cannot be
# told from noise).
TAIL_FRACTION = 1 / 3
TAIL_MIN = 4

# A curve is "still falling" when its last third lies lower than the third
# before by at least 10 % of everything it has fallen so far AND 1 % of its
# current level (and by more than the noise, see SIGNIFICANCE). For a curve
# decaying like exp(-epoch / tau) the first holds while tau > ~n/4, i.e.
# while a clear part of the improvement is still ahead; the second ignores
# falls too small to be worth more epochs.
STILL_FALLING_OF_PROGRESS = 0.10
STILL_FALLING_OF_LEVEL = 0.01

# A change counts only when larger than twice the epoch-to-epoch noise
# (about 95 % of the jitter of a steady curve stays within that).
SIGNIFICANCE = 2.0
# "Clearly stopped" (see _trend): the fall is below what "still falling"
# needs by more than one noise deviation. In between, the noise hides which;
# then validation loss counts as still falling when training loss clearly does.
DOUBT = 1.0
FALLING, STOPPED, UNSURE = "falling", "stopped", "unsure"

# Underfitting, without knowing the task: a training loss that fell by less
# than 10 % from the first epoch has not learnt. (Keras' first-epoch loss is
# an average over an epoch that starts from random weights, so a network that
# learns at all usually falls by far more than this.)
FLAT_DECREASE = 0.10
# With a known task, a loss still at 90 % of a blind guess's loss (ln 2 for
# two classes, ln N for N classes) has learnt nothing, however it moves...
CHANCE_FRACTION = 0.90
# ...a loss that settled at 75 % or more of it is "high": the network stopped
# improving while still close to guessing...
HIGH_PLATEAU_FRACTION = 0.75
# ...and a flat curve well below the guess (an easy problem learnt in the
# first epoch) is not underfitting.
FLAT_BELOW_CHANCE = 0.50
# A training accuracy of 98 % or more is not underfitting, however flat the
# loss (a task learnt within the first epoch).
LEARNT_ACCURACY = 0.98
# In the first 10 epochs a network often stays close to a blind guess before
# it takes off (the demo data's ConvNet does for about 10 epochs): so a run
# this short is "not finished", with underfitting as a partial verdict when
# the loss has hardly moved.
EARLY_EPOCHS = 10
# A training loss that climbs 20 % above its lowest value is unstable: with a
# fixed learning rate, overfitting never makes the training loss rise. The
# climb must also be 5 % of the loss scale: 0.001 → 0.0015 near zero is not.
TRAIN_RISE = 0.20
TRAIN_RISE_OF_SCALE = 0.05

# Overfitting: the smoothed validation loss ended at least 10 % above its
# minimum (and above the noise), at least 3 epochs after it, while the
# training loss went on falling by at least 10 % after it. A rise of 5-10 %
# is listed as a partial verdict only.
OVERFIT_RISE = 0.10
OVERFIT_MIN_RISE = 0.05
OVERFIT_MIN_EPOCHS_AFTER = 3
TRAIN_KEEPS_FALLING = 0.10
# ...or had nothing left to fall: a training loss below 5 % of the loss scale
# means the training images are learnt by heart.
MEMORISED = 0.05
# Overfitting that has just begun (validation loss stopped, training loss
# still falling, gap large) needs the gap to have grown by a fifth over the
# last third: otherwise both have simply settled apart.
ONSET_GAP_GROWTH = 0.2

# Unrepresentative validation set: validation loss jitters by 10 % of its
# level or more from epoch to epoch, and at least twice as much (in loss
# units) as the training loss does (a noisy training loss is a learning-rate
# problem, not a validation-set one).
VAL_NOISE = 0.10
NOISE_RATIO = 2.0
# ...or validation loss stays below training loss by more than 10 % of it at
# the end. Dropout is active only while training, which raises the training
# loss; the margin grows by half the dropout rate so that alone is not blamed.
VAL_BETTER_MARGIN = 0.10
DROPOUT_MARGIN = 0.5

# A large gap (unrepresentative training set, or overfitting that has begun
# when training still falls): at the end, training loss is at most 60 % of
# validation loss (a gap of 40 % of the validation loss), AND the gap is at
# least 15 % of the loss scale (the blind-guess loss when known, else the
# first epoch's loss), so two losses both close to zero (0.02 and 0.05) do
# not make a "large" gap.
LARGE_GAP = 0.40
SMALL_GAP = 0.20  # below this the good fit's gap is called small, else moderate (words only)
GAP_OF_SCALE = 0.15

# Live verdicts are voted over the last 5 epochs: a verdict that holds for a
# single epoch on a noisy curve is not shown, a real change shows within 3.
LIVE_VOTES = 5

# Advice values: the workshop's dropout range is 20-50 %.
DROPOUT_START = 0.3
DROPOUT_MAX = 0.5
L2_START = 1e-4
L2_MAX = 1e-2
MIN_MORE_EPOCHS = 10
MIN_ADVISED_EPOCHS = 30  # "train longer" advises at least this many (the fixed length before early stopping)
VALIDATION_FRACTION_ADVISED = 0.3  # the top of the workshop's 10-30 %


# ---------------------------------------------------------------- results


@dataclass
class Advice:
    text: str
    changes: dict[str, object] = field(default_factory=dict)  # settings key -> new absolute value
    page: str | None = None  # "model" | "data" | "split" | "train": where the GUI leads the user
    # True: "train N more epochs from where it stopped"; changes["training.epochs"]
    # is then the new total (as Keras' epochs with initial_epoch).
    resume: bool = False


@dataclass
class Diagnosis:
    verdict: str
    title: str
    summary: str
    evidence: list[str]
    numbers: dict
    advice: list[Advice]
    epochs_seen: int
    final: bool
    secondary: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        body = asdict(self)
        body["numbers"] = _jsonable(body["numbers"])
        body["advice"] = [_jsonable(a) for a in body["advice"]]
        return body


def _jsonable(value):
    """Plain Python values; NaN and infinity become None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------- curve tools


def _number(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan  # missing, None (a NaN written to JSON) or text


def _column(history: list[dict], key: str) -> np.ndarray:
    values = [row.get(key) for row in history]
    try:
        return np.array(values, dtype=float)  # fast path: numbers, None becomes NaN
    except (TypeError, ValueError):
        return np.array([_number(v) for v in values], dtype=float)


def _window(n: int) -> int:
    w = int(round(n * SMOOTH_FRACTION))
    w = max(SMOOTH_MIN_WINDOW, min(SMOOTH_MAX_WINDOW, w))
    return w if w % 2 else w + 1


def _median(x: np.ndarray) -> float:
    """Median without np.median's overhead (called many times per live diagnosis)."""
    n = len(x)
    h = n // 2
    if n % 2:
        return float(np.partition(x, h)[h])
    part = np.partition(x, (h - 1, h))
    return float(0.5 * (part[h - 1] + part[h]))


class _Smoother:
    """Centred moving medians of a curve and of its first n epochs (the live votes), sharing the work.

    Near the ends the window is cut, so the last value is a trailing median.

    A centred window that lies wholly inside the first n epochs has the same
    median for the whole curve, so only the cut windows at the ends are
    computed again for each n.
    """

    def __init__(self, x: np.ndarray):
        self.x = np.asarray(x, dtype=float)
        self.values = self.x.tolist()
        self._centred: dict[int, np.ndarray] = {}

    def __call__(self, n: int, window: int) -> np.ndarray:
        k = window // 2
        if n == 0 or k == 0:
            return self.x[:n].copy()
        out = np.empty(n)
        if n > 2 * k:
            centred = self._centred.get(k)
            if centred is None:
                windows = np.lib.stride_tricks.sliding_window_view(self.x, 2 * k + 1)
                centred = self._centred[k] = np.partition(windows, k, axis=1)[:, k]  # each odd window's middle value
            out[k:n - k] = centred[:n - 2 * k]
            edges = [*range(k), *range(n - k, n)]
        else:
            edges = range(n)
        values = self.values
        for i in edges:  # a few short windows: plain Python is faster than numpy here
            out[i] = statistics.median(values[max(0, i - k):min(n, i + k + 1)])
        return out


def jitter(x: np.ndarray) -> float:
    """Epoch-to-epoch noise (a standard deviation), blind to a steady trend.

    Second differences cancel a straight trend. Their spread is first
    measured robustly (median absolute deviation), then, for a steadier
    estimate, as the root mean square of the differences clipped at three
    times that spread, so the few large steps of the first epochs or of a
    real bend count little.
    """
    if len(x) < 3:
        return 0.0
    d2 = np.diff(x, 2)
    if len(d2) < 3:  # too few for a spread around a median: plain root mean square
        return float(math.sqrt(float(np.dot(d2, d2)) / len(d2)) / math.sqrt(6.0))
    d2 = d2 - _median(d2)
    rough = 1.4826 * _median(np.abs(d2))
    if rough == 0:
        return 0.0
    clipped = np.clip(d2, -3 * rough, 3 * rough)
    return float(math.sqrt(float(np.dot(clipped, clipped)) / len(clipped)) / math.sqrt(6.0))  # var(d2) = 6 var(x)


def _tail_length(n: int) -> int:
    return max(TAIL_MIN, int(round(n * TAIL_FRACTION)))


def _recent_fall(raw: np.ndarray, smooth: np.ndarray, noise: float, tail: int) -> tuple[float, float]:
    """How much lower the curve is over its last `tail` epochs than over the `tail` epochs before.

    Comparing two means uses every epoch of both stretches, so a steady fall
    shows through noise sooner than a slope over the last stretch alone.
    Values further than 3 noise deviations from the smoothed curve are pulled
    back to that limit, so one odd epoch cannot decide. Returns the fall and
    its noise (standard deviation).
    """
    length = min(tail, len(raw) // 2)
    if length < 1:
        return 0.0, 0.0
    y = raw[-2 * length:]
    if noise > 0:
        base = smooth[-2 * length:]
        y = base + np.clip(y - base, -3 * noise, 3 * noise)
    fall = float(y[:length].mean() - y[length:].mean())
    return fall, noise * math.sqrt(2.0 / length)


def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "not a number"
    if x == 0:
        return "0"
    if abs(x) >= 1e7:  # a loss that blew up: 7.3e+28, not 29 digits
        return f"{x:.2g}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}"


def _fmt_pair(a: float, b: float) -> tuple[str, str]:
    """Two values with enough digits to show that they differ (1.100 and 1.095, not 1.1 and 1.1)."""
    if _fmt(a) != _fmt(b):
        return _fmt(a), _fmt(b)
    for digits in (4, 5):
        left, right = f"{a:#.{digits}g}", f"{b:#.{digits}g}"  # '#' keeps trailing zeros: 1.100
        if left != right:
            return left, right
    return _fmt(a), _fmt(b)


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.0f} %"


# ---------------------------------------------------------------- measurements


@dataclass
class _Curves:
    """What the rules look at, measured once per diagnosis."""

    epochs: np.ndarray  # 1-based epoch numbers of the rows analysed (as Keras prints them)
    t: np.ndarray  # training loss
    v: np.ndarray  # validation loss
    ts: np.ndarray  # smoothed (moving median)
    vs: np.ndarray
    tail: int  # epochs in "the end"
    chance: float | None  # loss of a blind guess, when the task tells it
    guess: str  # that guess in words ("" when unknown)
    regression: bool  # the network learns values, not classes
    scale: float  # loss scale for absolute comparisons
    dropout: float
    metrics: dict  # accuracy columns, when present
    level_t: float = 0.0  # median over the tail
    level_v: float = 0.0
    noise_t: float = 0.0  # epoch-to-epoch jitter (standard deviation)
    noise_v: float = 0.0
    noise_rel_t: float = 0.0  # ... relative to the curve's typical level
    noise_rel_v: float = 0.0
    drop_t: float = 0.0  # fall of the last stretch below the one before (see _recent_fall)
    drop_v: float = 0.0
    drop_sd_t: float = 0.0  # ... and its noise
    drop_sd_v: float = 0.0
    progress_t: float = 0.0  # fall from the first epoch to the lowest point
    progress_v: float = 0.0
    best: int = 0  # row of the lowest raw validation loss (what model.keras holds)
    vmin: int = 0  # row of the lowest smoothed validation loss
    tmin: int = 0
    trend_t: str = UNSURE  # FALLING, STOPPED or UNSURE at the end (see _trend)
    trend_v: str = UNSURE

    @property
    def n(self) -> int:
        return len(self.t)

    @property
    def last(self) -> int:
        return len(self.t) - 1

    @property
    def start(self) -> int:
        """First row of the tail."""
        return len(self.t) - self.tail

    def ep(self, i: int) -> int:
        return int(self.epochs[i])

    @property
    def learning(self) -> bool:
        """Both still falling at the end: one clearly, the other clearly or perhaps (its noise hides which)."""
        return ((self.trend_v == FALLING and self.trend_t != STOPPED)
                or (self.trend_v == UNSURE and self.trend_t == FALLING))


def _trend(drop: float, drop_sd: float, progress: float, level: float, noise: float) -> str:
    """FALLING: clearly still falling; STOPPED: clearly not (any more); UNSURE: the noise hides which."""
    needed = max(STILL_FALLING_OF_PROGRESS * progress, STILL_FALLING_OF_LEVEL * abs(level))
    # A curve that never fell further than its own jitter is not "still falling", whatever its last stretches do.
    if drop > 0 and drop >= needed and drop > SIGNIFICANCE * drop_sd and progress > SIGNIFICANCE * noise:
        return FALLING
    if drop + DOUBT * drop_sd <= needed:
        return STOPPED
    return UNSURE


def guess_words(settings: Settings | None) -> str:
    """What the blind guess of `chance_loss` is, in the users' words."""
    chance = chance_loss(settings)
    if settings is not None and settings.task.kind == "regression":
        loss = "mse" if settings.training.loss == "auto" else settings.training.loss
        return (f"the loss of always answering the training images' mean value, whatever the image "
                f"({_fmt(chance)} with {loss} on standardised values)")
    return f"the loss of a blind guess that ignores the image ({_fmt(chance)} for this number of classes)"


def _measure(epochs, t, v, settings: Settings | None, metrics: dict, ts: np.ndarray, vs: np.ndarray) -> _Curves:
    n = len(t)
    tail = min(n, _tail_length(n))
    chance = chance_loss(settings)
    c = _Curves(epochs=epochs, t=t, v=v, ts=ts, vs=vs, tail=tail, chance=chance,
                guess=guess_words(settings) if chance is not None else "",
                regression=settings is not None and settings.task.kind == "regression",
                scale=chance if chance else max(float(t[0]), float(v[0]), 1e-12),
                dropout=float(settings.model.dropout) if settings is not None else 0.0, metrics=metrics)
    c.level_t, c.level_v = _median(t[-tail:]), _median(v[-tail:])
    c.noise_t, c.noise_v = jitter(t), jitter(v)
    c.noise_rel_t = c.noise_t / max(_median(ts), 1e-12)
    c.noise_rel_v = c.noise_v / max(_median(vs), 1e-12)
    c.drop_t, c.drop_sd_t = _recent_fall(t, ts, c.noise_t, tail)
    c.drop_v, c.drop_sd_v = _recent_fall(v, vs, c.noise_v, tail)
    c.best, c.vmin, c.tmin = int(np.argmin(v)), int(np.argmin(vs)), int(np.argmin(ts))
    c.progress_t = max(float(ts[0] - ts[c.tmin]), 0.0)
    c.progress_v = max(float(vs[0] - vs[c.vmin]), 0.0)
    c.trend_t = _trend(c.drop_t, c.drop_sd_t, c.progress_t, ts[-1], c.noise_t)
    c.trend_v = _trend(c.drop_v, c.drop_sd_v, c.progress_v, vs[-1], c.noise_v)
    return c


# Regression learns standardised values (mean 0, spread 1 over the training images): a network that
# ignores the image and always answers the mean makes errors that are the standardised values themselves,
# roughly a standard normal Z. Its loss is then E[Z²] = 1 (mse), E|Z| = √(2/π) ≈ 0.80 (mae), and for
# Keras' Huber loss (quadratic up to 1, linear beyond) E[Z²/2; |Z| ≤ 1] + E[|Z| − 1/2; |Z| > 1] ≈ 0.42.
REGRESSION_LOSSES = ("mse", "mae", "huber")


def _standard_normal_loss(loss: str) -> float:
    if loss == "mse":
        return 1.0
    if loss == "mae":
        return math.sqrt(2 / math.pi)
    inside = math.erf(1 / math.sqrt(2))  # P(|Z| <= 1)
    density = math.exp(-0.5) / math.sqrt(2 * math.pi)  # the normal density at 1
    return 0.5 * (inside - 2 * density) + (2 * density - 0.5 * (1 - inside))


def chance_loss(settings: Settings | None) -> float | None:
    """The loss of a guess that ignores the image, when the task tells it: classification with known classes
    (the classes' frequencies), regression on standardised values (their mean)."""
    if settings is None:
        return None
    if settings.task.kind == "regression":
        loss = "mse" if settings.training.loss == "auto" else settings.training.loss
        return _standard_normal_loss(loss) if loss in REGRESSION_LOSSES else None
    if settings.task.kind != "classification":
        return None
    n = len(settings.data.classes)
    if n < 2:
        return None
    if n == 2:
        return math.log(2)  # one sigmoid output, binary cross-entropy (or a 2-way softmax: same value)
    if settings.training.loss == "binary_crossentropy":
        p = 1.0 / n  # one sigmoid per class, each guessing its class frequency
        return -(p * math.log(p) + (1 - p) * math.log(1 - p))
    return math.log(n)


# ---------------------------------------------------------------- the rules


@dataclass
class _Finding:
    """One rule that holds: its verdict, the kind of case, evidence and the numbers behind it."""

    verdict: str
    kind: str
    evidence: list[str]
    numbers: dict = field(default_factory=dict)
    weak: bool = False  # holds only partly: listed in `secondary`, never the verdict


def _underfitting(c: _Curves) -> _Finding | None:
    last = c.last
    rise = float(c.ts[last] - c.ts[c.tmin])
    if (c.tmin < last and rise >= TRAIN_RISE * c.ts[c.tmin] and rise >= TRAIN_RISE_OF_SCALE * c.scale
            and rise > SIGNIFICANCE * c.noise_t):
        return _Finding("underfitting", "unstable", [
            f"Training loss was lowest at epoch {c.ep(c.tmin)} ({_fmt(c.ts[c.tmin])}) and rose again to "
            f"{_fmt(c.ts[last])} by epoch {c.ep(last)}: training is unstable."
        ], {"train_rise": rise / c.ts[c.tmin]})
    decrease = float((c.ts[0] - c.ts[last]) / c.ts[0]) if c.ts[0] > 0 else 0.0
    numbers = {"train_decrease": decrease}
    stuck = curve_cases.stuck_at_average(c.t, c.v, c.tail, c.chance) if c.regression else None
    if stuck is not None:  # not even a slow start: the bias has learnt the mean and nothing else moves
        start, end = _fmt_pair(stuck["start_v"], stuck["end_v"])
        return _Finding("underfitting", "stuck", [
            f"Over epochs {c.ep(c.start)}–{c.ep(last)} training loss stayed at {_fmt(stuck['level_t'])}, which is "
            f"{c.guess}, and validation loss hardly moved ({start} → {end}).",
            "The network is learning nothing: it always answers the average, whatever the image.",
        ], {**numbers, "train_vs_chance": c.level_t / c.chance, "val_move_of_chance": stuck["move"]})
    accuracy = c.metrics.get("accuracy")
    if accuracy is not None and len(accuracy) and _median(accuracy[-c.tail:]) >= LEARNT_ACCURACY:
        return None  # learnt already in the first epoch (an easy task): a flat loss is no problem then
    if c.chance is not None:
        ratio = c.level_t / c.chance
        numbers["train_vs_chance"] = ratio
        guess = c.guess
        if ratio >= CHANCE_FRACTION:
            # Still falling, or early days: maybe a slow start rather than a dead end, so only a partial verdict.
            return _Finding("underfitting", "chance", [
                f"Training loss is {_fmt(c.level_t)} over epochs {c.ep(c.start)}–{c.ep(last)}, "
                f"{_pct(ratio)} of {guess}: the network has learnt almost nothing so far."
            ], numbers, weak=c.trend_t == FALLING or c.learning or _early(c))
        if c.trend_t != FALLING and not c.learning and ratio >= HIGH_PLATEAU_FRACTION:
            return _Finding("underfitting", "high", [
                f"Training loss settled at {_fmt(c.level_t)} over epochs {c.ep(c.start)}–{c.ep(last)}, "
                f"still {_pct(ratio)} of {guess}."
            ], numbers)
        if c.trend_t != FALLING and not c.learning and decrease < FLAT_DECREASE and ratio >= FLAT_BELOW_CHANCE:
            return _flat(c, decrease, numbers)
        return None
    if c.trend_t != FALLING and not c.learning and decrease < FLAT_DECREASE:
        return _flat(c, decrease, numbers)
    return None


def _flat(c: _Curves, decrease: float, numbers: dict) -> _Finding:
    change = "stayed flat" if decrease < 0.01 else f"fell by only {_pct(decrease)}"
    first, now = _fmt_pair(c.ts[0], c.ts[c.last])
    return _Finding("underfitting", "flat", [
        f"Training loss {change}: {first} at epoch {c.ep(0)}, {now} at epoch {c.ep(c.last)}."
    ], numbers, weak=_early(c))


def _early(c: _Curves) -> bool:
    """The first epochs: a slow start cannot be told from a dead end yet (a loss going up is `unstable`)."""
    return c.n < EARLY_EPOCHS


def _overfitting(c: _Curves) -> _Finding | None:
    last, m, b = c.last, c.vmin, c.best
    rise = float(c.vs[last] - c.vs[m])
    t_fall = float((c.ts[m] - c.ts[last]) / c.ts[m]) if c.ts[m] > 0 else 0.0
    gap_then, gap_now = float(c.vs[m] - c.ts[m]), float(c.vs[last] - c.ts[last])
    numbers = {"val_rise": rise / c.vs[m] if c.vs[m] > 0 else 0.0, "train_fall_since_best": t_fall,
               "gap_at_best": gap_then, "gap_at_end": gap_now}
    lowest = f"Validation loss was lowest at epoch {c.ep(b)} ({_fmt(c.v[b])})"
    grew = f"The gap between validation and training loss grew from {_fmt(gap_then)} to {_fmt(gap_now)}."
    memorised = c.ts[last] <= MEMORISED * c.scale  # nothing left to fall: the training set is learnt by heart
    if last - m >= OVERFIT_MIN_EPOCHS_AFTER and rise > SIGNIFICANCE * c.noise_v and rise >= OVERFIT_MIN_RISE * c.vs[m]:
        if t_fall >= TRAIN_KEEPS_FALLING:
            train = f"while training loss kept falling ({_fmt(c.ts[b])} → {_fmt(c.ts[last])})"
        elif memorised:
            train = f"while training loss stayed close to zero ({_fmt(c.ts[last])})"
        else:
            train = f"while training loss stayed about the same ({_fmt(c.ts[b])} → {_fmt(c.ts[last])})"
        evidence = [f"{lowest} and rose to {_fmt(c.vs[last])} by epoch {c.ep(last)} {train}.", grew]
        # In the first epochs noise is hard to measure: ask for twice the rise.
        needed = OVERFIT_RISE * c.vs[m] * (2 if _early(c) else 1)
        early_noise = _early(c) and rise <= 2 * SIGNIFICANCE * c.noise_v
        weak = rise < needed or early_noise or not (t_fall >= TRAIN_KEEPS_FALLING or memorised)
        return _Finding("overfitting", "rising", evidence + _accuracy_evidence(c, b), numbers, weak=weak)
    # Overfitting that has begun: validation loss levelled off while training
    # loss still falls, and the gap is already large.
    gap_rel = gap_now / c.vs[last] if c.vs[last] > 0 else 0.0
    if (c.trend_v == STOPPED and c.trend_t == FALLING and gap_rel >= LARGE_GAP and gap_now >= GAP_OF_SCALE * c.scale
            and c.drop_t - c.drop_v >= ONSET_GAP_GROWTH * gap_now):
        evidence = [
            f"Validation loss levelled off at about {_fmt(c.level_v)} over the last {c.tail} epochs "
            f"({c.ep(c.start)}–{c.ep(last)}; lowest at epoch {c.ep(b)}, {_fmt(c.v[b])}), while training loss kept "
            f"falling ({_fmt(c.ts[c.start])} → {_fmt(c.ts[last])}).",
            f"The gap between validation and training loss grew from {_fmt(c.vs[c.start] - c.ts[c.start])} to "
            f"{_fmt(gap_now)}.",
        ]
        return _Finding("overfitting", "onset", evidence + _accuracy_evidence(c, b), numbers)
    return None


def _accuracy_evidence(c: _Curves, row: int) -> list[str]:
    acc = c.metrics.get("val_accuracy")
    if acc is None or not math.isfinite(acc[row]) or not math.isfinite(acc[-1]):
        return []
    return [f"Validation accuracy was {_fmt(acc[row])} at epoch {c.ep(row)} and {_fmt(acc[-1])} "
            f"at epoch {c.ep(c.last)}."]


def _not_finished(c: _Curves) -> _Finding | None:
    if not (c.learning or _early(c)):
        return None
    start, last = c.start, c.last
    numbers = {"val_recent_fall_of_level": c.drop_v / c.vs[last] if c.vs[last] > 0 else 0.0}
    span = f"Over the last {c.tail} epochs ({c.ep(start)}–{c.ep(last)})"
    if not c.learning:
        first, now = _fmt_pair(c.ts[0], c.ts[last])
        moving = "is still going down, if slowly" if c.drop_t > DOUBT * c.drop_sd_t else "has hardly moved yet"
        return _Finding("not_finished", "early", [
            f"Only {c.n} epochs: training loss {moving} ({first} at epoch {c.ep(0)}, {now} at epoch {c.ep(last)}).",
            "A network often stays close to where it started for its first epochs before it takes off; "
            "a few more epochs will tell whether it learns.",
        ], numbers)
    if c.trend_v == FALLING:
        where = (f"Validation loss is lowest at the end (epoch {c.ep(c.best)}, {_fmt(c.v[c.best])})."
                 if c.best >= start else
                 f"Validation loss was lowest at epoch {c.ep(c.best)} ({_fmt(c.v[c.best])}), and is still falling "
                 "on average.")
        return _Finding("not_finished", "falling", [
            f"{span} validation loss still fell from {_fmt(c.vs[start])} to {_fmt(c.vs[last])} and training loss "
            f"from {_fmt(c.ts[start])} to {_fmt(c.ts[last])}.", where], numbers)
    return _Finding("not_finished", "maybe_falling", [
        f"{span} training loss went from {_fmt(c.ts[start])} to {_fmt(c.ts[last])}; it has not settled yet.",
        f"Validation loss (now about {_fmt(c.level_v)}) jumps too much to tell yet whether it has stopped falling.",
    ], numbers)


def _unrepresentative_validation(c: _Curves) -> _Finding | None:
    evidence, kinds = [], []
    # A noise measured on few epochs is uncertain (about 1.2 / sqrt(epochs) of
    # itself): ask that much more before calling a short curve noisy.
    needed = VAL_NOISE * (1 + 1.2 / math.sqrt(max(c.n - 2, 1)))
    if c.noise_rel_v >= needed and c.noise_v >= NOISE_RATIO * c.noise_t:
        kinds.append("noisy")
        evidence.append(f"Validation loss jumps by about ±{_pct(c.noise_rel_v)} from one epoch to the next; "
                        f"training loss by about ±{_pct(c.noise_rel_t)}.")
    below = (c.level_t - c.level_v) / c.level_t if c.level_t > 0 else 0.0
    margin = VAL_BETTER_MARGIN + DROPOUT_MARGIN * c.dropout
    if below >= margin:
        kinds.append("better")
        text = (f"Over the last {c.tail} epochs ({c.ep(c.start)}–{c.ep(c.last)}) validation loss "
                f"({_fmt(c.level_v)}) stayed below training loss ({_fmt(c.level_t)}), by {_pct(below)}.")
        if c.dropout > 0:
            text += (f" Dropout ({_pct(c.dropout)}) is active only while training and raises the training loss "
                     "a little, but not this much.")
        evidence.append(text)
    if not kinds:
        return None
    return _Finding("unrepresentative_validation", "+".join(kinds), evidence, {"val_below_train": below})


def _unrepresentative_training(c: _Curves) -> _Finding | None:
    gap = c.level_v - c.level_t
    gap_rel = gap / c.level_v if c.level_v > 0 else 0.0
    if c.learning or gap_rel < LARGE_GAP or gap < GAP_OF_SCALE * c.scale:
        return None
    start, last = c.start, c.last
    times = f": validation loss is {_fmt(c.level_v / c.level_t)} times the training loss" if c.level_t > 0 else ""
    return _Finding("unrepresentative_training", "gap", [
        f"Over the last {c.tail} epochs ({c.ep(start)}–{c.ep(last)}) both losses settled, training at "
        f"{_fmt(c.level_t)} and validation at {_fmt(c.level_v)}{times}.",
        f"The gap was {_fmt(c.vs[start] - c.ts[start])} at epoch {c.ep(start)} and "
        f"{_fmt(c.vs[last] - c.ts[last])} at epoch {c.ep(last)}: it does not close.",
    ], {"gap": gap})


def _good_fit(c: _Curves) -> _Finding:
    gap = c.level_v - c.level_t
    evidence = [
        f"Validation loss levelled off over the last {c.tail} epochs ({c.ep(c.start)}–{c.ep(c.last)}) at "
        f"{_fmt(c.level_v)}; training loss is at {_fmt(c.level_t)}.",
        f"The gap between them is {'small' if abs(gap) < SMALL_GAP * c.level_v else 'moderate'} ({_fmt(gap)}, "
        f"{_pct(abs(gap) / c.level_v)} of the validation loss)." if c.level_v > 0 else f"The gap is {_fmt(gap)}.",
        f"Validation loss was lowest at epoch {c.ep(c.best)} ({_fmt(c.v[c.best])}): the best checkpoint is from "
        "that epoch.",
    ]
    kind = "small_gap" if abs(gap) < SMALL_GAP * c.level_v else "moderate_gap"
    return _Finding("good_fit", kind, evidence + _accuracy_evidence(c, c.best))


RULES = {
    "underfitting": _underfitting,
    "overfitting": _overfitting,
    "not_finished": _not_finished,
    "unrepresentative_validation": _unrepresentative_validation,
    "unrepresentative_training": _unrepresentative_training,
}

# Rules from other modules (training/diagnosis_evidence.py registers its own): functions _Curves -> _Finding or
# None; and (summary(finding, curves), advice(finding, settings, curves)) pairs answering for their kinds.
EXTRA_RULES: list = []
EXTRA_TEXTS: list = []

# A verdict that explains another: overfitting is why the gap is large, so
# "unrepresentative training set" is not listed beside it.
EXPLAINS = {"overfitting": {"unrepresentative_training"}}


# ---------------------------------------------------------------- the verdict


@dataclass
class _Analysis:
    curves: _Curves | None
    findings: list[_Finding]  # verdict first, then the others that hold, in PRIORITY order

    @property
    def verdict(self) -> str:
        return self.findings[0].verdict

    def secondary(self) -> list[str]:
        main = self.findings[0].verdict
        skip = {main} | EXPLAINS.get(main, set())
        out: list[str] = []
        for f in self.findings[1:]:
            if f.verdict not in skip and f.verdict not in out:
                out.append(f.verdict)
        return out


def diagnose(history: list[dict], final: bool = True, settings: Settings | None = None,
             n_validation: int | None = None, stopped_early: bool = False) -> Diagnosis:
    """The verdict on the training curves in `history` (one dict per epoch with 'loss' and 'val_loss').

    `final` is False while training runs: then fewer than four epochs give
    'too_early', and the verdict is the one most often reached over the
    last LIVE_VOTES epochs, so it does not flicker on a noisy curve.
    `settings`, when given, makes the advice concrete (new values computed
    from the current ones) and tells the loss of a blind guess.
    """
    if not history:
        raise UserError("There is no finished epoch to diagnose yet.",
                        fix="Train for at least a few epochs, then look at the diagnosis.")
    if all(row.get("val_loss") is None for row in history):
        raise _no_validation()
    n_seen = len(history)
    train, val = _column(history, "loss"), _column(history, "val_loss")
    diverged = _diverged(train, val) or _exploded(train, settings)
    if diverged is not None:
        return _build(_Analysis(None, [diverged]), n_seen, final, settings)
    if not final and n_seen < MIN_EPOCHS_TO_JUDGE:
        return _too_early(n_seen)
    keep = np.isfinite(val)  # epochs without a validation value (e.g. validated every few epochs) are skipped
    if not keep.any():
        raise _no_validation()
    epochs, train, val = np.arange(1, n_seen + 1)[keep], train[keep], val[keep]
    metrics = {k: _column(history, k)[keep] for k in ("accuracy", "val_accuracy") if k in history[-1]}
    kept_before = np.concatenate([[0], np.cumsum(keep)])  # rows analysed among the first n epochs
    smooth_t, smooth_v = _Smoother(train), _Smoother(val)

    def analyse(n: int) -> _Analysis:
        m = int(kept_before[n])
        if m < MIN_EPOCHS_TO_JUDGE:
            return _too_few(epochs[:m], train[:m], val[:m], n)
        w = _window(m)
        c = _measure(epochs[:m], train[:m], val[:m], settings, {k: x[:m] for k, x in metrics.items()},
                     smooth_t(m, w), smooth_v(m, w))
        return _analyse(c)

    analysis = analyse(n_seen)
    if not final:
        analysis = _vote(analysis, analyse, n_seen)
    from petrilab.training.diagnosis_evidence import note_small_validation, without_not_finished

    if final and stopped_early:  # validation loss did not improve for `patience` epochs: finished by definition
        analysis = without_not_finished(analysis)

    return note_small_validation(_build(analysis, n_seen, final, settings), settings, n_validation)


def _too_few(epochs, train, val, n_seen: int) -> _Analysis:
    measured = (f" (training loss {_fmt(train[-1])}, validation loss {_fmt(val[-1])} at epoch {epochs[-1]})"
                if len(train) else "")
    return _Analysis(None, [_Finding("not_finished", "few", [
        f"Only {n_seen} epoch{'s' if n_seen > 1 else ''} so far: too few to read the curves{measured}."])])


def _analyse(c: _Curves) -> _Analysis:
    found = [f for f in (RULES[name](c) for name in PRIORITY if name in RULES) if f is not None]
    found += [f for f in (rule(c) for rule in EXTRA_RULES) if f is not None]
    found.sort(key=lambda f: PRIORITY.index(f.verdict))  # stable: the curve rules first within a verdict
    strong = [f for f in found if not f.weak]
    main = strong[0] if strong else _good_fit(c)
    return _Analysis(c, [main] + [f for f in found if f is not main])


def _vote(current: _Analysis, analyse, n_seen: int) -> _Analysis:
    """Live: the verdict reached most often after the last LIVE_VOTES epochs (ties: the most recent).

    A verdict that changes for one epoch on a noisy curve is then not shown;
    a real change shows after a few epochs. When the winner is not what the
    newest epoch gives, its evidence comes from the latest epoch that gave it.
    """
    past = [current] + [analyse(n) for n in range(n_seen - 1, max(n_seen - LIVE_VOTES, MIN_EPOCHS_TO_JUDGE - 1), -1)]
    verdicts = [a.verdict for a in past]
    winner = max(verdicts, key=lambda v: (verdicts.count(v), -verdicts.index(v)))
    if winner == current.verdict:
        return current
    for f in current.findings:  # the winner also holds now, as a partial verdict
        if f.verdict == winner and f.kind != "few":
            rest = [g for g in current.findings if g is not f]
            return _Analysis(current.curves, [f] + rest)
    return next(a for a in past if a.verdict == winner)


def _no_validation() -> UserError:
    return UserError("The diagnosis needs a validation curve, but the history has no validation loss (val_loss).",
                     fix="Train with a validation split (split.validation_fraction above 0), so every epoch is "
                         "also measured on validation images.")


def _diverged(train: np.ndarray, val: np.ndarray) -> _Finding | None:
    """NaN or infinite training loss (or infinite validation loss): the training diverged."""
    bad_train = ~np.isfinite(train)
    bad = bad_train | np.isinf(val)
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    what = "Training loss" if bad_train[i] else "Validation loss"
    value = train[i] if bad_train[i] else val[i]
    how = "became infinite" if np.isinf(value) else "became NaN (not a number)"
    evidence = [f"{what} {how} at epoch {i + 1}."]
    if i > 0 and math.isfinite(train[i - 1]):
        evidence.append(f"Training loss was {_fmt(train[i - 1])} at epoch {i}, its last finite value.")
    return _Finding("diverged", "diverged", evidence, {"diverged_epoch": i + 1})


def _exploded(train: np.ndarray, settings: Settings | None) -> _Finding | None:
    """A finite training loss that grew to many times a blind guess's (or its own lowest): diverged too."""
    chance = chance_loss(settings)
    found = curve_cases.exploded(train, chance)
    if found is None:
        return None
    n = len(train)
    evidence = [f"Training loss was {_fmt(found['first'])} at epoch 1, {_fmt(found['peak'])} at its highest "
                f"(epoch {found['peak_epoch']}) and {_fmt(found['last'])} at epoch {n}."]
    if found["versus"] == "guess":
        evidence.append(f"Over the last epochs it is {_times(found['times'])} {guess_words(settings)}: instead of "
                        "falling, the loss blew up.")
    else:
        evidence.append(f"Over the last epochs it is {_times(found['times'])} its lowest value "
                        f"({_fmt(found['reference'])}): instead of falling, the loss blew up.")
    return _Finding("diverged", "exploded", evidence, {"loss_first": found["first"], "loss_last": found["last"],
                                                       "loss_times_reference": found["times"]})


def _times(x: float) -> str:
    return f"{x:.0f} times" if x < 1e6 else f"{x:.1e} times"


def _too_early(n_seen: int) -> Diagnosis:
    return Diagnosis(
        verdict=TOO_EARLY, title=TITLES[TOO_EARLY],
        summary=f"The verdict needs at least {MIN_EPOCHS_TO_JUDGE} epochs; {n_seen} done so far.",
        evidence=[], numbers={"epochs": n_seen}, advice=[], epochs_seen=n_seen, final=False)


def _build(analysis: _Analysis, n_seen: int, final: bool, settings: Settings | None) -> Diagnosis:
    finding, c = analysis.findings[0], analysis.curves
    secondary = analysis.secondary()
    numbers: dict = {"epochs": n_seen}
    if c is not None:
        numbers.update({
            "epochs_analysed": c.n, "best_val_epoch": c.ep(c.best), "best_val_loss": float(c.v[c.best]),
            "final_train_loss": float(c.ts[c.last]), "final_val_loss": float(c.vs[c.last]),
            "train_level": c.level_t, "val_level": c.level_v,
            "train_tail_fall": c.drop_t / c.progress_t if c.progress_t > 0 else 0.0,
            "val_tail_fall": c.drop_v / c.progress_v if c.progress_v > 0 else 0.0,
            "train_trend": c.trend_t, "val_trend": c.trend_v,
            "train_noise": c.noise_rel_t, "val_noise": c.noise_rel_v,
            "gap_relative": (c.level_v - c.level_t) / c.level_v if c.level_v > 0 else 0.0,
            "chance_loss": c.chance, "smoothing_window": _window(c.n), "tail_epochs": c.tail,
        })
    numbers.update(finding.numbers)
    numbers["case"] = finding.kind
    title = TITLES[finding.verdict]
    if finding.kind == "stuck":
        title = "Underfitting: learning nothing"
    elif finding.kind == "unstable":
        title = "Underfitting: training is unstable"
    return Diagnosis(
        verdict=finding.verdict, title=title, summary=_summary(finding, c),
        evidence=list(finding.evidence), numbers=_jsonable(numbers),
        advice=_advice(finding, settings, c, n_seen, secondary), epochs_seen=n_seen, final=final,
        secondary=secondary)


def _summary(f: _Finding, c: _Curves | None) -> str:
    for summary, _ in EXTRA_TEXTS:
        text = summary(f, c)
        if text is not None:
            return text
    if f.kind == "diverged":
        return ("Training diverged: the loss is no longer a number, so the network cannot learn. "
                "The learning rate is most likely too high.")
    if f.kind == "exploded":
        return ("Training diverged: the loss grew instead of falling, to far more than a network that knows nothing "
                "costs, so the model learns nothing. The learning rate is most likely too high.")
    if f.kind == "stuck":
        return ("Learning nothing: the model always answers the average. Its loss is exactly that of answering the "
                "training images' mean value whatever the image, and more epochs will not change it.")
    if f.kind == "unstable":
        return ("The training loss goes up again instead of settling: the steps are too large to learn "
                "steadily. The learning rate is most likely too high.")
    if f.verdict == "underfitting" and c is not None and c.regression and f.kind in ("chance", "high"):
        return ("The network does not learn enough: its loss stays close to that of always answering the mean "
                "value, so it has not learnt how the values change from image to image. The model is too small, "
                "or it cannot learn (learning rate, or the images do not show the values).")
    if f.verdict == "underfitting":
        return ("The network does not learn enough: training loss stays flat or high. The model is too small, "
                "or it cannot learn (learning rate, or the images do not show what separates the classes).")
    if f.verdict == "overfitting":
        best = f" at epoch {c.ep(c.best)}" if c is not None else ""
        if f.kind == "onset":
            return ("The network starts to learn the training images by heart: validation loss stopped improving "
                    "while training loss keeps falling.")
        return (f"The network learns the training images by heart: validation loss reached its minimum{best}, "
                "then rose while training loss kept falling.")
    if f.kind in ("few", "early"):
        return "Only a few epochs so far: train longer to see where the curves go."
    if f.kind == "maybe_falling":
        return ("Training loss is still falling, and validation loss may be too (its noise hides it): "
                "train longer.")
    if f.verdict == "not_finished":
        return "Both losses are still falling at the end: train longer."
    if f.verdict == "unrepresentative_validation":
        why = {"noisy": "its loss is noisy", "better": "its loss is lower than the training loss",
               "noisy+better": "its loss is noisy and lower than the training loss"}[f.kind]
        return (f"The validation set does not represent the data well: {why}. There are probably too few, "
                "or too easy, validation images.")
    if f.verdict == "unrepresentative_training":
        return ("Both losses settled, but with a large gap that does not close: the training images do not "
                "cover what the validation images contain.")
    if f.kind == "moderate_gap":
        return ("Both losses fell to a stable point, with a moderate gap between them: the model fits well, "
                "though it does a little better on the training images.")
    return "Both losses fell to a stable point with a small gap: the model fits well."


# ---------------------------------------------------------------- advice


def _advice(f: _Finding, s: Settings | None, c: _Curves | None, n_seen: int, secondary: list[str]) -> list[Advice]:
    for _, advice in EXTRA_TEXTS:
        tips = advice(f, s, c)
        if tips is not None:
            return tips
    if f.verdict == "diverged" or f.kind == "unstable":
        tips = [_far_high_rate(s) or _lower_learning_rate(s, "The loss blew up"), _batch_norm(s, "steadies training"),
                Advice("Check that the images are normalised (data page): very large pixel values make training "
                       "diverge.", page="data")]
    elif f.verdict == "underfitting":
        tips = _underfitting_advice(f, s, c, n_seen)
        if f.kind == "stuck":  # always the average: first ask whether the images show the values at all
            tips = tips[-1:] + tips[:-1]
    elif f.verdict == "overfitting":
        tips = _overfitting_advice(s, c)
    elif f.verdict == "not_finished":
        tips = _more_epochs(s, n_seen)
        if "underfitting" in secondary:  # falling, but slowly and still close to a blind guess
            tips.append(_raise_learning_rate(s))
    elif f.verdict == "unrepresentative_validation":
        tips = _validation_advice(s)
    elif f.verdict == "unrepresentative_training":
        tips = _training_set_advice(s)
    else:
        tips = [Advice("Nothing to fix in the training. Check the result on the test set and look at predictions "
                       "on new images before trusting the model.")]
    return [t for t in tips if t is not None]


def _lower_learning_rate(s: Settings | None, why: str) -> Advice:
    if s is None or isinstance(s.training.learning_rate, str):  # "auto": not chosen yet
        return Advice(f"{why}: lower the learning rate, for example to 0.0001.",
                      {"training.learning_rate": 1e-4}, page="train")
    lowest = RANGES["training.learning_rate"][0]
    lr = s.training.learning_rate
    new = max(_nice(curve_cases.lower_learning_rate(lr)), lowest)
    if new >= lr:
        return Advice(f"{why}, although the learning rate is already as low as it can be: check the images and "
                      "the labels.", page="data")
    how = "ten times," if math.isclose(new * 10, lr, rel_tol=0.05) else "to the usual value for Adam,"
    return Advice(f"{why}: lower the learning rate {how} from {_fmt(lr)} to {_fmt(new)}.",
                  {"training.learning_rate": new}, page="train")


def _raise_learning_rate(s: Settings | None) -> Advice | None:
    if s is None or isinstance(s.training.learning_rate, str):
        return Advice("If the training loss falls very slowly, try a higher learning rate (for example 0.003).",
                      {"training.learning_rate": 0.003}, page="train")
    lr = s.training.learning_rate
    if lr >= 0.01:
        return None
    new = _nice(lr * 3)
    return Advice(f"Try a higher learning rate: {_fmt(new)} instead of {_fmt(lr)}, so each step learns more.",
                  {"training.learning_rate": new}, page="train")


def _batch_norm(s: Settings | None, why: str) -> Advice | None:
    if s is not None and s.model.batch_norm:
        return None
    return Advice(f"Add batch normalisation: it {why}.", {"model.batch_norm": True}, page="model")


# Settings that make a network underfit whatever its size: when the settings show one, its advice comes first
# (the advice check, benchmarks/advice_check.py, found "a bigger network" useless for them).
LR_FAR_LOW = 1e-4  # below this, steps are too small to learn in a few dozen epochs
LR_FAR_HIGH = 0.05  # above this, Adam and RMSprop jump over what they should learn
HEAVY_DROPOUT = 0.5
HEAVY_PENALTY = 1e-2  # L1 or L2


def _cause_in_settings(s: Settings | None, regularisation: Advice | None) -> Advice | None:
    if s is None:
        return None
    lr = s.training.learning_rate
    # A rate far from the usual is fixed in one step by the range test, not by a tenfold nudge that may
    # still be too far (1e-5 → 1e-4 and 0.3 → 0.03 both stayed at chance in benchmarks/advice_check.py).
    if isinstance(lr, (int, float)) and lr < LR_FAR_LOW:
        return _auto_learning_rate(f"The learning rate ({_fmt(lr)}) is far below the usual 0.001, so the network "
                                   "hardly moves")
    far_high = _far_high_rate(s)
    if far_high is not None:
        return far_high
    m = s.model
    if m.dropout >= HEAVY_DROPOUT or m.l1 >= HEAVY_PENALTY or m.l2 >= HEAVY_PENALTY:
        return regularisation
    return None


def _far_high_rate(s: Settings | None) -> Advice | None:
    lr = s.training.learning_rate if s is not None else None
    if isinstance(lr, (int, float)) and lr > LR_FAR_HIGH and s.training.optimizer in ("adam", "rmsprop"):
        return _auto_learning_rate(f"The learning rate ({_fmt(lr)}) is far above the usual 0.001, so each step "
                                   "overshoots")
    return None


def _auto_learning_rate(why: str) -> Advice:
    return Advice(f"{why}: let PetriLab choose the rate (learning rate \"auto\": a short range test at the "
                  "start of training picks it for your images).", {"training.learning_rate": "auto"}, page="train")


def _underfitting_advice(f: _Finding, s, c, n_seen) -> list[Advice]:
    tips = _underfitting_tips(f, s, c, n_seen)
    regularisation = next((t for t in tips if t is not None and t.text.startswith("Remove the regularisation")), None)
    first = _cause_in_settings(s, regularisation)
    if first is None:
        return tips
    return [first] + [t for t in tips if t is not None and t.changes != first.changes]


def _underfitting_tips(f: _Finding, s, c, n_seen) -> list[Advice]:
    tips = [_bigger_model(s)]
    noisy_training = c is not None and c.noise_rel_t >= VAL_NOISE
    if noisy_training:
        tips.append(_lower_learning_rate(s, "The training loss jumps around"))
    else:
        tips.append(_raise_learning_rate(s))
    if s is not None and (s.model.dropout > 0 or s.model.l1 > 0 or s.model.l2 > 0):
        changes = {k: 0.0 for k, v in (("model.dropout", s.model.dropout), ("model.l1", s.model.l1),
                                       ("model.l2", s.model.l2)) if v > 0}
        tips.append(Advice("Remove the regularisation (dropout, L1/L2): it fights overfitting, which is not the "
                           "problem here, and makes learning harder.", changes, page="model"))
    if c is not None and c.trend_t == FALLING:
        tips.append(_raise_epochs(s, n_seen, "The training loss still falls a little: train more epochs"))
    if s is None or s.model.architecture != "transfer":
        tips.append(_transfer(s, "A pretrained network brings features learnt on millions of images"))
    if s is not None and s.task.kind == "regression":
        tips.append(Advice("Check the images and the table (data page): do the images, at the size the model sees, "
                           "show the values to predict? Are the values in targets.csv right?", page="data"))
    else:
        tips.append(Advice("Check the images and labels (data page): do the images, at the size the model sees, "
                           "show what separates the classes? Are the labels right?", page="data"))
    return tips


def _overfitting_advice(s: Settings | None, c: _Curves | None) -> list[Advice]:
    best = c.ep(c.best) if c is not None else None
    kept = (f"The best checkpoint is already kept by validation loss: model.keras is the network from epoch {best}."
            if best else "The best checkpoint is already kept by validation loss (model.keras).")
    tips: list[Advice | None] = []
    if s is None or not s.training.early_stopping:
        patience = s.training.patience if s is not None else 10
        tips.append(Advice(f"Turn on early stopping: training stops when validation loss has not improved for "
                           f"{patience} epochs. {kept}", {"training.early_stopping": True}, page="train"))
    tips.append(_augmentation(s, "Use more data augmentation, so the network never sees exactly the same image twice"))
    tips.append(_dropout(s))
    tips.append(Advice("Add more training images: it is the surest cure for overfitting.", page="data"))
    tips.append(_smaller_model(s))
    tips.append(_l2(s))
    tips.append(_batch_norm(s, "often also regularises a little"))
    if s is None or s.model.architecture != "transfer":
        tips.append(_transfer(s, "A pretrained network needs far fewer images to learn"))
    if s is not None and s.training.early_stopping:
        tips.append(Advice(kept))
    return [t for t in tips if t is not None]


def _more_epochs(s: Settings | None, n_seen: int) -> list[Advice]:
    planned = s.training.epochs if s is not None else 0
    # As many again (at least 10), or up to the planned number when the run was stopped before it.
    total = min(max(n_seen + max(MIN_MORE_EPOCHS, int(math.ceil(n_seen / 5.0)) * 5), planned), _most_epochs())
    tips = [Advice(f"Train {total - n_seen} more epochs from where it stopped.",
                   {"training.epochs": total} if total != planned else {}, page="train", resume=True)]
    if n_seen >= planned:  # the planned epochs were too few (not so when the run was stopped early)
        tips.append(_raise_epochs(s, n_seen, "For the next trainings, set more epochs"))
    if s is None or not s.training.early_stopping:
        tips.append(Advice("Turn on early stopping, so a long training stops by itself when validation loss "
                           "stops improving.", {"training.early_stopping": True}, page="train"))
    return tips


def _most_epochs() -> int:
    return int(RANGES["training.epochs"][1])


def _raise_epochs(s: Settings | None, n_seen: int, text: str) -> Advice:
    current = s.training.epochs if s is not None else n_seen
    new = min(max(2 * current, 2 * n_seen, MIN_ADVISED_EPOCHS), _most_epochs())
    return Advice(f"{text}: {new} instead of {current}.", {"training.epochs": new}, page="train")


def _validation_advice(s: Settings | None) -> list[Advice]:
    tips = []
    fraction = s.split.validation_fraction if s is not None else None
    if fraction is None or fraction < VALIDATION_FRACTION_ADVISED:
        now = f" instead of {_pct(fraction)}" if fraction is not None else ""
        tips.append(Advice(f"Keep more images for validation: {_pct(VALIDATION_FRACTION_ADVISED)} of them{now}.",
                           {"split.validation_fraction": VALIDATION_FRACTION_ADVISED}, page="split"))
    if s is not None and not s.split.stratify:
        tips.append(Advice("Stratify the split, so every class has its share of validation images.",
                           {"split.stratify": True}, page="split"))
    tips.append(Advice("Look at the validation images: are they only easy cases, or all from one condition "
                       "(one slide, one day)? They should be as varied as the real data.", page="split"))
    tips.append(Advice("Add more images overall, so the validation set can be larger.", page="data"))
    return tips


def _training_set_advice(s: Settings | None) -> list[Advice]:
    tips = [Advice("Make the training set more diverse: add images from every condition the validation images "
                   "show (cell density, focal plane, illumination, stain).", page="data"),
            _augmentation(s, "Use data augmentation, so the training images cover more of the variation")]
    if s is not None and not s.split.stratify:
        tips.append(Advice("Stratify the split, so every class is shared between training and validation.",
                           {"split.stratify": True}, page="split"))
    tips.append(Advice("Double-check the labels of the validation images.", page="data"))
    return [t for t in tips if t is not None]


def _augmentation(s: Settings | None, text: str) -> Advice | None:
    target = {"augmentation.flip_horizontal": True, "augmentation.flip_vertical": True,
              "augmentation.rotate_90": True, "augmentation.rotation": 90.0,
              "augmentation.brightness": 0.1, "augmentation.contrast": 0.1}
    if s is not None:
        a = s.augmentation
        current = {"augmentation.flip_horizontal": a.flip_horizontal, "augmentation.flip_vertical": a.flip_vertical,
                   "augmentation.rotate_90": a.rotate_90, "augmentation.rotation": a.rotation,
                   "augmentation.brightness": a.brightness, "augmentation.contrast": a.contrast}
        target = {k: v for k, v in target.items() if current[k] < v}
        if not target:
            return None
    parts = []
    if any(k.endswith("flip_horizontal") or k.endswith("flip_vertical") for k in target):
        parts.append("flips")
    if "augmentation.rotate_90" in target or "augmentation.rotation" in target:
        parts.append("rotations")
    if "augmentation.brightness" in target or "augmentation.contrast" in target:
        parts.append("brightness and contrast changes")
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return Advice(f"{text}: {listed}.", target, page="model")


def _dropout(s: Settings | None) -> Advice | None:
    current = s.model.dropout if s is not None else 0.0
    if current >= DROPOUT_MAX:
        return None
    new = DROPOUT_START if current < 0.2 else round(min(DROPOUT_MAX, current + 0.1), 2)
    now = f" (now {_pct(current)})" if s is not None else ""
    return Advice(f"Add dropout: {_pct(new)} of the neurons are switched off at random at each step{now}, so the "
                  "network cannot rely on a few of them.", {"model.dropout": new}, page="model")


def _l2(s: Settings | None) -> Advice | None:
    current = s.model.l2 if s is not None else 0.0
    if current >= L2_MAX:
        return None
    new = L2_START if current <= 0 else _nice(min(L2_MAX, current * 10))
    return Advice(f"Add L2 weight regularisation ({_fmt(new)}): it keeps the weights small.", {"model.l2": new},
                  page="model")


def _smaller_model(s: Settings | None) -> Advice | None:
    text = "Use a smaller network: fewer parameters leave less room to learn the training images by heart"
    if s is None:
        return Advice(text + " (model page).", page="model")
    m = s.model
    if m.architecture == "transfer":
        if m.fine_tune_layers > 0:
            return Advice("Retrain fewer layers of the pretrained network (keep its base frozen).",
                          {"model.fine_tune_layers": 0}, page="model")
        return None
    key = "model.dense_layers" if m.architecture == "dense" else "model.filters"
    now = m.dense_layers if m.architecture == "dense" else m.filters
    new = [max(2, n // 2) for n in now]
    changes = {key: new} if new != now else {}
    if m.architecture != "dense" and m.head_units:
        head = [max(2, n // 2) for n in m.head_units]
        if head != m.head_units:
            changes["model.head_units"] = head
    if not changes:
        return None
    return Advice(f"{text}: {_describe_sizes(now)} → {_describe_sizes(new)}.", changes, page="model")


def _bigger_model(s: Settings | None) -> Advice:
    text = "Use a bigger network: more filters or neurons can learn more"
    if s is None:
        return Advice(text + " (model page).", page="model")
    m = s.model
    if m.architecture == "transfer":
        if m.fine_tune_layers == 0:
            return Advice("Retrain the last layers of the pretrained network too (fine-tuning), so it adapts to "
                          "your images.", {"model.fine_tune_layers": 20}, page="model")
        return Advice(text + " (model page).", page="model")
    key = "model.dense_layers" if m.architecture == "dense" else "model.filters"
    now = m.dense_layers if m.architecture == "dense" else m.filters
    new = [min(8192, n * 2) for n in now]
    if new == now:  # already the largest the settings allow
        return Advice(text + ": try transfer learning, or check that the images show what separates the classes.",
                      page="model")
    return Advice(f"{text}: {_describe_sizes(now)} → {_describe_sizes(new)}.", {key: new}, page="model")


def _transfer(s: Settings | None, why: str) -> Advice | None:
    if s is not None and s.model.architecture == "dense":
        return None  # a dense network is for small non-image inputs; a pretrained ConvNet is a bigger step
    return Advice(f"Try transfer learning: {why[0].lower()}{why[1:]}.", {"model.architecture": "transfer"},
                  page="model")


def _describe_sizes(sizes: list[int]) -> str:
    return "/".join(str(n) for n in sizes)


def _nice(x: float) -> float:
    """A learning rate with one significant digit (0.0001, 0.003), as people write them."""
    return float(f"{x:.1g}")


# ---------------------------------------------------------------- files


def diagnose_file(path) -> Diagnosis:
    """Diagnose a run folder (history.csv, with settings.toml when present) or a Keras CSVLogger file."""
    from petrilab import runs
    from petrilab import settings as settings_io

    path = Path(path)
    settings = None
    if path.is_dir():
        history_file = path / runs.HISTORY
        if not history_file.is_file():
            raise UserError(f"There is no {runs.HISTORY} in {path}.", file=path,
                            fix="Choose a PetriLab run folder that trained at least one epoch, or a CSV file "
                                "of the training history.")
        if (path / runs.SETTINGS).is_file():
            try:
                settings = settings_io.load(path / runs.SETTINGS)
            except UserError:
                settings = None  # the verdict does not need them; the advice is then less specific
        if settings is not None and not settings.data.classes:
            settings.data.classes = _classes_from_events(path / runs.EVENTS)
    elif path.is_file():
        history_file = path
    else:
        raise UserError(f"{path} does not exist.", file=path,
                        fix="Give a run folder or the history CSV file (for example history.csv).")
    columns = _csv_columns(history_file)
    if "loss" not in columns:
        raise UserError(f"{history_file.name} has no 'loss' column, so it is not a training history.",
                        file=history_file, fix="Give history.csv from a run folder, or a Keras CSVLogger file.")
    if "val_loss" not in columns:
        raise UserError(f"The diagnosis needs a validation curve, but {history_file.name} has no 'val_loss' column.",
                        file=history_file,
                        fix="Train with a validation split (split.validation_fraction above 0; in Keras, pass "
                            "validation_data or validation_split to fit), then diagnose again.")
    history = runs.read_history(history_file)
    if not history:
        raise UserError(f"{history_file.name} has no epochs yet.", file=history_file,
                        fix="Diagnose again after the first epochs.")
    from petrilab.training.diagnosis_evidence import run_facts

    facts = run_facts(path, settings, len(history)) if path.is_dir() else {}
    return diagnose(history, final=True, settings=settings, **facts)


def _csv_columns(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [c.strip() for c in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path} could not be read as a CSV file ({exc}).", file=path,
                        fix="Give history.csv from a run folder, or a Keras CSVLogger file.") from None


def _classes_from_events(events_file: Path) -> list[str]:
    """The class names the engine reported when it started (settings may leave them to the folders)."""
    if not events_file.is_file():
        return []
    classes: list[str] = []
    with open(events_file, encoding="utf-8") as f:
        for line in f:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "started" and isinstance(event.get("classes"), list):
                classes = [str(c) for c in event["classes"]]
    return classes


from petrilab.training import diagnosis_evidence  # noqa: E402,F401  registers its rules (it imports this module)
