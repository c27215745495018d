"""What the Evaluate and Predict pages share about their engine jobs (`petrilab evaluate / predict`).

One job at a time per EngineProcess; these pages wait for nothing when the
window closes (an evaluation or a prediction saves nothing worth waiting
for), and a failed job is explained with the engine's own plain message
(its `error` event) when it wrote one, else with the log file to send.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from petrilab import runs
from petrilab.command_events import CommandState
from petrilab.events import EventFollower
from petrilab.gui.process import EngineProcess, job_failure
from petrilab.gui.widgets.message_box import InlineMessage

STOP_WAIT_MS = 5_000
PROGRESS_POLL_MS = 300  # the engine writes at most one progress event a second
DOING = {"evaluate": "Evaluating", "predict": "Predicting"}


class JobProgress(QObject):
    """Follows the running job's events (--events, beside its log) and says how far it is."""

    changed = Signal(int, int)  # images done, images in all (0 until the job has counted them)

    def __init__(self, engine: EngineProcess, parent: QObject | None = None):
        super().__init__(parent)
        self.engine = engine
        self.state = CommandState()
        self._follower: EventFollower | None = None
        self._timer = QTimer(self, interval=PROGRESS_POLL_MS, timeout=self.poll)
        engine.started.connect(self._begin)
        engine.finished.connect(self._end)

    def _begin(self) -> None:
        self.state = CommandState()
        path = self.engine.events_path
        self._follower = EventFollower(path) if path is not None else None
        self._timer.start()

    def _end(self, *_ended) -> None:
        self.poll()
        self._timer.stop()

    def poll(self) -> None:
        if self._follower is None:
            return
        new = self._follower.poll()
        for event in new:
            self.state.apply(event)
        if new and self.state.total:
            self.changed.emit(self.state.done, int(self.state.total))

    def words(self) -> str:
        """'Predicting image 12 of 40…' ('' before the job has counted its images)."""
        total = int(self.state.total or 0)
        if not total:
            return ""
        doing = DOING.get(self.engine.job or "", "Working")
        return f"{doing}: image {min(self.state.done + 1, total)} of {total}…" if self.state.done < total \
            else f"{doing}: all {total} images done, writing the results…"


def stop_job(engine: EngineProcess) -> None:
    """The window closes: end a running job and wait briefly for it to go."""
    if engine.is_running():
        engine.stop()
        engine.wait(STOP_WAIT_MS)


def show_failure(message: InlineMessage, engine: EngineProcess, what: str) -> None:
    """Say why the job failed: the engine's own plain message when the problem is the user's data or
    settings; otherwise (an unexpected problem, a crash) what happened, what is saved and what to do in
    plain words, the technical part folded behind "Show details" / "Copy details"."""
    # the engine's `error` event; with none (Python or PetriLab failed to start, it was killed, it ran out of
    # memory), the end of its terminal text is all there is to go on
    failure = job_failure(engine.events_path, engine.log_tail(40))
    if failure and not is_unexpected(failure[0]):
        message.show_message("error", *failure)
        return
    message.show_message("error", f"{what} stopped because of a problem inside PetriLab, not because of your "
                         "images or settings.", None, crash_fix(engine.run_dir),
                         details=crash_details(engine))


def is_unexpected(text: str) -> bool:
    """The engine's words for a problem it did not foresee (cli.main: 'an unexpected problem')."""
    return "unexpected problem" in text


def saved_in_run(run_dir: Path | None) -> str:
    """What of the run is safe on disk, in the user's words ('' when nothing is)."""
    if run_dir is None:
        return ""
    kept = [words for name, words in ((runs.BEST_MODEL, "the trained model"),
                                      (runs.EVALUATION, "its evaluation on the test images"),
                                      ("report.html", "its report"))
            if (Path(run_dir) / name).exists()]
    if not kept:
        return ""
    listed = kept[0] if len(kept) == 1 else ", ".join(kept[:-1]) + " and " + kept[-1]
    return f"Nothing was lost: {listed} {'is' if len(kept) == 1 else 'are'} safe in {Path(run_dir).name}. "


def crash_fix(run_dir: Path | None) -> str:
    return (saved_in_run(run_dir) + "Try again; if it happens again, press Copy details and send them to "
            "whoever supports PetriLab.")


def crash_details(engine: EngineProcess) -> str:
    """For a report to the developers: the command, the log file and its last lines."""
    lines = [f"Command: {' '.join(engine.command)} {engine.job or ''}".rstrip()]
    if engine.log_path is not None:
        lines.append(f"Log: {engine.log_path}")
    return "\n".join(lines + ["", engine.log_tail(25)])
