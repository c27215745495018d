"""After training, segmentation tunes postprocess.threshold (and, for instances, postprocess.min_size) on the
validation images: `SegmentationTuning`, a part of SegmentationRecipe (recipe.py)."""

from __future__ import annotations

import dataclasses


class SegmentationTuning:
    """The threshold and minimum-size search; the recipe gives `_pairs`, `decide`, `truth` and `can_tune`."""

    def after_training(self, trained, validation):
        """Try each threshold (and, for objects, each minimum size) on the validation images, one image in
        memory at a time; keep the best."""
        from petrilab.tasks.segmentation.postprocess import THRESHOLD_CANDIDATES, tune_threshold

        post = trained.settings.postprocess
        if not post.tune_threshold or not validation or not self.can_tune(trained.settings):
            return {}
        sizes = self.min_size_candidates(post, validation)
        tallies = {(t, m): self.tuning_tally(trained.classes) for t in THRESHOLD_CANDIDATES for m in sizes}
        n_images = 0
        for _, _, mask, probs in self._pairs(trained, validation, []):
            truth = self.truth(mask)
            for threshold in THRESHOLD_CANDIDATES:
                decided = self.decide(probs, dataclasses.replace(post, threshold=threshold, min_size=sizes[0]))
                for size in sizes:
                    smaller_dropped = decided if size == sizes[0] else self.without_small(decided, post, size)
                    self.tuning_add(tallies[threshold, size], truth, smaller_dropped)
            n_images += 1
        if not n_images:
            return {}
        scores = {key: self.tuning_score(tally) for key, tally in tallies.items()}
        # per minimum size its best threshold (ties: nearest 0.5); then the best size (ties: the smallest)
        best_threshold = {m: tune_threshold(lambda t: scores[t, m], THRESHOLD_CANDIDATES) for m in sizes}
        size = max(sizes, key=lambda m: (scores[best_threshold[m], m], -m))
        best = best_threshold[size]
        post.threshold = float(best)
        tuned = {"key": "postprocess.threshold", "value": float(best), "metric": self.tuning_metric,
                 "score": round(scores[best, size], 4),
                 "tried": {f"{t:.1f}": round(scores[t, size], 4) for t in THRESHOLD_CANDIDATES},
                 "n_images": n_images}
        if len(sizes) > 1:
            post.min_size = int(size)
            tuned.update({"min_size": int(size),
                          "min_size_tried": {str(m): round(scores[best_threshold[m], m], 4) for m in sizes},
                          "values": {"postprocess.threshold": float(best), "postprocess.min_size": int(size)}})
        return tuned

    def min_size_candidates(self, post, validation) -> list[int]:
        """The minimum object sizes to try; only the settings' own unless the recipe tunes it."""
        return [int(post.min_size)]

    def without_small(self, decided, post, min_size: int):
        """A decision (class mask, labels) with the objects smaller than `min_size` pixels removed."""
        raise NotImplementedError

    tuning_metric = "iou"

    def tuning_tally(self, classes):
        from petrilab.tasks.segmentation.metrics import PixelTally

        return PixelTally(classes)

    def tuning_add(self, tally, truth, decided) -> None:
        tally.add(truth[0], decided[0])

    def tuning_score(self, tally) -> float:
        return tally.scores()["metrics"]["mean_iou"] or 0.0
