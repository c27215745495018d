"""The verdict: the rules asked in priority order, the first that holds wins and the others that hold are
listed beside it; while training runs, the verdict most often reached over the last epochs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from petrilab.errors import UserError
from petrilab.settings import Settings
from petrilab.training.diagnosis import evidence
from petrilab.training.diagnosis.curves import Curves, Smoother, history_column, measure, smoothing_window
from petrilab.training.diagnosis.results import Diagnosis
from petrilab.training.diagnosis.rules import RULES, Finding, good_fit, loss_exploded, loss_not_a_number
from petrilab.training.diagnosis.thresholds import LIVE_VOTES, MIN_EPOCHS_TO_JUDGE, PRIORITY
from petrilab.training.diagnosis.wording import build_diagnosis, too_early_diagnosis
from petrilab.training.diagnosis.words import fmt


# A verdict that explains another: overfitting is why the gap is large, so
# "unrepresentative training set" is not listed beside it.
EXPLAINS = {"overfitting": {"unrepresentative_training"}}


@dataclass
class Analysis:
    curves: Curves | None
    findings: list[Finding]  # verdict first, then the others that hold, in PRIORITY order

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
    train, val = history_column(history, "loss"), history_column(history, "val_loss")
    diverged = loss_not_a_number(train, val) or loss_exploded(train, settings)
    if diverged is not None:
        return build_diagnosis(Analysis(None, [diverged]), n_seen, final, settings)
    if not final and n_seen < MIN_EPOCHS_TO_JUDGE:
        return too_early_diagnosis(n_seen)
    keep = np.isfinite(val)  # epochs without a validation value (e.g. validated every few epochs) are skipped
    if not keep.any():
        raise _no_validation()
    epochs, train, val = np.arange(1, n_seen + 1)[keep], train[keep], val[keep]
    metrics = {k: history_column(history, k)[keep] for k in ("accuracy", "val_accuracy") if k in history[-1]}
    kept_before = np.concatenate([[0], np.cumsum(keep)])  # rows analysed among the first n epochs
    smooth_t, smooth_v = Smoother(train), Smoother(val)

    def analyse(n: int) -> Analysis:
        m = int(kept_before[n])
        if m < MIN_EPOCHS_TO_JUDGE:
            return _too_few(epochs[:m], train[:m], val[:m], n)
        w = smoothing_window(m)
        c = measure(epochs[:m], train[:m], val[:m], settings, {k: x[:m] for k, x in metrics.items()},
                    smooth_t(m, w), smooth_v(m, w))
        return _analyse(c)

    analysis = analyse(n_seen)
    if not final:
        analysis = _vote(analysis, analyse, n_seen)
    if final and stopped_early:  # validation loss did not improve for `patience` epochs: finished by definition
        analysis = without_not_finished(analysis)

    return evidence.note_small_validation(build_diagnosis(analysis, n_seen, final, settings), settings, n_validation)


def _too_few(epochs, train, val, n_seen: int) -> Analysis:
    measured = (f" (training loss {fmt(train[-1])}, validation loss {fmt(val[-1])} at epoch {epochs[-1]})"
                if len(train) else "")
    return Analysis(None, [Finding("not_finished", "few", [
        f"Only {n_seen} epoch{'s' if n_seen > 1 else ''} so far: too few to read the curves{measured}."])])


def _analyse(c: Curves) -> Analysis:
    found = [f for f in (RULES[name](c) for name in PRIORITY if name in RULES) if f is not None]
    found += [f for f in (rule(c) for rule in evidence.RULES) if f is not None]
    found.sort(key=lambda f: PRIORITY.index(f.verdict))  # stable: the curve rules first within a verdict
    strong = [f for f in found if not f.weak]
    main = strong[0] if strong else good_fit(c)
    return Analysis(c, [main] + [f for f in found if f is not main])


def _vote(current: Analysis, analyse, n_seen: int) -> Analysis:
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
            return Analysis(current.curves, [f] + rest)
    return next(a for a in past if a.verdict == winner)


def without_not_finished(analysis: Analysis) -> Analysis:
    """Early stopping ended the run: the validation loss did not improve for `patience` epochs, so the run is
    not "not finished" whatever the smoothed tail suggests (noise on a small validation set)."""
    if analysis.curves is None:
        return analysis
    findings = [f for f in analysis.findings if f.verdict != "not_finished"]
    strong = [f for f in findings if not f.weak]
    main = strong[0] if strong else good_fit(analysis.curves)
    return Analysis(analysis.curves, [main] + [f for f in findings if f is not main])


def _no_validation() -> UserError:
    return UserError("The diagnosis needs a validation curve, but the history has no validation loss (val_loss).",
                     fix="Train with a validation split (split.validation_fraction above 0), so every epoch is "
                         "also measured on validation images.")
