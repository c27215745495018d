"""`petrilab train`: one experiment from settings to a complete run folder.

Steps, each leaving its file in the run folder: settings.toml → dataset
check → split.csv (with a fingerprint of every input file) → training
(events.jsonl, history.csv, model.keras, last.keras) → diagnosis.json →
evaluation.json → report.html. Any user-fixable problem ends as an
`error` event with a plain message, then `finished` with status failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from petrilab import events as ev
from petrilab import runs
from petrilab import settings as settings_io
from petrilab.data.preprocess import Preprocessing
from petrilab.data.split import Split, data_fingerprint, load_split, make_split, save_split
from petrilab.errors import UserError
from petrilab.liveness import engine_identity
from petrilab.output_folders import disk_problem, refuse_inside_data, writable_folder
from petrilab.recipes import Recipe, get_recipe
from petrilab.run_lock import hold_folder
from petrilab.settings import Settings
from petrilab.settings_warnings import settings_warnings
from petrilab.training.resume import refuse_unless_resumable


@dataclass
class Prepared:
    """Everything training needs, decided before the first epoch."""

    split: Split
    prep: Preprocessing
    fingerprint: str


def _checked(recipe: Recipe, settings: Settings, folder, run_dir: Path, check_file: str | None, warnings: list):
    """Discover and check one dataset folder; errors stop the run, warnings are kept, unreadable files dropped."""
    dataset = recipe.discover(settings, folder)
    report = recipe.check(dataset)
    if check_file:
        runs.atomic_write_json(run_dir / check_file, report.to_dict())
    errors = [f for f in report.findings if f.level == "error"]
    if errors:
        raise UserError(errors[0].message, file=errors[0].file, fix=errors[0].fix)
    warnings += [f for f in report.findings if f.level == "warning"]
    return dataset.excluding(report.unreadable), report


def _split_from_file(path: Path, samples: list) -> Split:
    """The saved split applied to freshly discovered samples (which carry their labels and targets)."""
    saved, _ = load_split(path)
    subset_of = {str(s.path): subset for s, subset in saved.assignments}
    return Split([(s, subset_of[str(s.path)]) for s in samples if str(s.path) in subset_of])


def _prepare_data(recipe: Recipe, settings: Settings, run_dir: Path, resume: bool, warnings: list) -> Prepared:
    dataset, report = _checked(recipe, settings, settings.data.folder, run_dir, runs.DATASET_CHECK, warnings)
    test = None
    if settings.data.test_folder:
        test, _ = _checked(recipe, settings, settings.data.test_folder, run_dir, None, warnings)
    if resume and (run_dir / runs.SPLIT).exists():
        split = _split_from_file(run_dir / runs.SPLIT, dataset.samples + (test.samples if test else []))
    else:
        split = make_split(dataset, settings.split, test_dataset=test)
        save_split(split, run_dir / runs.SPLIT, dataset.classes)
    decided_before = len(report.findings)
    recipe.decide_from_data(settings, dataset, report)  # may add warnings, e.g. a patch larger than an image
    warnings += [f for f in report.findings[decided_before:] if f.level == "warning"]
    recipe.decide_from_training(settings, split.subset("train"))
    prep = Preprocessing.from_settings(settings.data, settings.data.channels)
    return Prepared(split, prep, data_fingerprint(split))


def _fit_arguments(data: dict) -> dict:
    if data["y"] is None:
        return {"x": data["x"]}
    return {"x": data["x"], "y": data["y"], "batch_size": data["batch_size"]}


def _validation_argument(data: dict):
    return data["x"] if data["y"] is None else (data["x"], data["y"])


def train(settings: Settings, runs_dir: str | Path | None = None, run_dir: str | Path | None = None,
          resume: str | Path | None = None, echo: bool = True) -> Path:
    """Run one experiment and return its run folder."""
    # a new run starts from what the user asked: values a run learnt (a run's settings.toml used as the
    # experiment: classes, patch size, a tuned threshold) are learnt again, never taken for the user's choice
    settings = settings.copy() if resume else settings_io.users_choices(settings)
    settings_io.validate(settings)
    recipe = get_recipe(settings.task.kind)
    if not settings.data.folder:
        raise UserError("The settings do not say where the images are ('data.folder' is empty).",
                        fix="Set data.folder, or create the settings with 'petrilab init --data FOLDER'.")

    if resume:
        run_dir = Path(resume)
        if not (run_dir / runs.SETTINGS).exists():
            raise UserError(f"{run_dir} is not a PetriLab run folder.", file=run_dir,
                            fix="Give the folder of the run to continue (it contains settings.toml and last.keras).")
    elif run_dir:
        run_dir = Path(run_dir)
        refuse_inside_data(run_dir, _data_folders(settings), "run folder")
        writable_folder(run_dir, "run folder")
        runs.refuse_foreign_folder(run_dir)  # a non-empty folder that is not a run
    else:
        runs_dir = Path(runs_dir or Path.cwd() / "runs")
        refuse_inside_data(runs_dir, _data_folders(settings))
        run_dir = runs.new_run_dir(writable_folder(runs_dir), settings.name)

    # one process writes a run folder: a second one (two resumes at once) is refused, naming the first
    with hold_folder(run_dir, what="training"):
        if resume:
            refuse_unless_resumable(run_dir, settings.training.epochs)  # before anything is written
        elif (run_dir / runs.EVENTS).exists():
            raise UserError(f"The run folder {run_dir} already holds a run.", file=run_dir,
                            fix="Choose a new folder, or continue that run with --resume.")
        return _train_with_events(recipe, settings, run_dir, bool(resume), echo)


def _train_with_events(recipe: Recipe, settings: Settings, run_dir: Path, resume: bool, echo: bool) -> Path:
    """Train, and end the events with `finished` whatever happens (failed, stopped, completed)."""
    writer = ev.EventWriter(run_dir / runs.EVENTS, echo=echo)
    started = time.monotonic()
    began = writer.path.stat().st_size if writer.path.exists() else 0
    try:
        return _train(recipe, settings, run_dir, resume, writer, started)
    except UserError as exc:
        if resume and _nothing_emitted(writer, began):
            raise  # a resume refused before it started (e.g. the data moved): the run stays as it was
        writer.emit(ev.ERROR, **exc.to_dict())
        # failed, or stopped for the data that went away mid-training (training/data_lost.py): resumable
        writer.emit(ev.FINISHED, status=getattr(exc, "status", "failed"), seconds=round(time.monotonic() - started, 2))
        raise
    except BaseException as exc:
        problem = disk_problem(exc, run_dir)
        if problem is not None:  # a full or read-only disk: what was saved before is intact
            _emit_if_possible(writer, ev.ERROR, **problem.to_dict())
            _emit_if_possible(writer, ev.FINISHED, status="failed", seconds=round(time.monotonic() - started, 2))
            raise problem from None
        if isinstance(exc, KeyboardInterrupt):
            writer.emit(ev.FINISHED, status="stopped", seconds=round(time.monotonic() - started, 2))
        else:
            writer.emit(ev.ERROR, message=f"Training stopped because of an unexpected problem: {exc}",
                        file=None, fix="Run again with --debug and report the details to the PetriLab developers.")
            writer.emit(ev.FINISHED, status="failed", seconds=round(time.monotonic() - started, 2))
        raise


def _nothing_emitted(writer: ev.EventWriter, size_before: int) -> bool:
    try:
        return writer.path.stat().st_size == size_before
    except OSError:
        return size_before == 0


def _data_folders(settings: Settings) -> list[str]:
    return [f for f in (settings.data.folder, settings.data.test_folder) if f]


def _emit_if_possible(writer: ev.EventWriter, kind: str, **fields) -> None:
    try:
        writer.emit(kind, **fields)
    except OSError:  # the disk is full: the message still reaches the terminal and the GUI's log
        pass


def _save_settings(settings: Settings, asked: Settings, run_dir: Path) -> None:
    """The run's settings.toml: the values the user asked, and under [learnt] those this run filled in."""
    settings_io.note_learnt(settings, asked)
    settings_io.save(settings, run_dir / runs.SETTINGS)


