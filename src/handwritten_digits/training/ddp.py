"""Multi-process training on PyTorch's own engine: DistributedDataParallel under ``torchrun``.

The training loop calls these helpers unconditionally; with one process they do nothing, so the
same code runs alone or as one of N ranks (gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import os
import subprocess
import sys

import torch
import torch.distributed as dist


def launched() -> bool:
    """True inside a process started by torchrun."""
    return "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def init(device: torch.device) -> None:
    if launched() and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def finish() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def shard(order: torch.Tensor) -> torch.Tensor:
    """This rank's equal share of a (shared, same-seeded) permutation."""
    n = world_size()
    if n == 1:
        return order
    per_rank = len(order) // n
    return order[rank() * per_rank : (rank() + 1) * per_rank]


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    if not dist.is_initialized():
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def sync_buffers(model: torch.nn.Module) -> None:
    """BatchNorm statistics drift per rank after the last step; take rank 0's so all ranks agree."""
    if dist.is_initialized():
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def launch(argv: list[str], nproc: int) -> int:
    """Re-run ``digits argv...`` as ``nproc`` processes under torchrun; returns its exit code."""
    argv = [a for i, a in enumerate(argv) if a != "--nproc" and (i == 0 or argv[i - 1] != "--nproc")]
    argv = [a for a in argv if not a.startswith("--nproc=")]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "handwritten_digits", *argv]
    return subprocess.call(command)
