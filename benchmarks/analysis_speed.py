"""Speed of the pieces that run often and must stay cheap (moved here from the tests:
speed is measured, never asserted).

    .venv/bin/python benchmarks/analysis_speed.py

- live fit diagnosis after an epoch of a 1,000-epoch history (runs after every epoch);
- the model description the window asks for on every settings change;
- one-to-one object matching on a 1024×1024 image with 7,225 objects;
- augmentation of one training batch (32 × 64×64×3, every option on).
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(function, repeats: int = 5) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.process_time()  # CPU time: other processes on a busy machine do not count
        function()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    import numpy as np

    from petrilab.data.augment import Augmenter
    from petrilab.settings import AugmentationSettings, Settings
    from petrilab.tasks import output_head
    from petrilab.tasks.segmentation.metrics import match_objects
    from petrilab.training.diagnosis import diagnose

    rng = np.random.default_rng(0)
    epochs = np.arange(1000)
    loss = 0.2 + 0.5 * np.exp(-epochs / 80) + rng.normal(0, 0.01, 1000)
    val = 0.24 + 0.5 * np.exp(-epochs / 80) + rng.normal(0, 0.03, 1000)
    history = [{"epoch": int(e), "loss": float(a), "val_loss": float(b)} for e, a, b in zip(epochs, loss, val)]
    print(f"live diagnosis, 1,000 epochs : {1000 * timed(lambda: diagnose(history, final=False)):.2f} ms")

    from petrilab.models import describe_model

    settings = Settings()
    head = output_head("classification", 3)
    print(f"describe default ConvNet     : {1000 * timed(lambda: describe_model(settings, (64, 64, 1), head)):.0f} ms")

    truth = np.zeros((1024, 1024), np.int32)
    cells = [(y, x) for y in range(0, 1020, 12) for x in range(0, 1020, 12)]
    for i, (y, x) in enumerate(cells):
        truth[y:y + 8, x:x + 8] = i + 1
    pred = np.roll(truth, 1, axis=1)
    print(f"match {len(cells)} objects       : {1000 * timed(lambda: match_objects(truth, pred)):.0f} ms")

    batch = rng.random((32, 64, 64, 3)).astype(np.float32)
    augmenter = Augmenter(AugmentationSettings(rotation=30, brightness=0.1, contrast=0.1, noise=0.02, zoom=0.1), 0)
    print(f"augment 32×64×64×3           : {1000 * timed(lambda: augmenter(batch)):.0f} ms")


if __name__ == "__main__":
    main()
