"""Choosing the Keras backend: the setting, the KERAS_BACKEND variable, and plain refusals."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from petrilab import backend
from petrilab.errors import UserError
from petrilab.settings import CHOICES, Settings, validate


def test_setting_and_choices():
    assert Settings().training.backend == "auto"
    assert CHOICES["training.backend"] == ("auto", "tensorflow", "torch")
    s = Settings()
    s.training.backend = "jax"
    with pytest.raises(UserError, match="training.backend"):
        validate(s)


def test_auto_follows_keras_backend_and_a_named_backend_wins_over_it(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert backend.resolve("auto") == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert backend.resolve("auto") == "torch"
    assert backend.resolve("tensorflow") == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", " TensorFlow ")
    assert backend.resolve("auto") == "tensorflow"
    assert backend.resolve("torch") == "torch"


def _loaded_backend(setting: str, env_backend: str | None, device: str = "auto") -> subprocess.CompletedProcess:
    """What Keras really loads in a fresh process after activate(setting)."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KERAS_TORCH_DEVICE")}
    if env_backend:
        env["KERAS_BACKEND"] = env_backend
    code = ("import os, sys\n"
            "from petrilab.backend import activate\n"
            f"name = activate({setting!r}, {device!r})\n"
            "import keras\n"
            "print(name, keras.backend.backend(), os.environ.get('KERAS_TORCH_DEVICE', '-'),"
            " 'tensorflow' in sys.modules)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(not backend.installed("torch"), reason="PyTorch is not installed (pip install -e .[torch])")
@pytest.mark.parametrize("setting, env_backend, device, expected", [
    ("auto", "torch", "cpu", "torch"),  # the environment decides 'auto'; the CPU choice reaches Keras in time
    ("tensorflow", "torch", "auto", "tensorflow"),  # a named backend wins over the environment
])
@pytest.mark.slow
def test_keras_loads_the_chosen_backend(setting, env_backend, device, expected):
    proc = _loaded_backend(setting, env_backend, device)
    assert proc.returncode == 0, proc.stderr[-2000:]
    chosen, loaded, torch_device, tensorflow_loaded = proc.stdout.split()
    assert chosen == loaded == expected
    if expected == "torch":
        assert torch_device == "cpu"
        assert tensorflow_loaded == "False"  # a PyTorch run does not pay TensorFlow's start-up


def test_refusals_are_plain(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(UserError, match="KERAS_BACKEND"):
        backend.activate("auto")
    monkeypatch.setattr(backend, "installed", lambda name: name != "torch")
    with pytest.raises(UserError, match="PyTorch is not installed") as caught:
        backend.activate("torch")
    assert "Engine" in caught.value.fix


def test_a_keras_already_loaded_on_another_backend_is_refused_not_switched(monkeypatch):
    import keras

    loaded = keras.backend.backend()
    other = "torch" if loaded == "tensorflow" else "tensorflow"
    monkeypatch.setattr(backend, "installed", lambda name: True)
    with pytest.raises(UserError, match="already running"):
        backend.activate(other)
    assert backend.activate(loaded) == loaded


def test_train_refuses_a_backend_that_is_not_installed(tiny_classification_dir, tmp_path):
    """The command ends with a plain message and exit code 2 (checked with a backend name no PC has)."""
    from helpers import petrilab_here

    settings = tmp_path / "s.toml"
    # init needs no backend: in this process; train chooses one at start-up: a fresh process
    init = petrilab_here("init", "--task", "classification", "--data", tiny_classification_dir, "-o", settings)
    assert init.returncode == 0, init.stderr
    env = dict(os.environ, KERAS_BACKEND="nonexistent")
    proc = subprocess.run([sys.executable, "-m", "petrilab", "train", str(settings), "--run-dir",
                           str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "nonexistent" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "events.jsonl").exists()
