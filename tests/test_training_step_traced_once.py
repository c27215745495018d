"""The training step is traced by TensorFlow once per compile, not twice: compile_model makes the optimiser's,
the loss's and the metrics' variables before fit, so the first step does not create them inside the graph (which
makes TensorFlow trace it again). A second trace of a U-Net's step costs seconds before every training's first
epoch."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from petrilab import settings as settings_io  # noqa: E402
from petrilab.models import build_model, compile_model  # noqa: E402
from petrilab.recipes import get_recipe  # noqa: E402

pytestmark = [pytest.mark.slow,  # builds and trains Keras models
              pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tracing is TensorFlow's")]


@pytest.mark.parametrize("task", ["classification", "multilabel", "regression", "semantic", "instance"])
def test_one_fit_traces_the_training_step_once(task):
    settings = settings_io.defaults_for(task)
    settings.model.filters = [4, 8]
    if settings.model.architecture == "convnet":
        settings.model.head_units = [8]
    settings.data.classes = ["a", "b", "c"] if task != "semantic" else ["background", "nucleus"]
    head = get_recipe(task).head(settings)  # the loss and metrics training uses (segmentation: its own)
    model = build_model(settings, (16, 16, 1), head)
    compile_model(model, settings, head)
    assert model.optimizer.built and model.optimizer.variables

    traces = []
    step = model.train_step  # runs in Python only while TensorFlow traces the step into its graph

    def counted(data):
        traces.append(1)
        return step(data)

    model.train_step = counted
    rng = np.random.default_rng(0)
    x = rng.random((10, 16, 16, 1), dtype=np.float32)
    y = (rng.random([10] + [16 if n is None else n for n in model.outputs[0].shape[1:]]) > 0.5).astype(np.float32)
    if task == "classification":
        y = keras.utils.to_categorical(np.arange(10) % 3, 3)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)  # two epochs and a smaller last batch: still one trace
    assert len(traces) == 1
