"""The synthetic ultrasound-like generator: deterministic, labelled, in the official layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ukan_core.cli.main import main
from ukan_core.data.augment import augment_pair
from ukan_core.data.synthetic import generate_case


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    assert main(["synth", "--n", "3", "--out", str(tmp_path / "a"), "--seed", "5", "--size", "64"]) == 0
    assert main(["synth", "--n", "3", "--out", str(tmp_path / "b"), "--seed", "5", "--size", "64"]) == 0
    assert main(["synth", "--n", "3", "--out", str(tmp_path / "c"), "--seed", "6", "--size", "64"]) == 0
    for name in ("case_0000.png", "case_0002.png"):
        assert (tmp_path / "a/images" / name).read_bytes() == (tmp_path / "b/images" / name).read_bytes()
        assert (tmp_path / "a/masks/0" / name).read_bytes() == (tmp_path / "b/masks/0" / name).read_bytes()
    assert (tmp_path / "a/images/case_0000.png").read_bytes() != (tmp_path / "c/images/case_0000.png").read_bytes()


def test_most_cases_have_a_dark_lesion_matching_the_mask() -> None:
    with_lesion = 0
    for i in range(20):
        image, mask = generate_case(np.random.default_rng([0, i]), 128, "default")
        assert image.dtype == np.uint8 and image.shape == (128, 128)
        assert set(np.unique(mask)) <= {0, 1}
        if mask.sum() > 20:
            with_lesion += 1
            assert image[mask == 1].mean() < image[mask == 0].mean()  # hypoechoic
    assert with_lesion >= 14


def test_alt_style_is_a_different_domain() -> None:
    default, _ = generate_case(np.random.default_rng([0, 0]), 128, "default")
    alt, _ = generate_case(np.random.default_rng([0, 0]), 128, "alt")
    assert (alt == 0).mean() > 0.1  # the sector's black corners
    assert abs(float(default.std()) - float(alt.std())) > 1.0 or (default == 0).mean() < 0.05


def test_augmentation_moves_image_and_mask_together() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    label = np.zeros((8, 8), np.uint8)
    image[1, 6] = 200
    label[1, 6] = 1
    for seed in range(8):
        out_image, out_label = augment_pair(image, label, np.random.default_rng(seed), intensity=False)
        ys, xs = np.nonzero(out_label)
        assert len(ys) == 1 and out_image[ys[0], xs[0], 0] == 200


def test_cli_prints_a_summary_and_rejects_bad_arguments(tmp_path: Path, capsys) -> None:
    assert main(["synth", "--n", "2", "--out", str(tmp_path / "d"), "--seed", "1", "--size", "64",
                 "--style", "alt"]) == 0
    assert "wrote 2 synthetic images and masks" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "d/images").iterdir()) == ["case_0000.png", "case_0001.png"]
    assert main(["synth", "--n", "0", "--out", str(tmp_path / "e")]) == 2


def test_masks_are_exact_labels_inside_the_field_of_view() -> None:
    from ukan_core.data.synthetic import _fan

    outside = _fan(96, 96) == 0
    for i in range(6):
        image, mask = generate_case(np.random.default_rng([3, i]), 96, "alt")
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
        assert (image[outside] == 0).all() and not mask[outside].any()  # nothing in the sector's black corners


def test_bundled_samples_are_the_documented_synthetic_images(tmp_path: Path) -> None:
    from ukan_core.assets import samples_dir
    from ukan_core.data.synthetic import write_sample_images
    from ukan_core.io.masks import read_mask

    bundled = sorted(samples_dir().glob("sample_*.png"))
    assert [p.name for p in bundled] == [f"sample_{i:02d}.png" for i in range(1, 9)]
    remade = write_sample_images(tmp_path)
    for old, new in zip(bundled, remade):
        # Equal up to OpenCV's last-bit differences between CPU types.
        diff = np.abs(read_mask(old).astype(int) - read_mask(new).astype(int))
        assert diff.mean() < 0.5, old.name


def test_inverted_style_has_bright_lesions_and_the_cli_offers_every_style(tmp_path: Path) -> None:
    from ukan_core.cli.synth import STYLE_NAMES
    from ukan_core.data.synthetic import STYLES

    assert STYLE_NAMES == tuple(STYLES)
    brighter = lesions = 0
    for i in range(12):
        image, mask = generate_case(np.random.default_rng([0, i]), 128, "inverted")
        assert set(np.unique(mask)) <= {0, 1}
        if mask.sum() > 20:
            lesions += 1
            brighter += int(image[mask == 1].mean() > image[mask == 0].mean())
    assert lesions >= 8 and brighter == lesions
    again, _ = generate_case(np.random.default_rng([0, 3]), 128, "inverted")
    assert np.array_equal(again, generate_case(np.random.default_rng([0, 3]), 128, "inverted")[0])
    assert main(["synth", "--n", "1", "--out", str(tmp_path / "i"), "--size", "64", "--style", "inverted"]) == 0
