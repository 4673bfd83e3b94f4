"""PyTorch's ``examples/mnist`` recipe, re-typed from its published description, as a timing anchor.

https://github.com/pytorch/examples/tree/main/mnist (``main.py``): two 3x3 convolutions (32, 64
channels), max-pool, dropout 0.25, a 9216-128 fully connected layer, dropout 0.5, a 128-10 layer,
log-softmax and NLL loss; Adadelta with lr 1.0; StepLR (step 1 epoch, gamma 0.7); batch 64 (test
batch 1000); 14 epochs; inputs normalised with mean 0.1307 and std 0.3081; the model is tested on
the 10,000 MNIST test images after every epoch. It trains on all 60,000 training images.

One difference, in the example's favour: its torchvision ``DataLoader`` converts every image from
PIL one by one, while here the whole set is one tensor (no per-sample Python), so the times below
are if anything shorter than the original script's.

    python -m benchmarks.pytorch_example                 # 14 epochs, per-epoch test accuracy and time
    python -m benchmarks.pytorch_example --stop-at 0.99  # stop once 99.0% test accuracy is reached
    python -m benchmarks.pytorch_example --quick         # 5,000 images, 1 epoch: a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def load(data_dir=None, limit: int | None = None):
    """Normalised MNIST train and test tensors (N, 1, 28, 28), as the example's transforms make them."""
    from handwritten_digits.data import load_mnist

    def tensors(split):
        images, labels = load_mnist(split, data_dir)
        x = (torch.tensor(images).float().div_(255).unsqueeze(1) - 0.1307) / 0.3081  # a copy: the cache is read-only
        return x, torch.from_numpy(labels.astype("int64"))

    (x, y), (xt, yt) = tensors("train"), tensors("test")
    if limit:
        x, y = x[:limit], y[:limit]
    return (x, y), (xt, yt)


def train_epoch(model, x, y, optimizer, batch_size: int = 64) -> None:
    model.train()
    order = torch.randperm(len(x))  # DataLoader(shuffle=True)
    for start in range(0, len(x), batch_size):
        index = order[start : start + batch_size]
        optimizer.zero_grad()
        loss = F.nll_loss(model(x[index]), y[index])
        loss.backward()
        optimizer.step()


@torch.no_grad()
def test(model, x, y, batch_size: int = 1000) -> float:
    model.eval()
    correct = sum(int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum()) for i in range(0, len(x), batch_size))
    return correct / len(x)


def run(epochs: int = 14, stop_at: float | None = None, limit: int | None = None, seed: int = 1, data_dir=None,
        log=lambda msg: print(msg, file=sys.stderr, flush=True)) -> dict:
    """Train as the example does; returns per-epoch test accuracy and cumulative seconds.

    The clock starts before the data is loaded (the example's script loads it too) and includes the
    per-epoch test pass, as the example's own loop does. ``stop_at`` ends the run after the first
    epoch whose test accuracy reaches it (the earlier epochs are unchanged by stopping).
    """
    began = time.perf_counter()
    torch.manual_seed(seed)
    (x, y), (xt, yt) = load(data_dir, limit)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    history = []
    for epoch in range(1, epochs + 1):
        train_epoch(model, x, y, optimizer)
        accuracy = test(model, xt, yt)
        scheduler.step()
        history.append({"epoch": epoch, "test_accuracy": accuracy, "seconds": round(time.perf_counter() - began, 2)})
        log(f"pytorch example: epoch {epoch}  test accuracy {accuracy:.4%}  ({history[-1]['seconds']:.1f} s)")
        if stop_at is not None and accuracy >= stop_at:
            break
    return {"recipe": "pytorch/examples mnist (re-typed)", "train_images": len(y), "threads": torch.get_num_threads(),
            "history": history}


def seconds_to(history: list[dict], target: float) -> float | None:
    """Cumulative seconds at the first epoch reaching ``target`` test accuracy (None if never)."""
    return next((h["seconds"] for h in history if h["test_accuracy"] >= target), None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=14, help="epochs (the example's default)")
    p.add_argument("--stop-at", type=float, default=None, help="stop after the first epoch with this test accuracy")
    p.add_argument("--quick", action="store_true", help="5,000 training images and 1 epoch: a smoke run")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then the user cache)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = run(1 if args.quick else args.epochs, args.stop_at, 5000 if args.quick else None, data_dir=args.data_dir)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
