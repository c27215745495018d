"""build_model: the settings' architecture, for one input shape and one output head."""

from __future__ import annotations

import keras

from petrilab.errors import UserError
from petrilab.models.catalogue import ARCHITECTURES, get_architecture
from petrilab.models.convnet import build_convnet
from petrilab.models.dense import build_dense
from petrilab.models.transfer import build_transfer
from petrilab.models.unet import build_unet
from petrilab.models.vgg import build_vgg
from petrilab.settings import Settings
from petrilab.tasks import TASKS, OutputHead

# transfer is built apart: it alone has weights to load
BUILDERS = {
    "dense": build_dense,
    "convnet": build_convnet,
    "vgg": build_vgg,
    "unet": build_unet,
}


def build_model(settings: Settings, input_shape: tuple[int, int, int], head: OutputHead, *,
                load_weights: bool = True) -> keras.Model:
    """A new, untrained (or pretrained-base) model taking (height, width, channels) images scaled 0..1.

    load_weights=False builds a transfer model exactly as the settings ask (what
    is frozen included) but leaves the base's weights random: no download, no file read.
    """
    architecture = get_architecture(settings.model.architecture)
    input_shape = tuple(int(n) for n in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels), not {input_shape}")
    if not 1 <= input_shape[2] <= 4:
        raise UserError(
            f"The images have {input_shape[2]} channels; PetriLab models take 1 to 4.",
            fix="Set 'data.channels' to 1 (grey) or 3 (RGB), or keep up to 4 channels.",
        )
    if settings.task.kind not in architecture.tasks:
        raise UserError(f"A {architecture.title} cannot do {TASKS[settings.task.kind].title.lower()}.",
                        fix=f"Choose an architecture made for it: "
                            f"{', '.join(a.key for a in ARCHITECTURES.values() if settings.task.kind in a.tasks)}.")
    if architecture.key in ("convnet", "vgg", "unet", "unet3d") and not settings.model.filters:
        raise UserError(f"A {architecture.title} needs at least one block in 'model.filters'.",
                        fix="For example filters = [16, 32, 64].")
    if architecture.key == "unet3d":  # a z-stack network: only the channels of the input shape matter
        from petrilab.data.anisotropy import anisotropy_of
        from petrilab.models.unet3d import build_unet3d

        return build_unet3d(settings.model, input_shape[2], head, anisotropy_of(settings.data.voxel_size))
    if architecture.key == "transfer":
        return build_transfer(settings, input_shape, head, load_weights=load_weights)
    return BUILDERS[architecture.key](settings, input_shape, head)
