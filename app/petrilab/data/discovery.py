"""Finding the images and their classes in the folder the user points at.

Classification layout: DATA/<class name>/<image>. The class of an image is
the name of the folder it sits in; nothing else is guessed. Anything that
does not fit the layout is refused with a message that shows the layout,
because a silently wrong label is worse than an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from petrilab.data.images import IMAGE_SUFFIXES, is_image_file
from petrilab.errors import UserError
from petrilab.settings_files import refuse_windows_folder
from petrilab.tasks import get_task

# Files the operating system leaves in folders; never data, never worth a mention.
_SYSTEM_FILES = {"thumbs.db", "desktop.ini", "__macosx"}

_LAYOUT = "DATA/<class name>/<image>, e.g. DATA/healthy/cell01.tif and DATA/infected/cell02.tif"


@dataclass
class Sample:
    path: Path
    label: int  # index into Dataset.classes
    mask: Path | None = None  # segmentation: the image's mask (DATA/masks/<same name>)


@dataclass
class Dataset:
    task: str
    root: Path
    samples: list[Sample]
    classes: list[str]
    skipped: list[Path] = field(default_factory=list)  # files that are not images, ignored

    def labels(self) -> np.ndarray:
        return np.array([s.label for s in self.samples], dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Images per class, in class order."""
        numbers = np.bincount(self.labels(), minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, numbers)}

    def excluding(self, paths) -> "Dataset":
        """The same dataset without some files (e.g. the unreadable ones the check found)."""
        drop = {Path(p) for p in paths}
        kept = [s for s in self.samples if s.path not in drop]
        return Dataset(self.task, self.root, kept, list(self.classes), list(self.skipped))


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and path.name.lower() not in _SYSTEM_FILES


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if _visible(p))
    except PermissionError:
        raise UserError(f"PetriLab is not allowed to read the folder {folder}.", file=folder,
                        fix="Check the folder's permissions, or copy the data somewhere you can read.") from None


def _check_task(task: str) -> None:
    if get_task(task).data != "folders":  # this reader is for a sub-folder per class
        raise UserError(f"Reading data for the task '{task}' is not available yet.",
                        fix="Choose image classification for now.")


def open_folder(folder, what: str = "data folder") -> Path:
    """The folder as an absolute path, or a UserError when it is missing or not a folder."""
    if folder is None or str(folder).strip() == "":
        raise UserError(f"No {what} was chosen.", fix=f"Choose the {what}.")
    path = Path(folder).expanduser()
    if not path.exists():
        refuse_windows_folder(folder, what)  # C:\\Users\\… opened on macOS or Linux
        raise UserError(f"The {what} {path} does not exist.", file=path,
                        fix="Check the path (it may have been moved or renamed), or choose the folder again.")
    if not path.is_dir():
        raise UserError(f"{path} is a file, not a folder.", file=path,
                        fix=f"Choose the folder that holds the class sub-folders: {_LAYOUT}.")
    return path.resolve()


def discover(task: str, folder, classes: list[str] | None = None) -> Dataset:
    """The images of a folder and their classes, or a UserError that explains the expected layout."""
    _check_task(task)
    root = open_folder(folder)
    entries = _entries(root)
    subfolders = [p for p in entries if p.is_dir()]
    loose_images = [p for p in entries if p.is_file() and is_image_file(p)]
    skipped = [p for p in entries if p.is_file() and not is_image_file(p)]

    if loose_images:
        example = loose_images[0].name
        raise UserError(
            f"The folder {root} has images directly inside it (e.g. '{example}'), "
            f"so PetriLab cannot tell their class.",
            file=root,
            fix=f"Make one sub-folder per class and move each image into its class folder: {_LAYOUT}.",
        )
    if not subfolders:
        raise UserError(
            f"The folder {root} has no sub-folders, so there are no classes to learn.",
            file=root,
            fix=f"Put the images in one sub-folder per class: {_LAYOUT}.",
        )

    by_name = {p.name: p for p in subfolders}
    if classes:
        if len(set(classes)) != len(classes):
            raise UserError("The same class is listed twice in 'data.classes'.", file=root,
                            fix="List each class once.")
        missing = [c for c in classes if c not in by_name]
        if missing:
            found = ", ".join(f"'{n}'" for n in by_name)
            raise UserError(
                f"The class '{missing[0]}' has no folder in {root}.",
                file=root / missing[0],
                fix=f"The class folders found are: {found}. Rename a folder, or change the list of classes.",
            )
        names = list(classes)
    else:
        names = sorted(by_name)  # plain sorted(): the order Keras' own folder loader uses

    if len(names) < 2:
        raise UserError(
            f"The folder {root} has only one class ('{names[0]}'); classification needs at least two.",
            file=root,
            fix=f"Add a sub-folder with the images of another class: {_LAYOUT}.",
        )

    samples: list[Sample] = []
    for label, name in enumerate(names):
        images, others = _class_images(by_name[name])
        skipped.extend(others)
        if not images:
            shown = f" (it holds {len(others)} other file(s), e.g. '{others[0].name}')" if others else ""
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            raise UserError(
                f"The class folder '{name}' has no images{shown}.",
                file=by_name[name],
                fix=f"Add images of '{name}' ({kinds}), or remove the empty folder.",
            )
        samples.extend(Sample(p, label) for p in images)
    return Dataset(task=task, root=root, samples=samples, classes=names, skipped=skipped)


def _class_images(folder: Path) -> tuple[list[Path], list[Path]]:
    """The images directly in a class folder, and the other files there (ignored).

    A sub-folder holding images is refused: reading it would mix images the
    user may have set apart on purpose, skipping it would lose them silently.
    """
    images, others = [], []
    for p in _entries(folder):
        if p.is_dir():
            nested = next((q for q in p.rglob("*") if is_image_file(q) and q.is_file()), None)
            if nested is not None:
                raise UserError(
                    f"The class folder '{folder.name}' contains a sub-folder '{p.name}' with images; "
                    f"PetriLab only reads images placed directly in each class folder.",
                    file=p,
                    fix=f"Move the images of '{p.name}' up into '{folder.name}', "
                        f"or make '{p.name}' a class folder of its own: {_LAYOUT}.",
                )
            others.append(p)
        elif is_image_file(p):
            images.append(p)
        else:
            others.append(p)
    return images, others
