"""Does the diagnosis' first advice help? Apply it, train again with the same seed, compare on validation.

    .venv/bin/python benchmarks/advice_check.py [RUN_DIR ...] [--work DIR] [--no-record]

For each run folder (given, or made here on the bundled demo data with deliberately poor settings:
a tiny and a huge learning rate, too few epochs, a too-big dense network on few images, a network
too small, heavy regularisation, no augmentation on few images), read its diagnosis.json, apply the
first advice's `changes` to the run's settings.toml, train again with the same seed, and compare the
task's main metric on the validation images at the kept epoch (lowest validation loss), exactly as
`petrilab tune` compares trials. Test-set numbers are never used. An advice without settings changes
("check your labels") cannot be tested this way and is listed apart. "Train N more epochs from where
it stopped" is applied as a new training with that many epochs (the same seed gives the same first
epochs). Prints a table and appends it to benchmarks/RESULTS.md (unless --no-record).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "app"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402

from petrilab import runs, settings as settings_io  # noqa: E402
from petrilab.resources import resources_dir  # noqa: E402
from petrilab.training.diagnosis import diagnose_file  # noqa: E402
from petrilab.tuning.records import read_result  # noqa: E402

GOAL = 0.70
STARTED = time.monotonic()  # the minutes reported include starting TensorFlow


def demo_cases(work: Path) -> list[tuple[str, settings_io.Settings]]:
    """Poor settings on the bundled classification demo (and a small copy of it for 'few images')."""
    from petrilab.demo import make_classification_demo

    demo = resources_dir() / "demo" / "classification"
    few = make_classification_demo(work / "few-images", n_per_class=12, size=64, seed=5)

    def base(folder, **changes):
        # the defaults (64 × 64, the ConvNet 16/32/64) with a learning rate and a length that learn the demo
        # (about 90 % on validation); each case then spoils one thing
        s = settings_io.defaults_for("classification")
        s.data.folder = str(folder)
        s.training.batch_size, s.training.epochs, s.training.learning_rate = 16, 20, 0.003
        for key, value in changes.items():
            settings_io.apply_override(s, key.replace("__", "."), value)
        return s

    return [
        ("tiny learning rate (1e-5)", base(demo, training__learning_rate=1e-5)),
        ("huge learning rate (0.3)", base(demo, training__learning_rate=0.3)),
        ("too few epochs (3)", base(demo, training__epochs=3)),
        ("network far too small (filters [2], head [4])", base(demo, model__filters=[2], model__head_units=[4])),
        ("heavy regularisation (dropout 0.8, L2 0.1)", base(demo, model__dropout=0.8, model__l2=0.1)),
        ("too-big dense network on few images", base(few, model__architecture="dense",
                                                     model__dense_layers=[1024, 512], training__epochs=30,
                                                     training__learning_rate=0.001)),
        ("no augmentation, few images, many epochs", base(few, augmentation__flip_horizontal=False,
                                                          augmentation__flip_vertical=False,
                                                          augmentation__rotate_90=False, training__epochs=30)),
    ]


def train(settings, run_dir: Path) -> Path:
    import keras

    from petrilab.training.trainer import train as train_run

    keras.backend.clear_session()
    return train_run(settings, run_dir=run_dir, echo=False)


def check(run_dir: Path, work: Path) -> dict:
    settings = settings_io.load(run_dir / runs.SETTINGS)
    # today's diagnosis of the run's curves (its diagnosis.json may come from an older PetriLab)
    diagnosis = diagnose_file(run_dir).to_dict()
    before = read_result(run_dir)
    first = (diagnosis.get("advice") or [{}])[0]
    row = {"run": f"{run_dir.parent.name}/{run_dir.name}", "verdict": diagnosis.get("verdict"), "advice": first.get("text", ""),
           "changes": first.get("changes") or {}, "metric": before.metric, "before": before.value,
           "before_loss": before.val_loss, "after": None, "after_loss": None}
    if not row["changes"]:
        row["outcome"] = "not testable (no settings change)"
        return row
    for key, value in row["changes"].items():
        settings_io.apply_override(settings, key, value)
    again = train(settings, work / f"{run_dir.parent.name}_{run_dir.name}_advised")
    after = read_result(again)
    row.update(after=after.value, after_loss=after.val_loss)
    lower = (before.metric or "") in ("mae", "mse", "loss")
    if after.value is None or before.value is None:
        better = after.value is not None
    else:
        better = after.value < before.value if lower else after.value > before.value
    same = after.value == before.value
    row["outcome"] = "improved" if better else ("same" if same else "worse")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", type=Path, help="run folders to check (default: make the demo cases)")
    parser.add_argument("--work", type=Path, help="where the runs are made (default: a temporary folder)")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    from petrilab.backend import activate

    activate("auto", "auto")
    work = args.work or Path(tempfile.mkdtemp(prefix="petrilab-advice-"))
    work.mkdir(parents=True, exist_ok=True)
    run_dirs = list(args.runs)
    names = {}
    if not run_dirs:
        for i, (name, settings) in enumerate(demo_cases(work)):
            run_dir = train(settings, work / f"case{i}")
            run_dirs.append(run_dir)
            names[run_dir] = name
            print(f"made {name}: {json.loads((run_dir / runs.DIAGNOSIS).read_text())['verdict']}", flush=True)
    rows = []
    for run_dir in run_dirs:
        row = check(Path(run_dir), work)
        row["case"] = names.get(run_dir, row["run"])
        rows.append(row)
        print(f"{row['case']}: {row['verdict']} → {row['advice'][:70]} … {row['outcome']} "
              f"({_num(row['before'])} → {_num(row['after'])})", flush=True)
    minutes = (time.monotonic() - STARTED) / 60
    text = report(rows, minutes)
    print(text)
    if not args.no_record:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + text)
    return 0


def _num(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def report(rows: list[dict], minutes: float) -> str:
    tested = [r for r in rows if r["outcome"] != "not testable (no settings change)"]
    improved = sum(r["outcome"] == "improved" for r in tested)
    share = improved / len(tested) if tested else 0.0
    lines = [
        "## Advice check: does the first advice improve the validation metric? (`benchmarks/advice_check.py`)",
        "",
        f"{time.strftime('%Y-%m-%d')}, {minutes:.1f} min on the project's 2-core VM (other sessions' tests running). "
        "Each run's first advice applied to its settings, trained again with the same seed; the task's main "
        "metric on the validation images at the kept epoch, before → after. Goal ≥ 70 %.",
        "",
        "| case | verdict | first advice | changes | before | after | outcome |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        changes = ", ".join(f"{k} = {v}" for k, v in r["changes"].items()) or "–"
        lines.append(f"| {r['case']} | {r['verdict']} | {r['advice'][:90]} | {changes} | {_num(r['before'])} | "
                     f"{_num(r['after'])} | {r['outcome']} |")
    lines += ["", f"**{improved} of {len(tested)} testable verdicts improved ({share:.0%}); goal ≥ {GOAL:.0%}.** "
              f"{len(rows) - len(tested)} advice(s) without a settings change were not testable.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
