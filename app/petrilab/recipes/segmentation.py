"""Semantic and instance segmentation: DATA/images/<image> + DATA/masks/<same name>.

Semantic: the mask's pixel value is the class index (0 background). Two
classes → one sigmoid output channel, P(foreground); more → one softmax
channel per class.

Instance: the mask is a label image (0 background, 1..N one value per object).
The network learns three softmax channels per pixel, in this order:

    0 background   pixels of no object
    1 interior     pixels of an object that are not on its edge
    2 boundary     the object's own edge pixels (skimage find_boundaries(labels, mode="inner")):
                   every object pixel next to background or to another object

so two touching nuclei are kept apart by their two rows of boundary pixels.
From probabilities (H, W, 3) back to objects (prediction/postprocess.instance_labels,
mode="boundary"):

    foreground = P(interior) + P(boundary) > 0.5
    seeds      = connected components of P(interior) > postprocess.threshold
    labels     = seeded watershed on 1 - P(interior), restricted to the foreground
                 (postprocess.split_touching = false: connected components of the foreground)
    then fill holes, min/max size, clear border as the [postprocess] settings say.

postprocess.threshold is tuned on the validation images after training
(postprocess.tune_threshold) and saved in the run's settings.toml.
"""

from __future__ import annotations

INSTANCE_MODE = "boundary"
INSTANCE_CHANNELS = ("background", "interior", "boundary")
