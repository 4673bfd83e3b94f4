"""Optuna studies for ``digits tune``: where they live (a SQLite file, or PostgreSQL shared by many workers),
their pruner and each worker's sampler seed; and what a study leaves behind: the best configuration as a
``digits train --config`` file, a summary and Optuna's plots."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import optuna

from handwritten_digits.errors import DigitsError
from handwritten_digits.fileio import atomic_write_json, atomic_write_png


# ---------------------------------------------------------------- studies and storage


def worker_id() -> str:
    """``host:pid``: which process ran a trial (stored in the trial's user attrs)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def default_storage(out: str | Path) -> str:
    """The SQLite file ``OUT/study.db`` as an Optuna storage URL."""
    path = Path(out).resolve() / "study.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def redact(url: str) -> str:
    """A storage URL without its password, for logs and files."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_storage(url: str, heartbeat: int | None = 60) -> optuna.storages.RDBStorage:
    """An RDB storage; with ``heartbeat`` set, trials of killed workers are marked FAIL after 2 beats."""
    kwargs: dict = {}
    url = _with_driver(url)
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}  # several local workers: wait for the lock
    elif url.startswith("postgresql"):
        kwargs["engine_kwargs"] = {"pool_pre_ping": True}
    if heartbeat:
        kwargs.update(heartbeat_interval=heartbeat, grace_period=2 * heartbeat)
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(6):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats
                return optuna.storages.RDBStorage(url, **kwargs)
        except (IntegrityError, ProgrammingError) as exc:
            # workers started together on an empty database race to create Optuna's tables: the
            # loser sees "already exists" and finds them all there on the next try
            if attempt == 5:
                raise DigitsError(f"cannot open study storage {redact(url)}: {str(exc).splitlines()[0]}") from None
            time.sleep(0.5 + attempt)
        except Exception as exc:  # sqlalchemy/psycopg2 errors: bad URL, server down, wrong password
            raise DigitsError(f"cannot open study storage {redact(url)}: {str(exc).splitlines()[0]}") from None


def _with_driver(url: str) -> str:
    """``postgresql://`` through psycopg2 (the pinned driver): SQLAlchemy 2.1 would pick psycopg 3."""
    if url.startswith(("postgresql://", "postgres://")):
        import importlib.util

        if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
            return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def make_pruner(name: str) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise DigitsError(f"unknown pruner '{name}' (median, hyperband or none)")


def sampler_seed(seed: int, existing_trials: int, shared: bool) -> int:
    """The TPE seed of this worker.

    Offset by the trials already in the study, so a resumed study does not redraw its first random
    points; in a shared study each worker also mixes in its host and pid, so that workers started
    together do not sample identical trials.
    """
    value = seed + existing_trials
    if shared:
        value = zlib.crc32(f"{value}:{worker_id()}".encode())
    return value % 2**31


def load_or_create_study(storage, name: str, seed: int, pruner: str = "median", shared: bool = False) -> optuna.Study:
    """Join study ``name`` (or create it), maximising validation accuracy."""
    try:
        existing = next((s.n_trials for s in optuna.get_all_study_summaries(storage) if s.study_name == name), 0)
        sampler = optuna.samplers.TPESampler(seed=sampler_seed(seed, existing, shared), n_startup_trials=5)
        return optuna.create_study(storage=storage, study_name=name, sampler=sampler, pruner=make_pruner(name=pruner),
                                   direction="maximize", load_if_exists=True)
    except ValueError as exc:  # e.g. an existing study with the other direction
        raise DigitsError(f"study '{name}': {exc}") from None


# ---------------------------------------------------------------- results


def trial_counts(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    return counts


def best_config(study: optuna.Study, model: str) -> dict:
    """What ``digits train --config`` reads for the best trial.

    CNN: every :class:`TrainConfig` key. Classic: the tuned pipeline params (``clf__C``, ...).
    """
    best = study.best_trial
    if model == "cnn":
        return dict(best.user_attrs["config"])
    return dict(best.params)


def write_results(study: optuna.Study, model: str, out: str | Path, storage_url: str, plots: bool = True,
                  log=print) -> dict:
    """Write ``best_config.json``, ``best.json`` (summary) and plots into ``out``; returns the summary."""
    out = Path(out)
    completed = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    summary = {"study": study.study_name, "model": model, "storage": redact(storage_url), "trials": trial_counts(study),
               "workers": sorted({t.user_attrs.get("worker", "?") for t in study.get_trials(deepcopy=False)})}
    if completed:
        best = study.best_trial
        config_path = atomic_write_json(out / "best_config.json", best_config(study, model))
        summary.update(
            best_trial=best.number, val_accuracy=best.value, params=best.params, config=str(config_path),
            train_command=f"digits train --model {model} --config {config_path}",
        )
    else:
        log("no completed trial yet: no best configuration written")
    summary["plots"] = write_plots(study, out, log) if plots and completed else {}
    atomic_write_json(out / "best.json", summary)
    return summary


def importances_possible(study: optuna.Study) -> bool:
    """Parameter importances need at least 2 completed trials whose params differ."""
    completed = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    return len({json.dumps(t.params, sort_keys=True, default=str) for t in completed}) >= 2


def write_plots(study: optuna.Study, out: Path, log=print) -> dict[str, str]:
    """Optuna's matplotlib plots as PNG; a plot that needs more trials than there are is skipped."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:  # keep a notebook's inline backend
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    plots = {
        "history": ovm.plot_optimization_history,
        "importances": ovm.plot_param_importances,
        "parallel_coordinates": ovm.plot_parallel_coordinate,
        "intermediate_values": ovm.plot_intermediate_values,
    }
    written = {}
    for name, plot in plots.items():
        if name == "importances" and not importances_possible(study):
            log("parameter importances need at least 2 completed trials with different params: skipped")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna flags its matplotlib backend as experimental
                ax = plot(study)
            fig = (ax.flat[0] if isinstance(ax, np.ndarray) else ax).figure
            fig.set_size_inches(8, 5)
            fig.tight_layout()
            written[name] = str(atomic_write_png(fig, out / f"{name}.png", dpi=110))
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            log(f"{name} plot skipped: {exc}")
        finally:
            plt.close("all")
    return written
