"""The tasks PetriLab can learn, and what each implies.

The workshop's rule of thumb lives here once: the task decides the last
layer's activation, the loss and the metrics. Everything else (models,
trainer, GUI) asks this module instead of deciding again.
"""

from __future__ import annotations

from dataclasses import dataclass

from petrilab.errors import UserError


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    summary: str
    layout: str
    available: bool  # built in this version of the engine

    @property
    def example(self) -> str:
        return EXAMPLES[self.key]


TASKS: dict[str, Task] = {
    t.key: t
    for t in [
        Task(
            "classification",
            "Image classification",
            "Sort each image into one class (e.g. healthy or infected cell).",
            "DATA/<class name>/<image> — one sub-folder per class",
            True,
        ),
        Task(
            "multilabel",
            "Multi-label classification",
            "Give each image any number of labels (e.g. several protein localisations).",
            "DATA/images/<image> + DATA/labels.csv (filename, one 0/1 column per label)",
            True,
        ),
        Task(
            "regression",
            "Regression from images",
            "Predict numbers from each image (e.g. a bead's x, y position, a cell count).",
            "DATA/images/<image> + DATA/targets.csv (filename, one column per value)",
            True,
        ),
        Task(
            "semantic",
            "Semantic segmentation",
            "Give every pixel a class (e.g. background, bacteria).",
            "DATA/images/<image> + DATA/masks/<same name> (pixel value = class index)",
            True,
        ),
        Task(
            "instance",
            "Instance segmentation",
            "Find and separate each object (e.g. every nucleus), then measure it.",
            "DATA/images/<image> + DATA/masks/<same name> (0 background, 1..N objects)",
            True,
        ),
    ]
}

EXAMPLES = {
    "classification": "image → 'infected'",
    "multilabel": "image → 'nucleus' + 'mitochondria'",
    "regression": "image → x = 12.4, y = 30.1",
    "semantic": "image → mask of bacteria",
    "instance": "image → nucleus 1, 2, 3 … + measurements",
}


def get_task(key: str) -> Task:
    """The task named `key`, refused in plain words if unknown or not built yet."""
    if key not in TASKS:
        names = ", ".join(TASKS)
        raise UserError(f"'{key}' is not a task PetriLab knows.", fix=f"Use one of: {names}.")
    task = TASKS[key]
    if not task.available:
        raise UserError(
            f"{task.title} is not available in this version of PetriLab yet.",
            fix="Choose image classification for now; this task is coming in a later version.",
        )
    return task


@dataclass(frozen=True)
class OutputHead:
    """What the last layer and the loss must be for a task (the workshop's table)."""

    units: int
    activation: str
    loss: str
    metrics: tuple[str, ...]
    main_metric: str  # the one the GUI plots next to the loss


def output_head(task_key: str, n_classes: int) -> OutputHead:
    """The head for `n_classes` outputs: classes, labels (multi-label) or values (regression)."""
    if task_key == "classification":
        if n_classes == 2:
            return OutputHead(1, "sigmoid", "binary_crossentropy", ("accuracy",), "accuracy")
        return OutputHead(n_classes, "softmax", "categorical_crossentropy", ("accuracy",), "accuracy")
    if task_key == "multilabel":
        # one independent yes/no per label; AUC judges them without a threshold and is not fooled by rare labels
        return OutputHead(max(n_classes, 1), "sigmoid", "binary_crossentropy", ("auc", "binary_accuracy"), "auc")
    if task_key == "regression":
        # a linear neuron per value: any number can come out (the targets are standardised for training)
        return OutputHead(max(n_classes, 1), "linear", "mse", ("mae",), "mae")
    if task_key == "semantic":
        # per pixel: one sigmoid channel P(foreground) for two classes, else a softmax over the classes
        units, activation = (1, "sigmoid") if n_classes <= 2 else (n_classes, "softmax")
        return OutputHead(units, activation, "crossentropy_dice", ("iou", "dice"), "iou")
    if task_key == "instance":
        # per pixel: background, object interior, object boundary (see recipes/segmentation.py)
        return OutputHead(3, "softmax", "crossentropy_dice", ("iou", "dice"), "iou")
    raise UserError(f"The task '{task_key}' has no output head in this version.")


def task_warnings(settings) -> list[str]:
    """Plain warnings about settings that fight the task (shown with the model, emitted when training)."""
    found = []
    if settings.task.kind == "regression":
        a = settings.augmentation
        moving = [c for c, k in settings.data.target_kinds.items() if k in ("position_x", "position_y", "angle")]
        free = [name for name, on in (("rotations", a.rotation > 0), ("zoom", a.zoom > 0)) if on]
        if a.geometric != "no" and moving and free:
            found.append(f"{' and '.join(free).capitalize()} are not used: they would move '{moving[0]}' in a way "
                         "PetriLab does not follow. Flips and quarter turns are used, and move the positions "
                         "and angles with the image.")
        if a.geometric == "yes" and "other" in settings.data.target_kinds.values():
            found.append("A value is marked 'other' in data.target_kinds: nobody knows what a flip does to it, "
                         "so no flips or turns are used. Say what each value is to use them.")
    return found
