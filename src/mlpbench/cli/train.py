"""``mlpbench train``: train one engine on one data set, report test metrics, save parameters.

Resuming: ``--epochs`` is the total length of the run, which the cosine schedule
spans. ``--stop-after N`` trains N epochs of it and saves. ``--resume CHECKPOINT``
restores parameters, momentum buffers, epoch counter and batch-order generator, then
trains on to the stored total. A given ``--epochs`` replaces that total, which also
lengthens the schedule. So ``--epochs 4`` equals ``--epochs 4 --stop-after 2`` followed by
``--resume``, to the last bit in float64.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
from pathlib import Path
from typing import Any

from mlpbench.bench.contention import contention, contention_warnings, cpu_sample
from mlpbench.checkpoint import EXPECTED_FILE, SUFFIXES, Checkpoint, read_checkpoint, save_checkpoint
from mlpbench.cli.loading import (
    check_data_fits,
    check_same_training_data,
    dataset_metadata,
    engine_from_checkpoint,
    recorded,
    restore_into,
    training_data_digest,
    training_data_warnings,
)
from mlpbench.cli.options import (
    add_data_arguments,
    add_training_arguments,
    model_settings,
    positive_int,
    validate_training_arguments,
)
from mlpbench.cli.outputs import (
    HISTORY_KIND,
    MODEL_KIND,
    REPLACED_NOTE,
    check_output_path,
    non_empty_file,
    replacement_note,
    write_history,
)
from mlpbench.cli.progress import progress_bar
from mlpbench.cli.resume import changed_flags, resumed_dataset, resumed_engine, resumed_settings
from mlpbench.data import Dataset
from mlpbench.engines.base import MLPEstimator
from mlpbench.engines.registry import ENGINES, LOADING_ENGINES, create_engine
from mlpbench.errors import (
    InvalidArgumentError,
    MLPBenchError,
    ModelNotLearnedError,
    OutputError,
    TrainingDivergedError,
)
from mlpbench.threads import oversubscription_warning
from mlpbench.training.chance import learning_warning, smaller_lr_hint

logger = logging.getLogger("mlpbench")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one engine and report test loss and accuracy",
        description="Train the MLP with one engine and report test loss and accuracy.",
    )
    parser.add_argument(
        "--engine",
        choices=list(ENGINES),
        default="numpy",
        help="engine to train with (default: %(default)s; with --resume, the checkpoint's engine)",
    )
    add_data_arguments(parser)
    add_training_arguments(parser)
    group = parser.add_argument_group("saving and resuming")
    group.add_argument(
        "--save",
        metavar="PATH",
        help="write the trained parameters to a .npz or .pt file; a failed or diverged run leaves "
        "an existing file unchanged (unless a --checkpoint-every checkpoint has replaced it), a run "
        "whose model learned nothing keeps a file whose model learned, came from other data or "
        "from Python, or cannot be read, and a finished run otherwise replaces it and says so",
    )
    group.add_argument(
        "--checkpoint-every",
        type=positive_int,
        metavar="N",
        help="also write --save after every N-th epoch, so a later divergence or interruption "
        "keeps the last good epoch (an epoch whose model learned nothing does not replace one "
        "that learned); the first checkpoint replaces an existing --save file, and says so; the "
        "checkpoint does not store N, so give --checkpoint-every again with --resume",
    )
    group.add_argument(
        "--history",
        metavar="FILE.csv",
        help="write one CSV row per epoch: learning rate, train loss, test loss and accuracy, seconds",
    )
    group.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue training a checkpoint written by --save, to its total epochs or to "
        "--epochs; the result goes to --save, by default CHECKPOINT itself",
    )
    group.add_argument(
        "--stop-after",
        type=positive_int,
        metavar="N",
        help="train only N epochs in this run, then save; the schedule still spans --epochs, "
        "so --resume continues it exactly",
    )
    parser.set_defaults(handler=run, resolve_config=_resolve_resumed_config)


def _resolve_resumed_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """For ``--print-config`` with ``--resume``: put the settings the run would use into ``args``."""
    if not args.resume:
        return
    _, settings, args.engine, args.dataset = _run_plan(args, parser)
    for dest, value in settings.items():
        setattr(args, dest, value)


def _check_resume_suffix(resume: str | None) -> None:
    """Raise InvalidArgumentError naming --resume when its file cannot be a checkpoint."""
    if resume and Path(resume).suffix.lower() not in SUFFIXES:
        raise InvalidArgumentError(f"--resume {resume} is not a checkpoint: {EXPECTED_FILE}")


def _run_plan(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> tuple[Checkpoint | None, dict[str, Any], str, str]:
    """Return the checkpoint to resume (or None), the estimator settings, the engine and the data set."""
    if not args.resume:
        return None, model_settings(args), args.engine, args.dataset
    _check_resume_suffix(args.resume)
    checkpoint = read_checkpoint(args.resume)
    return (
        checkpoint,
        resumed_settings(args, checkpoint, parser),
        resumed_engine(args, checkpoint),
        resumed_dataset(args, checkpoint),
    )


CONTENTION_MIN_SECONDS = 0.5
"""Shortest training, in seconds, whose waiting for a CPU train reports."""


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    validate_training_arguments(args, parser)
    thread_warning = (
        oversubscription_warning(args.threads, measures_peak=False) if args.threads is not None else None
    )
    if thread_warning is not None:
        logger.warning(thread_warning)
    save_path = args.save or args.resume
    _check_output_flags(args, parser, save_path)

    model, data, dataset, digest = _build_model(args, parser, digest=save_path is not None)
    metadata = dataset_metadata(data, dataset, digest)
    trainer = _Trainer(model, data, save_path, metadata, args.checkpoint_every)
    resumed_in_place = bool(args.resume) and Path(save_path).resolve() == Path(args.resume).resolve()
    if resumed_in_place:
        trainer.saved_epoch = model.epoch_
    before = cpu_sample()
    _train(trainer, args)
    # The training time printed below is only as good as the CPUs the run got. In a
    # run shorter than CONTENTION_MIN_SECONDS a few scheduler ticks make a large share.
    waited = contention(before, cpu_sample())
    if waited is not None and waited["seconds"] >= CONTENTION_MIN_SECONDS:
        for message in contention_warnings(waited, measures_peak=False):
            logger.warning(message)

    # The history is written before anything is printed, so that a reader that closes the
    # pipe early (as in `| head`) cannot stop it. A history that fails is reported after
    # the results, which would be lost with it otherwise.
    history_error = None
    history_kept = trainer.withheld is not None and _keeps_history(args.history, trainer)
    history_replaced = replacement_note(args.history)
    if args.history and not history_kept:
        try:
            write_history(args.history, model.history_)
        except OutputError as error:
            history_error = error
    last = model.history_[-1]
    print(
        f"{model.engine_name}: test loss {last['test_loss']:.4f}, "
        f"test accuracy {last['test_accuracy']:.2%} ({_training_summary(model, trainer.first_epoch)})"
    )
    if trainer.withheld is not None:
        if history_error is not None:
            logger.error("%s", history_error)
        history_clause = f"; {args.history} keeps the earlier history too" if history_kept else ""
        raise ModelNotLearnedError(
            f"{trainer.withheld}. {trainer.kept_note()}, which a model that learned nothing does "
            f"not replace{history_clause}; to keep this one anyway, --save it under a new name"
        )
    warning = trainer.learning_problem()
    if warning is not None:
        logger.warning(warning)
    if model.epoch_ < model.epochs:
        logger.info(
            "stopped after epoch %d of %d; continue with: %s",
            model.epoch_,
            model.epochs,
            _resume_command(trainer, args),
        )
    elif args.stop_after and args.stop_after > model.epoch_ - trainer.first_epoch:
        logger.info(
            "--stop-after %d is more than the %d epoch(s) left, so training ran to the end of "
            "the %d-epoch schedule",
            args.stop_after,
            model.epoch_ - trainer.first_epoch,
            model.epochs,
        )
    if save_path:
        # Saving replaces a file of that name, as torch.save does. A replaced file other
        # than the resumed checkpoint is named, so that a lost model does not go unnoticed.
        note = ""
        if trainer.existed_before and not resumed_in_place:
            note = REPLACED_NOTE
        print(f"saved parameters to {save_path}{note}")
    if history_error is not None:
        raise history_error
    if args.history:
        logger.info("wrote the per-epoch history to %s%s", args.history, history_replaced)
    return 0


def _build_model(
    args: argparse.Namespace, parser: argparse.ArgumentParser, *, digest: bool
) -> tuple[MLPEstimator, Dataset, str, str | None]:
    """Load the data and build the model: fresh, or restored from ``--resume``.

    Returns the model, the data, the ``--dataset`` value the data came from, and the
    digest of the training split when ``digest`` is True (a resumed run needs it anyway).
    """
    from mlpbench.data import load_dataset

    checkpoint, settings, engine, dataset = _run_plan(args, parser)
    data = load_dataset(dataset, dtype=settings["dtype"], data_dir=args.data_dir, progress=not args.quiet)
    logger.info(
        "data: %s (%d train, %d test rows, %d features)",
        data.source,
        len(data.y_train),
        len(data.y_test),
        data.x_train.shape[1],
    )
    for message in training_data_warnings(data, settings["batch_size"]):
        logger.warning(message)
    if checkpoint is None:
        model = create_engine(engine, device=args.device, **settings)
        return model, data, dataset, training_data_digest(data) if digest else None

    # The settings come from the checkpoint unless a flag replaced them.
    model = engine_from_checkpoint(engine, checkpoint, args.resume, device=args.device, **settings)

    check_data_fits(checkpoint, data, args.resume)
    train_sha256 = training_data_digest(data)
    check_same_training_data(checkpoint, train_sha256, data.name, args.resume, len(data.y_train))
    order_restored = restore_into(model, checkpoint, args.resume)
    args.changed_on_resume = changed_flags(checkpoint, settings, engine, dataset)
    model.warm_start = True
    logger.info("resuming %s at epoch %d of %d", args.resume, model.epoch_, model.epochs)
    if not order_restored:
        logger.warning(
            "%s has no mini-batch order that the %s engine can continue, so this resumed run "
            "draws a fresh order from the seed and will not repeat an uninterrupted run exactly",
            args.resume,
            engine,
        )
    return model, data, dataset, train_sha256


def _train(trainer: _Trainer, args: argparse.Namespace) -> None:
    """Train and save. On divergence, write the history so far and raise an error naming what was kept."""
    model = trainer.model
    try:
        trainer.fit(args.stop_after)
        if trainer.save_path and trainer.saved_epoch != model.epoch_:
            trainer.save()
    except TrainingDivergedError as error:
        default_lr = type(model)().lr
        hint = smaller_lr_hint(model.lr, default_lr)
        # The history keeps the epochs before the divergence, which show how the loss grew.
        note = trainer.saved_note() + _history_note(args.history, trainer)
        if trainer.saved_epoch is not None or args.resume:
            # A checkpoint of the epochs before the divergence exists, so they need not be trained again.
            checkpoint_path = trainer.save_path if trainer.saved_epoch is not None else args.resume
            lower = min(model.lr / 10, default_lr)
            command = _resume_command(trainer, args, lower)
            note += f"; to continue from {checkpoint_path} at a smaller rate: {command}"
        raise TrainingDivergedError(error.problem, f"try a smaller --lr ({hint}); {note}") from error
    except KeyboardInterrupt:
        note = trainer.saved_note()
        # A resumed run starts from its saved checkpoint, so only the epochs after the
        # last save are lost, whether that save was the checkpoint it read or a new one.
        lost = model.epoch_ - (trainer.first_epoch if trainer.saved_epoch is None else trainer.saved_epoch)
        if lost > 0:
            finished = "in this run" if trainer.saved_epoch is None else "after it"
            note += f", so the {lost} epoch(s) finished {finished} are lost"
            if trainer.checkpoint_every == 1 and trainer.withheld is None:
                # Every epoch is saved already, so the interrupt came while one was being saved.
                note += f" (the interrupt came while epoch {model.epoch_} was being saved)"
            elif trainer.checkpoint_every != 1 and model.engine_name in LOADING_ENGINES:
                flags = "--checkpoint-every 1" if trainer.save_path else "--save PATH --checkpoint-every 1"
                note += f"; {flags} keeps every finished epoch of an interrupted run"
        note += _history_note(args.history, trainer)
        if trainer.saved_epoch is not None or args.resume:
            note += f"; continue with: {_resume_command(trainer, args)}"
        logger.warning("interrupted during epoch %d: %s", model.epoch_ + 1, note)
        raise


def _keeps_history(history: str | None, trainer: _Trainer) -> bool:
    """Tell whether a run that failed or stopped leaves the file at ``history`` as it was.

    An earlier history describes the model saved with it, so it is replaced only when
    this run saved a model of its own. Nothing writes the history before the run ends,
    so a file there now was there before the run.
    """
    wrote_model = trainer.saved_epoch is not None and trainer.saved_epoch > trainer.first_epoch
    return bool(history) and non_empty_file(history) and not wrote_model


def _history_note(history: str | None, trainer: _Trainer) -> str:
    """Write the epochs trained so far to ``history`` and return a clause saying so.

    A resumed run lists the checkpoint's epochs too. A file that was there before is
    left as it was when this run saved no model (see ``_keeps_history``).
    """
    model = trainer.model
    if not history or not model.history_:
        return ""
    if _keeps_history(history, trainer):
        if model.epoch_ <= trainer.first_epoch:
            return ""
        return (
            f"; {history} was left as it was, because this run saved no model to match it, so "
            "its epochs are listed nowhere (a new --history name keeps them)"
        )
    try:
        write_history(history, model.history_)
    except OutputError as error:
        return f"; {error}"
    return f"; {history} lists the {len(model.history_)} epoch(s) trained so far"


def _training_summary(model: MLPEstimator, first_epoch: int) -> str:
    """Describe the epochs and training time, separating this run's from a resumed checkpoint's."""
    seconds = sum(record["time_s"] for record in model.history_)
    epochs_done = "1 epoch" if model.epoch_ == 1 else f"{model.epoch_} epochs"
    if first_epoch == 0:
        return f"{epochs_done}, {seconds:.2f} s training"
    # By epoch number, since a checkpoint may hold fewer history records than epochs.
    recent = sum(record["time_s"] for record in model.history_ if record["epoch"] > first_epoch)
    return (
        f"{epochs_done}, {seconds:.2f} s training in all; this run trained "
        f"{model.epoch_ - first_epoch} of them in {recent:.2f} s"
    )


def _resume_command(trainer: _Trainer, args: argparse.Namespace, lr: float | None = None) -> str:
    """Return the command that continues a run from its last saved file, with ``--lr lr`` if given.

    Checkpoints do not store --checkpoint-every, --history and --data-dir, so the
    command repeats them. When that file is still the one this resumed run read, it
    records the earlier settings, so the command also repeats those this run changed.
    """
    path = trainer.save_path if trainer.saved_epoch is not None else args.resume
    command = f"mlpbench train --resume {shlex.quote(str(path))}"
    if args.resume and trainer.saved_epoch in (None, trainer.first_epoch):
        changed = getattr(args, "changed_on_resume", [])
        command += "".join(f" {flag}" for flag in changed if lr is None or not flag.startswith("--lr "))
        if trainer.saved_epoch is None and trainer.save_path:
            command += f" --save {shlex.quote(str(trainer.save_path))}"
    if lr is not None:
        command += f" --lr {lr:g}"
    if trainer.checkpoint_every is not None:
        command += f" --checkpoint-every {trainer.checkpoint_every}"
    if args.history:
        command += f" --history {shlex.quote(str(args.history))}"
    if args.data_dir:
        command += f" --data-dir {shlex.quote(str(args.data_dir))}"
    return command


def _check_output_flags(
    args: argparse.Namespace, parser: argparse.ArgumentParser, save_path: str | None
) -> None:
    """Reject output flags that cannot work, before any data is loaded."""
    for flag, value in (("--save", args.save), ("--resume", args.resume)):
        if value is not None and not value.strip():
            parser.error(f"{flag} needs a file name ending in .npz or .pt, got an empty one")
    if args.save and Path(args.save).is_dir():
        example = Path(args.save) / "model.npz"
        parser.error(f"--save {args.save}: it is a folder; give a .npz or .pt file name, such as {example}")
    if args.save and Path(args.save).suffix.lower() not in SUFFIXES:
        parser.error(f"--save {args.save}: the file name must end in .npz or .pt")
    if args.resume and args.engine == "sklearn" and "engine" in getattr(args, "explicit_options", ()):
        parser.error(
            f"the sklearn engine cannot load {args.resume}, because it builds its state only by "
            "training; use --engine numpy or torch"
        )
    if args.save and args.engine == "sklearn":
        parser.error(
            f"--save {args.save}: the sklearn engine does not write parameter files; "
            "use --engine numpy or torch to save"
        )
    if args.checkpoint_every and not save_path:
        parser.error("--checkpoint-every needs --save PATH (or --resume, which saves to its checkpoint)")
    if args.stop_after and not save_path:
        parser.error("--stop-after needs --save PATH, or the epochs trained are lost")
    _check_resume_suffix(args.resume)
    # The kinds keep a data file, an image or the resumed checkpoint from being replaced.
    # Without --save, the file is the resumed one, which reading it checks.
    if args.save:
        check_output_path(save_path, "--save", kind=MODEL_KIND)
    else:
        check_output_path(save_path, "--resume")
    check_output_path(args.history, "--history", kind=HISTORY_KIND)
    if args.history and save_path and os.path.realpath(args.history) == os.path.realpath(save_path):
        parser.error(f"--history {args.history} and --save {save_path} name the same file; give each its own")


class _Trainer:
    """Runs ``fit``, adds test metrics to each epoch's history, and writes checkpoints."""

    def __init__(
        self,
        model: MLPEstimator,
        data: Dataset,
        save_path: str | None,
        metadata: dict[str, Any],
        checkpoint_every: int | None,
    ) -> None:
        self.model = model
        self.data = data
        self.save_path = save_path
        self.metadata = metadata
        self.checkpoint_every = checkpoint_every
        # The epoch stored in the file at save_path, or None when this run did not write or read it.
        self.saved_epoch: int | None = None
        # An empty file contains nothing to lose, so it counts as absent.
        self.existed_before = save_path is not None and non_empty_file(save_path)
        self.first_epoch = model.epoch_
        # Whether the file at save_path contains a model that learned, which a model that
        # learned nothing must not replace: an earlier file whose own history shows that
        # it learned, or one of this run's checkpoints that had learned.
        self.protected = self.existed_before and self._file_learned()
        # Why the last save was skipped, or None when the last save was written.
        self.withheld: str | None = None
        # Whether a save of this run replaced a file that was there before it, and the
        # epoch that fit() trains to, past which a save is no longer a checkpoint.
        self.replaced_earlier = False
        self.stop_epoch = model.epochs

    def fit(self, stop_after: int | None) -> None:
        model = self.model
        stop = model.epochs if stop_after is None else min(model.epochs, model.epoch_ + stop_after)
        self.stop_epoch = stop
        engine = model.engine_name
        with progress_bar(stop - model.epoch_, f"training {engine}") as advance:

            def on_epoch(record: dict[str, Any]) -> None:
                self._record_test_metrics()
                advance(f"loss {record['train_loss']:.4f}, test accuracy {record['test_accuracy']:.2%}")
                logger.debug(
                    "epoch %d: lr %g, train loss %.4f, test loss %.4f, test accuracy %.2f%%, %.3f s",
                    record["epoch"],
                    record["lr"],
                    record["train_loss"],
                    record["test_loss"],
                    100 * record["test_accuracy"],
                    record["time_s"],
                )
                if self.checkpoint_every and model.epoch_ % self.checkpoint_every == 0:
                    self.save()

            model.fit(
                self.data.x_train,
                self.data.y_train,
                n_classes=self.data.n_classes,
                n_epochs=stop_after,
                callback=on_epoch,
            )

    def _record_test_metrics(self) -> None:
        # The epoch's record is the last history entry; the test pass runs outside its clock.
        metrics = self.model.evaluate(self.data.x_test, self.data.y_test)
        self.model.history_[-1].update(test_loss=metrics["loss"], test_accuracy=metrics["accuracy"])

    def save(self) -> None:
        """Write the checkpoint atomically (``fit`` has already rejected non-finite parameters).

        A model that has learned nothing does not replace a file holding one that learned
        (see ``protected``): the save is skipped, and ``withheld`` gives the reason.
        """
        assert self.save_path is not None
        problem = self.learning_problem()
        if problem is not None and self.protected:
            self.withheld = problem
            logger.debug("kept %s at epoch %d: the model learned nothing", self.save_path, self.model.epoch_)
            return
        save_checkpoint(self.model, self.save_path, dataset=self.metadata)
        # No save of this run (or the checkpoint it resumed in place) was there yet, so
        # this one replaced a file the user had.
        first_replacement = self.existed_before and self.saved_epoch is None
        self.withheld = None
        self.protected = problem is None
        self.saved_epoch = self.model.epoch_
        logger.debug("saved epoch %d to %s", self.model.epoch_, self.save_path)
        if first_replacement:
            self.replaced_earlier = True
            if self.model.epoch_ < self.stop_epoch:
                # A finished run reports the replacement when it ends. A checkpoint reports it
                # now, because an interruption or divergence will not bring the earlier file back.
                logger.warning(
                    "the checkpoint of epoch %d replaced the earlier file %s",
                    self.model.epoch_,
                    self.save_path,
                )

    def _file_learned(self) -> bool:
        """Tell whether the model in the file at ``save_path`` had learned, by its own history.

        Its history is judged against this run's data. So a file trained on other data
        (another training-data digest, or none recorded) counts as learned. So does one
        whose history is unreadable or lacks its metrics, because in doubt it is kept.
        """
        assert self.save_path is not None
        try:
            checkpoint = read_checkpoint(self.save_path)
        except (OSError, ValueError, MLPBenchError):
            return True
        digest = recorded(checkpoint, "train_sha256")
        if digest is None or digest != self.metadata.get("train_sha256"):
            return True
        last = checkpoint.history[-1] if checkpoint.history else {}
        if "train_loss" not in last or "test_accuracy" not in last:
            return True
        return self._record_problem(last) is None

    def learning_problem(self) -> str | None:
        """Return the warning for a model that has learned nothing so far, or None."""
        return self._record_problem(self.model.history_[-1])

    def _record_problem(self, record: dict[str, Any]) -> str | None:
        """Return the warning when the epoch of ``record`` shows that nothing was learned, else None."""
        data, lr, default_lr = self.data, self.model.lr, type(self.model)().lr
        loss, accuracy = record["train_loss"], record["test_accuracy"]
        return learning_warning(loss, data.y_train, accuracy, data.y_test, lr, default_lr)

    def kept_note(self) -> str:
        """Describe what the save path still contains after a save was withheld."""
        path, epoch = self.save_path, self.saved_epoch
        if epoch is not None and epoch > self.first_epoch:
            return f"{path} keeps epoch {epoch}, the last checkpoint whose model had learned"
        if epoch is not None:
            return f"{path} was not changed: it holds the checkpoint this run resumed (epoch {epoch})"
        return f"{path} was not changed: it holds an earlier model"

    def saved_note(self) -> str:
        """Describe the state of the save path after a failure, for the error message."""
        if self.save_path is None:
            return "nothing was saved"
        skipped = ""
        if self.withheld is not None:
            skipped = " (a checkpoint was skipped, because the model had learned nothing)"
        if self.saved_epoch is not None:
            replaced = " (the first checkpoint replaced the earlier file)" if self.replaced_earlier else ""
            epoch = self.saved_epoch
            return f"{self.save_path} holds the last good checkpoint (epoch {epoch}){replaced}{skipped}"
        if self.existed_before:
            return f"{self.save_path} was not changed{skipped}"
        return f"{self.save_path} was not written"
