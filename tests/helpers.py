"""Helpers the training tests share (imported as `helpers`: pytest puts tests/ on the path)."""

from __future__ import annotations

from pathlib import Path

from petrilab import runs
from petrilab import settings as settings_io
from petrilab.events import read_all


def small_settings(data_dir, **changes):
    """Classification settings for a tiny, quick training on `data_dir`: 32 × 32 images, a two-block ConvNet,
    batches of 8, 3 epochs. `changes` are settings keys with '__' for the dot (training__epochs=5)."""
    s = settings_io.defaults_for("classification")
    s.name = "small"
    s.data.folder = str(data_dir)
    s.data.image_size = [32, 32]
    s.model.filters = [8, 16]
    s.model.head_units = [16]
    s.training.batch_size = 8
    s.training.epochs = 3
    for key, value in changes.items():
        settings_io.apply_override(s, key.replace("__", "."), value)
    return s


def events_of(run_dir: Path, kind: str) -> list[dict]:
    """The run's events of one kind, in order."""
    return [e for e in read_all(Path(run_dir) / runs.EVENTS) if e.get("event") == kind]


def train_tiny_segmentation(data, task: str, tmp_path: Path, *settings: str) -> Path:
    """`petrilab init` then `petrilab train` of a tiny U-Net (64-pixel patches, batches of 4, a quarter of the
    images each for validation and test); `settings` are more 'key=value' for --set. Returns the run folder."""
    from petrilab.cli import main

    path = tmp_path / f"{task}.toml"
    assert main(["init", "--task", task, "--data", str(data), "-o", str(path)]) == 0
    run = tmp_path / "run"
    tiny = ["model.filters=[8, 16]", "model.batch_norm=false", "training.learning_rate=0.003",
            "training.batch_size=4", "data.patch_size=[64, 64]", "split.validation_fraction=0.25",
            "split.test_fraction=0.25", *settings]
    overrides = [word for key_value in tiny for word in ("--set", key_value)]
    assert main(["train", str(path), "--quiet", "--run-dir", str(run), *overrides]) == 0
    return run
