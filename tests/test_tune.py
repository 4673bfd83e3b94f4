"""`digits tune` on a SQLite study: tiny budgets, real training, real Optuna storage."""

from __future__ import annotations

import json

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
torch = pytest.importorskip("torch")

from handwritten_digits.cli import main  # noqa: E402
from handwritten_digits.errors import DigitsError  # noqa: E402
from handwritten_digits.training import studies, tune  # noqa: E402

torch.set_num_threads(1)


def _tune(tmp_path, data_dir, *extra) -> int:
    return main(["tune", "--out", str(tmp_path / "tune"), "--data-dir", str(data_dir), "--quiet", "--threads", "1", *extra])


def _study(tmp_path, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'tune' / 'study.db'}")


def test_classic_study_writes_loadable_config_plots_and_resumes(tmp_path, data_dir, capsys):
    from handwritten_digits.data import load_dataset
    from handwritten_digits.training.classic import fit_classic

    assert _tune(tmp_path, data_dir, "--model", "svm", "--trials", "3", "--limit", "600", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    out = tmp_path / "tune" / "svm"
    assert summary["trials"] == {"complete": 3}
    assert 0.5 < summary["val_accuracy"] <= 1.0  # an RBF SVM on 600 digits is far above chance
    for plot in ("history", "importances", "parallel_coordinates"):
        assert (out / f"{plot}.png").read_bytes()[:4] == b"\x89PNG"
    params = json.loads((out / "best_config.json").read_text())
    assert set(params) == {"pca__n_components", "clf__C", "clf__gamma"}
    assert params == summary["params"]
    # the file is what fit_classic (and so `digits train --config`) takes
    x, y = load_dataset("val", data_dir)
    pipeline = fit_classic("svm", x[:300], y[:300], **params)
    assert pipeline.get_params()["clf__C"] == params["clf__C"]
    assert pipeline.get_params()["pca__n_components"] == params["pca__n_components"]

    study = _study(tmp_path, "svm")
    assert all(t.user_attrs["worker"] for t in study.trials)
    assert [sorted(t.intermediate_values) for t in study.trials] == [[0, 1]] * 3  # a quarter, then all
    first_params = [t.params for t in study.trials]

    # resume: the same command adds trials to the same study, and does not redraw the first points
    assert _tune(tmp_path, data_dir, "--model", "svm", "--trials", "2", "--limit", "600", "--no-plots") == 0
    study = _study(tmp_path, "svm")
    assert len(study.trials) == 5
    assert [t.params for t in study.trials[:3]] == first_params
    assert all(t.params not in first_params for t in study.trials[3:])
    assert sum(json.loads((out / "best.json").read_text())["trials"].values()) == 5  # complete or pruned


def test_cnn_study_reports_every_epoch_and_writes_a_train_config(tmp_path, data_dir):
    from handwritten_digits.training.config import TrainConfig, load_config

    assert _tune(tmp_path, data_dir, "--model", "cnn", "--trials", "2", "--epochs", "2", "--limit", "400",
                 "--study", "small-cnn", "--no-plots") == 0
    study = _study(tmp_path, "small-cnn")
    assert len(study.trials) == 2
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert sorted(trial.intermediate_values) == [1, 2]  # validation accuracy after each epoch
        assert trial.value == max(trial.intermediate_values.values())
    path = tmp_path / "tune" / "small-cnn" / "best_config.json"
    saved = json.loads(path.read_text())
    assert set(saved) == {f.name for f in __import__("dataclasses").fields(TrainConfig)}
    config = load_config("fast", path)
    assert config.epochs == 2 and config.lr == study.best_params["lr"]
    assert config.augment == study.best_params["augment"]
    width = study.best_params["width"]
    assert config.arch_overrides["stages"] == [[round(32 * width)], [round(64 * width)]]
    assert config.arch_overrides["stem"] == max(8, round(16 * width))


def test_interrupt_keeps_finished_trials_and_writes_best(tmp_path, data_dir, monkeypatch):
    real = tune.classic_objective

    def interrupting(*args, **kwargs):
        objective = real(*args, **kwargs)

        def wrapped(trial):
            if trial.number == 1:
                raise KeyboardInterrupt  # what Ctrl-C raises inside a trial
            return objective(trial)

        return wrapped

    monkeypatch.setattr(tune, "classic_objective", interrupting)
    assert _tune(tmp_path, data_dir, "--model", "logreg", "--trials", "4", "--limit", "300", "--no-plots") == 130
    states = [t.state.name for t in _study(tmp_path, "logreg").trials]
    assert states == ["COMPLETE", "FAIL"]
    best = json.loads((tmp_path / "tune" / "logreg" / "best.json").read_text())
    assert best["best_trial"] == 0 and best["trials"] == {"complete": 1, "fail": 1}
    assert not studies.importances_possible(_study(tmp_path, "logreg"))  # one completed trial: nothing to rank
    assert set(json.loads((tmp_path / "tune" / "logreg" / "best_config.json").read_text())) == {"clf__C"}


def test_median_pruner_stops_a_poor_trial():
    study = optuna.create_study(direction="maximize", pruner=studies.make_pruner("median"),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    for value in (0.9, 0.91, 0.92):
        study.enqueue_trial({"x": value})
    study.enqueue_trial({"x": 0.1})

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(3):
            trial.report(x, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x

    study.optimize(objective, n_trials=4)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3 + ["PRUNED"]


def test_user_errors_are_one_line(tmp_path, data_dir, capsys):
    assert _tune(tmp_path, data_dir, "--model", "svm", "--study", "bad name!") == 2
    assert "--study" in capsys.readouterr().err
    assert _tune(tmp_path, data_dir, "--model", "svm", "--storage", "postgresql://u:secret@127.0.0.1:1/none") == 2
    err = capsys.readouterr().err
    assert err.startswith("digits: error: cannot open study storage") and "secret" not in err
    assert len(err.strip().splitlines()) == 1
    assert _tune(tmp_path, data_dir, "--model", "knn", "--trials", "0") == 2


def test_a_study_belongs_to_one_model(tmp_path, data_dir, capsys):
    assert _tune(tmp_path, data_dir, "--model", "logreg", "--trials", "1", "--limit", "300", "--study", "s", "--no-plots") == 0
    assert _tune(tmp_path, data_dir, "--model", "knn", "--trials", "1", "--limit", "300", "--study", "s") == 2
    assert "tunes logreg, not knn" in capsys.readouterr().err


def test_helpers():
    assert studies.redact("postgresql://digits:s3cret@db.example:5432/tune") == "postgresql://digits:***@db.example:5432/tune"
    assert studies.redact("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert studies.sampler_seed(0, 0, shared=False) == 0 and studies.sampler_seed(0, 5, shared=False) == 5
    # shared studies: the seed depends on the worker, so two workers never draw the same sequence
    assert studies.sampler_seed(0, 0, shared=True) != 0
    with pytest.raises(DigitsError):
        studies.make_pruner("sometimes")
    trial = optuna.trial.FixedTrial({"pca__n_components": 40, "clf__C": 2.0, "clf__gamma": 0.02})
    assert tune.suggest_classic(trial, "best") == {"pca__n_components": 40, "clf__C": 2.0, "clf__gamma": 0.02}
    assert np.isfinite(list(tune.suggest_classic(trial, "svm").values())).all()


def test_tuning_data_is_the_training_split_never_the_test_set(data_dir):
    from handwritten_digits.data import load_dataset

    (x, y), (xv, yv) = tune.load_tuning_data("mnist", data_dir, 5000, limit=1000)
    train_x, train_y = load_dataset("train", data_dir)
    val_x, val_y = load_dataset("val", data_dir)
    assert x.shape == (1000, 1, 28, 28) and len(yv) == 256
    assert np.array_equal(x.squeeze(1).numpy(), train_x[:1000]) and np.array_equal(y.numpy(), train_y[:1000])
    assert np.array_equal(xv.squeeze(1).numpy(), val_x[:256]) and np.array_equal(yv.numpy(), val_y[:256])


def _completed(db) -> int:
    """Completed trials in a SQLite study, read directly (cheap enough to poll)."""
    import sqlite3

    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


@pytest.mark.slow
def test_ctrl_c_in_a_real_process_keeps_the_study(tmp_path, data_dir):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "tune"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DIGITS_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "handwritten_digits", "tune", "--model", "logreg", "--trials", "500",
                             "--limit", "400", "--out", str(out), "--quiet", "--no-plots"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a shell's background job starts with SIGINT ignored, and children inherit that
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240  # generous: a busy machine starts Python slowly
        while _completed(out / "study.db") < 2:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "no trial finished in 240 s"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted: finished trials are kept" in err
    # no traceback of ours; Python may note a Ctrl-C that landed in a garbage-collection callback
    assert err.count("Traceback") == err.count("Exception ignored in")
    trials = _study(tmp_path, "logreg").trials
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 2 and len(trials) < 500
    assert "RUNNING" not in {t.state.name for t in trials}  # the interrupted trial was closed as FAIL
    best = json.loads((out / "logreg" / "best.json").read_text())
    assert set(json.loads((out / "logreg" / "best_config.json").read_text())) == {"clf__C"}
    assert best["trials"]["complete"] >= 2
