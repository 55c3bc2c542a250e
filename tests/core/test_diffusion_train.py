"""Training a generator: the official recipe's pieces, cancel/budget/divergence, exact resume, data, store."""

from __future__ import annotations

import copy
import functools

import cv2
import numpy as np
import pytest
import torch

from ukan_core.diffusion.train import fit_diffusion, official_lr, update_ema
from ukan_core.diffusion.train_data import centre_square, load_training_images, random_flips
from ukan_core.diffusion.train_state import load_training_state
from ukan_core.errors import Cancelled, CheckpointError, DatasetError, TrainingDiverged
from ukan_core.models.configs import DiffusionUKANConfig
from ukan_core.models.registry import build_model
from ukan_core.progress import CancelToken



@functools.lru_cache(maxsize=None)
def _built(in_channels: int) -> torch.nn.Module:
    torch.manual_seed(0)
    config = DiffusionUKANConfig(ch=32, ch_mult=(1, 1), attn=(), num_res_blocks=1, dropout=0.15,
                                 embed_dims=(32, 64, 96), image_size=32, in_channels=in_channels)
    return build_model("diffusion_ukan", config)


def tiny(in_channels: int = 3) -> torch.nn.Module:
    """A fresh copy of the small fixture configuration (building KAN layers is the slow part)."""
    return copy.deepcopy(_built(in_channels))


def images(n: int = 4, channels: int = 3) -> torch.Tensor:
    return torch.rand(n, channels, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_official_learning_rate_schedule():
    """The official GradualWarmupScheduler(2, 100) + cosine(T_max=1000): 2e-4 -> 4e-4 at 100 -> ~1e-5 at 1000."""
    assert official_lr(0, 1000, 2e-4, 100) == pytest.approx(2e-4)
    assert official_lr(50, 1000, 2e-4, 100) == pytest.approx(3e-4)
    assert official_lr(100, 1000, 2e-4, 100) == pytest.approx(4e-4)
    assert official_lr(1000, 1000, 2e-4, 100) == pytest.approx(9.8e-6, rel=0.01)


def test_ema_moves_a_fraction_towards_the_model():
    ema, model = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        ema.weight.fill_(0.0)
        model.weight.fill_(1.0)
    update_ema(ema, model, 0.9)
    torch.testing.assert_close(ema.weight, torch.full((1, 2), 0.1))


def test_a_short_run_reports_progress_and_returns_the_ema_model():
    model, reports = tiny(), []
    before = weights(model)
    result = fit_diffusion(model, images(), steps=3, batch_size=2, device="cpu", progress=reports.append)
    assert (result.steps_done, result.total_steps, result.stopped) == (3, 3, "completed")
    assert [p.done for p in reports] == [1, 2, 3]
    assert {"epoch", "step", "loss", "lr", "eta_s"} <= set(reports[-1].extra)
    assert len(result.losses) == 3 and all(np.isfinite(result.losses))
    assert not same_weights(weights(model), before)
    assert not same_weights(weights(result.model), weights(model))  # the EMA lags the model
    assert not result.model.training
    meta = result.metadata
    assert meta["architecture"] == "diffusion_ukan" and meta["pairs"] is False
    assert (meta["image_size"], meta["channels"], meta["training"]["steps"]) == (32, 3, 3)
    assert meta["config"]["in_channels"] == 3 and meta["training"]["loss"] == "official"


def test_cancel_then_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path):
    straight = tiny()
    full = fit_diffusion(straight, images(), steps=4, batch_size=2, device="cpu", seed=3)

    interrupted, token = tiny(), CancelToken()
    before = weights(interrupted)
    state = tmp_path / "gen.state.safetensors"

    def cancel_at_two(p):
        if p.done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        fit_diffusion(interrupted, images(), steps=4, batch_size=2, device="cpu", seed=3,
                      progress=cancel_at_two, cancel=token, state_path=state)
    assert same_weights(weights(interrupted), before)  # the caller's model is as it was
    assert load_training_state(state)[1]["step"] == 2

    resumed = fit_diffusion(tiny(), images(), batch_size=2, device="cpu", resume_from=state)
    assert resumed.steps_done == 4
    assert resumed.losses == full.losses
    assert same_weights(weights(resumed.model), weights(full.model))


