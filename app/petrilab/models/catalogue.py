"""The architectures a user can choose, in the words of the workshop.

Pure data, no Keras: the title, a short explanation, the tasks each
architecture can learn and the settings that matter for it (the GUI shows
only those). The builders live one per module next to this one.
"""

from __future__ import annotations

from dataclasses import dataclass

from petrilab.errors import UserError
from petrilab.tasks import PER_IMAGE_TASKS as _IMAGE_TO_VECTOR, PER_PIXEL_TASKS as _PER_PIXEL

# Every image-to-numbers model ends in the task's output head, so all four can
# classify, give several labels or predict values. Segmentation needs a
# network that answers per pixel (a U-Net), which none of these is.

_REGULARISATION = ("model.activation", "model.dropout", "model.batch_norm", "model.l1", "model.l2")


@dataclass(frozen=True)
class Architecture:
    key: str
    title: str
    description: str  # 2-4 plain sentences: what it is, when to use it, what it costs
    tasks: tuple[str, ...]
    uses: tuple[str, ...]  # the settings keys that change this architecture
    dimensions: tuple[str, ...] = ("2d",)  # the data it takes: "2d" images, "3d" z-stacks (data.dimensions)


ARCHITECTURES: dict[str, Architecture] = {
    a.key: a
    for a in [
        Architecture(
            "dense",
            "Dense network",
            "Every pixel is connected to every neuron, as in the workshop's first examples: with no hidden "
            "layers it is a single neuron, and hidden layers [32, 16] make the small dense network. "
            "It ignores which pixels are neighbours and its first layer grows with the image "
            "(a 200 × 200 image gives 40,000 weights per neuron), so use it only as a baseline or "
            "for very small images.",
            _IMAGE_TO_VECTOR,
            ("model.dense_layers",) + _REGULARISATION,
        ),
        Architecture(
            "convnet",
            "Small ConvNet",
            "Blocks of one 3 × 3 convolution and a 2 × 2 max-pooling, then a few dense layers, like the "
            "workshop's ConvNet on MNIST digits. Convolutions look at neighbourhoods of pixels and reuse "
            "the same weights all over the image, so the network stays small (about 10,000 to 200,000 "
            "parameters) and trains in minutes without a GPU. A good first choice.",
            _IMAGE_TO_VECTOR,
            ("model.filters", "model.head_units") + _REGULARISATION,
        ),
        Architecture(
            "vgg",
            "VGG-like network",
            "Blocks of two 3 × 3 convolutions then a 2 × 2 max-pooling, with more filters in each block "
            "(for example 32, 64, 128), like the workshop's red blood cell classifier. It can learn finer "
            "differences than the small ConvNet but has more parameters, so it needs more images "
            "(hundreds to thousands) and longer training. Dropout, batch normalisation and augmentation "
            "help it not to overfit.",
            _IMAGE_TO_VECTOR,
            ("model.filters", "model.head_units") + _REGULARISATION,
        ),
        Architecture(
            "transfer",
            "Transfer learning (pretrained base)",
            "Reuses a network already trained on a million everyday photographs (ImageNet): MobileNetV2 "
            "(small and fast) or VGG16 (large and slow), and trains only a new classifier on top while "
            "the base stays frozen. It often works with fewer images than training from scratch. "
            "Fine-tuning also retrains the last layers of the base (for VGG16, 4 layers is its last "
            "block); the ImageNet weights are downloaded once (9 MB for MobileNetV2, 58 MB for VGG16).",
            _IMAGE_TO_VECTOR,
            ("model.backbone", "model.weights", "model.fine_tune_layers", "model.head_units")
            + _REGULARISATION,
        ),
        Architecture(
            "unet",
            "U-Net",
            "The workshop's segmentation network: it shrinks the image step by step to see context, then "
            "grows it back to full size, joining the fine detail of each step, and answers for every pixel. "
            "Each entry of the filters is one step (the small default [16, 32, 64] trains in minutes without "
            "a GPU); more or wider steps learn harder images but need more images and time. "
            "It trains on patches cut from the images and predicts whole images of any size.",
            _PER_PIXEL,
            ("model.filters",) + _REGULARISATION,
        ),
        Architecture(
            "unet3d",
            "3-D U-Net (z-stacks)",
            "The U-Net for z-stacks: its convolutions also look at the planes above and below, so an object is "
            "found in 3-D, not plane by plane. When the planes are farther apart than the pixels it shrinks "
            "only across the planes first (y and x) until the voxels are about as deep as wide. The small "
            "default [8, 16] trains on a processor in minutes on small blocks cut from the stacks; it "
            "predicts whole stacks of any size.",
            _PER_PIXEL,
            ("model.filters",) + _REGULARISATION,
            dimensions=("3d",),
        ),
    ]
}


def architectures_for(task: str, dimensions: str = "2d") -> list[str]:
    """The architectures that can learn `task` on data of `dimensions` ("2d" images, "3d" z-stacks)."""
    return [a.key for a in ARCHITECTURES.values() if task in a.tasks and dimensions in a.dimensions]


def get_architecture(key: str) -> Architecture:
    """The architecture named `key`, or a plain refusal listing the ones that exist."""
    if key not in ARCHITECTURES:
        raise UserError(
            f"'{key}' is not an architecture PetriLab knows.",
            fix=f"Set 'model.architecture' to one of: {', '.join(ARCHITECTURES)}.",
        )
    return ARCHITECTURES[key]
