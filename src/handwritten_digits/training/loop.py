"""Train a CNN on MNIST or a folder of digits: ``train_one_epoch``, ``evaluate`` and ``fit`` in plain sight.

Images stay in one tensor; each step draws a batch by index and augments it as a whole. The best
epoch (by validation accuracy, never the test set) is exported to ONNX with a model card, beside
its weights for fine-tuning. Checkpoints are written every epoch; a run that fails or is
interrupted leaves any previous model in ``--out`` untouched.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import os
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from handwritten_digits.errors import DigitsError
from handwritten_digits.models.cnn import build_model, count_parameters
from handwritten_digits.training import ddp
from handwritten_digits.training.augment import augment
from handwritten_digits.training.checkpoint import load_checkpoint, save_checkpoint
from handwritten_digits.training.config import OPTIMIZERS, PRECISIONS, TrainConfig, check_choice, load_config
from handwritten_digits.training.mixture import CLASSES, fit_on_validation


def pick_device(name: str = "auto") -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise DigitsError("--device cuda: no CUDA device available")
    return torch.device("cuda" if name in ("auto", "cuda") and torch.cuda.is_available() else "cpu")


def make_optimizer(model: torch.nn.Module, config: TrainConfig, steps: int):
    """The optimizer and its one-cycle schedule (warm-up, then cosine decay) over ``steps``."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    check_choice("optimizer", config.optimizer, OPTIMIZERS)  # again: a config may be changed after it was built
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=0.9, nesterov=True)
    else:
        optimizer = torch.optim.AdamW(groups, lr=config.lr)
    # OneCycleLR divides by each phase's length in steps: keep both at least one step long on tiny runs
    total = max(4, steps)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=total, pct_start=min(max(config.warmup, 2 / total), 0.5),
        div_factor=20, final_div_factor=200,
    )
    return optimizer, scheduler


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to train in bfloat16 autocast: asked for, or ``auto`` on a CPU that computes it natively."""
    check_choice("precision", precision, PRECISIONS)
    if precision == "auto":  # emulated bf16 (no AVX512-BF16/AMX) is slower than fp32
        native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
        return device.type == "cpu" and bool(native())
    return precision == "bf16"


def train_one_epoch(model, images, labels, optimizer, scheduler, config: TrainConfig, device, ema=None,
                    generator=None, max_steps: int | None = None, desc: str = "train") -> float:
    """One pass over (this process's shard of) the training tensors; returns the mean loss.

    The forward pass runs in bfloat16 autocast when :func:`use_bf16` says so (weights, optimizer
    state and evaluation stay float32).
    """
    model.train()
    bf16 = use_bf16(config.precision, device)
    order = ddp.shard(torch.randperm(len(images), generator=generator))
    starts = range(0, len(order) - config.batch_size + 1 if len(order) >= config.batch_size else 1, config.batch_size)
    starts = list(starts)[:max_steps] if max_steps else list(starts)
    total, bar = 0.0, tqdm(starts, desc=desc, leave=False, disable=not ddp.is_main(), file=sys.stderr, mininterval=1.0)
    for start in bar:
        index = order[start : start + config.batch_size]
        x = augment(images[index], config.augment, generator).to(device, memory_format=torch.channels_last)
        y = labels[index].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x).float(), y, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if ema is not None:
            ema.update_parameters(model)
        total += loss.item()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return total / max(1, len(starts))


@torch.no_grad()
def predict_logits(model, images: torch.Tensor, device, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    out = [model(images[i : i + batch_size].to(device, memory_format=torch.channels_last)).float().cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out) if out else torch.empty(0, 10)


def evaluate(model, images: torch.Tensor, labels: torch.Tensor, device) -> tuple[float, torch.Tensor]:
    """Accuracy (fraction) and logits on a labelled set."""
    logits = predict_logits(model, images, device)
    return float((logits.argmax(1) == labels).float().mean()) if len(labels) else float("nan"), logits


def fit(config: TrainConfig, train_data, val_data, device, out: Path, resume: bool = False,
        init_state: dict | None = None, max_steps: int | None = None, log=print) -> dict:
    """Train, validating every epoch; returns the best epoch's weights and the history.

    ``train_data``/``val_data`` are (images (N, 1, 28, 28) float tensors, labels int64 tensors).
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed + 1000 * ddp.rank())
    arch = {"name": config.arch, **config.arch_overrides}
    model = build_model(**arch).to(device, memory_format=torch.channels_last)
    if init_state is not None:
        model.load_state_dict(init_state)
    steps_per_epoch = max(1, len(ddp.shard(torch.arange(len(train_data[0])))) // config.batch_size)
    if max_steps:
        steps_per_epoch = min(steps_per_epoch, max_steps)
    optimizer, scheduler = make_optimizer(model, config, steps_per_epoch * config.epochs)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True) if config.ema_decay else None
    net = ddp.wrap(model, device)
    history, start_epoch, best = [], 0, {"val_accuracy": -1.0}
    best_logits = None  # the best epoch's validation logits, for calibration (not checkpointed)
    checkpoint_path = out / "checkpoint.pt"
    if resume:
        state = load_checkpoint(checkpoint_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state["config"]["epochs"] == config.epochs:
            scheduler.load_state_dict(state["scheduler"])
        else:  # a longer (or shorter) run: the schedule is stretched over the new total, from where it was
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(state["epoch"] * steps_per_epoch):
                    scheduler.step()
        if ema is not None and state.get("ema"):
            ema.load_state_dict(state["ema"])
        generator.set_state(state["generator"])
        history, start_epoch, best = state["history"], state["epoch"], state["best"]
        log(f"resumed from {checkpoint_path} after epoch {start_epoch}")
    log(f"{config.arch}: {count_parameters(model):,} parameters, {len(train_data[0]):,} training images, "
        f"{len(val_data[0]):,} validation, {config.epochs} epochs on {device}"
        + (" (bf16 autocast)" if use_bf16(config.precision, device) else ""))
    epoch = start_epoch
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            began = time.perf_counter()
            loss = train_one_epoch(net, *train_data, optimizer, scheduler, config, device, ema, generator, max_steps,
                                   desc=f"epoch {epoch}/{config.epochs}")
            scored = ema.module if ema is not None else model
            accuracy, logits = evaluate(scored, *val_data, device)
            seconds = time.perf_counter() - began
            history.append({"epoch": epoch, "loss": round(loss, 5), "val_accuracy": accuracy, "seconds": round(seconds, 2)})
            log(f"epoch {epoch}: loss {loss:.4f}  val accuracy {accuracy:.4%}  ({seconds:.1f} s)")
            if accuracy >= best["val_accuracy"]:  # a tie goes to the later, further annealed epoch
                best = {"val_accuracy": accuracy, "epoch": epoch, "state": copy.deepcopy(scored.state_dict())}
                best_logits = logits
            if ddp.is_main():
                save_checkpoint(checkpoint_path, {
                    "architecture": arch, "config": dataclasses.asdict(config), "epoch": epoch, "history": history,
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "ema": ema.state_dict() if ema is not None else None, "generator": generator.get_state(), "best": best,
                })
    except KeyboardInterrupt:
        if ddp.is_main():
            log(f"interrupted: checkpoint of epoch {epoch - 1} kept in {checkpoint_path}; continue with --resume")
        raise
    ddp.sync_buffers(model)
    return {"model": model, "best": best, "history": history, "architecture": arch, "val_logits": best_logits}


def _tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1), torch.from_numpy(labels).long()


