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
        if not folder.has_objects and len(self.trained.classes) != len(folder.classes):
            raise UserError(f"The run {self.run_dir.name} knows {len(self.trained.classes)} classes, these labels "
                            f"have {len(folder.classes)}.", file=self.run_dir,
                            fix="Choose a run trained with the same classes, or use the classical proposal.")
        self.has_objects = folder.has_objects

    def predict(self, image: np.ndarray) -> dict:
        """The recipe's prediction for one image: probabilities, mask, labels."""
        x = np.asarray(image)
        if x.ndim == 2:
            x = x[:, :, np.newaxis]
        return self.trained.recipe.predict_image(self.trained, x)

    def propose(self, image: np.ndarray) -> np.ndarray:
        """The mask to correct: one number per object (instance) or the class per pixel."""
        found = self.predict(image)
        return found["labels"] if self.has_objects else found["mask"]


def useful_order(proposer: ModelProposer, folder: AnnotationFolder, progress=None) -> list[tuple[str, float]]:
    """The images not labelled yet, the most useful to correct first, with each one's uncertainty.

    `ranking.rank` on the model's uncertainty and the distance to the labelled images. Images that
    cannot be read are left out (the editor says why when one is opened)."""
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
    unsure = {name: ranking.uncertainty(proposer.predict(im)["probabilities"]) for name, im in zip(todo, images)}
    lo, hi = ranking.intensity_range(images + labelled)
    feats = [ranking.features(im, lo, hi) for im in images]
    known = [ranking.features(im, lo, hi) for im in labelled]
    order = ranking.rank(todo, [unsure[n] for n in todo], feats, known)
    return [(name, unsure[name]) for name in order]


def prepare(run_dir: str | Path, folder_root: str | Path, out_dir: str | Path) -> dict:
    """Everything the editor needs from a run, made once in a process of its own (the window never loads
    TensorFlow): the proposal for every image (`<stem>.tif`, uint16 labels or uint8 classes) and the
    images to do in their most useful order (`order.json`). A refusal is written to `error.json` too."""
    from petrilab.export.tiff import write_labels
    from petrilab.runs import atomic_write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        folder = AnnotationFolder.open(folder_root)
        proposer = ModelProposer(run_dir, folder)
        for entry in folder.entries:
            try:
                image = folder.read_image(entry)
            except UserError:
                continue  # the editor says why when the image is opened
            write_labels(proposals_path(out, entry.name), proposer.propose(image).astype(folder.mask_dtype),
                         None, dtype=folder.mask_dtype)
        order = useful_order(proposer, folder)
    except UserError as exc:
        atomic_write_json(out / ERROR, {"message": exc.message, "file": str(exc.file) if exc.file else None,
                                        "fix": exc.fix})
        raise
    record = {"run": str(Path(run_dir)), "order": [[name, round(u, 6)] for name, u in order]}
    atomic_write_json(out / ORDER, record)
    return record
