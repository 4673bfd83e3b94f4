"""``digits tune``: hyperparameter search with Optuna, on one machine or many."""

from __future__ import annotations

HELP = ("Tune a model's hyperparameters on the validation split with Optuna (TPE + pruning); "
        "--storage postgresql://... lets many processes on many machines share one study.")

MODELS = ["cnn", "logreg", "knn", "forest", "svm", "best"]


def add_arguments(p) -> None:
    p.add_argument("--model", default="cnn", choices=MODELS, help="model family to tune")
    p.add_argument("--trials", type=int, default=20, help="trials this process runs (each worker of a shared study runs this many)")
    p.add_argument("--timeout", type=float, default=None, help="stop starting trials after this many seconds")
    p.add_argument("--storage", default=None,
                   help="Optuna storage URL shared by all workers, e.g. postgresql://user:pass@host/db (default: sqlite:///OUT/study.db)")
    p.add_argument("--study", default=None, help="study name; workers with the same name and storage join it (default: the model name)")
    p.add_argument("--out", default="runs/tune", help="folder for the default SQLite study and, under OUT/STUDY/, best_config.json, best.json and PNG plots")
    p.add_argument("--recipe", default="fast", help="CNN recipe the search starts from (architecture, optimizer, batch size)")
    p.add_argument("--epochs", type=int, default=3, help="CNN epochs per trial (fixed, not tuned)")
    p.add_argument("--data", default="mnist", help="training data: mnist, or folder:PATH with PATH/0/*.png ... PATH/9/*.png")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then the user cache)")
    p.add_argument("--val-size", type=int, default=5000, help="training images held out for validation (trials are scored on them)")
    p.add_argument("--limit", type=int, default=None, help="tune on the first N training images only (quick runs)")
    p.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"], help="how poor trials are stopped early")
    p.add_argument("--heartbeat", type=int, default=60,
                   help="seconds between a worker's heartbeats; a trial silent for 2 beats (its worker died) is marked failed")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler and of each trial's training")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where a CNN trains")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-trial log lines")
    p.add_argument("--json", action="store_true", help="print the study summary (best trial, params, trial counts) as JSON")


def run(args) -> int:
    from handwritten_digits.training.tune import tune_from_args

    return tune_from_args(args)
