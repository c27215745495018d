"""The tuning command of `petrilab`: tune (registered by cli.build_parser).

    petrilab tune SETTINGS --budget MINUTES [--trials N] [--runs-dir DIR] [--study-dir DIR] [--set section.key=value ...]
                  [--events FILE]
"""

from __future__ import annotations

import sys
from pathlib import Path

from petrilab.command_events import add_option as add_events_option


def add_commands(sub) -> None:
    p = sub.add_parser("tune", help="search for better settings within a time budget (every trial a run folder)")
    p.add_argument("settings", help="the settings to start from (trial 0 trains them unchanged)")
    p.add_argument("--budget", type=float, required=True, metavar="MINUTES",
                   help="wall-clock minutes; the trial still running then is stopped")
    p.add_argument("--trials", type=int, metavar="N", help="at most N trials (all processes of the tuning together)")
    p.add_argument("--runs-dir", help="where the tuning folder is created (default: 'runs' beside the settings file)")
    p.add_argument("--study-dir", metavar="DIR",
                   help="use this tuning folder: a new one, or one whose search this process joins")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="change one starting setting")
    add_events_option(p)
    p.set_defaults(func=cmd_tune)


def cmd_tune(args) -> int:
    """Search for better settings within a time budget; every trial is a run folder in one tuning folder."""
    from petrilab.command_events import for_command, reported

    events = for_command("tune", args.events)
    with reported(events, "The search"):  # --events: every outcome is an event, the search's end in `finished`
        _tune(args, events)
    return 0


def _tune(args, events) -> None:
    from petrilab.command_setup import load_settings
    from petrilab.output_folders import refuse_inside_data
    from petrilab.tuning import records
    from petrilab.tuning.study import new_folder, tune

    folder = Path(args.study_dir).resolve() if args.study_dir else None
    joining = folder is not None and (folder / records.JOURNAL).exists()
    start = None if joining else load_settings(args.settings, args.set)
    if folder is None:
        folder = new_folder(args.runs_dir or Path(args.settings).resolve().parent / "runs", start)
    elif start is not None:
        refuse_inside_data(folder, [f for f in (start.data.folder, start.data.test_folder) if f], "tuning folder")
    print(f"Tuning folder: {folder}", file=sys.stderr, flush=True)
    if start is not None:
        events.keep_out_of([start.data.folder, start.data.test_folder])
    events.start(None, folder=str(folder), budget_minutes=args.budget, max_trials=args.trials)
    summary = tune(start, folder, budget_minutes=args.budget, max_trials=args.trials,
                   echo=lambda line: print(line, flush=True))
    events.made = {"folder": str(folder), "ended": summary.get("ended"), "counts": summary.get("counts"),
                   "best": summary.get("best")}
