"""What the Evaluate and Predict pages share about their engine jobs (`petrilab evaluate / predict`).

One job at a time per EngineProcess; these pages wait for nothing when the
window closes (an evaluation or a prediction saves nothing worth waiting
for), and a failed job is explained with the engine's own plain message
when it wrote one, else with the log file to send.
"""

from __future__ import annotations

from petrilab.gui.process import EngineProcess, plain_failure
from petrilab.gui.widgets.message_box import InlineMessage

STOP_WAIT_MS = 5_000


def stop_job(engine: EngineProcess) -> None:
    """The window closes: end a running job and wait briefly for it to go."""
    if engine.is_running():
        engine.stop()
        engine.wait(STOP_WAIT_MS)


def show_failure(message: InlineMessage, engine: EngineProcess, what: str) -> None:
    """Say why the job failed: the engine's 'PetriLab: …' message, or that `what` stopped unexpectedly."""
    failure = plain_failure(engine.log_tail(40))
    if failure:
        message.show_message("error", *failure)
    else:
        message.show_message("error", f"{what} stopped unexpectedly.", str(engine.log_path),
                             "Try again; if it happens again, send the log file to PetriLab's developers.",
                             details=engine.log_tail(10))
