"""Hyperparameter search with Optuna: TPE sampling, pruning on validation accuracy, shared studies.

A study lives in an Optuna storage: by default a SQLite file under ``--out`` (no set-up, one
machine), or a PostgreSQL URL that any number of ``digits tune`` processes on any number of machines
join at once. Every trial is scored on the validation split, never the test set. The CNN reports its
validation accuracy after each epoch, classic models after fitting a quarter of the data and then all
of it, so the pruner stops poor trials early. The best trial becomes a JSON file that
``digits train --config FILE`` accepts, beside Optuna's plots.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import optuna

from handwritten_digits.errors import DigitsError
from handwritten_digits.training.studies import (default_storage, load_or_create_study, open_storage, redact, trial_counts,
                                                 worker_id, write_results)

CLASSIC = ["logreg", "knn", "forest", "svm", "best"]
MODELS = ["cnn"] + CLASSIC
WIDTHS = [0.5, 0.75, 1.0, 1.5, 2.0]  # CNN width multipliers tried on the recipe's architecture


# ---------------------------------------------------------------- search spaces


def suggest_classic(trial: optuna.Trial, model: str) -> dict:
    """Pipeline params (``step__param``) for a classic model, as ``fit_classic(**params)`` takes them."""
    if model == "logreg":
        return {"clf__C": trial.suggest_float("clf__C", 1e-3, 10.0, log=True)}
    if model == "knn":
        return {"pca__n_components": trial.suggest_int("pca__n_components", 16, 96, step=8),
                "clf__n_neighbors": trial.suggest_int("clf__n_neighbors", 1, 10),
                "clf__weights": trial.suggest_categorical("clf__weights", ["uniform", "distance"])}
    if model == "forest":
        return {"clf__n_estimators": trial.suggest_int("clf__n_estimators", 50, 400, step=50),
                "clf__max_features": trial.suggest_categorical("clf__max_features", ["sqrt", "log2"]),
                "clf__min_samples_leaf": trial.suggest_int("clf__min_samples_leaf", 1, 4)}
    if model in ("svm", "best"):
        return {"pca__n_components": trial.suggest_int("pca__n_components", 20, 100, step=5),
                "clf__C": trial.suggest_float("clf__C", 0.5, 50.0, log=True),
                "clf__gamma": trial.suggest_float("clf__gamma", 3e-3, 0.1, log=True)}
    raise DigitsError(f"unknown model '{model}' (choose from {', '.join(MODELS)})")


def suggest_cnn(trial: optuna.Trial, base) -> object:
    """A :class:`~handwritten_digits.training.config.TrainConfig` from ``base`` with the tuned keys drawn.

    Tuned: learning rate and weight decay (ranges per optimizer), label smoothing, augmentation
    strength, dropout and a width multiplier on the base architecture's stages. Epochs, batch size,
    optimizer and the rest stay as in ``base``.
    """
    from handwritten_digits.models.cnn import ARCHITECTURES

    if base.optimizer == "sgd":
        lr = trial.suggest_float("lr", 0.01, 0.4, log=True)
        weight_decay = trial.suggest_float("weight_decay", 1e-5, 5e-3, log=True)
    else:  # AdamW's decoupled decay is scaled by the learning rate: larger values
        lr = trial.suggest_float("lr", 1e-3, 3e-2, log=True)
        weight_decay = trial.suggest_float("weight_decay", 1e-5, 1e-1, log=True)
    arch = {**ARCHITECTURES[base.arch], **base.arch_overrides}
    width = trial.suggest_categorical("width", WIDTHS)
    overrides = dict(base.arch_overrides)
    overrides["stages"] = [[max(4, round(w * width)) for w in stage] for stage in arch["stages"]]
    for key in ("head", "stem"):
        if arch.get(key):
            overrides[key] = max(8, round(arch[key] * width))
    overrides["dropout"] = trial.suggest_float("dropout", 0.0, 0.5)
    return dataclasses.replace(
        base, lr=lr, weight_decay=weight_decay, arch_overrides=overrides,
        label_smoothing=trial.suggest_float("label_smoothing", 0.0, 0.2),
        augment=trial.suggest_float("augment", 0.0, 1.5),
    )


# ---------------------------------------------------------------- objectives


def classic_objective(model: str, train: tuple, val: tuple, seed: int = 0, steps: tuple = (0.25, 1.0),
                      stop: "StopFlag | None" = None) -> Callable:
    """Objective for a classic pipeline: fit on growing fractions of ``train``, report each val accuracy.

    ``train``/``val`` are (images (N, 28, 28) float32 in [0, 1], int64 labels).
    """
    from handwritten_digits.training.classic import fit_classic

    (x, y), (xv, yv) = train, val
    xv_flat = xv.reshape(len(xv), 784)

    def objective(trial: optuna.Trial) -> float:
        params = suggest_classic(trial, model)
        trial.set_user_attr("worker", worker_id())
        accuracy = float("nan")
        for step, fraction in enumerate(steps):
            n = len(y) if fraction >= 1 else max(100, int(len(y) * fraction))
            began = time.perf_counter()
            pipeline = fit_classic(model, x[:n], y[:n], seed=seed, **params)
            accuracy = float((pipeline.predict(xv_flat) == yv).mean())
            trial.set_user_attr(f"seconds_{step}", round(time.perf_counter() - began, 2))
            trial.report(accuracy, step)
            if stop is not None and fraction < 1:
                stop.check()
            if fraction < 1 and trial.should_prune():
                raise optuna.TrialPruned()
        return accuracy

    return objective


def cnn_objective(base, train: tuple, val: tuple, device, max_steps: int | None = None,
                  stop: "StopFlag | None" = None) -> Callable:
    """Objective for the CNN: train ``base.epochs`` epochs, report the validation accuracy after each.

    ``train``/``val`` are (images (N, 1, 28, 28) float tensors, int64 label tensors), as
    :func:`handwritten_digits.training.loop.load_training_data` returns them. The trial's value is
    its best epoch's validation accuracy (the epoch ``digits train`` would export).
    """
    import torch
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    from handwritten_digits.models.cnn import build_model, count_parameters
    from handwritten_digits.training.loop import evaluate, make_optimizer, train_one_epoch

    def objective(trial: optuna.Trial) -> float:
        config = suggest_cnn(trial, base)
        trial.set_user_attr("worker", worker_id())
        trial.set_user_attr("config", dataclasses.asdict(config))
        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed + 1)
        model = build_model(name=config.arch, **config.arch_overrides).to(device, memory_format=torch.channels_last)
        trial.set_user_attr("parameters", count_parameters(model))
        steps = max(1, len(train[0]) // config.batch_size)
        steps = min(steps, max_steps) if max_steps else steps
        optimizer, scheduler = make_optimizer(model, config, steps * config.epochs)
        ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
               if config.ema_decay else None)
        best = 0.0
        for epoch in range(1, config.epochs + 1):
            train_one_epoch(model, *train, optimizer, scheduler, config, device, ema, generator, max_steps,
                            desc=f"trial {trial.number} epoch {epoch}/{config.epochs}")
            accuracy, _ = evaluate(ema.module if ema is not None else model, *val, device)
            if not math.isfinite(accuracy):
                raise optuna.TrialPruned()
            best = max(best, accuracy)
            trial.report(accuracy, epoch)
            if stop is not None and epoch < config.epochs:
                stop.check()
            if epoch < config.epochs and trial.should_prune():
                raise optuna.TrialPruned()
        return best

    return objective


# ---------------------------------------------------------------- the command


class StopFlag:
    """Ctrl-C during a study: finish cleanly.

    The first Ctrl-C only sets a flag: the objective ends its trial as pruned at the next step and a
    study callback stops the study, so finished trials are kept and nothing prints a traceback (a
    KeyboardInterrupt inside a trial makes Optuna log one, and Python drops exceptions raised in
    SQLAlchemy's garbage-collection callbacks). A second Ctrl-C raises KeyboardInterrupt at once.
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        import signal
        import threading

        # only where Ctrl-C would interrupt anyway (not ignored, as in a background job)
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handler(self, signum, frame):
        if self.requested:  # a second Ctrl-C: abort the running trial now
            raise KeyboardInterrupt
        self.requested = True
        print("stopping after this step (Ctrl-C again to abort the running trial)", file=sys.stderr, flush=True)

    def check(self) -> None:
        """Between steps of a trial: end it as pruned (quietly, no traceback) once Ctrl-C was pressed."""
        if self.requested:
            raise optuna.TrialPruned("interrupted")

    def callback(self, study: optuna.Study, trial) -> None:
        if self.requested:
            study.stop()


def load_tuning_data(data: str, data_dir, val_size: int, limit: int | None):
    """(train, val) tensors (N, 1, 28, 28) and labels, split exactly as ``digits train`` splits them.

    The MNIST test split is not even loaded: nothing here may look at it.
    """
    import torch

    from handwritten_digits.training.loop import load_training_data

    if data != "mnist":  # folder:PATH, with digits train's own split
        args = SimpleNamespace(data=data, data_dir=data_dir, dry_run=False, limit=limit, coarse_digits=0, coarse_from="mnist", pages=0,
                               writers_weight=1)
        train, val, _, _ = load_training_data(args, SimpleNamespace(val_size=val_size))
        return train, val
    from handwritten_digits.data import load_mnist, train_val_split

    images, labels = load_mnist("train", data_dir)
    tr, va = train_val_split(labels, val_size, seed=0)  # load_dataset's split
    if limit:  # the same subsets as ``digits train --limit``
        tr, va = tr[:limit], va[: max(256, limit // 10)]

    def tensors(index):
        x = torch.from_numpy(images[index].astype(np.float32) / 255.0).unsqueeze(1)
        return x, torch.from_numpy(labels[index].astype(np.int64))

    return tensors(tr), tensors(va)


def tune_from_args(args) -> int:
    """``digits tune``: run (or join) a study, then write the best config and plots."""
    import torch

    from handwritten_digits.training.config import load_config
    from handwritten_digits.training.loop import pick_device

    if args.trials is not None and args.trials < 1:
        raise DigitsError("--trials must be at least 1")
    if args.limit is not None and args.limit < 200:
        raise DigitsError("--limit must be at least 200 images")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    out_root = Path(args.out)
    storage_url = args.storage or default_storage(out_root)
    name = args.study or args.model
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise DigitsError(f"--study '{name}': use letters, digits, '.', '_' and '-' only")
    out = out_root / name
    optuna.logging.set_verbosity(optuna.logging.WARNING if args.quiet else optuna.logging.INFO)

    storage = open_storage(storage_url, heartbeat=args.heartbeat)
    study = load_or_create_study(storage, name, args.seed, args.pruner, shared=args.storage is not None)
    known = trial_counts(study)
    log(f"study '{name}' in {redact(storage_url)}: {sum(known.values())} trials so far {known or ''}; "
        f"worker {worker_id()} adds {args.trials} (timeout {args.timeout or 'none'})")
    if study.user_attrs.get("model", args.model) != args.model:
        raise DigitsError(f"study '{name}' tunes {study.user_attrs['model']}, not {args.model}: pick another --study")
    study.set_user_attr("model", args.model)

    base = load_config(args.recipe, None, epochs=args.epochs, seed=args.seed, val_size=args.val_size)
    stop = StopFlag()
    train, val = load_tuning_data(args.data, args.data_dir, base.val_size, args.limit)
    if args.model == "cnn":
        device = pick_device(args.device)
        torch.set_num_threads(args.threads or max(1, os.cpu_count() or 1))
        objective = cnn_objective(base, train, val, device, stop=stop)
    else:
        if args.threads:
            torch.set_num_threads(args.threads)
        as_numpy = lambda pair: (pair[0].squeeze(1).numpy(), pair[1].numpy())  # noqa: E731
        objective = classic_objective(args.model, as_numpy(train), as_numpy(val), seed=args.seed, stop=stop)

    interrupted = False
    try:
        with stop:
            study.optimize(objective, n_trials=args.trials, timeout=args.timeout, gc_after_trial=False,
                           show_progress_bar=not args.quiet, catch=(MemoryError,), callbacks=[stop.callback])
        interrupted = stop.requested  # a Ctrl-C whose exception was swallowed: stopped after the trial
    except KeyboardInterrupt:  # Optuna has marked the running trial FAIL; finished trials are kept
        interrupted = True
    if interrupted:
        log("interrupted: finished trials are kept in the study; run the same command again to continue")
    summary = write_results(study, args.model, out, storage_url, plots=not args.no_plots, log=log)
    if "best_trial" in summary:
        log(f"best trial {summary['best_trial']}: val accuracy {summary['val_accuracy']:.4%} {summary['params']}")
        log(f"wrote {summary['config']}; train it with: {summary['train_command']}")
    if args.json:
        print(json.dumps(summary, indent=2))
    return 130 if interrupted else 0
