"""Long runs: the window follows thousands of epochs with bounded memory.

The memory soak follows a real run folder whose events.jsonl grows by
thousands of epochs (written by a helper thread at a steady pace, the way the
engine writes them, with batch progress and a live verdict after each epoch)
while the Train page follows it. What the page keeps per epoch is its
numbers (a few hundred bytes); the plots draw a decimated curve whatever the
number of epochs: pyqtgraph's peak downsampling keeps at most a few points per
pixel of the plot's width (a few times autoDownsampleFactor), and clip-to-view
leaves out what is outside the view.

That Stop leaves no process behind is asserted where a real training is
stopped from the Train page already (test_gui_flow.py): one engine child
process for both.
"""

from __future__ import annotations

import gc
import math
import os
import threading
import time
import tracemalloc

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from petrilab import events as ev  # noqa: E402
from petrilab import runs  # noqa: E402
from petrilab.gui.context import AppContext  # noqa: E402
from petrilab.gui.pages.train_page import TrainPage  # noqa: E402
from petrilab.settings import Settings  # noqa: E402


pytestmark = [pytest.mark.gui, pytest.mark.slow]

EPOCHS = 3000
WARM_UP = 750  # epochs followed before the memory is first measured
BYTES_PER_EPOCH = 1500  # what the page may keep per epoch (the numbers of its curves and their bookkeeping)


def verdicts() -> list[dict]:
    """Two real live verdicts (the engine's diagnosis on made-up curves) that the writer alternates."""
    from petrilab.training.diagnosis import diagnose  # pure numpy; the window itself never imports it

    falling = [{"epoch": e, "loss": 1 / (e + 1), "val_loss": 1.1 / (e + 1)} for e in range(30)]
    rising = [{"epoch": e, "loss": 1 / (e + 1), "val_loss": 0.5 + abs(e - 10) / 20} for e in range(30)]
    return [diagnose(h, final=False, settings=Settings()).to_dict() for h in (falling, rising)]


def write_long_run(run_dir, epochs: int, done: threading.Event, pace: float) -> None:
    writer = ev.EventWriter(run_dir / runs.EVENTS, echo=False)
    writer.emit(ev.STARTED, main_metric="accuracy", epochs=epochs, initial_epoch=0, device="CPU",
                backend="tensorflow", parameters=9_000, n_train=300, n_validation=60)
    shown = verdicts()
    for epoch in range(epochs):
        for batch in (4, 8, 12):
            writer.emit(ev.BATCH, epoch=epoch, batch=batch, batches=12, elapsed=0.01 * batch)
        loss = 0.3 + 0.7 * math.exp(-epoch / 400) + 0.01 * math.sin(epoch)
        writer.emit(ev.EPOCH_END, epoch=epoch, epochs=epochs, seconds=0.05, best=epoch % 7 == 0,
                    metrics={"loss": loss, "val_loss": loss + 0.05, "accuracy": 1 - loss / 2,
                             "val_accuracy": 0.97 - loss / 2})
        writer.emit(ev.DIAGNOSIS, **shown[(epoch // 250) % 2])
        if epoch % 50 == 49:
            time.sleep(pace)  # the page reads what arrived since its last look, as during a real run
    done.set()


def follow(qtbot, page, epochs: int) -> None:
    def caught_up() -> bool:
        QApplication.sendPostedEvents(None, QEvent.DeferredDelete)  # what the window's event loop does
        return page.follower.state.epochs_done >= epochs

    qtbot.waitUntil(caught_up, timeout=300_000)
    qtbot.wait(50)  # the verdict is drawn one turn after the curves


def python_memory() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_following_thousands_of_epochs_keeps_the_window_memory_bounded(qtbot, tmp_path):
    run_dir = tmp_path / "runs" / "overnight"
    page = TrainPage(AppContext(Settings(name="overnight"), runs_dir=tmp_path / "runs"))
    qtbot.addWidget(page)
    page.resize(700, 600)  # plots a few hundred pixels wide: fewer pixels than epochs
    page.show()
    page.curves.prepare()
    page.follower._timer.setInterval(100)
    process = psutil.Process()
    done = threading.Event()
    writer = threading.Thread(target=write_long_run, args=(run_dir, EPOCHS, done, 0.02), daemon=True)
    tracemalloc.start()
    try:
        (run_dir).mkdir(parents=True)
        page.show_run(run_dir)
        writer.start()
        follow(qtbot, page, WARM_UP)
        python_before, rss_before = python_memory(), process.memory_info().rss
        epochs_before = page.follower.state.epochs_done
        follow(qtbot, page, EPOCHS)
        writer.join(timeout=60)
        assert done.is_set()
        python_after, rss_after = python_memory(), process.memory_info().rss
    finally:
        tracemalloc.stop()
        page.follower.stop()
    followed = EPOCHS - epochs_before
    per_epoch = (python_after - python_before) / followed
    print(f"window Python memory {per_epoch:+.0f} bytes per epoch; process memory "
          f"{(rss_after - rss_before) / 2**20:+.1f} MB over {followed} epochs")
    assert per_epoch < BYTES_PER_EPOCH, f"{per_epoch:.0f} bytes kept per epoch"
    # Qt and pyqtgraph memory (not seen by tracemalloc): no widget or plot item piles up per epoch
    assert rss_after - rss_before < 60 * 1024 * 1024, f"{(rss_after - rss_before) / 2**20:.0f} MB more"

    state = page.follower.state
    assert state.epochs_done == EPOCHS and page.curves.loss.point_count() == 2 * EPOCHS
    for plot in (page.curves.loss, page.curves.metric):
        width = plot.plotItem.vb.width()
        for item in plot.curves.values():
            shown, _ = item.curve.getData()  # what the curve draws after downsampling
            # peak downsampling keeps 2 points per block of a whole number of epochs, the blocks about
            # epochs / (factor × width) long: under 4 × factor points per pixel, however many epochs
            most = 4 * item.opts["autoDownsampleFactor"] * width + 4
            assert 0 < len(shown) <= most and len(shown) < EPOCHS, (len(shown), width)
            assert item.opts["symbol"] is None  # no dot per epoch on a long run
    # the advice rows are rebuilt with each new verdict, never stacked up: as many as a fresh panel shows
    from petrilab.gui.widgets.diagnosis_panel import DiagnosisPanel

    fresh = DiagnosisPanel()
    qtbot.addWidget(fresh)
    fresh.show_diagnosis(page.diagnosis.current, epoch=EPOCHS, can_resume=page._can_resume())
    assert len(page.diagnosis.advice_buttons) == len(fresh.advice_buttons) > 0
    assert page.diagnosis.advice_box.count() == fresh.advice_box.count()
    assert "So far" in page.diagnosis.stage.text()
