"""Hostile inputs: each costs one line and the right exit code, and the rest of the folder is done.

Decompression bombs are refused from their declared size (in a process with capped memory),
special files (FIFO, /dev/zero, broken links, a folder named x.png) are named and never opened,
names with a newline or undecodable bytes stay on one line, and formats are read by content.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.core import hostile_files, image_factory
from tests.core.test_cli_segment import save_tiny
from ukan_core.cli.main import main
from ukan_core.errors import BadImageError
from ukan_core.io.image_limits import MAX_FILE_PIXELS, MAX_FRAME_PIXELS
from ukan_core.io.images import read_image
from ukan_core.io.listing import list_folder, list_images

REPO = Path(__file__).resolve().parents[2]
MEMORY_CAP = 3 << 30   # 3 GiB of address space: a 45000² page (2 GB) plus its decoding would not fit
needs_posix = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, symlinks and RLIMIT_AS are POSIX")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("model") / "tiny.safetensors")


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def _read_capped(paths: list[Path]) -> list[str]:
    """read_image + to_rgb8 of each path in a fresh process limited to MEMORY_CAP; one result line each."""
    script = textwrap.dedent(
        """
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
        from ukan_core.io.images import read_image, to_rgb8
        for path in sys.argv[2:]:
            try:
                image = read_image(path)
                to_rgb8(image)
                print("read", image.original_size[1], image.original_size[0])
            except Exception as exc:
                print("refused", type(exc).__name__, str(exc))
        """
    )
    out = subprocess.run([sys.executable, "-c", script, str(MEMORY_CAP), *map(str, paths)], env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == len(paths), out.stdout
    return lines


# -- decompression bombs ----------------------------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS caps memory on Linux")
def test_bombs_are_refused_from_their_declared_size_and_a_12_mp_image_passes(tmp_path: Path) -> None:
    bombs = {
        "bomb.tif": (hostile_files.write_tiff_declaring(tmp_path / "bomb.tif", 45000, 45000), "45000x45000"),
        "deflate30k.tif": (hostile_files.write_tiff_declaring(tmp_path / "deflate30k.tif", 30000, 30000,
                                                                 full_data=True),
                           "30000x30000"),
        "bomb.png": (hostile_files.write_png_declaring(tmp_path / "bomb.png", 12000, 12000), "12000x12000 (144 MP)"),
        "huge.png": (hostile_files.write_png_declaring(tmp_path / "huge.png", 30000, 30000, rows=1), "900 MP"),
        "bomb.dcm": (hostile_files.write_dicom_declaring(tmp_path / "bomb.dcm", 60000, 60000), "60000x60000"),
        "pages.tif": (hostile_files.write_tiff_declaring(tmp_path / "pages.tif", 10000, 10000, pages=11),
                      "11 frames of 10000x10000"),
        "cine.dcm": (hostile_files.write_dicom_declaring(tmp_path / "cine.dcm", 4000, 4000, frames=70),
                     "70 frames of 4000x4000"),
    }
    assert all(path.stat().st_size < 2_000_000 for path, _ in bombs.values())   # tiny files, huge claims
    good_tiff = hostile_files.write_tiff_declaring(tmp_path / "scan12mp.tif", 4000, 3000, full_data=True)
    good_png = tmp_path / "photo12mp.png"
    import cv2

    assert cv2.imwrite(str(good_png), np.full((3000, 4000), 77, np.uint8))
    lines = _read_capped([path for path, _ in bombs.values()] + [good_tiff, good_png])
    for (name, (_, declared)), line in zip(bombs.items(), lines):
        assert line.startswith(f"refused BadImageError {name}: declared "), line
        assert declared in line and "limit" in line, line
    assert lines[-2:] == ["read 4000 3000", "read 4000 3000"]


def test_the_limits_are_stated_and_leave_room_for_large_scans() -> None:
    assert MAX_FRAME_PIXELS == 100_000_000 and MAX_FILE_PIXELS == 1_000_000_000
    assert 12_000_000 * 3 < MAX_FRAME_PIXELS   # a 36 MP scan passes


def test_a_bomb_in_a_folder_costs_one_line_and_the_rest_is_segmented(tmp_path: Path, tiny_model: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    hostile_files.write_tiff_declaring(folder / "bomb.tif", 45000, 45000)
    hostile_files.write_png(folder / "good.png")
    code = main(["segment", str(folder), "--out", str(tmp_path / "masks"), "--model", str(tiny_model)])
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: bomb.tif: declared size 45000x45000")
    assert (tmp_path / "masks" / "good.png").is_file() and not (tmp_path / "masks" / "bomb.png").exists()


# -- special files ----------------------------------------------------------------------------
@needs_posix
def test_special_entries_get_a_line_each_and_are_never_opened(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    hostile_files.write_png(folder / "good.png")
    expected = hostile_files.make_special_entries(folder)
    (folder / "notes").mkdir()   # an ordinary sub-folder: skipped, no line
    listing = list_folder(folder)
    assert [p.name for p in listing.images] == ["good.png"]
    assert listing.skipped == 1
    assert len(listing.problems) == len(expected)
    for line in listing.problems:
        name = line.split(":", 1)[0]
        assert expected[name] in line and "\n" not in line, line
    for name in expected:   # read directly, each is one line too, and the FIFO does not block
        with pytest.raises(BadImageError, match=rf"^{name.replace('.', '[.]')}: "):
            read_image(folder / name)


@needs_posix
def test_segment_over_special_entries_never_blocks(tmp_path: Path, tiny_model: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    hostile_files.write_png(folder / "good.png")
    hostile_files.write_corrupt_rle_dicom(folder / "rle.dcm")
    expected = hostile_files.make_special_entries(folder)
    out = subprocess.run([sys.executable, "-m", "ukan_core.cli.main", "segment", str(folder),
                          "--out", str(tmp_path / "masks"), "--model", str(tiny_model)],
                         env=_env(), capture_output=True, text=True, timeout=240)
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines), out.stderr   # no pydicom traceback
    assert sorted(line.split(":", 2)[1].strip() for line in lines) == sorted([*expected, "rle.dcm"])
    assert "segmented 1 image, 6 failed, 0 skipped" in out.stdout
    assert (tmp_path / "masks" / "good.png").is_file()


def test_pydicom_tracebacks_stay_off_stderr_when_logging_is_on(tmp_path: Path) -> None:
    bad = hostile_files.write_corrupt_rle_dicom(tmp_path / "rle.dcm")
    script = ("import logging, sys; logging.basicConfig(level=logging.WARNING)\n"
              "from ukan_core.io.images import read_image\n"
              "try:\n    read_image(sys.argv[1])\nexcept Exception as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", script, str(bad)], env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.stderr == "" and out.stdout.startswith("rle.dcm: cannot decode DICOM pixels")
    assert len(out.stdout.strip().splitlines()) == 1


# -- names ------------------------------------------------------------------------------------
@needs_posix
def test_a_newline_in_a_name_stays_on_one_line(tmp_path: Path, tiny_model: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "bad\nname.png").write_bytes(b"not a png")
    hostile_files.write_png(folder / "good\nname.png")
    code = main(["segment", str(folder), "--out", str(tmp_path / "masks"), "--model", str(tiny_model)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines() == [r"error: 'bad\nname.png': not a valid PNG image (content not recognised)"]
    assert (tmp_path / "masks" / "good\nname.png").is_file()


@needs_posix
def test_names_that_are_not_utf8_are_read_and_reported(tmp_path: Path, tiny_model: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    if sys.getfilesystemencoding().lower() not in ("utf-8", "utf8"):
        pytest.skip("needs a UTF-8 file system encoding")
    folder = tmp_path / "scans"
    folder.mkdir()
    good = Path(os.fsdecode(bytes(folder) + b"/scan_\xff.png"))
    rgb16 = image_factory.write_png_rgb16(tmp_path)          # the 16-bit colour path (OpenCV) too
    shutil.copy(rgb16, Path(os.fsdecode(bytes(folder) + b"/deep_\xfe.png")))
    hostile_files.write_png(good)
    Path(os.fsdecode(bytes(folder) + b"/bad_\xff.png")).write_bytes(b"junk")
    assert read_image(good).pixels.shape == (40, 56, 3)
    code = main(["segment", str(folder), "--out", str(tmp_path / "masks"), "--model", str(tiny_model)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines() == [r"error: 'bad_\udcff.png': not a valid PNG image (content not recognised)"]
    written = sorted(os.listdir(os.fsencode(tmp_path / "masks")))
    assert written == [b"deep_\xfe.png", b"scan_\xff.png"]


# -- formats by content -----------------------------------------------------------------------
@pytest.mark.parametrize(("writer", "name", "shape"), [
    (image_factory.write_png_rgb8, "png_named.tif", (image_factory.HEIGHT, image_factory.WIDTH, 3)),
    (image_factory.write_png_rgb8, "png_named.dcm", (image_factory.HEIGHT, image_factory.WIDTH, 3)),
    (image_factory.write_dicom, "dicom_named.png", (image_factory.HEIGHT, image_factory.WIDTH)),
    (image_factory.write_tiff16, "tiff_named.jpg", (image_factory.HEIGHT, image_factory.WIDTH)),
    (image_factory.write_bmp, "bmp_named.png", (image_factory.HEIGHT, image_factory.WIDTH, 3)),
])
def test_misnamed_files_are_read_by_their_content(tmp_path: Path, writer, name: str, shape: tuple) -> None:
    original = writer(tmp_path / "source")
    misnamed = tmp_path / name
    shutil.copy(original, misnamed)
    image = read_image(misnamed)
    assert image.pixels.shape == shape
    assert np.array_equal(image.pixels, read_image(original).pixels)


def test_dicom_without_an_extension_is_listed_and_segmented(tmp_path: Path, tiny_model: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "series"
    image_factory.write_dicom(folder, "IM0001")
    image_factory.write_dicom(folder, "IM0002", headerless=True)
    (folder / "README").write_text("scanner export\n")
    (folder / "DICOMDIR_NOTES").write_bytes(b"\x00" * 200)
    listing = list_images([folder])
    assert [p.name for p in listing.images] == ["IM0001", "IM0002"]
    assert listing.skipped == 2 and listing.problems == []
    code = main(["segment", str(folder), "--out", str(tmp_path / "masks"), "--model", str(tiny_model)])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == ["IM0001.png", "IM0002.png"]


@needs_posix
def test_listing_inputs_names_missing_and_special_ones_and_lists_each_file_once(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    good = hostile_files.write_png(folder / "good.png")
    (folder / "same.png").symlink_to(good)            # the same file under a second name
    os.mkfifo(tmp_path / "stream")                    # a FIFO named on the command line, no extension
    listing = list_images([folder, good, tmp_path / "stream", tmp_path / "gone.png"])
    assert listing.images == [good]
    assert listing.problems == ["stream: is a named pipe (FIFO), not an image file", "gone.png: file not found"]
    assert listing.skipped == 0
