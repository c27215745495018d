"""The outline commands of `petrilab` (registered by cli.build_parser): objects to and from ImageJ and QuPath.

    petrilab export-rois LABELS.tif OUT.zip|OUT.roi|OUT.geojson [--overwrite]
    petrilab import-rois ROIS.zip|ROI.roi|OBJECTS.geojson IMAGE OUT.tif [--overwrite]

The format is the output's (export) or the input's (import) file name; IMAGE gives import-rois the size of the
label image (and its pixel size, when it has one). Inputs are only read.
"""

from __future__ import annotations

from pathlib import Path

from petrilab.errors import UserError


def _refuse_over(output: Path, inputs: list[Path], overwrite: bool) -> None:
    for given in inputs:
        if given.exists() and output.resolve() == given.resolve():
            raise UserError(f"{output.name} is an input of this command; PetriLab never writes over its inputs.",
                            file=output, fix="Give another name for the output.")
    if output.exists() and not overwrite:
        raise UserError(f"{output} exists already.", file=output,
                        fix="Give another name, or add --overwrite to replace it.")


def cmd_export_rois(args) -> int:
    from petrilab.export.object_files import read_label_image, write_objects

    output = Path(args.output)
    _refuse_over(output, [Path(args.labels)], args.overwrite)
    labels = read_label_image(args.labels)
    path = write_objects(output, labels)
    n = len(set(labels[labels > 0].ravel().tolist()))
    print(f"{n} objects written to {path}")
    return 0


def cmd_import_rois(args) -> int:
    from petrilab.data.images import image_info
    from petrilab.export.object_files import read_objects
    from petrilab.export.tiff import read_pixel_size, write_labels

    output = Path(args.output)
    _refuse_over(output, [Path(args.rois), Path(args.image)], args.overwrite)
    if output.suffix.lower() not in (".tif", ".tiff"):
        raise UserError(f"The label image is written as a TIFF; {output.name} does not end in .tif.", file=output,
                        fix="Give an output name ending in .tif.")
    info = image_info(args.image)
    labels = read_objects(args.rois, (info.height, info.width))
    path = write_labels(output, labels, read_pixel_size(args.image) if Path(args.image).suffix.lower()
                        in (".tif", ".tiff") else None)
    n = len(set(labels[labels > 0].ravel().tolist()))
    print(f"{n} objects drawn into {path} ({info.width} × {info.height} pixels, as {Path(args.image).name})")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("export-rois", help="a label image's objects as outlines for ImageJ/Fiji (.zip ROI set) "
                                           "or QuPath (.geojson)")
    p.add_argument("labels", help="the label image (one number per object, 0 for background)")
    p.add_argument("output", help="OUT.zip (ImageJ ROI set), OUT.roi (a single object) or OUT.geojson (QuPath)")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.set_defaults(func=cmd_export_rois)

    p = sub.add_parser("import-rois", help="outlines from ImageJ/Fiji or QuPath drawn as a label image (a mask)")
    p.add_argument("rois", help="an ImageJ ROI set (.zip), one .roi, or QuPath GeoJSON (.geojson)")
    p.add_argument("image", help="the image the outlines were drawn on: the label image takes its size")
    p.add_argument("output", help="the label image to write (OUT.tif)")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.set_defaults(func=cmd_import_rois)
