"""write_mask / read_mask: lossless labels, atomic writes, and masks made by other tools."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ukan_core.errors import BadImageError
from ukan_core.io import masks
from ukan_core.io.masks import read_mask, write_mask


def labels(h: int = 24, w: int = 40) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[4:12, 5:20] = 1
    mask[14:20, 25:35] = 3
    return mask


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    for mask in (labels(), labels() * 85, np.zeros((7, 9), np.uint8)):
        path = write_mask(tmp_path / "m.png", mask)
        assert path == tmp_path / "m.png"
        back = read_mask(path)
        assert back.dtype == np.uint8 and np.array_equal(back, mask)
        assert back.flags.writeable  # editors paint into it


def test_bool_and_integer_masks_become_labels(tmp_path: Path) -> None:
    assert np.array_equal(read_mask(write_mask(tmp_path / "b.png", labels() > 0)), (labels() > 0).astype(np.uint8))
    assert np.array_equal(read_mask(write_mask(tmp_path / "i.png", labels().astype(np.int64))), labels())


def test_unicode_path_and_new_folder(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "maske_ü_画像.png"
    assert np.array_equal(read_mask(write_mask(path, labels())), labels())


def test_failing_encoder_leaves_the_old_mask_and_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    path = write_mask(tmp_path / "case.png", labels())
    old_bytes = path.read_bytes()

    def crash_mid_write(stream, data) -> None:
        stream.write(b"\x89PNG\r\n\x1a\n half a file")
        raise RuntimeError("disk yanked")

    monkeypatch.setattr(masks, "_write_png", crash_mid_write)
    with pytest.raises(RuntimeError):
        write_mask(path, labels() * 2)
    with pytest.raises(RuntimeError):
        write_mask(tmp_path / "fresh.png", labels())
    assert path.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.png"]  # no fresh.png, no temp files


def test_rejects_bad_masks(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_mask(tmp_path / "m.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        write_mask(tmp_path / "m.png", np.full((4, 4), 300))
    with pytest.raises(ValueError):
        write_mask(tmp_path / "m.png", np.full((4, 4), 0.5))
    with pytest.raises(ValueError):
        write_mask(tmp_path / "m.jpg", labels())
    assert list(tmp_path.iterdir()) == []


def test_masks_from_other_tools(tmp_path: Path) -> None:
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[1:3, 1:4] = (255, 0, 0)  # red on black
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert np.array_equal(read_mask(tmp_path / "rgb.png"), rgb.max(axis=2))

    palette = Image.fromarray(labels(), "L").convert("P")
    palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    palette.save(tmp_path / "palette.png")
    assert np.array_equal(read_mask(tmp_path / "palette.png"), labels())  # indices, not colours

    Image.fromarray((labels() > 0).astype(np.uint16) * 65535).save(tmp_path / "wide.png")
    assert np.array_equal(read_mask(tmp_path / "wide.png"), (labels() > 0).astype(np.uint8) * 255)

    Image.fromarray(labels() * 80).save(tmp_path / "lossy.jpg", quality=95)  # official val.py writes JPEG
    assert read_mask(tmp_path / "lossy.jpg").shape == labels().shape


def test_broken_mask_files_raise_bad_image(tmp_path: Path) -> None:
    (tmp_path / "text.png").write_text("nope")
    with pytest.raises(BadImageError, match=r"^text\.png: "):
        read_mask(tmp_path / "text.png")
    with pytest.raises(BadImageError, match=r"^missing\.png: "):
        read_mask(tmp_path / "missing.png")
    data = write_mask(tmp_path / "cut.png", np.random.default_rng(0).integers(0, 5, (64, 64), np.uint8)).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImageError, match=r"^cut\.png: "):
        read_mask(tmp_path / "cut.png")
