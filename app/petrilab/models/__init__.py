"""The architecture catalogue: building, compiling and describing models (Keras 3 only).

    ARCHITECTURES   what the user can choose, in the workshop's words
    build_model     the model for settings, an input shape and a task's output head
    compile_model   optimiser, loss and metrics from the settings
    describe_model  parameter counts and the layer table, without weights or training

The models use only Keras' own layers and ops (no Lambda, no custom layer), so
a saved model.keras loads with plain keras.saving.load_model once this package
is imported (it registers the tasks' custom losses and metrics).
"""

from petrilab.models.build import build_model
from petrilab.models.catalogue import ARCHITECTURES, Architecture, get_architecture
from petrilab.models.compile import compile_model
from petrilab.models.describe import describe_model
from petrilab.models.transfer import WeightsUnavailable
from petrilab.tasks import register_keras_objects

register_keras_objects()  # each task's custom losses and metrics (tasks/<family>/), for load_model

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "WeightsUnavailable",
    "build_model",
    "compile_model",
    "describe_model",
    "get_architecture",
]
