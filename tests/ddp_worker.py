"""Run by test_ddp.py under torchrun: train briefly, save this rank's final weights."""

import sys
from pathlib import Path

import torch

from handwritten_digits.data import load_dataset
from handwritten_digits.training import ddp
from handwritten_digits.training.config import load_config
from handwritten_digits.training.loop import _tensors, fit

torch.set_num_threads(1)
out, data_dir = Path(sys.argv[1]), sys.argv[2]
device = torch.device("cpu")
ddp.init(device)
x, y = load_dataset("train", data_dir)
xv, yv = load_dataset("val", data_dir)
config = load_config("fast", epochs=1, batch_size=32)
result = fit(config, _tensors(x[:512], y[:512]), _tensors(xv[:64], yv[:64]), device, out, log=lambda m: None)
torch.save(result["model"].state_dict(), out / f"rank{ddp.rank()}.pt")
ddp.finish()