PHOTO_DIGITS = 20_000  # --data mnist+photos: training digits added as photo-like pipeline inputs ...
PHOTO_NUMBERS = 3_000  # ... and the digits cut out of this many photo-like numbers


def load_training_data(args, config: TrainConfig, read_page=None):
    """(train, val, test or None, data description) for ``--data``; ``read_page`` reads the ``--pages``."""
    from handwritten_digits.data import load_dataset, mnist_checksums, train_val_split

    if args.data in ("mnist", "mnist+photos", "mixed"):
        train = load_dataset("train", args.data_dir, config.val_size, seed=0)
        val = load_dataset("val", args.data_dir, config.val_size, seed=0)
        test = load_dataset("test", args.data_dir)
        info = {"dataset": args.data, "checksums": mnist_checksums(args.data_dir), "val_size": config.val_size}
    elif args.data.startswith("folder:"):
        from handwritten_digits.data.folder import load_folder

        images, labels = load_folder(args.data[len("folder:"):])
        val_size = min(config.val_size, len(labels) // 5)
        tr, va = train_val_split(labels, val_size, seed=0)
        train, val, test = (images[tr], labels[tr]), (images[va], labels[va]), None
        info = {"dataset": args.data, "images": len(labels), "val_size": val_size}
    else:
        raise DigitsError(f"unknown --data '{args.data}' (mnist, mnist+photos, mixed or folder:PATH)")
    if args.coarse_digits < 0 or (args.coarse_digits and args.data not in ("mnist+photos", "mixed")):
        raise DigitsError("--coarse-digits takes a count of 0 or more, and adds to --data mnist+photos or mixed "
                          f"(not '{args.data}')")
    if args.pages < 0 or (args.pages and (args.data not in ("mnist+photos", "mixed") or read_page is None)):
        raise DigitsError(f"--pages takes a count of 0 or more, and adds to --data mnist+photos or mixed (not '{args.data}')")
    if args.writers_weight < 1 or (args.writers_weight > 1 and args.data != "mixed"):
        raise DigitsError(f"--writers-weight takes 1 or more, and weighs the writers of --data mixed (not '{args.data}')")
    if args.coarse_from == "all" and args.data != "mixed":
        raise DigitsError(f"--coarse-from all draws from the training writers of --data mixed (not '{args.data}')")
    limit = 512 if args.dry_run else args.limit
    per_source = limit and max(64, limit // 8)  # images of each extra source of writers in a limited run
    if limit:
        train = (train[0][:limit], train[1][:limit])
        val = (val[0][: max(256, limit // 10)], val[1][: max(256, limit // 10)])
        test = (test[0][:1000], test[1][:1000]) if test is not None else None
        info["limit"] = limit
    if args.data in ("mnist+photos", "mixed"):  # add training digits as the reading pipeline sees them in photos
        from handwritten_digits.data.composites import number_piece_inputs, photo_inputs

        photos = photo_inputs(*train, min(PHOTO_DIGITS, len(train[1]) // 2), seed=config.seed)
        pieces = number_piece_inputs(*train, max(2, min(PHOTO_NUMBERS, len(train[1]) // 8)), seed=config.seed)
        parts = [train, photos, pieces]
        info["photo_digits"], info["number_pieces"] = len(photos[1]), len(pieces[1])
        if args.pages:  # digits as the reader cuts them out of whole pages
            from handwritten_digits.data.composites import page_piece_inputs

            parts.append(page_piece_inputs(*train, min(args.pages, 4) if limit else args.pages, read_page, seed=config.seed))
            info["page_pieces"], info["pages"] = len(parts[-1][1]), args.pages
        if args.coarse_digits:  # digits as coarse scans keep them (USPS, Semeion, optdigits' 8x8)
            from handwritten_digits.data.coarse import coarse_inputs
            from handwritten_digits.training.mixture import with_writers

            pool = with_writers(train, limit=per_source) if args.coarse_from == "all" else train
            parts.append(coarse_inputs(*pool, args.coarse_digits, seed=config.seed))
            info["coarse_digits"], info["coarse_from"] = len(parts[-1][1]), args.coarse_from
        train = (np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]))
    if args.data == "mixed":  # more writers, marks that are not digits and pieces of several digits
        from handwritten_digits.training.mixture import add_sources

        train, val, sources = add_sources(train, val, seed=config.seed, limit=per_source, weight=args.writers_weight)
        info.update(sources, writers_weight=args.writers_weight)
    return _tensors(*train), _tensors(*val), _tensors(*test) if test is not None else None, info


def init_weights(model_path: str, classes: int | None = None) -> tuple[dict, dict]:
    """Architecture and weights saved beside a model (``NAME.pt``), for fine-tuning with ``--init``.

    ``classes``: widen a 10-digit head to this many outputs (a "not a digit" class), keeping what it
    knows of the digits; the new outputs start at zero weight and a low bias (rarely chosen at first).
    """
    from handwritten_digits.modelcard import resolve

    weights = resolve(model_path).with_suffix(".pt")
    if not weights.exists():
        raise DigitsError(f"{weights}: --init needs the weights file saved beside a CNN model")
    state = load_checkpoint(weights)
    architecture, model = dict(state["architecture"]), dict(state["model"])
    had = architecture.get("classes", 10)
    if classes and classes != had:
        if classes < had:
            raise DigitsError(f"{weights}: --init has {had} outputs, more than the {classes} this data needs")
        key = max((k for k in model if k.startswith("classifier.") and model[k].ndim == 2), key=lambda k: int(k.split(".")[1]))
        w, b = model[key], model[key[: -len("weight")] + "bias"]
        model[key] = torch.cat([w, torch.zeros(classes - had, w.shape[1])])
        model[key[: -len("weight")] + "bias"] = torch.cat([b, torch.full((classes - had,), float(b.min()) - 2.0)])
        architecture["classes"] = classes
    return architecture, model


def train_from_args(args, read_page=None) -> int:
    """``digits train --model cnn``; ``read_page``: a reader's ``read``, for ``--pages``."""
    import json

    from handwritten_digits.cli import command_line
    from handwritten_digits.evaluation.calibration import expected_calibration_error
    from handwritten_digits.training.export import export_model

    if args.nproc > 1 and not ddp.launched():
        return ddp.launch(command_line(args, "train"), args.nproc)
    config = load_config(args.recipe, args.config, epochs=1 if args.dry_run else args.epochs,
                         batch_size=args.batch_size, lr=args.lr, seed=args.seed, val_size=args.val_size)
    init_state = None
    classes = len(CLASSES) if args.data == "mixed" else None
    if args.init:
        architecture, init_state = init_weights(args.init, classes)
        name = architecture.pop("name")
        config = dataclasses.replace(config, arch=name, arch_overrides=architecture)
    elif classes:
        config = dataclasses.replace(config, arch_overrides={**config.arch_overrides, "classes": classes})
    device = pick_device(args.device)
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // max(1, ddp.world_size())))
    ddp.init(device)
    out = Path(args.out)
    log = (lambda msg: print(msg, file=sys.stderr)) if ddp.is_main() else (lambda msg: None)
    # torch.optim imports torch._dynamo at first use: ~1.5 s of Python, overlapped with the data
    # loading (decompression and array work that release the GIL) instead of after it
    warm = threading.Thread(target=importlib.import_module, args=("torch._dynamo",), daemon=True)
    warm.start()
    train, val, test, data_info = load_training_data(args, config, read_page)
    warm.join()
    if args.resume and not (out / "checkpoint.pt").exists():
        raise DigitsError(f"--resume: no checkpoint in {out}")
    began = time.perf_counter()
    result = fit(config, train, val, device, out, resume=args.resume, init_state=init_state,
                 max_steps=3 if args.dry_run else None, log=log)
    seconds = time.perf_counter() - began
    if not ddp.is_main():
        ddp.finish()
        return 0
    model = build_model(**result["architecture"])
    model.load_state_dict(result["best"]["state"])
    model.eval()
    if result["val_logits"] is not None:  # computed by fit for the best epoch: the same network
        val_logits = result["val_logits"]
        val_acc = result["best"]["val_accuracy"]
    else:  # resumed after the best epoch
        val_acc, val_logits = evaluate(model, *val, torch.device("cpu"))
    val_probs, val_labels = torch.softmax(val_logits, 1).numpy(), val[1].numpy()
    temperature, threshold, shares = fit_on_validation(val_logits.numpy(), val_labels,
                                                       data_info.get("val_parts") if classes else None)
    calibrated = torch.softmax(val_logits / temperature, 1).numpy()
    metrics = {"val": {"accuracy": val_acc, "n": len(val[1]), "best_epoch": result["best"]["epoch"],
                       "ece_before": expected_calibration_error(val_probs, val_labels),
                       "ece_after": expected_calibration_error(calibrated, val_labels)}}
    for source, (a, b) in data_info.get("val_parts", {}).items():  # each source of a mixed validation set
        metrics[f"val_{source}"] = {"accuracy": float((calibrated[a:b].argmax(1) == val_labels[a:b]).mean()), "n": b - a,
                                    "ece": expected_calibration_error(calibrated[a:b], val_labels[a:b])}
    if shares is not None:
        metrics["val_rejected"] = shares  # at the threshold: digits per source, and marks
    if test is not None:  # final figure only: nothing above looked at it
        metrics["test"] = {"accuracy": evaluate(model, *test, torch.device("cpu"))[0], "n": len(test[1])}
    card = dict(
        name=out.name or "model", architecture=result["architecture"], temperature=temperature,
        training={**dataclasses.asdict(config), "seconds": round(seconds, 1), "device": str(device),
                  "bf16": use_bf16(config.precision, device),
                  "processes": ddp.world_size(), "history": result["history"], "init": args.init},
        classes=CLASSES if classes else list(range(10)), **({"not_digit_threshold": threshold} if threshold else {}),
        data=data_info, metrics=metrics, command="digits " + " ".join(command_line(args, "train")),
    )
    path = export_model(model, out / "model.onnx", **card)
    save_checkpoint(path.with_suffix(".pt"), {"architecture": result["architecture"], "model": model.state_dict()})
    log(f"saved {path} (val accuracy {val_acc:.4%}" + (f", test {metrics['test']['accuracy']:.4%})" if test is not None else ")"))
    if args.json:
        print(json.dumps(card | {"path": str(path)}, indent=2))
    ddp.finish()
    return 0
