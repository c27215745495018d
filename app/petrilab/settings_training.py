"""The settings of the network, augmentation, training and post-processing, each declared once on its field.

See settings_schema.py: the label, help text, choices and range written here are the ones validation,
help and the window use.
"""

from __future__ import annotations

from dataclasses import dataclass

from petrilab.data.network_depth import DEFAULT_FILTERS
from petrilab.settings_schema import setting


@dataclass
class ModelSettings:
    architecture: str = setting(
        "convnet", "Architecture",
        "The kind of network: a dense network, a small ConvNet, VGG-like blocks, or transfer learning from a "
        "network pretrained on ImageNet. Start small; go bigger only if it underfits.",
        choices=("dense", "convnet", "vgg", "transfer", "unet", "unet3d"))  # the Model page's cards say each one
    activation: str = setting(
        "relu", "Activation",
        "The function applied after each layer inside the network. ReLU is the usual choice; the last layer's"
        " activation is set by the task.",
        choices=("relu", "sigmoid", "tanh", "gelu", "silu"),
        words={"relu": "ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "gelu": "GELU", "silu": "SiLU (swish)"})
    dense_layers: list[int] = setting(
        [32, 16], "Neurons per dense layer",
        "The hidden layers of a dense network, as neuron counts (the workshop's 32 → 16). More neurons can "
        "learn more but overfit sooner; an empty list is a single neuron.",
        control="numbers", minimum=1, maximum=8192, placeholder="none")  # dense: neurons per hidden layer
    filters: list[int] = setting(
        list(DEFAULT_FILTERS), "Filters per block",
        "How many filters each convolution block has, for example 16, 32, 64 (doubling after each pooling). "
        "More blocks see larger patterns; more filters learn more kinds of patterns.",
        control="numbers", minimum=1, maximum=8192, placeholder="e.g. 16, 32, 64")  # convnet / vgg / unet
    head_units: list[int] = setting(
        [64], "Dense head",
        "The dense layers after the convolutions, as neuron counts. One layer of 64 is usually enough; a "
        "large head adds many parameters.",
        control="numbers", minimum=1, maximum=8192, placeholder="e.g. 16, 32, 64")  # after the convolutions
    dropout: float = setting(
        0.0, "Dropout",
        "During training, switches off this fraction of the neurons at random, so the network cannot rely on "
        "a few of them. 0.2–0.5 fights overfitting; 0 turns it off.",
        minimum=0.0, maximum=0.9, step=0.05, decimals=2)
    batch_norm: bool = setting(
        False, "Batch normalisation",
        "Normalises the values between layers on each batch. It often makes training faster and more stable, "
        "especially for deeper networks.")
    l1: float = setting(
        0.0, "L1 regularisation",
        "Penalises large weights (their absolute values), pushing many of them to zero. A small value like "
        "0.0001 can reduce overfitting; 0 turns it off.",
        minimum=0.0, maximum=1.0, step=0.0001, decimals=5)
    l2: float = setting(
        0.0, "L2 regularisation",
        "Penalises large weights (their squares), keeping them small. A small value like 0.0001 can reduce "
        "overfitting; 0 turns it off.",
        minimum=0.0, maximum=1.0, step=0.0001, decimals=5)
    backbone: str = setting(
        "mobilenetv2", "Pretrained network",
        "The network reused for transfer learning: MobileNetV2 is small and fast, VGG16 is the workshop's "
        "(larger, slower).",
        choices=("mobilenetv2", "vgg16"),  # transfer
        words={"mobilenetv2": "MobileNetV2 (small, fast)", "vgg16": "VGG16 (large, slow)"})
    weights: str = setting(
        "imagenet", "Starting weights",
        "'imagenet' starts from weights learnt on millions of photos (downloaded once, needs internet); "
        "'random' starts from scratch, which needs many more images.",
        suggestions=("imagenet", "random"),  # transfer; or a path to a weights file
        words={"imagenet": "ImageNet (pretrained)", "random": "random (from scratch)"})
    fine_tune_layers: int = setting(
        0, "Layers to fine-tune",
        "How many of the pretrained network's last layers are trained again on your images. 0 keeps it frozen"
        " and trains only the new classifier; raise it (with a small learning rate) once that works.",
        minimum=0, maximum=10000)  # transfer: 0 keeps the pretrained base frozen
    start_from: str = setting(
        "", "Start from a trained model",
        "Continue from a model trained before (a run folder, a .keras file, or a bioimage.io model zip with "
        "Keras weights) instead of random weights: it already knows what cells look like, so fewer images and"
        " epochs are needed; empty trains from scratch. All its layers keep their weights and are trained "
        "further (a smaller learning rate keeps more of what it learnt), and its last layer is replaced by a "
        "new one when your classes differ. It needs images with the same channels and size as it was trained "
        "on, and its network replaces the architecture settings.",
        control="model")  # a .keras file or run folder; "" = from scratch


@dataclass
class AugmentationSettings:
    geometric: str = setting(
        "auto", "Flips and turns keep the answer",
        "Whether a flipped or turned image still has the same answer: a cell seen from any side is still "
        "round, but a 6 turned upside down is a 9, and an arrow flipped points the other way. 'Yes' uses the "
        "flips and turns below; 'no' none of them (nor free rotation or zoom); 'let PetriLab test it' trains "
        "a short probe first and looks whether flipped images keep their answer.",
        choices=("auto", "yes", "no"), words={"auto": "let PetriLab test it", "yes": "yes", "no": "no"},
        learnt=True)  # auto: a short probe decides (training/geometry_probe.py); no: no flips, turns, rotation, zoom
    flip_horizontal: bool = setting(
        True, "Flip left–right",
        "Shows the network mirrored copies of the training images. Augmentation makes the training set look "
        "larger and more varied, which fights overfitting; use it when a flipped cell is still the same "
        "class.")
    flip_vertical: bool = setting(
        True, "Flip up–down",
        "Shows upside-down copies of the training images. Right for microscopy, where there is no 'up'; wrong"
        " when orientation matters.")
    rotate_90: bool = setting(
        True, "Rotate by 90°",
        "Turns training images by a quarter turn at random. Exact and cheap: no pixels are invented.")
    rotation: float = setting(
        0.0, "Free rotation (degrees)",
        "Turns training images by up to this angle. Adds more variety than quarter turns, but fills the "
        "corners; 0 turns it off.",
        minimum=0.0, maximum=180.0, step=5.0, decimals=0)
    brightness: float = setting(
        0.0, "Brightness change",
        "Makes training images brighter or darker by up to this fraction. Helps when the illumination varies "
        "between acquisitions.",
        minimum=0.0, maximum=1.0, step=0.05, decimals=2)
    contrast: float = setting(
        0.0, "Contrast change",
        "Raises or lowers the contrast of training images by up to this fraction. Helps when staining or "
        "exposure varies.",
        minimum=0.0, maximum=1.0, step=0.05, decimals=2)
    noise: float = setting(
        0.0, "Noise",
        "Adds random (Gaussian) noise to training images, as a fraction of the intensity range. A little "
        "(0.01–0.05) helps a network cope with noisy acquisitions.",
        minimum=0.0, maximum=1.0, step=0.01, decimals=2)
    zoom: float = setting(
        0.0, "Zoom",
        "Zooms training images in or out by up to this fraction. Helps when object size varies; avoid it when"
        " size tells the classes apart.",
        minimum=0.0, maximum=0.9, step=0.05, decimals=2)
    elastic: float = setting(
        0.0, "Elastic deformation",
        "Bends training images and their masks smoothly, as soft cells deform. Useful for segmentation with "
        "few images; 0 turns it off, 0.3 is a moderate strength.",
        minimum=0.0, maximum=1.0)


@dataclass
class TrainingSettings:
    epochs: int = setting(
        200, "Epochs",
        "One epoch is one pass over all training images. Too few and the curves are still falling at the end "
        "(not finished); too many and the validation loss rises again (overfitting). With 'Stop early' on "
        "(the default) this is only the most epochs: training ends when the validation loss stops improving, "
        "and keeps the best epoch.",
        minimum=1, maximum=100000)
    batch_size: int = setting(
        32, "Batch size",
        "How many images the network sees before each update of its weights (a power of two: 16, 32, 64). "
        "Larger batches are faster but use more memory and need a smaller learning rate. With several "
        "graphics cards this is the batch of each card: one update sees Batch size × cards images.",
        minimum=1, maximum=65536, learnt=True)  # learnt: halved when a batch did not fit in memory
    learning_rate: float | str = setting(
        "auto", "Learning rate",
        "How big a step the weights take at each update. Too high and the loss jumps or stays flat; too low "
        "and it falls very slowly. 'Automatic' tries rising rates for a few dozen steps when training starts "
        "and takes the one where the loss fell fastest; the run records the number. Lower it for fine-tuning.",
        minimum=1e-08, maximum=10.0, auto=True, usual=0.001, step=0.0001, decimals=6,
        learnt=True)  # "auto": a short range test chooses it (training/lr_finder.py)
    optimizer: str = setting(
        "adam", "Optimizer",
        "The rule that updates the weights from the loss: SGD, SGD with momentum (0.9), Adam or RMSprop. Adam"
        " is a safe default; SGD with momentum sometimes generalises a bit better.",
        choices=("sgd", "momentum", "adam", "rmsprop"),
        words={"sgd": "SGD", "momentum": "SGD with momentum (0.9)", "adam": "Adam", "rmsprop": "RMSprop"})
    loss: str = setting(
        "auto", "Loss",
        "What the network tries to make small during training. 'Automatic' uses the task's loss (binary "
        "cross-entropy for two classes, categorical cross-entropy for more, MSE for regression). Segmentation"
        " also offers Dice, cross-entropy + Dice, weighted cross-entropy and focal loss.",
        choices=("auto", "binary_crossentropy", "categorical_crossentropy", "weighted_crossentropy", "dice",
                 "crossentropy_dice", "focal", "mse", "mae", "huber"),
        words={"auto": "automatic (from the task)", "binary_crossentropy": "binary cross-entropy",
               "categorical_crossentropy": "categorical cross-entropy",
               "weighted_crossentropy": "weighted cross-entropy",
               "dice": "Dice", "crossentropy_dice": "cross-entropy + Dice", "focal": "focal",
               "mse": "mean squared error (MSE)", "mae": "mean absolute error (MAE)", "huber": "Huber"})
    early_stopping: bool = setting(
        True, "Stop early",
        "Ends training when the validation loss has not improved for a number of epochs (the patience). It "
        "saves time and limits overfitting; the best epoch is kept either way.")
    patience: int = setting(
        10, "Patience (epochs)",
        "With early stopping, how many epochs without a better validation loss to wait before stopping. Use a"
        " larger patience when the validation curve is noisy.",
        minimum=1, maximum=100000)
    decided_automatically: list[str] = setting(
        [], "Chosen by PetriLab",
        "In a run's settings: the settings that said 'automatic' and that PetriLab chose when the training "
        "started (the learning rate, whether flips and turns keep the answer).",
        learnt=True)  # e.g. ["training.learning_rate", "augmentation.geometric"]: their "auto" is what the user asked
    device: str = setting(
        "auto", "Device",
        "Where training runs: a graphics card (GPU) is much faster when there is one; 'automatic' uses it if "
        "present and the processor (CPU) otherwise.",
        choices=("auto", "cpu", "gpu"),
        words={"auto": "automatic", "cpu": "processor (CPU)", "gpu": "graphics card (GPU)"})
    devices: str = setting(
        "auto", "Several GPUs",
        "With more than one graphics card, 'all of them' shares each training between them: every card gets a"
        " batch of the Batch size, so one update sees Batch size × cards images and an epoch takes fewer, "
        "larger steps. 'One' trains on the first card only, like a computer with one card (same results as "
        "there, and the other cards stay free). Only the TensorFlow engine can use several cards.",
        choices=("auto", "one"), words={"auto": "all of them", "one": "one"})
    mixed_precision: str = setting(
        "auto", "Mixed precision",
        "Computes with 16-bit numbers where it is safe, which is faster on recent graphics cards. 'Automatic'"
        " turns it on only where it helps.",
        choices=("auto", "on", "off"), words={"auto": "automatic", "on": "on", "off": "off"})
    seed: int = setting(
        42, "Training seed",
        "The number that fixes the random starting weights and the order of the batches, so a run can be "
        "repeated. Change it to see how much results vary by chance.",
        minimum=0, maximum=2147483647)
    backend: str = setting(
        "auto", "Engine",
        "The library that does the maths: TensorFlow or PyTorch. Both train the same network to the same kind"
        " of result. PyTorch is the one that uses a graphics card on Windows (and Apple's GPU on a Mac); "
        "'automatic' uses TensorFlow unless your PetriLab was set up for PyTorch.",
        choices=("auto", "tensorflow", "torch"),  # auto: KERAS_BACKEND, else tensorflow
        words={"auto": "automatic", "tensorflow": "TensorFlow", "torch": "PyTorch"})


@dataclass
class PostprocessSettings:
    """Turning probability maps into masks and objects (segmentation); learnt: tuned on the validation images."""

    threshold: float = setting(
        0.5, "Threshold",
        "A pixel counts as foreground when the network's probability is above this value. Lower it to find "
        "faint objects, raise it to avoid false detections.",
        minimum=0.0, maximum=1.0, learnt=True)
    tune_threshold: bool = setting(
        True, "Tune the threshold",
        "After training, try several thresholds on the validation images and keep the one with the best "
        "score, instead of the fixed value. For instance segmentation the smallest object size is tried too, "
        "when 'Smallest object' is 0.")
    fill_holes: bool = setting(
        True, "Fill holes",
        "Fills holes inside detected objects, as in Fiji's 'Fill Holes'.")
    min_size: int = setting(
        0, "Smallest object (pixels)",
        "Objects smaller than this many pixels are removed as noise; 0 keeps them all.",
        minimum=0, maximum=100000000, learnt=True)
    max_size: int = setting(
        0, "Largest object (pixels)",
        "Objects larger than this many pixels are removed (e.g. clumps or debris); 0 keeps them all.",
        minimum=0, maximum=100000000)
    clear_border: bool = setting(
        False, "Remove objects on the border",
        "Removes objects touching the image edge, whose size and shape cannot be measured fully.")
    split_touching: bool = setting(
        True, "Split touching objects",
        "Separates objects that touch with a watershed, so two nuclei side by side count as two.")
    label_thresholds: list[float] = setting(
        [], "Threshold per label",
        "Multi-label: an image gets a label when the network's probability for it is above that label's "
        "threshold. Chosen on the validation images after training when 'Tune the threshold' is on; empty "
        "uses the single threshold for every label.",
        minimum=0.0, maximum=1.0, learnt=True)  # multi-label: one per label
