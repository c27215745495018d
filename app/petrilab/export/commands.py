"""The sharing commands of `petrilab`: export, import, report (registered by cli.build_parser).

    petrilab export RUN_DIR --format bioimageio -o MODEL.zip [--author NAME ...] [--license ID]
                    [--cite "text|DOI or URL" ...] [--description TEXT] [--name TEXT] [--events FILE]
    petrilab import MODEL.zip|MODEL.keras -o RUN_DIR      a run folder that 'petrilab predict' can use
    petrilab report RUN_DIR [--pdf [-o REPORT.pdf]] [--events FILE]   report.html, and report.pdf with --pdf
"""

from __future__ import annotations

from pathlib import Path

from petrilab import runs
from petrilab.command_events import add_option as add_events_option
from petrilab.tasks import is_per_pixel


def _engine() -> None:
    from petrilab.command_setup import quiet_tensorflow

    quiet_tensorflow()


def cmd_export(args) -> int:
    from petrilab.command_events import for_command, reported

    events = for_command("export", args.events, args.run_dir)
    with reported(events, "The export"):  # --events: every outcome is an event, the package in `finished`
        events.start(None, run=str(Path(args.run_dir).resolve()), output=str(Path(args.output).resolve()))
        _engine()
        from petrilab.export.bioimageio import PackageInfo, export_bioimageio

        info = PackageInfo(name=args.name or "", description=args.description or "", authors=args.author or [],
                           license=args.license, cite=args.cite or [])
        from petrilab.output_folders import plain_disk_errors, refuse_output_in_data, run_data_folders

        output = Path(args.output)
        refuse_output_in_data(output, run_data_folders(args.run_dir), "package file")
        with plain_disk_errors(output.resolve().parent, "folder", "No package was written (nothing half-written "
                               "is left there).", "Free some space on that disk, or write the package to another "
                               "disk with -o, then export again."):
            path = export_bioimageio(args.run_dir, output, info)
        events.made = {"package": str(Path(path).resolve())}
    print(f"bioimage.io package written to {path} as '{info.name}' (validated with bioimageio.spec)")
    return 0


def cmd_import(args) -> int:
    _engine()
    from petrilab.export.importing import import_model

    run_dir = import_model(args.model, args.output)
    print(f"Imported into {run_dir}; predict with: petrilab predict {run_dir} INPUT_DIR OUTPUT_DIR")
    return 0


def cmd_report(args) -> int:
    from petrilab.command_events import for_command, reported

    events = for_command("report", args.events, args.run_dir)
    with reported(events, "The report"):  # --events: every outcome is an event, the files in `finished`
        events.start(None, run=str(Path(args.run_dir).resolve()))
        events.made = _report(args)
    return 0


def _report(args) -> dict:
    from petrilab.errors import UserError
    from petrilab.export.report import write_report

    run_dir = Path(args.run_dir)
    if not (run_dir / runs.SETTINGS).exists() and not (run_dir / runs.EVENTS).exists():
        raise UserError(f"{run_dir} is not a PetriLab run folder.", file=run_dir,
                        fix="Give the folder of a run (it contains settings.toml and events.jsonl).")
    if args.output and not args.pdf:
        raise UserError("-o names the PDF to write: use it with --pdf.", fix="petrilab report RUN --pdf -o REPORT.pdf")
    from petrilab.output_folders import plain_disk_errors, refuse_output_in_data, run_data_folders

    if args.output:
        refuse_output_in_data(args.output, run_data_folders(run_dir), "PDF file")
    _engine()  # after the checks above, which need no TensorFlow: segmentation reports draw with the model
    trained = _model_for_examples(run_dir) if args.pdf else None  # loaded once for both files
    kept = "The report files there are as they were (each is written whole or not at all)."
    then = "Free some space on that disk (or write the PDF to another disk with -o), then run the report again."
    with plain_disk_errors(run_dir, "run folder", kept, then):
        path = write_report(run_dir, trained)
    print(f"Report written to {path}")
    made = {"report": str(Path(path).resolve())}
    if args.pdf:
        from petrilab.export.pdf import write_pdf

        target = Path(args.output).resolve().parent if args.output else run_dir
        with plain_disk_errors(target, "folder", kept, then):
            pdf = write_pdf(run_dir, args.output, trained)
        print(f"PDF written to {pdf}")
        made["pdf"] = str(Path(pdf).resolve())
    return made


def _model_for_examples(run_dir: Path):
    """Segmentation reports draw test images with the model: load it once (None: the report says why not)."""
    try:
        from petrilab.prediction.trained_model import TrainedModel

        trained = TrainedModel(run_dir)
        return trained if is_per_pixel(trained.settings.task.kind) else None
    except Exception:
        return None


def add_commands(sub) -> None:
    p = sub.add_parser("export", help="share a trained run as a bioimage.io model package (deepImageJ, ilastik, ...)")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=("bioimageio",), default="bioimageio")
    p.add_argument("-o", "--output", required=True, help="the package to write, e.g. MODEL.zip")
    p.add_argument("--name", help="the model's name (default: the experiment's name)")
    p.add_argument("--description", help="one or two sentences: what the model does, on which images")
    p.add_argument("--author", action="append", help="an author's name (repeat for several)")
    p.add_argument("--license", default="CC-BY-4.0", help="an SPDX licence identifier (default CC-BY-4.0)")
    p.add_argument("--cite", action="append", help='a citation, "text|DOI or web address" (repeat for several)')
    add_events_option(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="make a run folder from a bioimage.io zip or a .keras model, to predict with it")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True, help="the run folder to create")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("report", help="write a run's report.html (and report.pdf with --pdf)")
    p.add_argument("run_dir")
    p.add_argument("--pdf", action="store_true", help="also write the report as a PDF (RUN_DIR/report.pdf)")
    p.add_argument("-o", "--output", help="with --pdf: where to write the PDF instead")
    add_events_option(p)
    p.set_defaults(func=cmd_report)


def default_package_name(run_dir) -> str:
    return f"{Path(run_dir).name}.bioimageio.zip"
