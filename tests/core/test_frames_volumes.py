"""Frames and volumes as items: NIfTI slices (axial by orientation), DICOM frames, TIFF pages, locate()."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")
import pydicom  # noqa: E402
import tifffile  # noqa: E402

from ukan_core.errors import BadImageError  # noqa: E402
from ukan_core.io.image_limits import MAX_FILE_PIXELS  # noqa: E402
from ukan_core.io.images import read_image  # noqa: E402
from ukan_core.io.items import ImageItem, frame_count, list_items, locate, read_item  # noqa: E402
from ukan_core.io.listing import list_folder  # noqa: E402
from ukan_core.io.volumes import volume_info  # noqa: E402

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def pydicom_file(name: str) -> Path:
    for folder, _, files in os.walk(PYDICOM_FILES):
        if name in files:
            return Path(folder) / name
    pytest.skip(f"pydicom's test file {name} is not installed")


def volume(shape: tuple[int, ...] = (4, 5, 6)) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.int16).reshape(shape)


def test_an_axial_nifti_lists_one_item_per_slice_and_reads_slice_k(tmp_path: Path) -> None:
    data = volume()
    nib.save(nib.Nifti1Image(data, np.diag([0.5, 0.7, 2.0, 1.0])), tmp_path / "ct.nii.gz")
    listing = list_items(tmp_path)
    assert [item.name for item in listing.items] == [f"ct.nii.gz [{k}/6]" for k in range(1, 7)]
    image = read_item(listing.items[3])
    np.testing.assert_array_equal(image.pixels, data[:, :, 3])
    assert image.pixel_spacing == pytest.approx((0.5, 0.7)) and image.slice_thickness == pytest.approx(2.0)
    assert (image.frame, image.frame_count) == (3, 6)


def test_an_oblique_nifti_slices_along_its_superior_inferior_axis(tmp_path: Path) -> None:
    data = volume()
    # voxel axis 0 runs (mostly) along S; axes 1 and 2 lie in the axial plane, tilted
    affine = np.array([[0.0, 0.8, 0.1, 10.0], [0.1, 0.0, 0.9, -3.0], [3.0, 0.0, 0.05, 5.0], [0, 0, 0, 1.0]])
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "oblique.nii")
    assert volume_info(tmp_path / "oblique.nii").slice_axis == 0
    items = list_items(tmp_path).items
    assert len(items) == 4
    for k in (0, 2):
        np.testing.assert_array_equal(read_image(tmp_path / "oblique.nii", frame=k).pixels, data[k].astype(np.float32))
    with pytest.raises(BadImageError, match=r"^oblique\.nii: has 4 slices, no slice 5$"):
        read_image(tmp_path / "oblique.nii", frame=4)


def test_a_nifti_over_the_file_limit_is_refused_from_its_header(tmp_path: Path) -> None:
    header = nib.Nifti1Header()
    header.set_data_shape((10000, 10000, 20))
    header.set_data_dtype(np.uint8)
    path = tmp_path / "huge.nii"
    with open(path, "wb") as stream:   # the header only: a 2 GB volume is never written nor decoded
        stream.write(header.binaryblock + b"\0" * 4)
    assert 10000 * 10000 * 20 > MAX_FILE_PIXELS
    with pytest.raises(BadImageError, match=r"^huge\.nii: declared 20 frames .* per file"):
        read_image(path)
    assert frame_count(path) == 1   # listed once; reading it says why


def test_a_4d_nifti_is_refused_in_one_line(tmp_path: Path) -> None:
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 3, 2), np.float32), np.eye(4)), tmp_path / "fmri.nii.gz")
    with pytest.raises(BadImageError) as info:
        read_image(tmp_path / "fmri.nii.gz")
    assert "\n" not in str(info.value) and str(info.value).startswith("fmri.nii.gz: 4-D NIfTI")


def test_a_multiframe_dicom_lists_every_frame_and_reads_frame_k(tmp_path: Path) -> None:
    source = pydicom_file("rtdose.dcm")
    shutil.copy(source, tmp_path / "dose.dcm")
    items = list_items(tmp_path).items
    assert [i.frame for i in items] == list(range(15)) and items[0].name == "dose.dcm [1/15]"
    ds = pydicom.dcmread(source)
    for k in (0, 7, 14):
        np.testing.assert_array_equal(read_item(items[k]).pixels, pydicom.pixels.pixel_array(ds, index=k))
    with pytest.raises(BadImageError, match=r"^dose\.dcm: has 15 frames, no frame 16$"):
        read_image(tmp_path / "dose.dcm", frame=15)


def test_per_frame_pixel_spacing_of_an_enhanced_dicom(tmp_path: Path) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    frames = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, generate_uid()
    ds.Rows, ds.Columns, ds.NumberOfFrames = 4, 5, 3
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    groups = []
    for k in range(3):
        measures = Dataset()
        measures.PixelSpacing = [0.5 + k, 0.25 + k]
        measures.SliceThickness = 3.0
        group = Dataset()
        group.PixelMeasuresSequence = [measures]
        groups.append(group)
    ds.PerFrameFunctionalGroupsSequence = groups
    ds.PixelData = frames.tobytes()
    ds.save_as(tmp_path / "enhanced.dcm", enforce_file_format=True)
    image = read_image(tmp_path / "enhanced.dcm", frame=2)
    np.testing.assert_array_equal(image.pixels, frames[2])
    assert image.pixel_spacing == (2.5, 2.25) and image.slice_thickness == 3.0
    assert read_image(tmp_path / "enhanced.dcm", frame=0).pixel_spacing == (0.5, 0.25)


def test_a_multipage_tiff_lists_every_page_and_reads_page_k(tmp_path: Path) -> None:
    pages = np.random.default_rng(0).integers(0, 255, (3, 8, 9), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "stack.tif", pages, photometric="minisblack")
    items = list_items(tmp_path).items
    assert [i.name for i in items] == ["stack.tif [1/3]", "stack.tif [2/3]", "stack.tif [3/3]"]
    np.testing.assert_array_equal(read_item(items[1]).pixels, pages[1])
    with pytest.raises(BadImageError, match=r"^stack\.tif: has 3 pages, no page 4$"):
        read_image(tmp_path / "stack.tif", frame=3)


def test_list_folder_keeps_its_contract_and_single_frame_files_are_one_item(tmp_path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "plain.png")
    nib.save(nib.Nifti1Image(volume(), np.eye(4)), tmp_path / "ct.nii")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_folder(tmp_path).images] == ["plain.png"]   # volumes only when asked
    listing = list_items(tmp_path)
    assert listing.items[-1] == ImageItem(tmp_path / "plain.png", 0, 1) and listing.items[-1].name == "plain.png"
    assert len(listing.items) == 7 and listing.skipped == 1
    with pytest.raises(BadImageError, match=r"^plain\.png: a single-frame PNG image has no frame 2$"):
        read_image(tmp_path / "plain.png", frame=1)


def test_locate_gives_the_folder_and_the_first_item_of_a_file(tmp_path: Path) -> None:
    nib.save(nib.Nifti1Image(volume(), np.eye(4)), tmp_path / "ct.nii.gz")
    (tmp_path / "notes.txt").write_text("x")
    folder, item = locate(tmp_path / "ct.nii.gz")
    assert folder == tmp_path.absolute() and item == ImageItem(tmp_path.absolute() / "ct.nii.gz", 0, 6)
    with pytest.raises(BadImageError, match=r"^notes\.txt: not an image file \(supported: "):
        locate(tmp_path / "notes.txt")
    with pytest.raises(BadImageError, match=r"^missing\.png: file not found$"):
        locate(tmp_path / "missing.png")


def test_iter_frames_gives_every_slice_once_decompressed(tmp_path: Path) -> None:
    from ukan_core.io.items import iter_frames

    data = volume((6, 7, 5))
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.0, 3.0, 1.0])), tmp_path / "ct.nii.gz")
    frames = list(iter_frames(tmp_path / "ct.nii.gz"))
    assert [f.frame for f in frames] == list(range(5))
    for k, frame in enumerate(frames):
        np.testing.assert_array_equal(frame.pixels, read_image(tmp_path / "ct.nii.gz", frame=k).pixels)
        np.testing.assert_array_equal(frame.pixels, data[:, :, k])


@pytest.mark.parametrize("name, content, reason", [
    ("empty.nii", b"", "empty file (0 bytes)"),
    ("plain.nii.gz", b"not compressed" * 30, "not gzip-compressed, as a .nii.gz file must be"),
    ("zeros.nii", b"\0" * 400, "not a NIfTI file (no NIfTI-1 or NIfTI-2 header)"),
])
def test_broken_nifti_files_get_one_line_without_the_full_path(tmp_path: Path, name: str, content: bytes,
                                                               reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(BadImageError) as info:
        read_image(tmp_path / name)
    assert str(info.value) == f"{name}: {reason}"


def test_a_truncated_nifti_reads_its_first_slices_and_names_the_missing_ones(tmp_path: Path) -> None:
    import gzip

    nib.save(nib.Nifti1Image(np.ones((50, 50, 20), np.float32), np.eye(4)), tmp_path / "full.nii.gz")
    raw = gzip.decompress((tmp_path / "full.nii.gz").read_bytes())
    (tmp_path / "cut.nii").write_bytes(raw[: len(raw) // 3])
    assert read_image(tmp_path / "cut.nii", frame=0).pixels.shape == (50, 50)
    with pytest.raises(BadImageError) as info:
        read_image(tmp_path / "cut.nii", frame=19)
    assert str(info.value).startswith("cut.nii: corrupt or truncated NIfTI (") and str(tmp_path) not in str(info.value)
