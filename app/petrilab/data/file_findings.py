"""Dataset-check findings that name single files: what reading did to them, the ones the resize
squashes, the one that turns the whole set to colour, and byte-identical copies (a leak).

check.py sums the headers up; these findings point at the few files behind a
summary, because "2 images are odd" is no help when the folder holds 3,000.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from petrilab.data.check import INFO, WARNING, DatasetReport, _add, _channel_words
from petrilab.data.pillow_read import NOTE_WORDS

# A side below this, or a shape this many times longer or wider than the model's input, is squashed
# past recognition by the resize to data.image_size.
TINY_SIDE = 8
SQUASH_RATIO = 4.0
# Files named one by one in a message.
SHOWN = 5
# Channel kinds held by at most this share of the images are "the odd ones", named by file.
ODD_SHARE = 0.1


def _names(paths: list[str]) -> str:
    shown = ", ".join(f"'{Path(p).name}'" for p in paths[:SHOWN])
    return shown + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def note_findings(report: DatasetReport, files: list[tuple[str, object]]) -> None:
    """Palette images read as grey, CMYK converted, EXIF orientation applied: each said once, with the files."""
    by_note: dict[str, list[str]] = defaultdict(list)
    for path, info in files:
        for note in getattr(info, "notes", ()):
            by_note[note].append(path)
    for note, paths in by_note.items():
        _add(report, INFO, f"{len(paths)} image(s) {NOTE_WORDS[note]}: {_names(paths)}.", paths[0])


def squash_findings(report: DatasetReport, files: list[tuple[str, object]]) -> None:
    """Images the resize to the model's input size squashes out of shape (1 × 1 pixel, a 1:10 strip)."""
    size = report.proposals.get("data.image_size")
    if not size:
        return
    target = size[1] / size[0]
    odd = []
    for path, info in files:
        ratio = (info.width / info.height) / target
        if min(info.height, info.width) < TINY_SIDE or max(ratio, 1 / ratio) > SQUASH_RATIO:
            odd.append((path, info))
    if not odd:
        return
    shown = ", ".join(f"'{Path(p).name}' ({i.height} × {i.width})" for p, i in odd[:SHOWN])
    more = f" and {len(odd) - SHOWN} more" if len(odd) > SHOWN else ""
    _add(report, WARNING,
         f"{len(odd)} image(s) are tiny or far longer than wide (height × width: {shown}{more}); resized to the "
         f"model's {size[0]} × {size[1]} pixels they are squashed out of shape.", odd[0][0],
         fix="Check these files: crop or pad them in Fiji to a shape close to the others, or move them out of the "
             "data folder.")


def odd_channel_findings(report: DatasetReport, files: list[tuple[str, object]], chosen: int) -> None:
    """When a few images have other channels than most, name them: they decide what all get."""
    kinds: dict[int, list[str]] = defaultdict(list)
    for path, info in files:
        kinds[3 if info.alpha and info.channels == 4 else info.channels].append(path)
    if len(kinds) < 2:
        return
    most = max(kinds, key=lambda k: len(kinds[k]))
    for kind, paths in sorted(kinds.items()):
        if kind == most or len(paths) > ODD_SHARE * len(files):
            continue
        what = ("they were" if len(paths) > 1 else "it was") + (
            " kept" if kind == chosen else f" converted to {_channel_words(chosen)}")
        becomes = (f" Because of {'them' if len(paths) > 1 else 'it'}, every image is given to the model as "
                   f"{_channel_words(chosen)}." if kind == chosen and kind != most else "")
        _add(report, WARNING,
             f"Most images are {_channel_words(most)}, but {_names(paths)} "
             f"{'are' if len(paths) > 1 else 'is'} {_channel_words(kind)}: {what}.{becomes}", paths[0],
             fix=f"If {'these' if len(paths) > 1 else 'this'} should be {_channel_words(most)} like the others, "
                 f"save {'them' if len(paths) > 1 else 'it'} again in Fiji (Image > Type) or set 'data.channels' "
                 f"to {most if most != 3 else 3}.")


def duplicate_file_findings(report: DatasetReport, samples: list, class_of) -> None:
    """Byte-identical files (same SHA-256): the same image twice, maybe with two labels or in train and test."""
    from petrilab.data.split import fingerprint

    groups: dict[str, list] = defaultdict(list)
    unreadable = set(report.unreadable)
    for sample in samples:
        if str(sample.path) in unreadable:
            continue
        try:
            groups[fingerprint(sample.path)].append(sample)
        except Exception:  # gone or unreadable: other findings say so
            continue
    twins = [g for g in groups.values() if len(g) > 1]
    for group in twins[:SHOWN * 4]:
        names = " and ".join(f"'{s.path.parent.name}/{s.path.name}'" for s in group)
        classes = sorted({class_of(s) for s in group if class_of(s) is not None})
        label = (f" They are in different classes ({', '.join(repr(c) for c in classes)}): the same image with two "
                 f"labels." if len(classes) > 1 else "")
        _add(report, WARNING,
             f"{names} are the same file byte for byte.{label} PetriLab keeps identical files in the same subset, "
             f"so one copy cannot sit in training and the other in the test set (that would inflate the test "
             f"score).", group[1].path,
             fix="Keep one copy and move the others out of the data folder.")
    if len(twins) > SHOWN * 4:
        _add(report, WARNING, f"{len(twins) - SHOWN * 4} more groups of identical files.", twins[SHOWN * 4][0].path,
             fix="Keep one copy of each image.")
