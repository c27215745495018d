"""What a diagnosis gives back: the verdict with its evidence and numbers (`Diagnosis`) and each piece of
advice (`Advice`), as plain values ready for JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Advice:
    text: str
    changes: dict[str, object] = field(default_factory=dict)  # settings key -> new absolute value
    page: str | None = None  # "model" | "data" | "split" | "train": where the GUI leads the user
    # True: "train N more epochs from where it stopped"; changes["training.epochs"]
    # is then the new total (as Keras' epochs with initial_epoch).
    resume: bool = False


@dataclass
class Diagnosis:
    verdict: str
    title: str
    summary: str
    evidence: list[str]
    numbers: dict
    advice: list[Advice]
    epochs_seen: int
    final: bool
    secondary: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        body = asdict(self)
        body["numbers"] = jsonable(body["numbers"])
        body["advice"] = [jsonable(a) for a in body["advice"]]
        return body


def jsonable(value):
    """Plain Python values; NaN and infinity become None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
