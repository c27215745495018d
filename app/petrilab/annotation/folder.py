"""An annotation folder: labels made in PetriLab, kept in a layout PetriLab trains on.

    <folder>/annotation.json     what is being annotated: the task, the classes, and per image its
                                 original's path and SHA-256, its status and when it was last saved
    segmentation:  images/<name>      a copy of the original, made when its first mask is saved
                   masks/<stem>.tif   its labels (uint8 class indices, or uint16 objects 1..N)
    classification: <class>/<name>    a copy of the original in the folder of the class it was sorted into
    multi-label:    images/<name>     a copy of each tagged image, and labels.csv (filename, a 0/1 column
                                      per label), the layout multi-label training reads

Only images with labels are copied, so the folder is a complete dataset at every moment (the Data page
and `petrilab check` open it as they open any data folder). The originals are read, never written: each
is checked against its SHA-256 before it is shown or copied. Every file is written whole to a temporary
name, then renamed over the old one, so a process killed mid-save leaves the previous version intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from petrilab.data.images import is_image_file, read_image
from petrilab.data.split import fingerprint
from petrilab.errors import UserError
from petrilab.export.tiff import read_pixel_size, write_labels
from petrilab.runs import atomic_write_bytes, atomic_write_csv, atomic_write_json
from petrilab.tasks import TASKS, kinds

MANIFEST = "annotation.json"
FORMAT = "petrilab-annotation"
VERSION = 1
IMAGES, MASKS = "images", "masks"

# the tasks whose labels can be made here: a mask per image, a class per image (folders), or any number of
# labels per image (a table of 0/1 columns)
ANNOTATABLE = kinds(lambda t: t.data in ("masks", "folders") or t.multi_label)

# an image's status in annotation.json
TO_DO, SAVED, SORTED, TAGGED, SKIPPED, UNSURE = "to do", "saved", "sorted", "tagged", "skipped", "unsure"

_RESERVED_NAMES = {MANIFEST.casefold(), IMAGES, MASKS, "filename"}


@dataclass
class Entry:
    """One image being annotated."""

    name: str  # its file name inside the annotation folder (unique, even across different extensions)
    original: str  # the user's file, never written
    sha256: str  # of the original when it was added
    status: str = TO_DO
    label: str | None = None  # classification: the class it was sorted into
    tags: list[str] | None = None  # multi-label: the labels it has (none is an answer too)
    saved: str | None = None  # when its labels were last saved (UTC, ISO 8601)

    @property
    def stem(self) -> str:
        return Path(self.name).stem


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _unique_names(paths: list[Path]) -> list[str]:
    """The originals' names, made unique by their stem (a.png and a.tif would share masks/a.tif)."""
    taken: set[str] = set()
    names = []
    for p in paths:
        stem, n = p.stem, 1
        while stem.casefold() in taken:
            n += 1
            stem = f"{p.stem}_{n}"
        taken.add(stem.casefold())
        names.append(stem + p.suffix)
    return names


def check_class_names(classes: list[str], per_pixel: bool) -> list[str]:
    """The class names, stripped, or a plain refusal (classification's names become folder names)."""
    names = [str(c).strip() for c in classes]
    least = 2
    if len(names) < least or any(not n for n in names):
        raise UserError("Give at least two class names, none of them empty.",
                        fix="For example: healthy, infected.")
    if len({n.casefold() for n in names}) != len(names):
        raise UserError("The same class name is given twice.", fix="Give each class a different name.")
    if not per_pixel:
        for n in names:
            if n.casefold() in _RESERVED_NAMES:
                raise UserError(f"The class name '{n}' is the name of a file or column PetriLab keeps for itself.",
                                fix="Choose another name for this class.")
            if any(c in n for c in '/\\:*?"<>|') or n.startswith("."):
                raise UserError(f"The class name '{n}' cannot be a folder name.",
                                fix='Use letters, digits, spaces, - or _ (not / \\ : * ? " < > |, and not a '
                                    "name starting with a dot).")
    return names


