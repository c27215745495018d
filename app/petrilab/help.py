"""What every setting means, in the words of the workshop.

One entry per settings key: a short label for the control and one to three
plain sentences on what the setting does and when to change it. The GUI
shows them as tooltips and in the help panel; nothing here imports Qt, so
the command line or a report can use them too.
"""

from __future__ import annotations

HELP: dict[str, tuple[str, str]] = {
    "name": (
        "Experiment name",
        "A short name for this experiment. Each training run is saved in a folder that starts with the "
        "date and this name, so you can find it again.",
    ),
    # ---------------------------------------------------------------- task
    "task.kind": (
        "Task",
        "What the network should learn: sort whole images into classes, predict numbers, or label "
        "pixels. The task decides the last layer, the loss and the metrics, as in the workshop's table.",
    ),
    # ---------------------------------------------------------------- data
    "data.folder": (
        "Image folder",
        "The folder with your annotated images, one sub-folder per class (for example healthy/ and "
        "infected/). PetriLab only reads it; your files are never changed.",
    ),
    "data.test_folder": (
        "Test folder",
        "Optional: a separate folder of images, in the same layout, kept aside to measure the final "
        "model. Leave empty and PetriLab sets a part of your images aside as the test set instead.",
    ),
    "data.classes": (
        "Classes",
        "The class names, in order. Empty means the names of the sub-folders; change it only to leave "
        "out a class or fix the order.",
    ),
    "data.image_size": (
        "Image size (height × width)",
        "Every image is resized to this size before the network sees it. Small sizes train fast "
        "(the workshop used 50×50 or 85×85 for blood cells); keep them large enough that you can "
        "still tell the classes apart by eye.",
    ),
    "data.channels": (
        "Colour channels",
        "How many channels the network sees: 1 for grey, 3 for RGB. 'Automatic' decides once from "
        "your data, so that all images are treated the same way.",
    ),
    "data.normalisation": (
        "Normalisation",
        "How pixel values are brought to a common range before training: 'scale' divides by the "
        "largest possible value (0–1), 'mean/std' gives each image mean 0 and standard deviation 1, "
        "'percentile' stretches between two percentiles. Use percentile or mean/std when brightness "
        "varies a lot between images.",
    ),
    "data.percentile_low": (
        "Low percentile",
        "With percentile normalisation, this percentile of each image becomes 0. 1 % ignores a few "
        "very dark pixels.",
    ),
    "data.percentile_high": (
        "High percentile",
        "With percentile normalisation, this percentile of each image becomes 1. 99.8 % ignores a few "
        "saturated or hot pixels.",
    ),
    "data.target_kinds": (
        "What each value is",
        "For each value in targets.csv, what a flip or a turn does to it: unchanged (a count, an area, an "
        "intensity), a position across (x) or down (y) in pixels, which moves with the image, an angle, or "
        "something else (then nothing is flipped or turned). A value left out is decided by a short test.",
    ),
    "training.decided_automatically": (
        "Chosen by PetriLab",
        "In a run's settings: the settings that said 'automatic' and that PetriLab chose when the training "
        "started (the learning rate, whether flips and turns keep the answer).",
    ),
    "data.class_weights": (
        "Weigh rare classes up",
        "Counts mistakes on a rare class more during training, so the network cannot reach a good-looking "
        "accuracy by ignoring it. Turn on when one class has many more images than another.",
    ),
    "data.load": (
        "Loading",
        "'In memory' reads all images once (fastest); 'stream' reads them from disk batch by batch for "
        "datasets larger than memory. 'Automatic' chooses from the dataset's size.",
    ),
    "data.patch_size": (
        "Patch size",
        "Segmentation trains on square pieces (patches) cut at random from the images, so large images keep "
        "their detail. Larger patches show more context but need more memory; empty chooses from the data.",
    ),
    "data.target_columns": (
        "Values to predict",
        "The columns of targets.csv (regression) or labels.csv (multi-label) the network learns to predict, "
        "e.g. x and y of a bead. Empty uses every numeric column.",
    ),
    "data.target_mean": (
        "Mean of each value",
        "Worked out by the training from its own images: each value's average. The network learns values "
        "standardised (mean 0, spread 1) so that none dominates; its answers are turned back into your units.",
    ),
    "data.target_std": (
        "Spread of each value",
        "Worked out by the training from its own images: each value's standard deviation, used with the mean "
        "to standardise the values and to turn the network's answers back into your units.",
    ),
    # ---------------------------------------------------------------- split
    "split.validation_fraction": (
        "Validation fraction",
        "The part of the images kept aside to check the network after each epoch; it never learns from "
        "them. The validation loss is what tells overfitting apart. 10–30 % is typical; use more when "
        "the validation curve is noisy.",
    ),
    "split.test_fraction": (
        "Test fraction",
        "The part of the images kept aside until the very end, to measure the final model on images "
        "it has never seen. Ignored when you give a separate test folder.",
    ),
    "split.seed": (
        "Random seed",
        "The number that decides which images go to which subset. The same seed gives the same split, "
        "so two experiments can be compared fairly.",
    ),
    "split.stratify": (
        "Keep class proportions",
        "Gives each subset (training, validation, test) the same share of each class. Keep it on, "
        "especially with a rare class.",
    ),
    # ---------------------------------------------------------------- model
    "model.architecture": (
        "Architecture",
        "The kind of network: a dense network, a small ConvNet, VGG-like blocks, or transfer learning "
        "from a network pretrained on ImageNet. Start small; go bigger only if it underfits.",
    ),
    "model.activation": (
        "Activation",
        "The function applied after each layer inside the network. ReLU is the usual choice; the last "
        "layer's activation is set by the task.",
    ),
    "model.dense_layers": (
        "Neurons per dense layer",
        "The hidden layers of a dense network, as neuron counts (the workshop's 32 → 16). "
        "More neurons can learn more but overfit sooner; an empty list is a single neuron.",
    ),
    "model.filters": (
        "Filters per block",
        "How many filters each convolution block has, for example 16, 32, 64 (doubling after each "
        "pooling). More blocks see larger patterns; more filters learn more kinds of patterns.",
    ),
    "model.head_units": (
        "Dense head",
        "The dense layers after the convolutions, as neuron counts. One layer of 64 is usually "
        "enough; a large head adds many parameters.",
    ),
    "model.dropout": (
        "Dropout",
        "During training, switches off this fraction of the neurons at random, so the network cannot "
        "rely on a few of them. 0.2–0.5 fights overfitting; 0 turns it off.",
    ),
    "model.batch_norm": (
        "Batch normalisation",
        "Normalises the values between layers on each batch. It often makes training faster and more "
        "stable, especially for deeper networks.",
    ),
    "model.l1": (
        "L1 regularisation",
        "Penalises large weights (their absolute values), pushing many of them to zero. A small value "
        "like 0.0001 can reduce overfitting; 0 turns it off.",
    ),
    "model.l2": (
        "L2 regularisation",
        "Penalises large weights (their squares), keeping them small. A small value like 0.0001 can "
        "reduce overfitting; 0 turns it off.",
    ),
    "model.backbone": (
        "Pretrained network",
        "The network reused for transfer learning: MobileNetV2 is small and fast, VGG16 is the "
        "workshop's (larger, slower).",
    ),
    "model.weights": (
        "Starting weights",
        "'imagenet' starts from weights learnt on millions of photos (downloaded once, needs internet); "
        "'random' starts from scratch, which needs many more images.",
    ),
    "model.fine_tune_layers": (
        "Layers to fine-tune",
        "How many of the pretrained network's last layers are trained again on your images. 0 keeps "
        "it frozen and trains only the new classifier; raise it (with a small learning rate) once "
        "that works.",
    ),
    "model.start_from": (
        "Start from a trained model",
        "Continue from a model trained before (a run folder, a .keras file, or a bioimage.io model zip "
        "with Keras weights) instead of random weights: it already knows what cells look like, so fewer images "
        "and epochs are needed; empty trains from scratch. All its layers keep their weights and are "
        "trained further (a smaller learning rate keeps more of what it learnt), and its last layer is "
        "replaced by a new one when your classes differ. It needs images with the same channels and "
        "size as it was trained on, and its network replaces the architecture settings.",
    ),
    # ---------------------------------------------------------------- augmentation
    "augmentation.geometric": (
        "Flips and turns keep the answer",
        "Whether a flipped or turned image still has the same answer: a cell seen from any side is still "
        "round, but a 6 turned upside down is a 9, and an arrow flipped points the other way. 'Yes' uses "
        "the flips and turns below; 'no' none of them (nor free rotation or zoom); 'let PetriLab test it' "
        "trains a short probe first and looks whether flipped images keep their answer.",
    ),
    "augmentation.flip_horizontal": (
        "Flip left–right",
        "Shows the network mirrored copies of the training images. Augmentation makes the training set "
        "look larger and more varied, which fights overfitting; use it when a flipped cell is still "
        "the same class.",
    ),
    "augmentation.flip_vertical": (
        "Flip up–down",
        "Shows upside-down copies of the training images. Right for microscopy, where there is no "
        "'up'; wrong when orientation matters.",
    ),
    "augmentation.rotate_90": (
        "Rotate by 90°",
        "Turns training images by a quarter turn at random. Exact and cheap: no pixels are invented.",
    ),
    "augmentation.rotation": (
        "Free rotation (degrees)",
        "Turns training images by up to this angle. Adds more variety than quarter turns, but fills "
        "the corners; 0 turns it off.",
    ),
    "augmentation.brightness": (
        "Brightness change",
        "Makes training images brighter or darker by up to this fraction. Helps when the "
        "illumination varies between acquisitions.",
    ),
    "augmentation.contrast": (
        "Contrast change",
        "Raises or lowers the contrast of training images by up to this fraction. Helps when staining "
        "or exposure varies.",
    ),
    "augmentation.noise": (
        "Noise",
        "Adds random (Gaussian) noise to training images, as a fraction of the intensity range. "
        "A little (0.01–0.05) helps a network cope with noisy acquisitions.",
    ),
    "augmentation.zoom": (
        "Zoom",
        "Zooms training images in or out by up to this fraction. Helps when object size varies; "
        "avoid it when size tells the classes apart.",
    ),
    "augmentation.elastic": (
        "Elastic deformation",
        "Bends training images and their masks smoothly, as soft cells deform. Useful for segmentation "
        "with few images; 0 turns it off, 0.3 is a moderate strength.",
    ),
    # ---------------------------------------------------------------- training
    "training.epochs": (
        "Epochs",
        "One epoch is one pass over all training images. Too few and the curves are still falling at "
        "the end (not finished); too many and the validation loss rises again (overfitting). With "
        "'Stop early' on (the default) this is only the most epochs: training ends when the validation "
        "loss stops improving, and keeps the best epoch.",
    ),
    "training.batch_size": (
        "Batch size",
        "How many images the network sees before each update of its weights (a power of two: 16, 32, "
        "64). Larger batches are faster but use more memory and need a smaller learning rate. With several "
        "graphics cards this is the batch of each card: one update sees Batch size × cards images.",
    ),
    "training.learning_rate": (
        "Learning rate",
        "How big a step the weights take at each update. Too high and the loss jumps or stays flat; too "
        "low and it falls very slowly. 'Automatic' tries rising rates for a few dozen steps when training "
        "starts and takes the one where the loss fell fastest; the run records the number. "
        "Lower it for fine-tuning.",
    ),
    "training.optimizer": (
        "Optimizer",
        "The rule that updates the weights from the loss: SGD, SGD with momentum (0.9), Adam or "
        "RMSprop. Adam is a safe default; SGD with momentum sometimes generalises a bit better.",
    ),
    "training.loss": (
        "Loss",
        "What the network tries to make small during training. 'Automatic' uses the task's loss "
        "(binary cross-entropy for two classes, categorical cross-entropy for more, MSE for regression). "
        "Segmentation also offers Dice, cross-entropy + Dice, weighted cross-entropy and focal loss.",
    ),
    "training.early_stopping": (
        "Stop early",
        "Ends training when the validation loss has not improved for a number of epochs (the "
        "patience). It saves time and limits overfitting; the best epoch is kept either way.",
    ),
    "training.patience": (
        "Patience (epochs)",
        "With early stopping, how many epochs without a better validation loss to wait before "
        "stopping. Use a larger patience when the validation curve is noisy.",
    ),
    "training.device": (
        "Device",
        "Where training runs: a graphics card (GPU) is much faster when there is one; 'automatic' "
        "uses it if present and the processor (CPU) otherwise.",
    ),
    "training.devices": (
        "Several GPUs",
        "With more than one graphics card, 'all of them' shares each training between them: every card gets "
        "a batch of the Batch size, so one update sees Batch size × cards images and an epoch takes fewer, "
        "larger steps. "
        "'One' trains on the first card only, like a computer with one card (same results as there, and the "
        "other cards stay free). Only the TensorFlow engine can use several cards.",
    ),
    "training.mixed_precision": (
        "Mixed precision",
        "Computes with 16-bit numbers where it is safe, which is faster on recent graphics cards. "
        "'Automatic' turns it on only where it helps.",
    ),
    "training.backend": (
        "Engine",
        "The library that does the maths: TensorFlow or PyTorch. Both train the same network to the same "
        "kind of result. PyTorch is the one that uses a graphics card on Windows (and Apple's GPU on a "
        "Mac); 'automatic' uses TensorFlow unless your PetriLab was set up for PyTorch.",
    ),
    "training.seed": (
        "Training seed",
        "The number that fixes the random starting weights and the order of the batches, so a run can "
        "be repeated. Change it to see how much results vary by chance.",
    ),
    # ---------------------------------------------------------------- post-processing
    "postprocess.threshold": (
        "Threshold",
        "A pixel counts as foreground when the network's probability is above this value. Lower it to "
        "find faint objects, raise it to avoid false detections.",
    ),
    "postprocess.tune_threshold": (
        "Tune the threshold",
        "After training, try several thresholds on the validation images and keep the one with the best "
        "score, instead of the fixed value. For instance segmentation the smallest object size is tried "
        "too, when 'Smallest object' is 0.",
    ),
    "postprocess.fill_holes": (
        "Fill holes",
        "Fills holes inside detected objects, as in Fiji's 'Fill Holes'.",
    ),
    "postprocess.min_size": (
        "Smallest object (pixels)",
        "Objects smaller than this many pixels are removed as noise; 0 keeps them all.",
    ),
    "postprocess.max_size": (
        "Largest object (pixels)",
        "Objects larger than this many pixels are removed (e.g. clumps or debris); 0 keeps them all.",
    ),
    "postprocess.clear_border": (
        "Remove objects on the border",
        "Removes objects touching the image edge, whose size and shape cannot be measured fully.",
    ),
    "postprocess.label_thresholds": (
        "Threshold per label",
        "Multi-label: an image gets a label when the network's probability for it is above that label's "
        "threshold. Chosen on the validation images after training when 'Tune the threshold' is on; empty uses "
        "the single threshold for every label.",
    ),
    "postprocess.split_touching": (
        "Split touching objects",
        "Separates objects that touch with a watershed, so two nuclei side by side count as two.",
    ),
}


def label(key: str) -> str:
    """The short label for a settings key (the key itself if none is written)."""
    return HELP.get(key, (key, ""))[0]


def explanation(key: str) -> str:
    return HELP.get(key, ("", ""))[1]
