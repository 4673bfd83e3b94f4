"""Train the segmentation checker: a small CNN that tells whether a crop is exactly one whole digit.

``digits train --model checker`` builds crops from MNIST's training split (validation crops from
the held-out split; see :mod:`handwritten_digits.data.composites`): straight-cut composites, and as
many parts of touching digits cut by the reader's own search (``CUT_SHARE``). With ``--data mixed``
they are built from the pendigits, optdigits and USPS training writers' digits too (validation: their
validation writers'): trained on MNIST alone, the checker judged 87% of optdigits' whole 1s, and 29%
of pendigits' 7s, not one whole digit, and the reader cut them. It trains the ``checker``
architecture with the same loop as the digit CNNs, and exports ONNX + model card. The reader
multiplies each piece's digit confidence by the checker's "whole" probability, so touching
digits get cut and loose strokes get joined (:mod:`handwritten_digits.reading.segment`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import torch

from handwritten_digits.training.config import TrainConfig

# one visible block of defaults; --epochs, --lr, --batch-size, --seed and --limit override them
CONFIG = TrainConfig(arch="checker", epochs=4, batch_size=128, optimizer="adamw", lr=0.01, weight_decay=1e-4,
                     label_smoothing=0.05, ema_decay=0.0, augment=0.5, warmup=0.2)
TRAIN_CROPS = 80_000
VAL_CROPS = 8_000
CUT_SHARE = 1.0  # and as many again: parts of touching digits as the reader's cut search makes them


def train_from_args(args) -> int:
    """``digits train --model checker``."""
    import json

    from handwritten_digits.cli import command_line
    from handwritten_digits.data import load_dataset, mnist_checksums
    from handwritten_digits.errors import DigitsError
    from handwritten_digits.models.cnn import build_model
    from handwritten_digits.training.checkpoint import save_checkpoint
    from handwritten_digits.training.export import export_model
    from handwritten_digits.training.loop import _tensors, evaluate, fit, pick_device
    from handwritten_digits.training.mixture import with_writers

    config = dataclasses.replace(CONFIG, **{k: v for k, v in dict(
        epochs=1 if args.dry_run else args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        val_size=args.val_size).items() if v is not None})
    device = pick_device(args.device)
    torch.set_num_threads(args.threads or max(1, os.cpu_count() or 1))
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    n_train = 512 if args.dry_run else (args.limit or TRAIN_CROPS)
    n_val = 256 if args.dry_run else max(256, min(VAL_CROPS, n_train // 10))
    log(f"building {n_train:,} training and {n_val:,} validation crops, and {CUT_SHARE:.0%} more of cut parts ...")
    if args.data not in ("mnist", "mixed"):
        raise DigitsError(f"the checker trains on --data mnist or mixed, not {args.data}")
    train_digits = load_dataset("train", args.data_dir, config.val_size, seed=0)
    val_digits = load_dataset("val", args.data_dir, config.val_size, seed=0)
    if args.data == "mixed":  # every source's training writers, validation crops from their validation writers
        train_digits, val_digits = with_writers(train_digits), with_writers(val_digits, split="val")
    train_images, val_images = train_digits[0], val_digits[0]
    train = _tensors(*_crops(train_images, n_train, config.seed))
    val = _tensors(*_crops(val_images, n_val, config.seed + 1))
    out = Path(args.out)
    began = time.perf_counter()
    result = fit(config, train, val, device, out, resume=args.resume, max_steps=3 if args.dry_run else None, log=log)
    seconds = time.perf_counter() - began
    model = build_model(**result["architecture"])
    model.load_state_dict(result["best"]["state"])
    accuracy, _ = evaluate(model, *val, torch.device("cpu"))
    card = dict(
        name=out.name or "checker", architecture=result["architecture"], kind="checker",
        task="is the crop exactly one whole digit? output logits [not whole, whole]",
        training={**dataclasses.asdict(config), "train_crops": len(train[1]), "cut_share": CUT_SHARE, "seconds": round(seconds, 1),
                  "device": str(device), "history": result["history"]},
        data={"dataset": f"{args.data} composites and cut parts", "images": len(train_images),
              "checksums": mnist_checksums(args.data_dir), "val_size": config.val_size},
        metrics={"val": {"accuracy": accuracy, "n": len(val[1]), "best_epoch": result["best"]["epoch"]}},
        command="digits " + " ".join(command_line(args, "train")),
    )
    path = export_model(model, out / "model.onnx", **card)
    save_checkpoint(path.with_suffix(".pt"), {"architecture": result["architecture"], "model": model.state_dict()})
    log(f"saved {path} (validation accuracy {accuracy:.2%} on {len(val[1]):,} crops)")
    if args.json:
        print(json.dumps(card | {"path": str(path)}, indent=2))
    return 0


def _crops(images, n: int, seed: int):
    """``n`` composite crops (:func:`~handwritten_digits.data.composites.make_crops`) and ``CUT_SHARE * n``
    parts of touching digits cut by the reader's own search (:func:`~handwritten_digits.data.composites.cut_crops`)."""
    import numpy as np

    from handwritten_digits.data.composites import cut_crops, make_crops

    made, cut = make_crops(images, n, seed=seed), cut_crops(images, max(1, int(CUT_SHARE * n)), seed=seed)
    return np.concatenate([made[0], cut[0]]), np.concatenate([made[1], cut[1]])
