"""read_image / to_rgb8: every supported file kind reads with the right facts; bad files fail clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.core import image_factory as factory
from ukan_core.errors import BadImageError
from ukan_core.io.images import IMAGE_EXTENSIONS, ImageData, is_image_file, read_image, to_rgb8

H, W = factory.HEIGHT, factory.WIDTH

# file name -> (pixels ndim, dtype, bit_depth)
EXPECTED = {
    "grey8.png": (2, np.uint8, 8), "rgb8.png": (3, np.uint8, 8), "grey16.png": (2, np.uint16, 16),
    "rgb16.png": (3, np.uint16, 16), "rgba.png": (3, np.uint8, 8), "palette.png": (3, np.uint8, 8),
    "photo.jpg": (3, np.uint8, 8), "rotated.jpg": (3, np.uint8, 8), "cmyk.jpg": (3, np.uint8, 8),
    "image.bmp": (3, np.uint8, 8), "grey8.tif": (2, np.uint8, 8), "grey16.tiff": (2, np.uint16, 16),
    "float_nan.tif": (2, np.float32, 32), "ct.dcm": (2, np.float32, 12), "ünïcode_画像.png": (3, np.uint8, 8),
}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return factory.write_good_images(tmp_path_factory.mktemp("images"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_supported_kind_reads_with_its_facts(images: dict[str, Path], name: str) -> None:
    image = read_image(images[name])
    ndim, dtype, bit_depth = EXPECTED[name]
    assert isinstance(image, ImageData)
    assert image.pixels.ndim == ndim and image.pixels.dtype == dtype
    assert image.bit_depth == bit_depth
    assert image.original_size == factory.displayed_size(name) == image.pixels.shape[:2]
    assert image.path == images[name]
    rgb = to_rgb8(image)
    assert rgb.shape == (*image.original_size, 3) and rgb.dtype == np.uint8


def test_8bit_pixels_are_kept_exactly(images: dict[str, Path]) -> None:
    assert np.array_equal(read_image(images["grey8.png"]).pixels, factory.gradient())
    assert np.array_equal(read_image(images["rgb8.png"]).pixels, factory.gradient(channels=3))
    assert np.array_equal(read_image(images["image.bmp"]).pixels, factory.gradient(channels=3))
    assert np.array_equal(read_image(images["grey8.tif"]).pixels, factory.gradient())
    assert np.array_equal(read_image(images["ünïcode_画像.png"]).pixels, factory.gradient(channels=3))
    assert np.array_equal(to_rgb8(read_image(images["grey8.png"]))[:, :, 1], factory.gradient())


def test_16bit_keeps_values_and_to_rgb8_scales_min_max(images: dict[str, Path]) -> None:
    for name in ("grey16.png", "grey16.tiff"):
        image = read_image(images[name])
        assert np.array_equal(image.pixels, factory.gradient(dtype=np.uint16))
        rgb = to_rgb8(image)
        assert rgb[0, 0, 0] == 0 and rgb[0, -1, 0] == 255
        assert np.array_equal(rgb[:, :, 0], rgb[:, :, 2])
    colour = read_image(images["rgb16.png"])
    assert np.array_equal(colour.pixels, factory.gradient(channels=3, dtype=np.uint16))  # RGB, not BGR


def test_exif_orientation_is_applied(images: dict[str, Path]) -> None:
    pixels = read_image(images["rotated.jpg"]).pixels  # stored 24x40, left columns white; orientation 6
    assert pixels.shape == (W, H, 3)
    assert pixels[:10].mean() > 240 and pixels[12:].mean() < 15  # white band now on top


def test_cmyk_jpeg_is_converted_to_rgb(images: dict[str, Path]) -> None:
    r, g, b = read_image(images["cmyk.jpg"]).pixels.reshape(-1, 3).mean(axis=0)
    assert r < 20 and g > 235 and b > 235  # pure cyan


def test_alpha_is_dropped_not_composited(images: dict[str, Path]) -> None:
    # the left half is fully transparent: its stored colour is kept, not blended to black
    assert np.array_equal(read_image(images["rgba.png"]).pixels, factory.gradient(channels=3))


def test_palette_is_expanded(images: dict[str, Path]) -> None:
    pixels = read_image(images["palette.png"]).pixels
    assert tuple(pixels[0, 0]) == (0, 0, 0)
    assert tuple(pixels[0, -1]) == (255, 0, 0)
    assert tuple(pixels[-1, -1]) == (0, 0, 255)


def test_float_tiff_keeps_nan_and_to_rgb8_maps_it_to_zero(images: dict[str, Path]) -> None:
    image = read_image(images["float_nan.tif"])
    assert np.isnan(image.pixels[:4, :4]).all() and np.isfinite(image.pixels[4:]).all()
    rgb = to_rgb8(image)
    assert (rgb[:4, :4] == 0).all()
    assert rgb[5, 0, 0] == 0 and rgb[5, -1, 0] == 255  # min-max over the finite values (-1..3)


def test_dicom_rescale_window_and_modality(images: dict[str, Path]) -> None:
    image = read_image(images["ct.dcm"])
    stored = factory.dicom_stored_values().astype(np.float32)
    np.testing.assert_array_equal(image.pixels, stored * factory.DICOM_SLOPE + factory.DICOM_INTERCEPT)
    assert image.modality == "CT"
    assert image.window == factory.DICOM_WINDOW
    assert image.frame_count == 1 and not image.inverted
    # window 40/400 shows -160..240 HU: below is black, above is white, the centre mid-grey
    rgb = to_rgb8(image)[:, :, 0]
    hu = image.pixels
    assert (rgb[hu <= -161] == 0).all() and (rgb[hu >= 241] == 255).all()
    synthetic = ImageData(np.array([[40.0]], np.float32), Path("x.dcm"), 12, (1, 1), window=(40.0, 400.0))
    assert abs(int(to_rgb8(synthetic)[0, 0, 0]) - 128) <= 1


def test_dicom_multiframe_takes_first_frame(tmp_path: Path) -> None:
    image = read_image(factory.write_dicom(tmp_path, "multi.dcm", frames=3))
    assert image.frame_count == 3
    assert image.pixels.shape == (H, W)
    expected = factory.dicom_stored_values(3)[0] * factory.DICOM_SLOPE + factory.DICOM_INTERCEPT
    np.testing.assert_array_equal(image.pixels, expected.astype(np.float32))


def test_headerless_dicom_is_read(tmp_path: Path) -> None:
    image = read_image(factory.write_dicom(tmp_path, "acr_nema.dcm", headerless=True))
    assert image.window == factory.DICOM_WINDOW and image.modality == "CT"
    assert float(image.pixels.min()) == factory.DICOM_INTERCEPT


def test_dicom_without_window_and_monochrome1(tmp_path: Path) -> None:
    image = read_image(factory.write_dicom(tmp_path, "mono1.dcm", window=False, monochrome1=True))
    assert image.window is None and image.inverted
    rgb = to_rgb8(image)
    assert rgb[0, 0, 0] == 255 and rgb[0, -1, 0] == 0  # min-max, then inverted: low values are white


@pytest.mark.parametrize(
    ("writer", "reason"),
    [
        (factory.write_truncated_png, "truncated"),
        (factory.write_text_as_png, "not a valid PNG"),
        (factory.write_empty_jpeg, "empty file"),
    ],
)
def test_broken_files_raise_one_line_with_the_name(tmp_path: Path, writer, reason: str) -> None:
    path = writer(tmp_path)
    with pytest.raises(BadImageError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(f"{path.name}: ") and reason in message and "\n" not in message


def test_folder_missing_unknown_and_fake_dicom(tmp_path: Path) -> None:
    folder = tmp_path / "scans.png"
    folder.mkdir()
    with pytest.raises(BadImageError, match=r"^scans\.png: is a folder"):
        read_image(folder)
    with pytest.raises(BadImageError, match=r"^gone\.png: file not found"):
        read_image(tmp_path / "gone.png")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(BadImageError, match=r"^notes\.txt: unsupported file type '\.txt'"):
        read_image(tmp_path / "notes.txt")
    (tmp_path / "fake.dcm").write_text("not dicom at all")
    with pytest.raises(BadImageError, match=r"^fake\.dcm: not a DICOM file"):
        read_image(tmp_path / "fake.dcm")


def test_content_wins_over_suffix_case_and_kind(tmp_path: Path) -> None:
    jpeg = factory.write_jpeg_rgb(tmp_path)
    disguised = tmp_path / "REALLY_A_JPEG.PNG"
    shutil.copy(jpeg, disguised)
    assert read_image(disguised).pixels.shape == (H, W, 3)


def test_is_image_file_and_extensions() -> None:
    assert {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm"} <= IMAGE_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in IMAGE_EXTENSIONS)
    assert is_image_file("a/b/scan.DCM") and is_image_file(Path("x.Png"))
    assert not is_image_file("notes.txt") and not is_image_file("._x.png") and not is_image_file("png")


def test_mixed_folder_describes_good_broken_and_other(tmp_path: Path) -> None:
    layout = factory.write_mixed_folder(tmp_path)
    assert {p.name for p in layout["good"]} == set(layout["sizes"])
    for path in layout["good"]:
        assert is_image_file(path) and read_image(path).original_size == layout["sizes"][path.name]
    for path in layout["broken"]:
        assert is_image_file(path)
        with pytest.raises(BadImageError):
            read_image(path)
    assert not any(is_image_file(p) for p in layout["other"])


def test_pixels_are_writable_copies(images: dict[str, Path]) -> None:
    for name in ("grey8.png", "photo.jpg", "ct.dcm", "grey16.tiff"):
        assert read_image(images[name]).pixels.flags.writeable


def test_to_rgb8_constant_and_plain_arrays() -> None:
    constant = ImageData(np.full((3, 4), 1234, np.uint16), Path("c.png"), 16, (3, 4))
    assert (to_rgb8(constant) == 0).all()
    all_nan = ImageData(np.full((2, 2), np.nan, np.float32), Path("n.tif"), 32, (2, 2))
    assert (to_rgb8(all_nan) == 0).all()
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(to_rgb8(grey), np.repeat(grey[:, :, None], 3, axis=2))


def test_names_in_messages_are_escaped_only_when_needed() -> None:
    from ukan_core.io.names import display_name

    assert display_name("a/b/scan 01.png") == "scan 01.png"
    assert display_name("ünïcode_画像.png") == "ünïcode_画像.png"
    assert display_name("bad\nname.png") == r"'bad\nname.png'"
    assert display_name("tab\tname.png") == r"'tab\tname.png'"
    assert display_name("scan_\udcff.png") == r"'scan_\udcff.png'"   # a byte that is not UTF-8


def test_formats_are_sniffed_from_the_first_bytes(images: dict[str, Path]) -> None:
    from ukan_core.io.sniff import HEAD_BYTES, looks_like_headerless_dicom, sniff_format

    expected = {"grey8.png": "PNG", "photo.jpg": "JPEG", "image.bmp": "BMP", "grey8.tif": "TIFF",
                "grey16.tiff": "TIFF", "ct.dcm": "DICOM"}
    for name, kind in expected.items():
        assert sniff_format(images[name].read_bytes()[:HEAD_BYTES]) == kind, name
    assert sniff_format(b"this is not an image\n") is None
    assert sniff_format(b"BM but not a bitmap header") is None
    assert not looks_like_headerless_dicom(b"plain text, not a dataset")


def test_an_empty_file_is_one_line_whatever_its_name(tmp_path: Path) -> None:
    for name in ("empty.png", "empty.dcm", "empty.tif"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(BadImageError, match=rf"^{name.replace('.', '[.]')}: empty file \(0 bytes\)$"):
            read_image(tmp_path / name)


def test_a_dicom_whose_preamble_holds_a_tiff_header_reads_as_dicom(tmp_path: Path) -> None:
    from ukan_core.io.sniff import HEAD_BYTES, sniff_format

    examples = pytest.importorskip("pydicom.examples")
    source = Path(examples.get_path("ct"))        # its 128-byte preamble starts with "II*\0"
    assert source.read_bytes()[:4] == b"II*\x00"
    assert sniff_format(source.read_bytes()[:HEAD_BYTES]) == "DICOM"
    for name in ("ct_small.dcm", "ct_small.tif", "CT0001"):
        shutil.copy(source, tmp_path / name)
        image = read_image(tmp_path / name)
        assert image.modality == "CT" and image.pixels.shape == (128, 128), name


def test_pixel_spacing_is_unknown_where_the_file_states_none(images: dict[str, Path], tmp_path: Path) -> None:
    for name in ("grey8.png", "photo.jpg", "image.bmp", "grey8.tif", "ct.dcm"):
        assert read_image(images[name]).pixel_spacing is None, name   # the factory writes no pixel size
    import pydicom

    ds = pydicom.dcmread(images["ct.dcm"])
    ds.PixelSpacing = [0.7, 0.7]
    ds.save_as(tmp_path / "spaced.dcm")
    image = read_image(tmp_path / "spaced.dcm")
    assert image.pixel_spacing == (0.7, 0.7)
    assert ImageData(image.pixels, image.path, 12, image.original_size).pixel_spacing is None   # the default