def _train(recipe: Recipe, settings: Settings, run_dir: Path, resume: bool, writer: ev.EventWriter, started: float) -> Path:
    import keras

    from petrilab.models import build_model, compile_model
    from petrilab.training import device as device_setup
    from petrilab.training import distribute
    from petrilab.training import memory
    from petrilab.training.callbacks import RunRecorder
    from petrilab.training.data_lost import data_lost
    from petrilab.training.resume import checkpoint_epoch
    from petrilab.training.stop import StopRequest

    keras.config.disable_interactive_logging()
    asked = settings_io.users_choices(settings)  # what the run's settings.toml keeps apart from what it learns
    # PETRILAB_LOGICAL_CPUS (testing aid) must split the CPU before anything starts TensorFlow;
    # configure() below reports it, or why it could not
    device_setup.split_cpu(keras.backend.backend(), [])
    data_warnings: list = []
    start, start_fields = None, {}
    if settings.model.start_from and not resume:  # model.start_from: checked before the data, said at once
        from petrilab.models.start_from import adopt_network, locate

        start = locate(settings.model.start_from)
        data_warnings += adopt_network(settings, start)
    prepared = _prepare_data(recipe, settings, run_dir, resume, data_warnings)
    _save_settings(settings, asked, run_dir)
    if not resume:  # an annotation folder as data: which images were labelled or corrected, and when
        from petrilab.annotation import corrections

        corrections.write(run_dir, settings.data.folder, settings.model.start_from or None)
    head = recipe.head(settings)

    device = device_setup.configure(settings.training.device, settings.training.mixed_precision)
    # several devices: the model lives in the strategy's scope and batches hold per-device batch × devices
    train_samples = prepared.split.subset("train")
    validation_samples = prepared.split.subset("validation")
    counts = {"training": len(train_samples), "validation": len(validation_samples)}
    distribution = distribute.choose(device, settings.training.devices).plan(settings.training.batch_size, counts)
    device.warnings += distribution.warnings
    keras.utils.set_random_seed(settings.training.seed)

    def inputs(subset: str) -> dict:  # one subset's batches, of a size every device can share
        samples = train_samples if subset == "training" else validation_samples
        return recipe.inputs(samples, prepared.prep, distribution.batch_settings(settings, subset),
                             training=subset == "training")

    history: list[dict] = []
    initial_epoch = 0
    decided: list[dict] = []  # the "auto" settings chosen before training (auto_choices.py)
    fit_options, reported_options = recipe.fit_options(train_samples, settings)
    if resume:
        train_data = inputs("training")
        last = run_dir / runs.LAST_MODEL
        if not last.exists():
            raise UserError("This run has no last.keras to continue from.", file=last,
                            fix="Start a new training instead of resuming.")
        with distribution.scope():
            model = keras.saving.load_model(last)
        if (run_dir / runs.HISTORY).exists():
            history = runs.read_history(run_dir / runs.HISTORY)
        # last.keras may be older than the history (checkpoints are rationed):
        # continue from the checkpoint's epoch and drop the epochs it lacks.
        initial_epoch = checkpoint_epoch(run_dir, model, train_data["steps"])
        history = [h for h in history if h["epoch"] < initial_epoch]
        _compile_for_resume(model, settings)
    else:
        with distribution.scope():
            if start is not None:  # the trained model's body, and its head when it answers the same question
                from petrilab.models.start_from import build_from

                model, start_fields = build_from(start, settings, (*prepared.prep.image_size,
                                                                   prepared.prep.channels), head)
            else:
                model = build_model(settings, (*prepared.prep.image_size, prepared.prep.channels), head)
            compile_model(model, settings, head)
        from petrilab.models.describe import model_warnings
        from petrilab.training.auto_choices import choose

        device.warnings += model_warnings(model, settings)

        def recompile() -> None:  # a fresh optimiser at the chosen rate, after a test touched the weights
            with distribution.scope():
                compile_model(model, settings, head)

        decided = choose(model, recipe, settings, train_samples, validation_samples, prepared.prep, fit_options,
                         recompile)
        if decided:
            _save_settings(settings, asked, run_dir)
        train_data = inputs("training")

    validation_data = inputs("validation")

    stop = StopRequest(run_dir)
    stop.clear()
    stop.install_signal_handlers()
    callbacks_epochs = settings.training.epochs
    recorder = RunRecorder(run_dir, writer, stop, callbacks_epochs, train_data["steps"], history, settings)
    callbacks = [recorder, *recipe.callbacks(settings)]
    if settings.training.early_stopping:
        # min_delta: a validation loss that creeps down by less than this is not progress worth waiting for
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.training.patience,
                                                       min_delta=recipe.min_improvement(settings)))

    writer.emit(
        ev.STARTED, run_dir=str(run_dir), device=device.name, backend=device.backend,
        mixed_precision=device.mixed_precision, parameters=int(model.count_params()),
        trainable_parameters=int(sum(keras.ops.size(w) for w in model.trainable_weights)),
        main_metric=head.main_metric, epochs=settings.training.epochs, initial_epoch=initial_epoch,
        learning_rate=settings.training.learning_rate, early_stopping=settings.training.early_stopping,
        patience=settings.training.patience, geometric=settings.augmentation.geometric,
        steps_per_epoch=train_data["steps"], n_train=len(train_samples),
        n_validation=len(validation_samples), n_test=len(prepared.split.subset("test")),
        classes=settings.data.classes, data_fingerprint=prepared.fingerprint, in_memory=train_data["in_memory"],
        task=settings.task.kind, distribution=distribution.report(settings.training.batch_size),
        **engine_identity(), **reported_options, **start_fields,
    )
    for choice in decided:
        writer.emit(ev.DECIDED, **choice)
    for finding in data_warnings:
        writer.emit(ev.WARNING, message=finding.message, file=finding.file, fix=finding.fix)
    for message in device.warnings:
        writer.emit(ev.WARNING, message=message, file=None, fix=None)
    for message, fix in settings_warnings(settings):  # allowed, but almost surely a slip (learning rate > 1)
        writer.emit(ev.WARNING, message=message, file=None, fix=fix)
    _warn_if_batch_too_large(model, (*prepared.prep.image_size, prepared.prep.channels), settings, device, writer)

    data = {"train": train_data, "validation": validation_data}

    def fit(first_epoch: int) -> None:
        model.fit(**_fit_arguments(data["train"]), validation_data=_validation_argument(data["validation"]),
                  validation_batch_size=data["validation"]["batch_size"],
                  epochs=settings.training.epochs, initial_epoch=first_epoch, callbacks=callbacks,
                  shuffle=True, verbose=0, **fit_options)

    def use_batch_size(batch_size: int) -> None:  # after running out of memory
        settings.training.batch_size = batch_size
        _save_settings(settings, asked, run_dir)
        distribution.replan(batch_size, counts)
        data["train"], data["validation"] = inputs("training"), inputs("validation")
        recorder.steps = data["train"]["steps"]

    def epochs_done() -> int:
        return max(initial_epoch, recorder.history[-1]["epoch"] + 1 if recorder.history else 0)

    def warn(message: str, fix: str) -> None:
        writer.emit(ev.WARNING, message=message, file=None, fix=fix)

    lost = None
    trains = initial_epoch < settings.training.epochs  # else a run killed after its last epoch only finishes
    try:
        if trains:
            memory.fit_with_smaller_batches(fit, settings.training.batch_size, use_batch_size, warn, epochs_done)
    except BaseException as exc:
        # an image that could not be read mid-training (TensorFlow wraps our message): a plain, resumable stop
        lost = data_lost(exc, run_dir, _data_folders(settings), epochs_done())
        if lost is None:
            raise
    finally:
        stop.restore_signal_handlers()
    if lost is not None:
        # raised out here, so nothing keeps TensorFlow's failed reader alive: collected now, not while
        # Python exits (where destroying it can hang the process for good)
        import gc

        gc.collect()
        raise lost
    if recorder.diverged is not None:  # NaN or infinity: an error, never "completed" (training/nonfinite.py)
        _end_diverged(settings, run_dir, writer, recorder)
    if trains:
        recorder.save_checkpoints()
    if not (run_dir / runs.BEST_MODEL).exists():
        # No finite validation loss (diverged): keep the last model so the run can still be inspected.
        writer.emit(ev.WARNING, message="The validation loss was never a finite number; model.keras is the last epoch.",
                    file=None, fix="Lower the learning rate (e.g. divide it by 10) and train again.")
        from petrilab.training.callbacks import save_model_atomic

        save_model_atomic(model, run_dir / runs.BEST_MODEL)
    status = "stopped" if recorder.stopped else "completed"
    if recorder.stopped:
        stop.clear()

    recorder.validation_samples = validation_samples
    if distribution.strategy is not None or recorder.best_weights is None:
        # what follows predicts a few images at a time, which the devices cannot always share:
        # on one device, from model.keras, as `petrilab evaluate` will. Also when no epoch of this session
        # beat the best (a resume): model.keras then holds an earlier epoch, not the model in memory.
        model = keras.saving.load_model(run_dir / runs.BEST_MODEL)
    return _finish(recipe, settings, run_dir, writer, model, recorder, status, started)