def test_budget_stops_cleanly_after_a_step():
    result = fit_diffusion(tiny(), images(), steps=50, batch_size=2, device="cpu", budget_s=0.0)
    assert (result.steps_done, result.stopped) == (1, "budget")


def test_divergence_restores_the_weights():
    model = tiny()
    before = weights(model)
    data = images()
    data[:, 0, 0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match="diverged at step 1"):
        fit_diffusion(model, data, steps=3, batch_size=4, device="cpu")
    assert same_weights(weights(model), before)


def test_the_final_ema_model_becomes_a_store_version():
    class FakeStore:
        def add_version(self, name, model, metadata):
            self.added = (name, model, metadata)
            return "v0001"

    store = FakeStore()
    result = fit_diffusion(tiny(4), images(channels=4), steps=1, batch_size=2, pairs=True, device="cpu",
                           name="us-generator", store=store)
    name, model, metadata = store.added
    assert result.version == "v0001" and name == "us-generator" and model is result.model
    assert metadata["pairs"] is True and metadata["channels"] == 4 and metadata["name"] == "us-generator"


def test_pairs_need_a_mask_channel():
    with pytest.raises(DatasetError, match="needs 2 or 4 channels"):
        fit_diffusion(tiny(3), images(), steps=1, pairs=True, device="cpu")


