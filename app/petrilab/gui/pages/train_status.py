"""Train page: the followed run in words: the status line, the progress line and the details line."""

from __future__ import annotations

from petrilab import runs
from petrilab.gui.process import EngineProcess
from petrilab.gui.run_follower import format_duration
from petrilab.run_state import RunState

NOT_TRAINED = "Press Start to train the model."


def status_words(state: RunState, status: str, engine: EngineProcess) -> str:
    """'Training…', 'Training finished · best model at epoch 7', …; `status` as TrainPage.status_now() says."""
    if state.run_dir is None:
        return NOT_TRAINED
    if status == "crashed":
        return "Training stopped" if engine.stop_requested else "The engine stopped unexpectedly"
    if status == "running":
        if engine.stop_requested or (state.run_dir / runs.STOP_REQUEST).exists():
            return "Stopping: finishing the current batch and saving…"
        return "Training…"
    if status == "queued":
        return "Starting the engine…" if engine.is_running() else "Waiting for the run to start…"
    if status == "script written":
        return "Its cluster job script was written, not sent: submit it with sbatch on the cluster"
    if status == "completed":
        best = state.best_epoch
        return "Training finished" + (f" · best model at epoch {best + 1}" if best is not None else "")
    if status == "stopped":
        return "Training stopped"
    return "Training failed"


def progress_words(state: RunState, status: str) -> str:
    """'Epoch 3 of 30 · batch 12/40 · 2 min left' while running; the epochs done once it is not."""
    total = state.planned_epochs
    if not state.started and not state.metrics:
        return ""
    if status != "running":
        done = state.epochs_done
        return f"{done} epoch{'s' if done != 1 else ''} done"
    batch = state.batch
    epoch = int(batch.get("epoch", state.epochs_done)) + 1 if batch else state.epochs_done + 1
    text = f"Epoch {min(epoch, total)} of {total}"
    if batch and batch.get("batches"):
        text += f" · batch {batch['batch']}/{batch['batches']}"
    return f"{text} · {format_duration(state.seconds_left())}"


def details_words(started: dict) -> str:
    """The device, how the work is shared, the parameters and the images, from the run's `started` event."""
    device = started.get("device") or "?"
    backend = started.get("backend")
    params = started.get("parameters")
    parts = [f"Device: {device}" + (f", {backend} backend" if backend else "")]
    shared = started.get("distribution") or {}
    if (shared.get("replicas") or 1) > 1:
        parts.append(f"shared by {shared['replicas']} devices, {shared.get('global_batch_size', '?')} "
                     f"images per step")
    if params is not None:
        parts.append(f"{int(params):,} parameters".replace(",", " "))
    if started.get("n_train") is not None:
        parts.append(f"{started['n_train']} training / {started.get('n_validation', 0)} "
                     f"validation images")
    return "   ·   ".join(parts)
