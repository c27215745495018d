"""Which engine runs the network for a prediction: Keras, or ONNX Runtime when it gives the same answers faster.

`engine` (predict --engine): "keras" always uses Keras; "onnx" uses ONNX
Runtime or refuses, saying why; "auto" (predict's default) uses ONNX Runtime
only when it is installed, the model converted, its outputs on the first batch
equal Keras's within `TOLERANCE`, and it ran that batch at least `FASTER` times
faster than Keras did — otherwise Keras, and the decision says why in plain
words. The choice is made once, on the first batch the prediction sends (so
on real images), and handed to `on_decided`: predict writes it as a `decided`
event, a note on the terminal and into prediction.json.

The first batch costs two extra passes: ONNX Runtime's (timed: its one-off
set-up is small, and counting it only favours Keras) and a second, timed one of
Keras (its first pass traces the graph for the batch's shape, which would
favour ONNX Runtime). Keras's output is what that batch returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from petrilab.errors import UserError

ENGINES = ("auto", "keras", "onnx")
TOLERANCE = {"rtol": 1e-3, "atol": 1e-4}  # float32 sums in another order differ by ~1e-7; a real mismatch by far more
FASTER = 1.1  # auto: ONNX Runtime must beat Keras by 10 % on the timed batch (one batch on a busy CPU is noisy)
BATCH = 32  # images a call, as Keras's predict did


def largest_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if np.size(a) else 0.0


def _timed(call, batch) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = call(batch)
    return out, time.perf_counter() - start


def _has_gpu() -> bool:
    import keras

    from petrilab.training.device import list_gpus

    return bool(list_gpus(keras.backend.backend()))


class NetworkRunner:
    """Calls the trained network on (N, h, w, c) batches with the engine chosen at the first batch."""

    def __init__(self, model, run_dir, source_sha256: str | None, engine: str = "keras",
                 on_decided: Callable[[dict], None] | None = None):
        if engine not in ENGINES:
            raise UserError(f"'{engine}' is not a prediction engine.", fix=f"Use one of: {', '.join(ENGINES)}.")
        self.model, self.run_dir, self.source_sha256 = model, run_dir, source_sha256
        self.asked = engine
        self.on_decided = on_decided
        self.decision: dict | None = None
        self._call = None

    def keras(self, batch: np.ndarray) -> np.ndarray:
        # predict_on_batch: no input pipeline is built per call (model.predict's cost 30-40 % of a tile)
        return np.asarray(self.model.predict_on_batch(batch), dtype=np.float32)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """The network's float32 outputs for a preprocessed batch, BATCH images a call."""
        images = np.asarray(images, dtype=np.float32)
        parts = []
        for start in range(0, len(images), BATCH):
            chunk = images[start:start + BATCH]
            parts.append(self._call(chunk) if self._call is not None else self._first(chunk))
        return np.concatenate(parts) if parts else np.zeros((0,), np.float32)

    def _decide(self, engine: str, message: str, **details) -> None:
        self.decision = {"key": "prediction.engine", "value": engine, "asked": self.asked, "message": message,
                         "details": details}
        if self.on_decided is not None:
            self.on_decided(self.decision)

    def _first(self, batch: np.ndarray) -> np.ndarray:
        if self.asked == "keras":
            self._call = self.keras
            self._decide("keras", "Keras runs the network (asked for).")
            return self._call(batch)
        from petrilab.prediction.onnx_engine import EngineAbsent, EngineUnavailable, open_network

        try:
            if self.asked == "auto" and _has_gpu():
                raise EngineAbsent("a GPU is there, and Keras uses it (ONNX Runtime is used for the CPU only)")
            if self.source_sha256 is None:
                raise EngineUnavailable("the model was handed over in memory, not read from the run's model.keras")
            network, how = open_network(self.run_dir, self.model, self.source_sha256)
            expected = self.keras(batch)
            try:
                got, onnx_s = _timed(network, batch)
            except Exception as exc:
                raise EngineUnavailable(f"ONNX Runtime failed on the first batch ({exc.__class__.__name__})") from None
        except EngineUnavailable as exc:
            self._fall_back(f"{exc}", {"usual": isinstance(exc, EngineAbsent)})
            return self.keras(batch)
        difference = largest_difference(got, expected) if got.shape == expected.shape else None
        difference = difference if difference is not None and np.isfinite(difference) else None  # JSON: no NaN
        details = {"onnx_file": how, "onnxruntime": network.version, "largest_difference": difference,
                   "tolerance": TOLERANCE, "check_batch": list(batch.shape)}
        if got.shape != expected.shape or not np.allclose(got, expected, **TOLERANCE):
            by = (f"by up to {difference:.2g} (more than the tolerance)" if difference is not None else
                  f"in shape ({got.shape}, Keras {expected.shape})" if got.shape != expected.shape else
                  "(some of them are not numbers)")
            self._fall_back(f"its outputs differ from Keras's on the first batch {by}", details)
            return expected
        speed = ""
        if self.asked == "auto":  # asked for by name, ONNX Runtime runs whatever its speed
            _, keras_s = _timed(self.keras, batch)  # Keras's first pass traced the graph for this shape: not timed
            details.update(keras_seconds=round(keras_s, 4), onnx_seconds=round(onnx_s, 4))
            if onnx_s * FASTER > keras_s:
                self._fall_back(f"ONNX Runtime was not faster on the first batch ({onnx_s:.2f} s, Keras "
                                f"{keras_s:.2f} s)", details)
                return expected
            speed = f" and it was {keras_s / max(onnx_s, 1e-9):.1f} times as fast"
        self._call = network
        self._decide("onnx", f"ONNX Runtime runs the network: on the first batch its outputs equal Keras's within "
                             f"the tolerance{speed}.", **details)
        return expected

    def _fall_back(self, why: str, details: dict | None = None) -> None:
        """Keras from now on, saying why (`onnx` asked for by name: refused instead)."""
        if self.asked == "onnx":
            raise UserError(f"ONNX Runtime cannot run this prediction: {why}.",
                            fix="Predict with --engine keras (or auto, which falls back to Keras by itself).")
        self._call = self.keras
        self._decide("keras", f"Keras runs the network: {why}.", **(details or {}))
