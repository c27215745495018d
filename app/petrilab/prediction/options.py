"""What a command was asked for beyond the defaults, passed down to whatever writes the files.

Options travel as parameters from the command line to the writers, never
through environment variables: a test, a window and a script that call the
same function get the same files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PredictOptions:
    probabilities: bool = False  # predict --probabilities: segmentation also writes each image's probability maps
    excel: bool = False  # --excel: every table starts with a UTF-8 byte-order mark (runs.atomic_write_csv)
    slices: bool = False  # --slices: a 2-D segmentation run applied plane by plane to z-stacks, joined in 3-D
    engine: str = "auto"  # --engine: what runs the network, auto | keras | onnx (prediction/engine.py)


DEFAULT = PredictOptions()
