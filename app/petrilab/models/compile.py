"""compile_model: the optimiser, loss and metrics the settings and the task ask for."""

from __future__ import annotations

import keras

from petrilab.errors import UserError
from petrilab.settings import Settings
from petrilab.tasks import OutputHead


AUTO_PLACEHOLDER_RATE = 1e-3


def make_optimizer(settings: Settings) -> keras.optimizers.Optimizer:
    """The four optimisers of the workshop, at training.learning_rate."""
    name = settings.training.optimizer
    rate = settings.training.learning_rate
    if isinstance(rate, str):  # "auto": a placeholder until the range test (training/lr_finder.py) sets the rate
        rate = AUTO_PLACEHOLDER_RATE
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate=rate, momentum=0.9)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=rate, beta_1=0.9, beta_2=0.999)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=rate)
    raise UserError(f"'{name}' is not an optimiser PetriLab knows.",
                    fix="Set 'training.optimizer' to sgd, momentum, adam or rmsprop.")


def choose_loss(settings: Settings, head: OutputHead):
    if not isinstance(head.loss, str):
        return head.loss  # a loss object the task's recipe already chose from training.loss (segmentation)
    loss = head.loss if settings.training.loss == "auto" else settings.training.loss
    if loss == "categorical_crossentropy" and head.units == 1:
        # Softmax-style cross-entropy over a single output neuron is always 0: nothing would be learnt.
        raise UserError(
            "Categorical cross-entropy needs one output neuron per class, but with two classes the model "
            "has a single sigmoid neuron.",
            fix="Set 'training.loss' to \"auto\" (or binary_crossentropy) for two classes.",
        )
    return loss


def compile_model(model: keras.Model, settings: Settings, head: OutputHead) -> None:
    """Ready `model` for training. Under mixed precision Keras scales the loss itself."""
    # XLA would compile a U-Net again for every new image size, slowly on a processor, for no faster steps there
    jit_compile = False if settings.model.architecture in ("unet", "unet3d") else "auto"
    model.compile(optimizer=make_optimizer(settings), loss=choose_loss(settings, head),
                  metrics=list(head.metrics), jit_compile=jit_compile)
    build_training_state(model)


def build_training_state(model: keras.Model) -> None:
    """Make the optimiser's, the loss's and the metrics' variables now rather than inside the first training
    step: TensorFlow traces a step that creates variables twice (once to create them, once to run), which costs
    seconds for a U-Net before every fit's first epoch. Keras builds them ahead itself only under a
    distribution strategy; its own builder is given the shapes of the model's input and output."""
    if keras.backend.backend() == "tensorflow" and hasattr(model, "_symbolic_build"):
        x, y = model.inputs[0], model.outputs[0]
        try:
            model._symbolic_build(data_batch=(keras.KerasTensor(x.shape, x.dtype),
                                              keras.KerasTensor(y.shape, "float32")))
        except Exception:  # a Keras that builds otherwise: the first step is traced twice, nothing else changes
            pass
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
