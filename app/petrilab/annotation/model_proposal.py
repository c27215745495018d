"""A trained run as the annotator's helper: its prediction as the mask to correct (instead of the classical
proposal), and its uncertainty to order the unlabelled images (`ranking`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from petrilab.annotation import ranking
from petrilab.annotation.folder import TO_DO, AnnotationFolder
from petrilab.annotation.proposal_files import ERROR, ORDER, proposals_path
from petrilab.errors import UserError


class ModelProposer:
    """A run folder's model, checked against an annotation folder: the same task, and for classes the same
    number of them (a mask of class indices must mean the folder's classes)."""

    def __init__(self, run_dir: str | Path, folder: AnnotationFolder):
        from petrilab.prediction.trained_model import TrainedModel

        self.trained = TrainedModel(run_dir)
        self.run_dir = Path(run_dir)
        kind = self.trained.settings.task.kind
        if kind != folder.task:
            raise UserError(f"The run {self.run_dir.name} was trained for '{kind}', these labels are for "
                            f"'{folder.task}'.", file=self.run_dir,
                            fix="Choose a run trained on the same kind of labels, or use the classical proposal.")
        if folder.multi_label:
            raise UserError("A model's help is not there yet for multi-label folders.", file=self.run_dir,
                            fix="Switch the labels on by hand; train, then check the results on the Results page.")
        if not folder.per_pixel and sorted(self.trained.classes) != sorted(folder.classes):
            raise UserError(f"The run {self.run_dir.name} knows the classes {', '.join(self.trained.classes)}; "
                            f"these images are sorted into {', '.join(folder.classes)}.", file=self.run_dir,
                            fix="Choose a run trained with the same classes.")
        if not folder.has_objects and len(self.trained.classes) != len(folder.classes):
            raise UserError(f"The run {self.run_dir.name} knows {len(self.trained.classes)} classes, these labels "
                            f"have {len(folder.classes)}.", file=self.run_dir,
                            fix="Choose a run trained with the same classes, or use the classical proposal.")
        self.has_objects = folder.has_objects
        self.per_pixel = folder.per_pixel

    def predict(self, image: np.ndarray) -> dict:
        """The recipe's prediction for one image: probabilities, mask, labels (per pixel); for a class
        folder, the probability of each of the run's classes."""
        x = np.asarray(image)
        if x.ndim == 2:
            x = x[:, :, np.newaxis]
        if not self.per_pixel:
            out = self.trained.raw_predict(self.trained.prep(x)[np.newaxis])
            return {"probabilities": self.trained.recipe.probabilities(out)[0]}
        return self.trained.recipe.predict_image(self.trained, x)

    def propose(self, image: np.ndarray):
        """The mask to correct: one number per object (instance) or the class per pixel; for a class
        folder, the class the model gives the image and its probability."""
        found = self.predict(image)
        if not self.per_pixel:
            k = int(np.argmax(found["probabilities"]))
            return self.trained.classes[k], float(found["probabilities"][k])
        return found["labels"] if self.has_objects else found["mask"]

    def uncertainty(self, image: np.ndarray) -> float:
        p = np.asarray(self.predict(image)["probabilities"])
        return ranking.uncertainty(p.reshape(1, 1, -1) if p.ndim == 1 else p)  # one image: one "pixel"


def useful_order(proposer: ModelProposer, folder: AnnotationFolder, progress=None) -> list[tuple[str, float]]:
    """The images not labelled yet, the most useful to correct first, with each one's uncertainty.

    `ranking.rank` on the model's uncertainty and how much of the unlabelled set an image stands for.
    Images that cannot be read are left out (the editor says why when one is opened)."""
    todo, images, labelled = [], [], []
    for entry in folder.entries:
        try:
            image = folder.read_image(entry)
        except UserError:
            continue
        if entry.status == TO_DO:
            todo.append(entry.name)
            images.append(image)
        else:
            labelled.append(image)
        if progress is not None:
            progress(len(todo) + len(labelled))
    if not todo:
        return []
    unsure = {name: proposer.uncertainty(im) for name, im in zip(todo, images)}
    lo, hi = ranking.intensity_range(images + labelled)
    feats = [ranking.features(im, lo, hi) for im in images]
    known = [ranking.features(im, lo, hi) for im in labelled]
    order = ranking.rank(todo, [unsure[n] for n in todo], feats, known)
    return [(name, unsure[name]) for name in order]


def prepare(run_dir: str | Path, folder_root: str | Path, out_dir: str | Path) -> dict:
    """Everything the editor needs from a run, made once in a process of its own (the window never loads
    TensorFlow): the proposal for every image (`<stem>.tif`, uint16 labels or uint8 classes; for a class
    folder, `proposed` in order.json: name → [class, probability]) and the images to do in their most useful
    order (`order.json`). A refusal is written to `error.json` too."""
    from petrilab.export.tiff import write_labels
    from petrilab.runs import atomic_write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    proposed = {}
    try:
        folder = AnnotationFolder.open(folder_root)
        proposer = ModelProposer(run_dir, folder)
        for entry in folder.entries:
            try:
                image = folder.read_image(entry)
            except UserError:
                continue  # the editor says why when the image is opened
            if not folder.per_pixel:
                name, p = proposer.propose(image)
                proposed[entry.name] = [name, round(p, 6)]
                continue
            write_labels(proposals_path(out, entry.name), proposer.propose(image).astype(folder.mask_dtype),
                         None, dtype=folder.mask_dtype)
        order = useful_order(proposer, folder)
    except UserError as exc:
        atomic_write_json(out / ERROR, {"message": exc.message, "file": str(exc.file) if exc.file else None,
                                        "fix": exc.fix})
        raise
    record = {"run": str(Path(run_dir)), "order": [[name, round(u, 6)] for name, u in order]}
    if proposed:
        record["proposed"] = proposed
    atomic_write_json(out / ORDER, record)
    return record