class AnnotationFolder:
    """An annotation folder on disk. Safe to save from a background thread while the window reads it."""

    def __init__(self, root: Path, task: str, classes: list[str], images_folder: str, entries: list[Entry]):
        self.root, self.task, self.classes = root, task, classes
        self.images_folder, self.entries = images_folder, entries
        self._lock = threading.Lock()

    # ------------------------------------------------------------ what the task implies

    @property
    def per_pixel(self) -> bool:
        return TASKS[self.task].per_pixel

    @property
    def has_objects(self) -> bool:
        return TASKS[self.task].has_objects

    @property
    def multi_label(self) -> bool:
        return TASKS[self.task].multi_label

    @property
    def mask_dtype(self) -> type:
        return np.uint16 if self.has_objects else np.uint8

    # ------------------------------------------------------------ making and opening

    @classmethod
    def create(cls, root, images_folder, task: str, classes: list[str] | None = None) -> "AnnotationFolder":
        """A new annotation folder at `root` (missing or empty) for the images directly in `images_folder`."""
        if task not in ANNOTATABLE:
            raise UserError(f"Labels for the task '{task}' cannot be made in PetriLab yet.",
                            fix="Choose image classification (one class or several labels per image), "
                                "semantic or instance segmentation.")
        images_dir = Path(images_folder).expanduser()
        if not images_dir.is_dir():
            raise UserError(f"The images folder {images_dir} does not exist.", file=images_dir,
                            fix="Choose the folder that holds the images to annotate.")
        images_dir = images_dir.resolve()
        root = Path(root).expanduser().resolve()
        if root == images_dir or root.is_relative_to(images_dir):
            raise UserError(f"The annotation folder {root} is inside the images folder {images_dir}; PetriLab "
                            "never writes inside your data.", file=root,
                            fix="Choose a place outside the images folder, e.g. beside it.")
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UserError(f"The folder {root} is not empty.", file=root,
                            fix="Choose a new or empty folder for the annotations, or open the annotation "
                                "folder that is already there.")
        task_info = TASKS[task]
        if task_info.per_pixel:
            names = classes or (["background", "object"] if task_info.has_objects else ["background", "foreground"])
        else:
            names = classes or []
        names = check_class_names(names, task_info.per_pixel)
        originals = sorted(p for p in images_dir.iterdir()
                           if not p.name.startswith(".") and p.is_file() and is_image_file(p))
        if not originals:
            raise UserError(f"The folder {images_dir} has no images directly inside it.", file=images_dir,
                            fix="Choose the folder that holds the images (TIFF, PNG, JPEG, BMP, CZI, ND2, LIF).")
        entries = [Entry(name, str(p), fingerprint(p)) for name, p in zip(_unique_names(originals), originals)]
        root.mkdir(parents=True, exist_ok=True)
        folder = cls(root, task, names, str(images_dir), entries)
        folder.save_manifest()
        return folder

    @classmethod
    def open(cls, root) -> "AnnotationFolder":
        root = Path(root).expanduser().resolve()
        manifest = root / MANIFEST
        not_one = UserError(f"The folder {root} is not a PetriLab annotation folder (it has no valid "
                            f"'{MANIFEST}').", file=manifest,
                            fix="Choose the folder PetriLab made for your annotations, or make a new one with "
                                "File > Annotate images….")
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise not_one from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("task") not in ANNOTATABLE:
            raise not_one
        if int(data.get("version", 0)) > VERSION:
            raise UserError(f"The annotation folder {root} was made by a newer PetriLab.", file=manifest,
                            fix="Update PetriLab to open it.")
        try:
            entries = [Entry(**e) for e in data["images"]]
        except (KeyError, TypeError):
            raise not_one from None
        folder = cls(root, data["task"], list(data["classes"]), data.get("images_folder", ""), entries)
        for e in folder.entries:  # a mask written just before a kill, its status not yet: the mask is the truth
            if folder.per_pixel and e.status == TO_DO and folder.mask_path(e).is_file():
                e.status = SAVED
        return folder

    def save_manifest(self) -> None:
        atomic_write_json(self.root / MANIFEST, {
            "format": FORMAT, "version": VERSION, "task": self.task, "classes": self.classes,
            "images_folder": self.images_folder, "images": [asdict(e) for e in self.entries]})

    # ------------------------------------------------------------ paths

    def mask_path(self, entry: Entry) -> Path:
        return self.root / MASKS / f"{entry.stem}.tif"

    def copy_path(self, entry: Entry) -> Path | None:
        """Where the copy of the original is (or goes), None for an image not sorted into a class."""
        if self.per_pixel:
            return self.root / IMAGES / entry.name
        if self.multi_label:
            return self.root / IMAGES / entry.name if entry.status == TAGGED else None
        return self.root / entry.label / entry.name if entry.status == SORTED and entry.label else None

    # ------------------------------------------------------------ reading

    def _original_bytes(self, entry: Entry) -> bytes:
        path = Path(entry.original)
        if not path.is_file():
            raise UserError(f"The image '{path.name}' is no longer where it was when it was added.", file=path,
                            fix="Put it back, or make a new annotation folder for the images as they are now.")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise UserError(f"The image '{path.name}' has changed since it was added to the annotation folder, "
                            "so its labels may no longer fit it.", file=path,
                            fix="Put back the original version of the image, or make a new annotation folder "
                                "for the changed images.")
        return data

    def read_image(self, entry: Entry) -> np.ndarray:
        """The image's pixels (height, width, channels), from its copy when there is one, else its original
        (after checking it has not changed)."""
        copy = self.copy_path(entry)
        if copy is not None and copy.is_file():
            return read_image(copy)
        self._original_bytes(entry)
        return read_image(entry.original)

    def read_mask(self, entry: Entry) -> np.ndarray | None:
        path = self.mask_path(entry)
        if not path.is_file():
            return None
        import tifffile

        try:
            mask = tifffile.imread(path)
        except Exception:
            raise UserError(f"The mask '{path.name}' cannot be read.", file=path,
                            fix="Delete it to start this image again (its image is not changed).") from None
        return np.ascontiguousarray(mask.astype(self.mask_dtype, copy=False))

    # ------------------------------------------------------------ saving

    def _copy_original(self, entry: Entry, target: Path) -> None:
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, self._original_bytes(entry))

    def save_mask(self, entry: Entry, mask: np.ndarray) -> None:
        """Write the image's labels (and its copy, the first time), then annotation.json."""
        if not self.per_pixel:
            raise ValueError("masks belong to segmentation folders")
        mask = np.asarray(mask)
        if mask.ndim != 2 or (self.has_objects is False and mask.max(initial=0) >= len(self.classes)):
            raise ValueError(f"not a mask for this folder: shape {mask.shape}, max {mask.max(initial=0)}")
        with self._lock:
            self._copy_original(entry, self.copy_path(entry))
            pixel_size = read_pixel_size(entry.original)
            write_labels(self.mask_path(entry), mask.astype(self.mask_dtype, copy=False), pixel_size,
                         dtype=self.mask_dtype)
            entry.status, entry.saved = SAVED, _now()
            self.save_manifest()

    def sort(self, entry: Entry, choice: str) -> None:
        """Classification: put the image into the class `choice`, or mark it skipped or unsure (no copy;
        multi-label folders take only these two here, their labels come through `tag`)."""
        if self.per_pixel:
            raise ValueError("sorting belongs to classification folders")
        if choice not in (SKIPPED, UNSURE) and (self.multi_label or choice not in self.classes):
            raise ValueError(f"not a class of this folder: {choice!r}")
        with self._lock:
            old = self.copy_path(entry)
            if choice in self.classes:
                target = self.root / choice / entry.name
                if old is not None and old != target and old.is_file():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(old, target)  # our own copy moves between class folders
                self._copy_original(entry, target)
                entry.status, entry.label = SORTED, choice
            else:
                if old is not None and old.is_file():
                    old.unlink()  # our copy, never the original
                entry.status, entry.label, entry.tags = choice, None, None
            entry.saved = _now()
            if self.multi_label:
                self._write_table()
            self.save_manifest()

    def tag(self, entry: Entry, tags: list[str]) -> None:
        """Multi-label: the image has exactly these labels (none is an answer too): copied, then its row."""
        if not self.multi_label:
            raise ValueError("tags belong to multi-label folders")
        unknown = set(tags) - set(self.classes)
        if unknown:
            raise ValueError(f"not labels of this folder: {sorted(unknown)}")
        with self._lock:
            self._copy_original(entry, self.root / IMAGES / entry.name)
            entry.status, entry.label, entry.tags = TAGGED, None, [c for c in self.classes if c in tags]
            entry.saved = _now()
            self._write_table()
            self.save_manifest()

    def _write_table(self) -> None:
        rows = [[e.name] + [int(c in (e.tags or [])) for c in self.classes]
                for e in self.entries if e.status == TAGGED]
        atomic_write_csv(self.root / TASKS[self.task].table, ["filename", *self.classes], rows)

    # ------------------------------------------------------------ progress

    def done(self) -> int:
        return sum(e.status in (SAVED, SORTED, TAGGED) for e in self.entries)
