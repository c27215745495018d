"""The tasks PetriLab can learn, and what each implies.

The registry of tasks: the one place, with the task families' packages beside
it, that names a task kind. The rest of the engine asks it what a task does
(answers per pixel? has classes? values?) instead of naming kinds; what only
one family does lives in its package: tasks/classification/ (one class or any
labels per image), tasks/regression/ (values per image), tasks/segmentation/
(a class or an object per pixel), tasks/restoration/ (a better image: denoising, with
or without clean images), and tasks/tables/ (the images + table layout
that multi-label and regression share). The workshop's rule of thumb lives
here once too: the task decides the last layer's activation, the loss and the
metrics. The window's panels per family are in gui/tasks/<family>/ (`Task.panels` names the
package; gui/tasks/__init__.py is their registry).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from petrilab.errors import UserError

DEFAULT_TASK = "classification"  # a new settings file, `petrilab check` without --task

# The settings a task sets its own way (the general default otherwise): segmentation's is the workshop's
# "petit U-Net" (batch norm, a little dropout) on 128-pixel patches, cross-entropy + Dice so a rare
# foreground is not ignored, small batches for the processor's memory.
_SEGMENTATION_DEFAULTS = {"model.architecture": "unet", "model.batch_norm": True, "model.dropout": 0.1,
                          "training.loss": "crossentropy_dice", "training.batch_size": 8, "training.epochs": 40,
                          "augmentation.elastic": 0.2}
# Restoration: the CARE / Noise2Void U-Net (no batch norm, no dropout: an image's intensities are the answer),
# a linear last layer, MSE, each image stretched between its percentiles; no intensity augmentation (added noise or
# contrast would change the answer).
_RESTORATION_DEFAULTS = {"model.architecture": "unet", "model.filters": [32, 64], "model.batch_norm": False,
                         "model.dropout": 0.0, "training.loss": "mse", "training.batch_size": 16,
                         "training.epochs": 100, "data.normalisation": "percentile", "augmentation.brightness": 0.0,
                         "augmentation.contrast": 0.0, "augmentation.noise": 0.0, "augmentation.rotation": 0.0,
                         "augmentation.zoom": 0.0}


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    summary: str
    layout: str
    available: bool  # built in this version of the engine
    # how DATA is laid out: "folders" (a sub-folder per class), "table" (images + a CSV), "masks" (images + masks),
    # "images" (images alone, or images + targets of the same names)
    data: str
    # for one image: "class", "labels" (any number), "values", or per pixel "mask", "objects", "image" (restored)
    answer: str
    table: str = ""  # data == "table": the CSV next to DATA/images
    # flips and turns: "probe" (a short probe tells whether they keep the answer), "targets" (they move
    # positions: used only as each value's kind says), "kept" (they keep the answer; a mask moves along)
    geometry: str = "kept"
    chance: str = ""  # the blind guess whose loss the diagnosis knows: "classes" (their frequencies), "mean"
    tags: tuple[str, ...] = ()  # bioimage.io tags
    defaults: dict = field(default_factory=dict, hash=False)  # settings keys whose default differs
    recipe: str = ""  # "module:class" of what differs when training (tasks/<family>/); imported only when used
    keras_objects: str = ""  # the module of custom Keras losses and metrics its saved models need (Keras only)
    demo: str = ""  # the module whose example_data(out_dir, task) makes its example data (tasks/<family>/demo.py)
    panels: str = ""  # the window's package of its panels, gui/tasks/<panels>/ (its PANELS; gui/tasks/__init__.py)

    @property
    def example(self) -> str:
        return EXAMPLES[self.key]

    @property
    def per_pixel(self) -> bool:
        """The answer has the image's size: a mask, or a restored image (a fully convolutional network, patches,
        tiles)."""
        return self.answer in ("mask", "objects", "image")

    @property
    def has_masks(self) -> bool:
        """Learns from masks (DATA/masks): classes or objects per pixel, drawn or corrected by hand."""
        return self.data == "masks"

    @property
    def restores(self) -> bool:
        """Answers with a better image of the same size (denoised), learnt from the noisy images or from pairs."""
        return self.answer == "image"

    @property
    def stacks(self) -> bool:
        """Accepts z-stacks as well as 2-D images (a 3-D network, 3-D patches); docs/ARCHITECTURE.md, Z-stacks."""
        return self.has_masks

    @property
    def has_classes(self) -> bool:
        """Exclusive classes: one per image, or one per pixel."""
        return self.answer in ("class", "mask")

    @property
    def multi_label(self) -> bool:
        return self.answer == "labels"

    @property
    def has_targets(self) -> bool:
        """Numbers to predict (standardised for training, back in their units on output)."""
        return self.answer == "values"

    @property
    def has_objects(self) -> bool:
        """Separate objects, numbered 1..N in the masks, counted and measured."""
        return self.answer == "objects"

    @property
    def item(self) -> str:
        """What one output is called in tables: a class, a label or a value."""
        return {"labels": "label", "values": "value"}.get(self.answer, "class")


TASKS: dict[str, Task] = {
    t.key: t
    for t in [
        Task(
            "classification",
            "Image classification",
            "Sort each image into one class (e.g. healthy or infected cell).",
            "DATA/<class name>/<image> — one sub-folder per class",
            True, data="folders", answer="class", geometry="probe", chance="classes", tags=("classification",),
            recipe="petrilab.tasks.classification.recipe:ClassificationRecipe",
            demo="petrilab.tasks.classification.demo", panels="classification",
        ),
        Task(
            "multilabel",
            "Multi-label classification",
            "Give each image any number of labels (e.g. several protein localisations).",
            "DATA/images/<image> + DATA/labels.csv (filename, one 0/1 column per label)",
            True, data="table", answer="labels", table="labels.csv", tags=("classification", "multi-label"),
            recipe="petrilab.tasks.classification.multilabel:MultiLabelRecipe",
            demo="petrilab.tasks.classification.demo", panels="tables",
        ),
        Task(
            "regression",
            "Regression from images",
            "Predict numbers from each image (e.g. a bead's x, y position, a cell count).",
            "DATA/images/<image> + DATA/targets.csv (filename, one column per value)",
            True, data="table", answer="values", table="targets.csv", geometry="targets", chance="mean",
            tags=("regression",),
            # the workshop's MSE, named so the user sees it
            defaults={"training.loss": "mse"}, recipe="petrilab.tasks.regression.recipe:RegressionRecipe",
            keras_objects="petrilab.tasks.regression.keras_metrics", demo="petrilab.tasks.regression.demo",
            panels="tables",
        ),
        Task(
            "semantic",
            "Semantic segmentation",
            "Give every pixel a class (e.g. background, bacteria).",
            "DATA/images/<image> + DATA/masks/<same name> (pixel value = class index)",
            True, data="masks", answer="mask", tags=("semantic-segmentation", "segmentation"),
            defaults=_SEGMENTATION_DEFAULTS, recipe="petrilab.tasks.segmentation.recipe:SemanticRecipe",
            keras_objects="petrilab.tasks.segmentation.losses", demo="petrilab.tasks.segmentation.demo",
            panels="segmentation",
        ),
        Task(
            "instance",
            "Instance segmentation",
            "Find and separate each object (e.g. every nucleus), then measure it.",
            "DATA/images/<image> + DATA/masks/<same name> (0 background, 1..N objects)",
            True, data="masks", answer="objects", tags=("instance-segmentation", "segmentation"),
            defaults=_SEGMENTATION_DEFAULTS, recipe="petrilab.tasks.segmentation.recipe:InstanceRecipe",
            keras_objects="petrilab.tasks.segmentation.losses", demo="petrilab.tasks.segmentation.demo",
            panels="segmentation",
        ),
        Task(
            "restoration",
            "Image restoration (denoising)",
            "Remove the noise from images, with clean examples or without (CARE, Noise2Void).",
            "DATA/images/<image> (+ DATA/targets/<same name>: the clean image of each, if you have them)",
            True, data="images", answer="image", tags=("denoising", "restoration", "image-restoration"),
            defaults=_RESTORATION_DEFAULTS, recipe="petrilab.tasks.restoration.recipe:RestorationRecipe",
            keras_objects="petrilab.tasks.restoration.losses", demo="petrilab.tasks.restoration.demo",
            panels="restoration",
        ),
    ]
}

EXAMPLES = {
    "classification": "image → 'infected'",
    "multilabel": "image → 'nucleus' + 'mitochondria'",
    "regression": "image → x = 12.4, y = 30.1",
    "semantic": "image → mask of bacteria",
    "instance": "image → nucleus 1, 2, 3 … + measurements",
    "restoration": "noisy image → denoised image",
}


def task_info(key: str) -> Task:
    """The task named `key` (built or not); unknown: refused in plain words."""
    if key not in TASKS:
        names = ", ".join(TASKS)
        raise UserError(f"'{key}' is not a task PetriLab knows.", fix=f"Use one of: {names}.")
    return TASKS[key]


def get_task(key: str) -> Task:
    """The task named `key`, refused in plain words if unknown or not built yet."""
    task = task_info(key)
    if not task.available:
        raise UserError(
            f"{task.title} is not available in this version of PetriLab yet.",
            fix="Choose image classification for now; this task is coming in a later version.",
        )
    return task


def kinds(test) -> tuple[str, ...]:
    """The keys of the tasks for which test(task) is true, e.g. kinds(lambda t: t.per_pixel)."""
    return tuple(k for k, t in TASKS.items() if test(t))


# the groups of tasks asked about in many places, named once
PER_PIXEL_TASKS = kinds(lambda t: t.per_pixel)  # an answer per pixel (masks, restored images): U-Net, patches, tiles
MASK_TASKS = kinds(lambda t: t.has_masks)  # learnt from masks: segmentation
RESTORATION_TASKS = kinds(lambda t: t.restores)  # a restored image: denoising
PER_IMAGE_TASKS = kinds(lambda t: not t.per_pixel)  # one answer per image: classes, labels or values
TABLE_TASKS = kinds(lambda t: t.data == "table")
STACK_TASKS = kinds(lambda t: t.stacks)  # z-stacks accepted as well as 2-D images  # answers read from a table beside the images


def register_keras_objects() -> None:
    """Import every task's custom Keras losses and metrics (each registers itself as serialisable), so a saved
    model.keras or last.keras loads with them. Imports Keras: the engine only, never the window."""
    for module in dict.fromkeys(t.keras_objects for t in TASKS.values() if t.keras_objects):
        importlib.import_module(module)


def is_per_pixel(key: str) -> bool:
    """Whether the task named `key` answers per pixel; False for a name no task has (e.g. an empty one)."""
    return key in TASKS and TASKS[key].per_pixel


def is_table_task(key: str | None) -> bool:
    """Whether the task named `key` reads its answers from a table beside the images (multi-label, regression)."""
    return key in TABLE_TASKS


def accepts_stacks(key: str | None) -> bool:
    """Whether the task named `key` accepts z-stacks; False for a name no task has."""
    return key in STACK_TASKS


def has_objects(key: str | None) -> bool:
    """Whether the task named `key` finds separate objects; False for a name no task has (none chosen yet)."""
    return key in TASKS and TASKS[key].has_objects


@dataclass(frozen=True)
class OutputHead:
    """What the last layer and the loss must be for a task (the workshop's table)."""

    units: int
    activation: str
    loss: str
    metrics: tuple[str, ...]
    main_metric: str  # the one the GUI plots next to the loss
    # U-Nets for blind-spot training (Noise2Void): blurred down-sampling, and N2V2's without the finest shortcut
    blur_pool: bool = False
    finest_shortcut: bool = True


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
        # per pixel: background, object interior, object boundary (see tasks/segmentation/recipe.py)
        return OutputHead(3, "softmax", "crossentropy_dice", ("iou", "dice"), "iou")
    if task_key == "restoration":
        # a linear unit per channel: the restored intensity (the image stretched between its percentiles)
        return OutputHead(max(n_classes, 1), "linear", "mse", ("mae",), "mae")
    raise UserError(f"The task '{task_key}' has no output head in this version.")


def task_warnings(settings) -> list[str]:
    """Plain warnings about settings that fight the task (shown with the model, emitted when training)."""
    found = []
    if TASKS[settings.task.kind].geometry == "targets":  # flips move positions and angles
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
