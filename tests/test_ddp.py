"""The same training code under torchrun: two CPU processes (gloo) end with identical weights."""

import os
import subprocess
import sys
import textwrap

import torch

from handwritten_digits.runtime import Recognizer
from handwritten_digits.training import ddp

# Runs `digits train` as one rank and saves that rank's final weights, so the test can compare ranks.
RANK_SCRIPT = textwrap.dedent("""
    import sys
    import torch
    from handwritten_digits.cli import main
    from handwritten_digits.training import ddp, loop

    original = loop.fit

    def fit(*args, **kwargs):
        result = original(*args, **kwargs)
        state = {k: v.detach().clone() for k, v in result["model"].state_dict().items()}
        torch.save(state, f"{sys.argv[1]}/rank{ddp.rank()}.pt")
        return result

    loop.fit = fit
    sys.exit(main(sys.argv[2:]))
""")


def test_two_processes_end_with_identical_weights(data_dir, tmp_path):
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(script), str(tmp_path),
               "train", "--model", "cnn", "--recipe", "fast", "--data-dir", str(data_dir), "--out", str(out),
               "--limit", "512", "--epochs", "1", "--batch-size", "64", "--threads", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    # the steps really ran: the weights moved away from a fresh initialisation
    assert any(not torch.equal(rank0[k], v) for k, v in _fresh_fast_state().items() if k in rank0)
    card = Recognizer.load(out).card
    assert card["training"]["processes"] == 2 and card["kind"] == "cnn"


def _fresh_fast_state():
    from handwritten_digits.models.cnn import build_model

    torch.manual_seed(0)
    return build_model("fast").state_dict()


def test_shard_splits_a_permutation_evenly(monkeypatch):
    order = torch.randperm(103)
    monkeypatch.setenv("WORLD_SIZE", "2")
    parts = []
    for r in (0, 1):
        monkeypatch.setenv("RANK", str(r))
        parts.append(ddp.shard(order))
    assert len(parts[0]) == len(parts[1]) == 51  # equal steps per rank, or DDP would hang
    assert not set(parts[0].tolist()) & set(parts[1].tolist())


def test_nproc_relaunches_under_torchrun_without_the_flag(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command: calls.append(command) or 0)
    assert ddp.launch(["train", "--nproc", "3", "--epochs", "2", "--nproc=3"], 3) == 0
    command = calls[0]
    assert command[1:3] == ["-m", "torch.distributed.run"] and "--nproc-per-node=3" in command
    assert command[-3:] == ["train", "--epochs", "2"]
