"""Generating images: shapes, seeds, batching, cancel, previews, pairs, and `ukan generate`."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from ukan_core.cli.main import main as ukan_main
from ukan_core.diffusion import pipeline
from ukan_core.diffusion.pipeline import generate, split_pairs, to_uint8
from ukan_core.diffusion.samplers import DDPMSampler, make_sampler
from ukan_core.diffusion.schedule import NoiseSchedule
from ukan_core.errors import Cancelled
from ukan_core.models.configs import DiffusionUKANConfig
from ukan_core.models.registry import build_model
from ukan_core.progress import CancelToken



@functools.lru_cache(maxsize=None)
def tiny_generator(in_channels: int = 3) -> torch.nn.Module:
    """The small fixture configuration at 32x32, weights perturbed so that ε is not ~0."""
    torch.manual_seed(0)
    config = DiffusionUKANConfig(ch=32, ch_mult=(1, 1), attn=(), num_res_blocks=1, dropout=0.15,
                                 embed_dims=(32, 64, 96), image_size=32, in_channels=in_channels)
    model = build_model("diffusion_ukan", config)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.02 * torch.randn(p.shape, generator=generator))
    return model


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return tiny_generator()


def test_images_have_the_model_size_and_channels(model):
    images = generate(model, "dpmpp2m", num_images=3, num_steps=3, seed=0)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    assert images.std() > 0


def test_same_seed_same_images_whatever_the_batching(model):
    a = generate(model, "ddpm", num_images=3, num_steps=4, seed=7, batch_size=3)
    b = generate(model, "ddpm", num_images=3, num_steps=4, seed=7, batch_size=2)
    first = generate(model, "ddpm", num_images=1, num_steps=4, seed=7)
    other = generate(model, "ddpm", num_images=1, num_steps=4, seed=8)
    assert np.array_equal(a, b)
    assert np.array_equal(a[:1], first)
    assert not np.array_equal(first, other)


def test_eval_mode_during_sampling_and_mode_restored(model):
    seen = []
    hook = model.register_forward_pre_hook(lambda module, args: seen.append(module.training))
    model.train()
    try:
        generate(model, "ddim", num_images=1, num_steps=2, seed=0)
    finally:
        hook.remove()
    assert seen == [False, False]
    assert model.training
    model.eval()


def test_progress_reaches_the_total_and_previews_show_x0(model):
    reports, previews = [], []
    generate(model, make_sampler("ddim", NoiseSchedule()), num_images=3, num_steps=4, seed=1, batch_size=2,
             on_progress=reports.append, preview_every=2, on_preview=lambda x0, first: previews.append((x0.shape, first)))
    assert [p.done for p in reports] == list(range(1, 9))
    assert all(p.total == 8 for p in reports)
    assert reports[-1].extra["batch"] == 2
    assert previews == [((2, 32, 32, 3), 0)] * 2 + [((1, 32, 32, 3), 2)] * 2


def test_cancel_stops_within_one_step(model):
    token = CancelToken()
    calls = []
    hook = model.register_forward_hook(lambda *a: calls.append(1))

    def on_progress(p):
        if p.done == 2:
            token.cancel()

    try:
        with pytest.raises(Cancelled):
            generate(model, DDPMSampler(NoiseSchedule()), num_images=1, num_steps=10, seed=0,
                     on_progress=on_progress, cancel=token)
    finally:
        hook.remove()
    assert len(calls) == 2


def test_pairs_split_into_image_and_mask():
    pairs_model = tiny_generator(in_channels=4)
    samples = generate(pairs_model, "dpmpp2m", num_images=2, num_steps=2, seed=0)
    assert samples.shape == (2, 32, 32, 4)
    images, masks = split_pairs(samples)
    assert images.shape == (2, 32, 32, 3) and masks.shape == (2, 32, 32)
    assert set(np.unique(masks)) <= {0, 1}
    assert np.array_equal(masks, (samples[..., 3] >= 128).astype(np.uint8))
    grey, grey_masks = split_pairs(samples[..., 2:])
    assert grey.shape == (2, 32, 32) and np.array_equal(grey, samples[..., 2])


def test_to_uint8_rounds_like_the_official_save_image():
    x = torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]).view(1, 1, 1, 6)
    assert to_uint8(x).flatten().tolist() == [0, 0, 128, 191, 255, 255]


def test_bad_arguments_are_refused(model):
    with pytest.raises(ValueError):
        generate(model, "ddim", num_images=0, num_steps=2)
    with pytest.raises(ValueError, match="between 1 and 1000"):
        generate(model, "ddim", num_images=1, num_steps=1001)


# ---- ukan generate ------------------------------------------------------------------------------


@pytest.fixture()
def stored_generator(monkeypatch):
    """`--model tiny` and `--model tiny-pairs` resolve to in-memory generators."""
    models = {"tiny": (tiny_generator(3), {"pairs": False}), "tiny-pairs": (tiny_generator(4), {"pairs": True})}
    monkeypatch.setattr(pipeline, "load_generator", lambda name, device="cpu": models[name])
    return models


def test_cli_writes_the_same_png_bytes_for_the_same_seed(stored_generator, tmp_path, capsys):
    args = ["generate", "--model", "tiny", "--n", "2", "--steps", "3", "--seed", "5", "--device", "cpu"]
    assert ukan_main([*args, "--out", str(tmp_path / "a")]) == 0
    assert ukan_main([*args, "--out", str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["gen_0000.png", "gen_0001.png"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert "seed 5" in capsys.readouterr().out


def test_cli_pairs_use_the_official_layout(stored_generator, tmp_path):
    import cv2

    out = tmp_path / "pairs"
    code = ukan_main(["generate", "--model", "tiny-pairs", "--pairs", "--n", "2", "--steps", "2", "--seed", "0",
                      "--sampler", "ddim", "--out", str(out), "--device", "cpu"])
    assert code == 0
    assert sorted(p.name for p in (out / "images").iterdir()) == ["gen_0000.png", "gen_0001.png"]
    mask = cv2.imread(str(out / "masks" / "0" / "gen_0000.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (32, 32) and set(np.unique(mask)) <= {0, 255}
    image = cv2.imread(str(out / "images" / "gen_0000.png"), cv2.IMREAD_UNCHANGED)
    assert image.shape == (32, 32, 3)


def test_cli_pairs_refused_for_an_images_only_model(stored_generator, tmp_path, capsys):
    code = ukan_main(["generate", "--model", "tiny", "--pairs", "--n", "1", "--out", str(tmp_path), "--device", "cpu"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: tiny: --pairs needs") and "\n" not in err


def test_cli_round_trip_through_a_checkpoint_file(tmp_path):
    checkpoints = pytest.importorskip("ukan_core.io.checkpoints")
    path = checkpoints.save_checkpoint(tiny_generator(), tmp_path / "gen.safetensors",
                                       {"name": "tiny", "pairs": False, "image_size": 32, "channels": 3})
    assert ukan_main(["generate", "--model", str(path), "--n", "1", "--steps", "2", "--seed", "1",
                      "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert (tmp_path / "out" / "gen_0000.png").is_file()


def test_trained_generator_goes_to_the_store_and_generates_by_name(tmp_path):
    """Train a step, store the EMA model as a version, then `ukan generate --model <name>` finds it."""
    pytest.importorskip("ukan_core.store")
    import copy

    from ukan_core.diffusion.train import fit_diffusion

    result = fit_diffusion(copy.deepcopy(tiny_generator()), torch.rand(2, 3, 32, 32) * 2 - 1, steps=1, batch_size=2,
                           device="cpu", name="test-generator")
    assert result.version.name == "test-generator"
    code = ukan_main(["generate", "--model", "test-generator", "--n", "1", "--steps", "2", "--seed", "0",
                      "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert code == 0 and (tmp_path / "out" / "gen_0000.png").is_file()
