"""Which Keras backend the engine runs on: TensorFlow (the default) or PyTorch.

Keras reads KERAS_BACKEND once, when it is first imported, so the engine's
commands call `activate()` with the experiment's `training.backend` before
anything imports Keras. This module itself imports neither, except that
activate() loads TensorFlow at once, to keep its start-up chatter quiet.

Why two backends: TensorFlow has no GPU on native Windows since 2.11, while
PyTorch has one there (and Metal on macOS), so a Windows installer ships GPU
training through the PyTorch backend. The model code is backend-neutral Keras.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from petrilab.errors import UserError

DEFAULT = "tensorflow"
NAMES = {"tensorflow": "TensorFlow", "torch": "PyTorch"}


def resolve(setting: str = "auto") -> str:
    """The backend to use: the setting when it names one; for 'auto', KERAS_BACKEND, else TensorFlow
    (else PyTorch in a PetriLab that ships only PyTorch, like a GPU build for Windows)."""
    if setting != "auto":
        return setting
    from_environment = os.environ.get("KERAS_BACKEND", "").strip().lower()
    if from_environment:
        return from_environment
    if not installed(DEFAULT) and installed("torch"):
        return "torch"
    return DEFAULT


def installed(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


def activate(setting: str = "auto", device: str = "auto", quiet: bool = True) -> str:
    """Make Keras load `setting`'s backend (before its first import) and return the backend's name.

    A backend that is not installed, or a Keras already loaded on another
    backend in this process, is a plain refusal rather than a silent switch.
    `quiet`: TensorFlow is loaded here, its start-up chatter filtered from
    standard error (False: --debug, everything shown).
    """
    backend = resolve(setting)
    if backend not in NAMES:
        raise UserError(f"PetriLab cannot train with the Keras backend '{backend}' (from KERAS_BACKEND).",
                        fix="Set KERAS_BACKEND to tensorflow or torch, or remove it.")
    if not installed(backend):
        raise UserError(
            f"This experiment asks for the {NAMES[backend]} engine (training.backend = \"{setting}\"), "
            f"but {NAMES[backend]} is not installed in this PetriLab.",
            fix="Set the Engine (training.backend) on the Model page to automatic, or install "
                + ("PyTorch: pip install torch" if backend == "torch" else "TensorFlow: pip install tensorflow")
                + ".")
    keras = sys.modules.get("keras")
    if keras is not None:
        loaded = keras.backend.backend()
        if loaded != backend:
            raise UserError(f"Keras is already running on {NAMES.get(loaded, loaded)} in this process, "
                            f"so it cannot switch to {NAMES[backend]}.",
                            fix="Start the command in a new process (each 'petrilab' command is one).")
        return backend
    os.environ["KERAS_BACKEND"] = backend
    if backend == "tensorflow":
        # hides TensorFlow's start-up chatter (CUDA probing, CPU instruction notes) that users cannot act on;
        # TF_CPP_MIN_LOG_LEVEL alone no longer reaches all of it (startup_chatter.py)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        if quiet:
            from petrilab.startup_chatter import quiet_import_tensorflow

            quiet_import_tensorflow()
    if backend == "torch" and device == "cpu":
        # Keras picks its torch device at import: asking for the CPU must happen now, not later
        os.environ["KERAS_TORCH_DEVICE"] = "cpu"
    return backend
