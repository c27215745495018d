"""Device choice: this machine has no GPU, so every request must fall back to the CPU cleanly."""

import keras
import pytest

from petrilab.training.device import configure, list_gpus

pytestmark = pytest.mark.slow  # loads TensorFlow


def test_auto_uses_cpu_without_gpu():
    device = configure("auto", "auto")
    assert device.kind == "cpu" and device.name.startswith("CPU")
    assert not device.mixed_precision
    assert keras.mixed_precision.global_policy().name == "float32"
    assert device.warnings == []


def test_gpu_request_falls_back_with_a_plain_warning():
    assert list_gpus(keras.backend.backend()) == []
    device = configure("gpu", "on")
    assert device.kind == "cpu"
    assert any("No usable GPU" in w for w in device.warnings)
    assert any("Mixed precision" in w for w in device.warnings)
    assert keras.mixed_precision.global_policy().name == "float32"
