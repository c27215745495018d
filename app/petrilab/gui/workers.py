"""Work that must never block the window.

Two mechanisms, one for each kind of work:
- `Background`: short Python jobs (the dataset check, thumbnails) on Qt's
  thread pool; results come back as signals on the GUI thread.
- `ModelDescriber`: the parameter count and layer table need Keras, which the
  GUI process never imports, so a long-lived child process
  (`petrilab describe-model --serve`) answers one JSON line per request.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QProcess, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage
from shiboken6 import isValid

from petrilab.errors import UserError
from petrilab.gui.context import engine_command

# ---------------------------------------------------------------- thread-pool jobs


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits through it, so slots run on the GUI thread."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(object)  # a UserError, or the text of an unexpected error


class _Job(QRunnable):
    def __init__(self, fn: Callable, args: tuple, relay: _Relay, with_progress: bool):
        super().__init__()
        self.fn, self.args, self.relay, self.with_progress = fn, args, relay, with_progress
        self.cancelled = False

    def run(self) -> None:
        try:
            if self.with_progress:
                result = self.fn(*self.args, emit=self._emit, cancelled=lambda: self.cancelled)
            else:
                result = self.fn(*self.args)
        except UserError as exc:
            self.relay.failed.emit(exc)
        except Exception as exc:  # a bug, not the user's mistake: say so plainly, keep the details
            text = f"Something went wrong while reading the data: {exc}"
            self.relay.failed.emit(UserError(text, fix="Please report this, with the details below.\n"
                                             + traceback.format_exc(limit=3)))
        else:
            if not self.cancelled:
                self.relay.done.emit(result)

    def _emit(self, item) -> None:
        if not self.cancelled:
            self.relay.progress.emit(item)


class Background(QObject):
    """Runs one job at a time for its owner; starting a new job makes the old one's results ignored."""

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None):
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._job: _Job | None = None
        self._relays: set[_Relay] = set()  # kept alive until their job ends

    def start(self, fn: Callable, *args, on_done: Callable | None = None, on_failed: Callable | None = None,
              on_progress: Callable | None = None) -> None:
        """Call `fn(*args)` in the pool (with `emit=` and `cancelled=` keywords if `on_progress` is given)."""
        self.cancel()
        relay = _Relay()
        job = _Job(fn, args, relay, with_progress=on_progress is not None)
        job.setAutoDelete(False)  # we keep it to flag cancellation

        def current() -> bool:
            return self._job is job

        if on_progress:
            relay.progress.connect(lambda item: current() and on_progress(item), Qt.QueuedConnection)
        relay.done.connect(lambda result: self._finish(job, relay, on_done, result), Qt.QueuedConnection)
        relay.failed.connect(lambda error: self._finish(job, relay, on_failed, error), Qt.QueuedConnection)
        self._relays.add(relay)
        self._job = job
        self.pool.start(job)

    def _finish(self, job: _Job, relay: _Relay, callback: Callable | None, value) -> None:
        self._relays.discard(relay)
        if self._job is job:
            self._job = None
            if callback and isValid(self):  # not when its owner (and so this child) was closed meanwhile
                callback(value)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancelled = True
            self._job = None

    @property
    def busy(self) -> bool:
        return self._job is not None


# ---------------------------------------------------------------- images for display