def _warn_if_batch_too_large(model, input_shape, settings: Settings, device, writer: ev.EventWriter) -> None:
    """A warning when the estimate says the batch clearly will not fit (training still tries: estimates err)."""
    from petrilab.training import memory

    # segmentation trains on patches (z-stacks: on blocks of planes), the model's size for everything else
    patch = settings.data.stack_patch_size if settings.data.dimensions == "3d" else settings.data.patch_size
    shape = tuple(patch) + (input_shape[-1],) if patch else input_shape
    est = memory.estimate(model, shape, device.kind, device.backend)
    batch = settings.training.batch_size
    if est is not None and est.clearly_too_large(batch):
        writer.emit(ev.WARNING, message=memory.too_large_message(batch, est), file=None,
                    fix=memory.too_large_fix(est, batch))


def _end_diverged(settings: Settings, run_dir: Path, writer: ev.EventWriter, recorder) -> None:
    """The loss or the weights stopped being numbers: keep the best finite model, give the verdict, raise the
    plain message (train() turns it into an `error` event and a failed run)."""
    import json

    from petrilab.training.diagnosis import diagnose
    from petrilab.training.nonfinite import diverged_error

    recorder.save_best()
    verdict = diagnose(recorder.history, final=True, settings=settings)
    runs.atomic_write_json(run_dir / runs.DIAGNOSIS, verdict.to_dict())
    writer.emit(ev.DIAGNOSIS, **verdict.to_dict())
    try:
        checked = json.loads((run_dir / runs.DATASET_CHECK).read_text(encoding="utf-8"))
        images = [Path(p).name for p in checked.get("nonfinite", {})]
    except (OSError, ValueError, AttributeError):
        images = []
    epoch, what = recorder.diverged
    raise diverged_error(what, epoch, settings, recorder.best_epoch, images)


