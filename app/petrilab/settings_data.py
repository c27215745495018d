"""The settings of the task, the data and the split: each declared once, on its field (settings_schema.py).

Defaults, choices, ranges, the label and the help text (in the workshop's words) live here; settings.py
checks them, help.py looks them up and the window builds its controls from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from petrilab.settings_schema import setting
from petrilab.tasks import DEFAULT_TASK, TASKS

# regression: what each target column is, for flips and turns (tasks/regression/target_geometry.py)
TARGET_KINDS = ("invariant", "position_x", "position_y", "angle", "other")


@dataclass
class TaskSettings:
    kind: str = setting(
        DEFAULT_TASK, "Task",
        "What the network should learn: sort whole images into classes, predict numbers, or label pixels. The"
        " task decides the last layer, the loss and the metrics, as in the workshop's table.",
        choices=tuple(TASKS))


@dataclass
class DataSettings:
    folder: str = setting(
        "", "Image folder",
        "The folder with your annotated images, one sub-folder per class (for example healthy/ and "
        "infected/). PetriLab only reads it; your files are never changed.")
    test_folder: str = setting(
        "", "Test folder",
        "Optional: a separate folder of images, in the same layout, kept aside to measure the final model. "
        "Leave empty and PetriLab sets a part of your images aside as the test set instead.")
    classes: list[str] = setting(
        [], "Classes",
        "The class names, in order. Empty means the names of the sub-folders; change it only to leave out a "
        "class or fix the order.",
        learnt=True)  # empty: the sub-folder names (or the labels), filled in by the run
    image_size: list[int] = setting(
        [64, 64], "Image size (height × width)",
        "Every image is resized to this size before the network sees it. Small sizes train fast (the workshop"
        " used 50×50 or 85×85 for blood cells); keep them large enough that you can still tell the classes "
        "apart by eye.",
        minimum=8, maximum=4096, control="size")
    channels: int = setting(
        0, "Colour channels",
        "How many channels the network sees: 1 for grey, 3 for RGB. 'Automatic' decides once from your data, "
        "so that all images are treated the same way.",
        choices=(0, 1, 2, 3, 4), words={0: "automatic (from the data)", 1: "1 (grey)", 2: "2", 3: "3 (RGB)", 4: "4"},
        learnt=True)  # 0: decided from the data; 2 or 4 kept as they are
    normalisation: str = setting(
        "scale", "Normalisation",
        "How pixel values are brought to a common range before training: 'scale' divides by the largest "
        "possible value (0–1), 'mean/std' gives each image mean 0 and standard deviation 1, 'percentile' "
        "stretches between two percentiles. Use percentile or mean/std when brightness varies a lot between "
        "images.",
        choices=("scale", "mean_std", "percentile"),
        words={"scale": "scale to 0–1", "mean_std": "mean 0, std 1 (per image)", "percentile": "percentiles (per image)"})
    percentile_low: float = setting(
        1.0, "Low percentile",
        "With percentile normalisation, this percentile of each image becomes 0. 1 % ignores a few very dark "
        "pixels.",
        minimum=0.0, maximum=50.0, step=0.5, decimals=1)
    percentile_high: float = setting(
        99.8, "High percentile",
        "With percentile normalisation, this percentile of each image becomes 1. 99.8 % ignores a few "
        "saturated or hot pixels.",
        minimum=50.0, maximum=100.0, step=0.1, decimals=1)
    class_weights: bool = setting(
        False, "Weigh rare classes up",
        "Counts mistakes on a rare class more during training, so the network cannot reach a good-looking "
        "accuracy by ignoring it. Turn on when one class has many more images than another.")
    load: str = setting(
        "auto", "Loading",
        "'In memory' reads all images once (fastest); 'stream' reads them from disk batch by batch for "
        "datasets larger than memory. 'Automatic' chooses from the dataset's size.",
        choices=("auto", "memory", "stream"),  # stream: read from disk batch by batch
        words={"auto": "automatic", "memory": "in memory", "stream": "stream from disk"})
    patch_size: list[int] = setting(
        [], "Patch size",
        "Segmentation trains on square pieces (patches) cut at random from the images, so large images keep "
        "their detail. Larger patches show more context but need more memory; empty chooses from the data.",
        minimum=16, maximum=4096, learnt=True)  # [height, width]; empty: chosen from the data by the run
    dimensions: str = setting(
        "auto", "Image dimensions",
        "Whether the images are flat pictures (2-D) or z-stacks of planes (3-D, e.g. confocal stacks). "
        "'Automatic' decides from the files: 3-D when every image is a stack. A 3-D network sees the planes "
        "above and below each pixel.",
        choices=("auto", "2d", "3d"),
        words={"auto": "automatic (from the files)", "2d": "2-D images", "3d": "3-D z-stacks"},
        learnt=True)  # "auto": the data check decides from the files (data/stacks.folder_dimensions)
    voxel_size: list[float] = setting(
        [], "Voxel size (z, y, x) in µm",
        "Z-stacks: how far apart the planes are and how large a pixel is, in micrometres. Empty reads it from "
        "the files (Fiji writes it in Image > Properties); give it when the files do not say.",
        minimum=1e-6, maximum=1e6, learnt=True)  # (z, y, x) µm; empty: from the stacks, or unknown
    stack_patch_size: list[int] = setting(
        [], "Stack patch size (z, y, x)",
        "Z-stacks train on small blocks (planes × height × width) cut at random from the stacks. Larger "
        "blocks show more context but need more memory; empty chooses from the data.",
        minimum=1, maximum=4096, learnt=True)  # [z, y, x]; empty: chosen from the data by the run
    target_columns: list[str] = setting(
        [], "Values to predict",
        "The columns of targets.csv (regression) or labels.csv (multi-label) the network learns to predict, "
        "e.g. x and y of a bead. Empty uses every numeric column.",
        learnt=True)
    target_mean: list[float] = setting(
        [], "Mean of each value",
        "Worked out by the training from its own images: each value's average. The network learns values "
        "standardised (mean 0, spread 1) so that none dominates; its answers are turned back into your units.",
        learnt=True)  # regression: decided from the training images (targets are standardised)
    target_std: list[float] = setting(
        [], "Spread of each value",
        "Worked out by the training from its own images: each value's standard deviation, used with the mean "
        "to standardise the values and to turn the network's answers back into your units.",
        learnt=True)
    target_kinds: dict[str, str] = setting(
        {}, "What each value is",
        "For each value in targets.csv, what a flip or a turn does to it: unchanged (a count, an area, an "
        "intensity), a position across (x) or down (y) in pixels, which moves with the image, an angle, or "
        "something else (then nothing is flipped or turned). A value left out is decided by a short test.",
        choices=TARGET_KINDS, learnt=True,  # a column not listed ("") is decided by the probe
        words={"": "not sure: let PetriLab test it", "invariant": "unchanged (a count, an area, an intensity)",
               "position_x": "a position across (x, pixels)", "position_y": "a position down (y, pixels)",
               "angle": "an angle (degrees)", "other": "something else: no flips or turns"})


@dataclass
class SplitSettings:
    validation_fraction: float = setting(
        0.2, "Validation fraction",
        "The part of the images kept aside to check the network after each epoch; it never learns from them. "
        "The validation loss is what tells overfitting apart. 10–30 % is typical; use more when the "
        "validation curve is noisy.",
        minimum=0.01, maximum=0.5)
    test_fraction: float = setting(
        0.15, "Test fraction",
        "The part of the images kept aside until the very end, to measure the final model on images it has "
        "never seen. Ignored when you give a separate test folder.",
        minimum=0.0, maximum=0.5)
    seed: int = setting(
        42, "Random seed",
        "The number that decides which images go to which subset. The same seed gives the same split, so two "
        "experiments can be compared fairly.",
        minimum=0, maximum=2147483647)
    stratify: bool = setting(
        True, "Keep class proportions",
        "Gives each subset (training, validation, test) the same share of each class. Keep it on, especially "
        "with a rare class.")
