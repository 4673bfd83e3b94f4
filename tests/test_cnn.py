import dataclasses
import json

import numpy as np
import pytest
import torch

from handwritten_digits.cli import main
from handwritten_digits.errors import DigitsError
from handwritten_digits.models.cnn import ARCHITECTURES, build_model
from handwritten_digits.runtime import Recognizer
from handwritten_digits.training.augment import augment
from handwritten_digits.training.checkpoint import load_checkpoint
from handwritten_digits.training.config import RECIPES, load_config
from handwritten_digits.training.export import export_model

torch.set_num_threads(1)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_onnx_runtime_logits_match_pytorch(arch, tmp_path):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    path = export_model(model, tmp_path / "m.onnx", name="t", architecture={"name": arch})
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(Recognizer.load(path).logits(x[:, 0].numpy()), expected, atol=1e-4)


def test_augmentation_keeps_shape_range_and_ink():
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 8:20, 12:16] = 1.0
    out = augment(x, 1.0, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, x)
    assert (out.sum(dim=(1, 2, 3)) > 0.3 * x[0].sum()).all()  # ink survives
    assert torch.equal(augment(x, 0.0), x)


def test_config_from_file_rejects_unknown_keys(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"lr": 0.05, "epochs": 3}))
    config = load_config("accurate", good, epochs=7)
    assert config.lr == 0.05 and config.epochs == 7  # flags override the file
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"lr": 0.05, "learning_rate": 1}))
    with pytest.raises(DigitsError, match="unknown config keys: learning_rate"):
        load_config("accurate", bad)
    assert set(dataclasses.asdict(RECIPES["fast"])) == set(dataclasses.asdict(RECIPES["accurate"]))


def _train(data_dir, out, *extra):
    return main(["train", "--model", "cnn", "--recipe", "fast", "--data-dir", str(data_dir), "--out", str(out),
                 "--limit", "600", "--epochs", "2", "--threads", "1", *extra])


def test_dry_run_produces_a_model_the_runtime_reads(data_dir, tmp_path):
    assert main(["train", "--model", "cnn", "--recipe", "accurate", "--dry-run", "--data-dir", str(data_dir), "--out", str(tmp_path / "d"), "--threads", "1"]) == 0
    recognizer = Recognizer.load(tmp_path / "d")
    assert recognizer.card["kind"] == "cnn" and recognizer.card["architecture"]["name"] == "accurate"
    assert recognizer.predict_proba(np.zeros((2, 28, 28), np.float32)).shape == (2, 10)


def test_checkpoint_resume_and_fine_tune(data_dir, tmp_path):
    out = tmp_path / "run"
    assert _train(data_dir, out) == 0
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["epoch"] == 2 and state["architecture"]["name"] == "fast" and len(state["history"]) == 2
    assert _train(data_dir, out, "--epochs", "3", "--resume") == 0
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 3
    card = json.loads((out / "model.json").read_text())
    assert [h["epoch"] for h in card["training"]["history"]] == [1, 2, 3]
    assert _train(data_dir, tmp_path / "tuned", "--init", str(out / "model.onnx")) == 0


def test_failed_run_keeps_the_good_model(data_dir, tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert _train(data_dir, out) == 0
    before = (out / "model.onnx").read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("handwritten_digits.training.loop.train_one_epoch", boom)
    assert _train(data_dir, out) == 130
    assert (out / "model.onnx").read_bytes() == before


def test_resume_without_checkpoint_is_a_clear_error(data_dir, tmp_path, capsys):
    assert _train(data_dir, tmp_path / "empty", "--resume") == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_precision_is_chosen_or_refused():
    from handwritten_digits.training.loop import use_bf16

    cpu = torch.device("cpu")
    assert use_bf16("bf16", cpu) and not use_bf16("fp32", cpu)
    assert not use_bf16("auto", torch.device("cuda"))  # autocast bf16 is for CPUs that compute it natively
    with pytest.raises(DigitsError, match="precision"):
        use_bf16("fp16", cpu)


@pytest.mark.parametrize("setting", [{"precision": "fp16"}, {"optimizer": "adam"}, {"lr": "0.1"},
                                     {"epochs": 2.5}, {"label_smoothing": 1.0}, {"augment": -1}])
def test_bad_setting_values_are_refused_before_any_data_loads(tmp_path, capsys, setting):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps(setting))
    # no MNIST in the data folder: a refusal that names the setting proves nothing was loaded first
    assert main(["train", "--model", "cnn", "--config", str(config), "--data-dir", str(tmp_path),
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert next(iter(setting)) in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_bf16_training_runs_and_exports_float32(tmp_path, data_dir):
    out = tmp_path / "bf16"
    config = tmp_path / "bf16.json"
    config.write_text(json.dumps({"precision": "bf16"}))
    assert main(["train", "--model", "cnn", "--recipe", "fast", "--config", str(config), "--dry-run",
                 "--data-dir", str(data_dir), "--out", str(out)]) == 0
    card = json.loads((out / "model.json").read_text())
    assert card["training"]["bf16"] is True and card["training"]["precision"] == "bf16"
    assert Recognizer.load(out / "model.onnx").logits(np.zeros((2, 28, 28), np.float32)).dtype == np.float32
