"""The bundled generator: small, fp16, labelled pairs, and the CLI's default."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ukan_core.io.checkpoints import read_checkpoint_info

from ukan_core.model_refs import DEFAULT_GENERATOR, resolve_model


def test_bundled_generator_is_a_small_fp16_pairs_model_with_its_recipe() -> None:
    path = resolve_model(DEFAULT_GENERATOR)
    assert path.stat().st_size <= 30 * 1024 * 1024
    info = read_checkpoint_info(path)
    assert info["architecture"] == "diffusion_ukan" and info["storage_dtype"] == "float16"
    assert info["pairs"] is True and info["config"]["in_channels"] == 2
    assert "ukan train-generator" in info["command"] and info["training"]["steps"] > 1000


def test_cli_generate_defaults_to_the_bundled_generator_and_writes_pairs(tmp_path: Path, one_thread) -> None:
    from ukan_core.cli.main import main
    from ukan_core.io.masks import read_mask

    out = tmp_path / "pairs"
    assert main(["generate", "--n", "2", "--sampler", "ddim", "--steps", "8", "--seed", "1", "--pairs",
                 "--out", str(out)]) == 0
    images = sorted((out / "images").glob("*.png"))
    masks = sorted((out / "masks" / "0").glob("*.png"))
    assert len(images) == len(masks) == 2
    pixels = read_mask(images[0])
    assert pixels.shape[:2] == (64, 64) and np.ptp(pixels) > 30, "a picture, not a flat field"
    assert set(np.unique(read_mask(masks[0]))) <= {0, 255, 1}


def test_cli_uses_the_generators_recommended_sampler_unless_told_otherwise(tmp_path: Path, one_thread, capsys) -> None:
    import argparse

    from ukan_core.cli.generate import _apply_recommended_sampler
    from ukan_core.cli.main import main

    assert main(["generate", "--n", "1", "--seed", "2", "--out", str(tmp_path / "a")]) == 0
    assert "sampler ddim (eta 1), 100 steps" in capsys.readouterr().out

    told = argparse.Namespace(sampler="dpmpp2m", steps=None, eta=None)
    _apply_recommended_sampler(told, {"sampler": "ddim", "steps": 100, "eta": 1.0})
    assert (told.sampler, told.steps, told.eta) == ("dpmpp2m", None, 0.0)
    plain = argparse.Namespace(sampler=None, steps=None, eta=None)
    _apply_recommended_sampler(plain, None)
    assert (plain.sampler, plain.steps, plain.eta) == ("dpmpp2m", None, 0.0)