def test_a_broken_state_file_is_refused(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a state")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_training_state(bad)


def test_centre_square_crops_then_resizes():
    wide = np.zeros((40, 80), np.uint8)
    wide[:, 20:60] = 255  # the centred 40x40 square is all white
    assert centre_square(wide, 20).min() == 255
    assert centre_square(np.zeros((50, 30, 3), np.uint8), 64).shape == (64, 64, 3)


def test_flips_keep_image_and_mask_aligned():
    x = torch.zeros(8, 4, 6, 6)
    x[:, :, 0, 1] = 1.0  # one marked pixel in every channel
    flipped = random_flips(x, torch.Generator().manual_seed(0))
    for sample in flipped:
        assert all(torch.equal(sample[0], sample[c]) for c in range(1, 4))
    assert len({tuple(s[0].nonzero()[0].tolist()) for s in flipped}) > 1


def _write_folder(root, n=3):
    (root / "images").mkdir(parents=True)
    (root / "masks" / "0").mkdir(parents=True)
    for i in range(n):
        image = np.full((48, 64, 3), 40 * i, np.uint8)
        mask = np.zeros((48, 64), np.uint8)
        mask[10:30, 20:40] = 255
        cv2.imwrite(str(root / "images" / f"case{i}.png"), image)
        cv2.imwrite(str(root / "masks" / "0" / f"case{i}.png"), mask)


def test_image_folder_loads_as_scaled_squares(tmp_path):
    pytest.importorskip("ukan_core.io.images")
    _write_folder(tmp_path / "data")
    x = load_training_images(tmp_path / "data", image_size=32, channels=3)
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32
    assert float(x[0].min()) == -1.0 and float(x[2].max()) == pytest.approx(80 / 127.5 - 1)
    grey = load_training_images(tmp_path / "data", image_size=16, channels=1)
    assert grey.shape == (3, 1, 16, 16)


def test_pairs_folder_appends_the_mask_channel(tmp_path):
    pytest.importorskip("ukan_core.io.masks")
    pytest.importorskip("ukan_core.data.folders")
    _write_folder(tmp_path / "data")
    x = load_training_images(tmp_path / "data", image_size=32, channels=4, pairs=True)
    assert x.shape == (3, 4, 32, 32)
    assert set(x[:, 3].unique().tolist()) == {-1.0, 1.0}


def _cli(argv: list[str]) -> int:
    """`ukan train-generator ...` through its own parser (the lead adds it to COMMANDS)."""
    import argparse

    from ukan_core.cli import train_generator

    parser = argparse.ArgumentParser(prog="ukan")
    train_generator.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_trains_saves_and_resumes(tmp_path, capsys):
    pytest.importorskip("ukan_core.io.images")
    checkpoints = pytest.importorskip("ukan_core.io.checkpoints")
    _write_folder(tmp_path / "data", n=2)
    out = tmp_path / "gen.safetensors"
    tiny_args = ["--ch", "32", "--ch-mult", "1,1", "--num-res-blocks", "1", "--embed-dims", "32,64,96",
                 "--image-size", "32", "--batch-size", "2", "--device", "cpu"]
    assert _cli(["train-generator", str(tmp_path / "data"), "--out", str(out), "--steps", "2", *tiny_args]) == 0
    info = checkpoints.read_checkpoint_info(out)
    assert info["architecture"] == "diffusion_ukan" and info["pairs"] is False
    state = tmp_path / "gen.state.safetensors"
    assert load_training_state(state)[1]["step"] == 2
    assert "wrote" in capsys.readouterr().out
    model, _ = checkpoints.load_checkpoint(out)
    assert model.config.in_channels == 3 and model.config.image_size == 32


def test_cli_trains_an_existing_generator_further_and_stores_fp16(tmp_path, capsys):
    checkpoints = pytest.importorskip("ukan_core.io.checkpoints")
    _write_folder(tmp_path / "data", n=2)
    first, second = tmp_path / "first.safetensors", tmp_path / "second.safetensors"
    tiny_args = ["--ch", "32", "--ch-mult", "1,1", "--num-res-blocks", "1", "--embed-dims", "32,64,96",
                 "--image-size", "32", "--batch-size", "2", "--device", "cpu"]
    assert _cli(["train-generator", str(tmp_path / "data"), "--out", str(first), "--steps", "2", *tiny_args]) == 0
    assert _cli(["train-generator", str(tmp_path / "data"), "--out", str(second), "--steps", "1", "--init",
                 str(first), "--half", "--batch-size", "2", "--device", "cpu", "--ch", "64"]) == 0
    info = checkpoints.read_checkpoint_info(second)
    assert info["parent"] == "first" and info["storage_dtype"] == "float16"
    assert info["training"]["init_from"] == "first.safetensors" and info["training"]["steps_before"] == 2
    assert info["config"] == checkpoints.read_checkpoint_info(first)["config"], "--init keeps the configuration"
    before, _ = checkpoints.load_checkpoint(first)
    after, _ = checkpoints.load_checkpoint(second)
    far = [k for k, v in after.state_dict().items() if not torch.allclose(v, before.state_dict()[k], atol=3e-3)]
    assert not far, f"one small step from the first generator's weights (not a new init), yet {far[:3]} moved far"
    assert info["training"]["steps"] == 1
    capsys.readouterr()


def test_cli_init_refuses_a_segmenter_and_resume_together(tmp_path):
    from ukan_core.errors import UkanError
    from ukan_core.model_refs import DEFAULT_MODEL, resolve_model

    _write_folder(tmp_path / "data", n=2)
    with pytest.raises(UkanError, match="not a Diffusion U-KAN generator"):
        _cli(["train-generator", str(tmp_path / "data"), "--out", str(tmp_path / "g.safetensors"),
              "--init", str(resolve_model(DEFAULT_MODEL)), "--steps", "1"])
    with pytest.raises(UkanError, match="exclude each other"):
        _cli(["train-generator", str(tmp_path / "data"), "--out", str(tmp_path / "g.safetensors"),
              "--init", "a.safetensors", "--resume", "b.safetensors"])
