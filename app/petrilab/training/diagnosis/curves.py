"""Curve statistics: each history column as an array, smoothed with a moving median, its epoch-to-epoch
noise, its fall over the last stretch and its trend, measured once per diagnosis into `Curves`."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from petrilab.settings import Settings
from petrilab.tasks import TASKS
from petrilab.training.diagnosis.chance import chance_loss, guess_words
from petrilab.training.diagnosis.thresholds import (
    DOUBT, FALLING, SIGNIFICANCE, SMOOTH_FRACTION, SMOOTH_MAX_WINDOW, SMOOTH_MIN_WINDOW, STILL_FALLING_OF_LEVEL,
    STILL_FALLING_OF_PROGRESS, STOPPED, TAIL_FRACTION, TAIL_MIN, UNSURE,
)


def _number(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan  # missing, None (a NaN written to JSON) or text


def history_column(history: list[dict], key: str) -> np.ndarray:
    values = [row.get(key) for row in history]
    try:
        return np.array(values, dtype=float)  # fast path: numbers, None becomes NaN
    except (TypeError, ValueError):
        return np.array([_number(v) for v in values], dtype=float)


def smoothing_window(n: int) -> int:
    w = int(round(n * SMOOTH_FRACTION))
    w = max(SMOOTH_MIN_WINDOW, min(SMOOTH_MAX_WINDOW, w))
    return w if w % 2 else w + 1


def median(x: np.ndarray) -> float:
    """Median without np.median's overhead (called many times per live diagnosis)."""
    n = len(x)
    h = n // 2
    if n % 2:
        return float(np.partition(x, h)[h])
    part = np.partition(x, (h - 1, h))
    return float(0.5 * (part[h - 1] + part[h]))


class Smoother:
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
    d2 = d2 - median(d2)
    rough = 1.4826 * median(np.abs(d2))
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


@dataclass
class Curves:
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


def measure(epochs, t, v, settings: Settings | None, metrics: dict, ts: np.ndarray, vs: np.ndarray) -> Curves:
    n = len(t)
    tail = min(n, _tail_length(n))
    chance = chance_loss(settings)
    c = Curves(epochs=epochs, t=t, v=v, ts=ts, vs=vs, tail=tail, chance=chance,
               guess=guess_words(settings) if chance is not None else "",
               regression=settings is not None and TASKS[settings.task.kind].has_targets,
               scale=chance if chance else max(float(t[0]), float(v[0]), 1e-12),
               dropout=float(settings.model.dropout) if settings is not None else 0.0, metrics=metrics)
    c.level_t, c.level_v = median(t[-tail:]), median(v[-tail:])
    c.noise_t, c.noise_v = jitter(t), jitter(v)
    c.noise_rel_t = c.noise_t / max(median(ts), 1e-12)
    c.noise_rel_v = c.noise_v / max(median(vs), 1e-12)
    c.drop_t, c.drop_sd_t = _recent_fall(t, ts, c.noise_t, tail)
    c.drop_v, c.drop_sd_v = _recent_fall(v, vs, c.noise_v, tail)
    c.best, c.vmin, c.tmin = int(np.argmin(v)), int(np.argmin(vs)), int(np.argmin(ts))
    c.progress_t = max(float(ts[0] - ts[c.tmin]), 0.0)
    c.progress_v = max(float(vs[0] - vs[c.vmin]), 0.0)
    c.trend_t = _trend(c.drop_t, c.drop_sd_t, c.progress_t, ts[-1], c.noise_t)
    c.trend_v = _trend(c.drop_v, c.drop_sd_v, c.progress_v, vs[-1], c.noise_v)
    return c
