"""The report of a dataset check: what was found (findings, each with what to do), the settings proposed,
and the counts behind them, in the workshop's words; saved as JSON in a run folder and read back.

The check itself (reading the headers, finding the problems) is data/check.py; each task's recipe adds
its own findings to the same report (masks, tables, stacks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass
class Finding:
    level: str  # error | warning | info
    message: str
    file: str | None = None
    fix: str | None = None


@dataclass
class DatasetReport:
    task: str
    n_images: int  # readable images (the ones training will use)
    classes: list[str]
    counts: dict[str, int]  # readable images per class
    sizes: dict[str, int]  # "HxW" -> number of images
    channels: dict[int, int]  # channels -> number of images
    dtypes: dict[str, int]  # "uint8", "uint16", "float32"... -> number of images
    findings: list[Finding] = field(default_factory=list)
    proposals: dict[str, object] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # excluded from training
    alpha: int = 0  # images whose 4th channel is transparency (RGBA PNG), counted in channels[4]
    skipped: list[str] = field(default_factory=list)  # files that are not images
    nonfinite: dict[str, int] = field(default_factory=dict)  # float images with NaN/inf pixels -> how many
    masks: dict = field(default_factory=dict)  # segmentation: pixel share per class, objects and their sizes
    dimensions: str = "2d"  # "3d": every image is a z-stack (sizes are "z × y × x"; docs/ARCHITECTURE.md, Z-stacks)
    voxel: list[float] | None = None  # z-stacks of one voxel size: (z, y, x) in µm

    @property
    def ok(self) -> bool:
        return not any(f.level == ERROR for f in self.findings)

    def to_dict(self) -> dict:
        body = asdict(self)
        body["channels"] = {str(k): v for k, v in self.channels.items()}  # JSON keys are text
        body["ok"] = self.ok
        return body

    @classmethod
    def from_dict(cls, body: dict) -> "DatasetReport":
        body = dict(body)
        body.pop("ok", None)
        body["channels"] = {int(k): v for k, v in body.get("channels", {}).items()}
        body["findings"] = [Finding(**f) for f in body.get("findings", [])]
        return cls(**body)

    def to_text(self) -> str:
        stacks = self.dimensions == "3d"
        # one group (restoration's "noisy images", one class folder) is listed below, not counted as "1 classes"
        groups = f" in {len(self.classes)} classes" if len(self.classes) > 1 else ""
        lines = [f"{self.n_images} readable {'z-stacks' if stacks else 'images'}{groups}."]
        width = max((len(c) for c in self.classes), default=0)
        for name in self.classes:
            lines.append(f"  {name:<{width}}  {self.counts.get(name, 0)}")
        lines.append(("Sizes (z × y × x): " if stacks else "Sizes (height x width): ") + _tally(self.sizes, limit=6))
        lines.append("Channels: " + _tally({_channel_words(c): n for c, n in sorted(self.channels.items())}))
        lines.append("Bit depth: " + _tally({_depth_words(d): n for d, n in self.dtypes.items()}))
        for level, heading in ((ERROR, "Problems"), (WARNING, "Warnings"), (INFO, "Notes")):
            chosen = [f for f in self.findings if f.level == level]
            if not chosen:
                continue
            lines.append(f"{heading}:")
            for f in chosen:
                lines.append(f"  - {f.message}")
                if f.file:
                    lines.append(f"    File: {f.file}")
                if f.fix:
                    lines.append(f"    What to do: {f.fix}")
        if self.proposals:
            lines.append("Suggested settings:")
            lines += [f"  {key} = {value!r}" for key, value in self.proposals.items()]
        lines.append("The data is ready to train." if self.ok else "Fix the problems above before training.")
        return "\n".join(lines)


def _tally(counter: dict, limit: int = 10) -> str:
    items = sorted(counter.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{k} ({v})" for k, v in items[:limit])
    if len(items) > limit:
        text += f", and {len(items) - limit} more"
    return text or "none"


def _channel_words(c: int) -> str:
    return {1: "grey", 3: "colour (RGB)"}.get(c, f"{c} channels")


def _depth_words(dtype: str) -> str:
    return {"uint8": "8-bit", "uint16": "16-bit", "float32": "32-bit float"}.get(dtype, dtype)


def _add(report: DatasetReport, level: str, message: str, file=None, fix: str | None = None) -> None:
    report.findings.append(Finding(level, message, str(file) if file is not None else None, fix))
