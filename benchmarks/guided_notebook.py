"""Way (a) of `guided_quality.py`: the hand-written Keras notebook of the workshop's kind, written once.

Plain Keras, not PetriLab and not tuned per dataset. What an attendee of the course would write:
images scaled to 0–1; a VGG-like network (two 3 × 3 convolutions then 2 × 2 max-pooling, 16/32/64
filters, a dense layer of 128 with 50 % dropout) for classes and values; a small U-Net (16/32/64,
bottleneck 128) for masks; Adam at 1e-3; the weights of the epoch with the lowest validation loss kept.
Flips and quarter turns are used where they keep the label (the dataset's `flip_invariant`, what the
person who annotated it knows), as a ZeroCostDL4Mic notebook would; for masks the same turn is applied
to the mask. Values to predict are standardised with the training set's mean and spread. Instances:
the U-Net's foreground probability above 0.5, then a distance-transform watershed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

EPOCHS = {"classification": 30, "regression": 30, "semantic": 100, "instance": 100}
BATCH = {"classification": 32, "regression": 32, "semantic": 8, "instance": 8}
LEARNING_RATE = 1e-3


# ---------------------------------------------------------------- reading the folders


def _read(path: Path) -> np.ndarray:
    if path.suffix == ".tif":
        import tifffile

        pixels = tifffile.imread(path)
    else:
        from PIL import Image

        pixels = np.asarray(Image.open(path))
    return pixels


def load(folder: Path, task: str, names: set[str] | None = None):
    """(images N×H×W×1 in 0–1, targets, file paths) of a PetriLab folder; only `names` (file paths) if given."""
    items = []
    if task == "classification":
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
        items = [(p, classes.index(p.parent.name)) for c in classes for p in sorted((folder / c).iterdir())]
    elif task == "regression":
        with open(folder / "targets.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        items = [(folder / "images" / r[0], [float(v) for v in r[1:]]) for r in rows[1:]]
    else:
        items = [(p, folder / "masks" / p.name) for p in sorted((folder / "images").iterdir())]
    if names is not None:
        items = [(p, t) for p, t in items if str(p.resolve()) in names]
    x = np.stack([_read(p) for p, _ in items]).astype(np.float32)[..., np.newaxis] / 255.0
    if task in ("semantic", "instance"):
        y = np.stack([_read(m) for _, m in items]).astype(np.int32)
    else:
        y = np.array([t for _, t in items], dtype=np.float32 if task == "regression" else np.int64)
    return x, y, [str(p.resolve()) for p, _ in items]


# ---------------------------------------------------------------- networks


def vgg_like(shape, outputs: int, activation: str | None):
    import keras
    from keras import layers

    inputs = keras.Input(shape)
    x = inputs
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, layers.Dense(outputs, activation=activation)(x))


def unet(shape, outputs: int, activation: str):
    import keras
    from keras import layers

    def twice(x, filters):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        return layers.Conv2D(filters, 3, padding="same", activation="relu")(x)

    inputs = keras.Input(shape)
    skips, x = [], inputs
    for filters in (16, 32, 64):
        x = twice(x, filters)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    x = twice(x, 128)
    for filters, skip in zip((64, 32, 16), reversed(skips)):
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same")(x)
        x = twice(layers.Concatenate()([x, skip]), filters)
    return keras.Model(inputs, layers.Conv2D(outputs, 1, activation=activation)(x))


# ---------------------------------------------------------------- training


def _turned(x, k: int, flip: bool):
    x = np.rot90(x, k, axes=(0, 1))
    return x[:, ::-1] if flip else x


class Batches:
    """Shuffled batches, each image (and mask) flipped and turned at random when `augment`."""

    def __init__(self, x, y, batch: int, augment: bool, rng, per_pixel: bool):
        self.x, self.y, self.batch, self.augment, self.rng, self.per_pixel = x, y, batch, augment, rng, per_pixel

    def make(self):
        import keras

        outer = self

        class Seq(keras.utils.PyDataset):
            def __len__(self):
                return int(np.ceil(len(outer.x) / outer.batch))

            def __getitem__(self, i):
                if i == 0:
                    outer.order = outer.rng.permutation(len(outer.x))
                chosen = outer.order[i * outer.batch:(i + 1) * outer.batch]
                xs, ys = outer.x[chosen].copy(), outer.y[chosen].copy()
                if outer.augment:
                    for j in range(len(chosen)):
                        k, flip = int(outer.rng.integers(4)), bool(outer.rng.integers(2))
                        xs[j] = _turned(xs[j], k, flip)
                        if outer.per_pixel:
                            ys[j] = _turned(ys[j], k, flip)
                return xs, ys

        return Seq()


def _keep_best():
    import keras

    class KeepBest(keras.callbacks.Callback):
        """The weights of the epoch with the lowest validation loss, put back at the end (a notebook's checkpoint)."""

        best, weights = np.inf, None

        def on_epoch_end(self, epoch, logs=None):
            if logs["val_loss"] < self.best:
                self.best, self.weights = logs["val_loss"], self.model.get_weights()

        def on_train_end(self, logs=None):
            if self.weights is not None:
                self.model.set_weights(self.weights)

    return KeepBest()


def train_and_predict(task: str, flip_invariant: bool, train, validation, test, seed: int, epochs: int | None = None):
    """Train on `train`, keep the best epoch on `validation`; return (test predictions, history dict).

    Predictions: class numbers, values in the targets' units, class masks (semantic) or label images (instance).
    """
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    (x, y), (xv, yv), (xt, _) = train, validation, test
    shape = x.shape[1:]
    if task == "classification":
        n = int(max(y.max(), yv.max())) + 1
        model, loss = vgg_like(shape, n, "softmax"), "sparse_categorical_crossentropy"
    elif task == "regression":
        mean, std = y.mean(axis=0), y.std(axis=0) + 1e-8
        y, yv = (y - mean) / std, (yv - mean) / std
        model, loss = vgg_like(shape, y.shape[1], None), "mse"
    elif task == "semantic":
        n = int(max(y.max(), yv.max())) + 1
        model, loss = unet(shape, n, "softmax"), "sparse_categorical_crossentropy"
    else:
        y, yv = (y > 0).astype(np.float32)[..., None], (yv > 0).astype(np.float32)[..., None]
        model, loss = unet(shape, 1, "sigmoid"), "binary_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss)
    per_pixel = task in ("semantic", "instance")
    batches = Batches(x, y, BATCH[task], flip_invariant, rng, per_pixel).make()
    history = model.fit(batches, validation_data=(xv, yv), epochs=epochs or EPOCHS[task], verbose=0,
                        callbacks=[_keep_best()])
    out = model.predict(xt, batch_size=BATCH[task], verbose=0)
    if task == "classification":
        predicted = out.argmax(axis=1)
    elif task == "regression":
        predicted = out * std + mean
    elif task == "semantic":
        predicted = out.argmax(axis=-1)
    else:
        predicted = np.stack([watershed_instances(p[..., 0]) for p in out])
    return predicted, {k: [float(v) for v in vs] for k, vs in history.history.items()}


def watershed_instances(probability: np.ndarray, threshold: float = 0.5, depth: float = 2.0) -> np.ndarray:
    """Foreground above the threshold, split at the distance transform's maxima deeper than `depth` pixels."""
    from scipy import ndimage as ndi
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    foreground = ndi.binary_fill_holes(probability > threshold)
    distance = ndi.distance_transform_edt(foreground)
    seeds, _ = ndi.label(h_maxima(distance, depth) & foreground)
    return watershed(-distance, seeds, mask=foreground).astype(np.int32)