def _compile_for_resume(model, settings: Settings) -> None:
    """A resumed model keeps its optimiser state; only the learning rate may have been changed."""
    try:
        model.optimizer.learning_rate.assign(settings.training.learning_rate)
    except AttributeError:
        pass


def _finish(recipe, settings, run_dir, writer, model, recorder, status, started) -> Path:
    from petrilab.evaluation.evaluate_run import evaluate_run
    from petrilab.export.report import write_report
    from petrilab.prediction.trained_model import TrainedModel
    from petrilab.training.diagnosis import diagnose

    history = recorder.history
    if history:
        stopped_early = (settings.training.early_stopping and status == "completed"
                         and len(history) < settings.training.epochs)
        verdict = diagnose(history, final=True, settings=settings, n_validation=len(recorder.validation_samples),
                           stopped_early=stopped_early)
        runs.atomic_write_json(run_dir / runs.DIAGNOSIS, verdict.to_dict())
        writer.emit(ev.DIAGNOSIS, **verdict.to_dict())

    if recorder.best_weights is not None:
        model.set_weights(recorder.best_weights)  # evaluate what model.keras holds (early stopping's restore)
    trained = TrainedModel(run_dir, model=model)
    asked = settings_io.users_choices(trained.settings)  # the run's settings.toml as written: what the user asked
    tuned = recipe.after_training(trained, recorder.validation_samples)
    if tuned:
        _save_settings(trained.settings, asked, run_dir)
        writer.emit(ev.TUNED, **tuned)
    if any(subset == "test" for _, subset in load_split(run_dir / runs.SPLIT)[0].assignments):
        result = evaluate_run(run_dir, trained=trained)
        writer.emit(ev.EVALUATION, metrics=result["metrics"], warnings=result["warnings"])
    try:
        write_report(run_dir)
    except Exception as exc:  # the training is done and saved: a report that fails must not fail it
        writer.emit(ev.WARNING, message=f"The training finished, but its report could not be written "
                                        f"({exc.__class__.__name__}: {exc}).", file=str(run_dir / runs.REPORT),
                    fix=f"Write it again with: petrilab report {run_dir}")
    writer.emit(ev.FINISHED, status=status, epochs_done=len(history), best_epoch=recorder.best_epoch,
                best_val_loss=recorder.best_val_loss, seconds=round(time.monotonic() - started, 2))
    return run_dir
