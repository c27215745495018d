"""The trained network as an ONNX file, run by ONNX Runtime on the CPU.

Converted once per model: `model.onnx` in the run folder, written atomically,
records the SHA-256 of the `model.keras` it was made from (ONNX metadata
`petrilab_model_sha256`); a later prediction reuses it while that still
matches, and converts again when the run's model changed (a resumed training).
Only the forward pass is converted: the model is loaded without its loss or
metrics, so custom losses never block it. A run folder that cannot be written
gets a conversion in a temporary folder, used for this prediction only.

Anything that stops the engine (ONNX Runtime or the converter not installed,
another Keras backend than TensorFlow, a conversion that fails, a file that
does not load) is an `EngineUnavailable` whose message says why in plain
words: the caller (prediction/engine.py) falls back to Keras and says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from petrilab import runs

ONNX_MODEL = runs.ONNX_MODEL
SOURCE_KEY = "petrilab_model_sha256"  # ONNX metadata: the model.keras this file was converted from
INSTALL = "install it with: pip install 'petrilab[fast]'"


class EngineUnavailable(Exception):
    """ONNX Runtime cannot run this model here; the message says why, in plain words."""


class EngineAbsent(EngineUnavailable):
    """Not installed, or not for this computer (another backend, a GPU): the usual case, not a problem."""


def runtime():
    """The onnxruntime module, or EngineUnavailable when it is not installed."""
    try:
        import onnxruntime
    except ImportError:
        raise EngineAbsent(f"ONNX Runtime is not installed ({INSTALL})") from None
    return onnxruntime


@contextlib.contextmanager
def environment_kept():
    """tf2onnx sets TF_CPP_MIN_LOG_LEVEL in os.environ when imported and when converting: put it back, so that
    nothing of this prediction reaches the processes the same Python starts later."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for key in set(os.environ) - set(before):
            del os.environ[key]
        os.environ.update({k: v for k, v in before.items() if os.environ.get(k) != v})


def _converter_modules():
    import keras

    if keras.backend.backend() != "tensorflow":
        raise EngineAbsent(f"the conversion to ONNX is done for the TensorFlow backend only, and this "
                                f"run uses {keras.backend.backend()}")
    try:
        with environment_kept():
            import onnx
            import tf2onnx  # noqa: F401 (Keras's export calls it)
    except ImportError as exc:
        raise EngineAbsent(f"the converter to ONNX ({exc.name}) is not installed ({INSTALL})") from None
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)  # its progress lines would fill the terminal
    return onnx


def convert(model, source_sha256: str) -> bytes:
    """The Keras model's forward pass as ONNX bytes, tagged with the model file's SHA-256."""
    onnx = _converter_modules()
    with tempfile.TemporaryDirectory(prefix="petrilab-onnx-") as folder:
        path = Path(folder) / ONNX_MODEL
        try:
            with warnings.catch_warnings(), environment_kept():  # Keras's patch of tf2onnx warns about np.object
                warnings.simplefilter("ignore", FutureWarning)
                # the input's own spec: a model loaded from a file was never called, so Keras cannot infer it
                model.export(str(path), format="onnx", verbose=False, input_signature=list(model.inputs))
            proto = onnx.load(str(path))
        except Exception as exc:  # anything the converter meets: Keras predicts instead, and says why
            raise EngineUnavailable(f"the conversion to ONNX failed ({exc.__class__.__name__}: "
                                    f"{str(exc).splitlines()[0][:200] if str(exc) else 'no message'})") from None
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = SOURCE_KEY, source_sha256
    return proto.SerializeToString()


class OnnxNetwork:
    """One ONNX Runtime session on the CPU: (N, h, w, c) float32 in, the network's single output out."""

    def __init__(self, path: Path, threads: int | None = None):
        ort = runtime()
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: warnings about unused initialisers mean nothing to a user
        if threads:  # benchmarks only; predict leaves ONNX Runtime its own choice (one thread a core)
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise EngineUnavailable(f"ONNX Runtime could not load {path.name} ({exc.__class__.__name__})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise EngineUnavailable(f"{path.name} has {len(inputs)} inputs and {len(outputs)} outputs, not one each")
        self.input = inputs[0].name
        self.path = path
        self.version = ort.__version__

    @property
    def source_sha256(self) -> str | None:
        return self.session.get_modelmeta().custom_metadata_map.get(SOURCE_KEY)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return self.session.run(None, {self.input: batch})[0]


def open_network(run_dir: Path, model, source_sha256: str) -> tuple[OnnxNetwork, str]:
    """(the run's network in ONNX Runtime, what was done: 'reused', 'converted' or 'converted, not kept').

    The run's `model.onnx` is reused when it came from this very model file; otherwise the model is converted
    and the file replaced atomically."""
    runtime()  # not installed: say so before converting anything
    target = Path(run_dir) / ONNX_MODEL
    if target.is_file():
        try:
            network = OnnxNetwork(target)
            if network.source_sha256 == source_sha256:
                return network, "reused"
        except EngineUnavailable:
            pass  # a damaged or foreign file: converted again below
    data = convert(model, source_sha256)
    try:
        runs.atomic_write_bytes(target, data)
    except OSError:  # a read-only run folder (someone else's run): this prediction only
        with tempfile.TemporaryDirectory(prefix="petrilab-onnx-") as folder:  # the session keeps it in memory
            temporary = Path(folder) / ONNX_MODEL
            temporary.write_bytes(data)
            return OnnxNetwork(temporary), "converted, not kept"
    return OnnxNetwork(target), "converted"