def display_uint8(image: np.ndarray, low: float = 1.0, high: float = 99.5) -> np.ndarray:
    """Any microscopy image as 8-bit grey (H, W) or RGB (H, W, 3), stretched between two percentiles."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] <= 4 < a.shape[-1]:  # channels first
        a = np.moveaxis(a, 0, -1)
    if a.ndim == 3:
        if a.shape[-1] >= 3:
            a = a[..., :3]
        else:
            a = a[..., 0]
    while a.ndim > 3:  # stacks: the first plane
        a = a[0]
    a = a.astype(np.float32)
    lo, hi = np.percentile(a, [low, high])
    if hi <= lo:
        hi = lo + 1.0
    out = np.clip((a - lo) / (hi - lo), 0.0, 1.0) * 255.0
    return np.ascontiguousarray(out.astype(np.uint8))


def to_qimage(rgb_or_grey: np.ndarray) -> QImage:
    a = np.ascontiguousarray(rgb_or_grey)
    h, w = a.shape[:2]
    if a.ndim == 2:
        image = QImage(a.data, w, h, a.strides[0], QImage.Format_Grayscale8)
    else:
        image = QImage(a.data, w, h, a.strides[0], QImage.Format_RGB888)
    return image.copy()  # own the pixels: `a` goes away


def read_for_display(path: str | Path) -> np.ndarray:
    from petrilab.data.images import read_image  # light: tifffile and imageio, no Keras

    return display_uint8(read_image(path))


def load_thumbnails(items: list[tuple[str, str]], size: int, *, emit: Callable, cancelled: Callable) -> int:
    """Read each (class, path), scale it to `size` pixels and emit (class, path, QImage or None)."""
    done = 0
    for cls, path in items:
        if cancelled():
            break
        try:
            image = to_qimage(read_for_display(path))
            image = image.scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        except Exception:  # an unreadable file: shown as such; the dataset check names it
            image = None
        emit((cls, path, image))
        done += 1
    return done


# ---------------------------------------------------------------- the model describer


MAX_RESTARTS = 2


class ModelDescriber(QObject):
    """Client of `petrilab describe-model --serve`: one JSON request per line, one JSON answer per line.

    Only the latest request matters: while one is being computed, newer ones
    replace each other and only the last is sent next.
    """

    catalogue = Signal(dict)  # the architectures: key -> {title, description, tasks, uses}
    described = Signal(dict)  # the server's answer to the latest request
    failed = Signal(str)  # the request could not be described (a plain message)
    unavailable = Signal(str)  # the helper process cannot run: the page shows a note instead
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, command: list[str] | None = None):
        super().__init__(parent)
        self.command = command or engine_command() + ["describe-model", "--serve"]
        self.process: QProcess | None = None
        self._buffer = b""
        self._pending: dict | None = None
        self._in_flight = False
        self._given_up = False
        self._stderr = b""
        self._sent_id = 0
        self._describe_id: int | None = None
        self._catalogue_id: int | None = None
        self._last_payload: dict | None = None  # sent again if the helper has to be restarted
        self._restarts = 0

    # -- public

    def request(self, payload: dict) -> None:
        if self._given_up:
            return
        self._pending = payload
        if not self._in_flight:
            self._send_pending()

    def request_catalogue(self) -> None:
        """Ask once for the architecture catalogue (answered before any later request)."""
        if self._given_up or self._catalogue_id is not None:
            return
        self._ensure_started()
        self._sent_id += 1
        self._catalogue_id = self._sent_id
        self.process.write((json.dumps({"catalogue": True, "id": self._catalogue_id}) + "\n").encode("utf-8"))

    def stop(self) -> None:
        if self.process is not None:
            process, self.process = self.process, None
            process.finished.disconnect()
            process.closeWriteChannel()  # the server ends at end of input
            if not process.waitForFinished(1500):
                process.kill()
                process.waitForFinished(1000)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.NotRunning

    # -- inside

    def _ensure_started(self) -> bool:
        if self.process is not None:
            return True
        process = QProcess(self)
        process.setProgram(self.command[0])
        process.setArguments(self.command[1:])
        process.readyReadStandardOutput.connect(self._read)
        process.readyReadStandardError.connect(self._read_errors)
        process.finished.connect(self._ended)
        process.errorOccurred.connect(self._error)
        self.process = process
        self._buffer = b""
        self._stderr = b""
        process.start()
        return True

    def _send_pending(self) -> None:
        if self._pending is None:
            return
        self._ensure_started()
        payload, self._pending = self._pending, None
        self._last_payload = payload
        self._sent_id += 1
        self._describe_id = self._sent_id
        line = json.dumps({**payload, "id": self._sent_id}) + "\n"
        self.process.write(line.encode("utf-8"))
        self._in_flight = True
        self.busy_changed.emit(True)

    def _read(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput())
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                answer = json.loads(line)
            except json.JSONDecodeError:
                continue  # a stray line (a library printing): not an answer
            if not isinstance(answer, dict):
                continue
            if answer.get("id") == self._catalogue_id and "catalogue" in answer:
                self.catalogue.emit(answer["catalogue"])
                continue
            if answer.get("id") != self._describe_id:
                continue
            self._in_flight = False
            if self._pending is None:  # only the answer to the latest request is shown
                self.busy_changed.emit(False)
                if answer.get("ok") is False or answer.get("error"):
                    self.failed.emit(_error_text(answer.get("error", "")))
                else:
                    self.described.emit(answer)
            else:
                self._send_pending()

    def _read_errors(self) -> None:
        if self.process is not None:
            self._stderr = (self._stderr + bytes(self.process.readAllStandardError()))[-4000:]

    def _error(self, error) -> None:
        if error == QProcess.FailedToStart:
            self._give_up("The model helper could not start, so the parameter count cannot be shown.")

    def _ended(self, *args) -> None:
        """The helper died (e.g. out of memory on a huge network): start it again, a few times at most."""
        if self._given_up:
            return
        tail = self._stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        if self._restarts >= MAX_RESTARTS:
            self._give_up("The model helper stopped, so the parameter count cannot be shown. " + tail[0])
            return
        self._restarts += 1
        self.process = None
        self._in_flight = False
        wanted_catalogue = self._catalogue_id is not None
        self._catalogue_id = None
        if wanted_catalogue:
            self.request_catalogue()
        if self._pending is None and self._last_payload is not None:
            self._pending = self._last_payload
        self._send_pending()

    def _give_up(self, message: str) -> None:
        if self._given_up:
            return
        self._given_up = True
        self._in_flight = False
        self.process = None
        self.busy_changed.emit(False)
        self.unavailable.emit(message.strip())


def _error_text(error) -> str:
    if isinstance(error, dict):
        text = error.get("message", "")
        if error.get("fix"):
            text += " " + error["fix"]
        return text
    return str(error)


class Debouncer(QObject):
    """Calls `fn` once, `ms` after the last `poke()`: settings change in bursts while the user types."""

    def __init__(self, ms: int, fn: Callable, parent: QObject | None = None):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(ms)
        self.timer.timeout.connect(fn)

    def poke(self) -> None:
        self.timer.start()
