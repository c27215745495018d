"""The [restoration] settings: which way to learn, the blind spot, and how restored images are written.

Declared once on their fields (settings_schema.py), as every section; settings.py holds the section.
"""

from __future__ import annotations

from dataclasses import dataclass

from petrilab.settings_schema import setting
from petrilab.tasks.restoration.blind_spot import FILLS

WAYS = ("auto", "noise2void", "pairs")
OUTPUT_TYPES = ("input", "float32")
TTA_CHOICES = ("auto", "yes", "no")
NETWORKS = ("blur", "n2v2", "plain")


@dataclass
class RestorationSettings:
    way: str = setting(
        "auto", "How to learn",
        "Noise2Void learns from the noisy images alone: it hides a few pixels of each patch and learns to guess "
        "them from their neighbours, which works for noise that differs from pixel to pixel. With pairs "
        "(CARE), DATA/targets holds a clean image of the same name for each noisy one, and the network learns "
        "the clean image. 'Automatic' uses pairs when a 'targets' folder is there.",
        choices=WAYS, learnt=True,
        words={"auto": "automatic (pairs when DATA/targets exists)",
                             "noise2void": "Noise2Void (noisy images alone)", "pairs": "pairs (CARE)"})
    masked_percent: float = setting(
        2.0, "Hidden pixels (%)",
        "Noise2Void: the share of each patch's pixels hidden at each step, spread evenly over the patch. "
        "0.2 to 2 % works; more gives more to learn from per step, but a hidden pixel's neighbours may then "
        "be hidden too. With the neighbourhood's median as their new value, 2 % restored best in PetriLab's tests.",
        minimum=0.05, maximum=5.0, step=0.1, decimals=2)
    neighbourhood: int = setting(
        5, "Neighbourhood (pixels)",
        "Noise2Void: a hidden pixel takes its new value from a square of this side around it (the median of "
        "the square, or a random other pixel of it). Keep it small (5) so the new value looks like the pixel's "
        "surroundings.",
        minimum=3, maximum=15)
    blind_spot_network: str = setting(
        "blur", "Noise2Void's U-Net",
        "Noise2Void: how the U-Net shrinks the image. 'Blurred' blurs before keeping every second pixel, "
        "instead of keeping the brightest of each 2 × 2 square, so pixel-sized patterns of the noise do not turn "
        "into checkerboard-like patterns in restored images. 'N2V2' also takes away the shortcut at the finest "
        "level (N2V2's network): smoother, best at strong noise in PetriLab's tests, but it may blur fine detail. "
        "'Plain' is the U-Net pairs (CARE) always use.",
        choices=NETWORKS, words={"blur": "blurred down-sampling", "n2v2": "N2V2 (blurred, no finest shortcut)",
                                 "plain": "plain (as for pairs)"})
    test_time_augmentation: str = setting(
        "auto", "Average flipped and turned predictions",
        "Restores each image several times, flipped and turned, and averages the results (each turned back "
        "first): the network's own small errors differ between orientations and partly cancel, so the result "
        "is cleaner, at the cost of one prediction per orientation. 'Automatic' uses the flips and turns the "
        "network saw in training (augmentation), none when flips and turns were off.",
        choices=TTA_CHOICES, words={"auto": "automatic (the training's flips and turns)",
                                    "yes": "yes (all 8 flips and turns)", "no": "no (the image as it is)"})
    blind_spot_fill: str = setting(
        "median", "Hidden pixels' new value",
        "Noise2Void: what a hidden pixel shows the network instead of its own value: the value of a random "
        "other pixel of its neighbourhood (the original Noise2Void), or the median of its neighbourhood "
        "without the pixel itself (N2V2), which gives away less about the pixel and leaves fewer "
        "checkerboard-like patterns in restored images.",
        choices=FILLS,
        words={"neighbour": "a random neighbour (Noise2Void)", "median": "the neighbourhood's median (N2V2)"})
    output_type: str = setting(
        "input", "Restored image type",
        "The pixel type of the restored TIFFs: the input's own (8 or 16 bits, clipped to its range) so Fiji "
        "opens them like the originals, or 32-bit floating point, which keeps every value.",
        choices=OUTPUT_TYPES, words={"input": "as the input (8/16 bit)", "float32": "32-bit float"})
    save_difference: bool = setting(
        False, "Save the difference image",
        "Also write, for each image, restored − input as a 32-bit TIFF: what the network removed or added. "
        "Structures in it mean the network changed more than noise.")
