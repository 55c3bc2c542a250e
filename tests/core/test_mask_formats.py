"""Masks out: NIfTI label volumes (shape and affine kept), DICOM SEG referencing its source,
classes.json, and measurements with areas per slice and volumes in mm^3."""

from __future__ import annotations

import copy
import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")
hd = pytest.importorskip("highdicom")
import pydicom  # noqa: E402

from ukan_core.annotation.classes import PALETTE, classes_document, label_color  # noqa: E402
from ukan_core.annotation.formats import (  # noqa: E402
    source_measurements,
    target_names,
    write_export_extras,
    write_masks,
)
from ukan_core.errors import BadImageError  # noqa: E402
from ukan_core.io.items import list_items, read_item  # noqa: E402
from ukan_core.measure import measure_mask, measure_volume  # noqa: E402

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
OBLIQUE = np.array([[0.0, 0.8, 0.1, 10.0], [0.1, 0.0, 0.9, -3.0], [3.0, 0.0, 0.05, 5.0], [0, 0, 0, 1.0]])


def pydicom_file(name: str) -> Path:
    for folder, _, files in os.walk(PYDICOM_FILES):
        if name in files:
            return Path(folder) / name
    pytest.skip(f"pydicom's test file {name} is not installed")


@pytest.mark.parametrize("affine", [np.diag([0.5, 0.7, 2.0, 1.0]), OBLIQUE], ids=["axial", "oblique"])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_in_nifti_out_keeps_shape_and_affine(tmp_path: Path, affine: np.ndarray, suffix: str) -> None:
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    source = tmp_path / f"ct{suffix}"
    nib.save(nib.Nifti1Image(data, affine), source)
    items = list_items(tmp_path).items
    masks = [(read_item(item).pixels > 50).astype(np.uint8) * (1 + item.frame % 2) for item in items]
    written = write_masks("nifti", source, masks, tmp_path / "out", class_names=["lesion", "cyst"])
    assert [p.name for p in written] == ["ct.nii.gz"]
    labels = nib.load(written[0])
    assert labels.shape == data.shape and np.allclose(labels.affine, affine)
    assert labels.get_data_dtype() == np.uint8 and int(labels.header["intent_code"]) == 1002
    expected = np.stack(masks, axis=0)
    axis = 0 if affine is OBLIQUE else 2
    np.testing.assert_array_equal(np.asarray(labels.dataobj), np.moveaxis(expected, 0, axis))


def test_a_2d_image_gives_a_one_slice_nifti_sized_by_its_spacing(tmp_path: Path) -> None:
    mask = np.zeros((6, 7), np.uint8)
    mask[1:3, 2:5] = 1
    written = write_masks("nifti", tmp_path / "scan.png", [mask], tmp_path, class_names=["lesion"],
                          pixel_spacing=(0.5, 0.25))
    labels = nib.load(written[0])
    assert written[0].name == "scan.nii.gz" and labels.shape == (6, 7, 1)
    assert labels.header.get_zooms() == pytest.approx((0.5, 0.25, 1.0))
    np.testing.assert_array_equal(np.asarray(labels.dataobj)[:, :, 0], mask)


def test_the_frames_of_a_multipage_tiff_give_a_volume_that_reads_back_frame_by_frame(tmp_path: Path) -> None:
    import tifffile

    pages = np.random.default_rng(1).integers(0, 255, (3, 8, 9), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "stack.tif", pages, photometric="minisblack")
    items = list_items(tmp_path).items
    masks = [(read_item(item).pixels > 128).astype(np.uint8) for item in items]
    written = write_masks("nifti", tmp_path / "stack.tif", masks, tmp_path / "out", class_names=["lesion"],
                          pixel_spacing=(0.5, 0.5), slice_thickness=2.0)
    assert written[0].name == "stack.nii.gz" and nib.load(written[0]).shape == (8, 9, 3)
    back = list_items(tmp_path / "out").items
    assert len(back) == 3
    for item, mask in zip(back, masks):
        np.testing.assert_array_equal(read_item(item).pixels, mask)


def test_a_dicom_seg_from_a_single_frame_dicom_references_its_source(tmp_path: Path) -> None:
    source = pydicom_file("CT_small.dcm")
    mask = np.zeros((128, 128), np.uint8)
    mask[10:20, 30:50] = 1
    mask[60:70, 60:64] = 2
    written = write_masks("dicom-seg", source, [mask], tmp_path, class_names=["lesion", "cyst"])
    assert [p.name for p in written] == ["CT_small_seg.dcm"]
    seg = hd.seg.segread(written[0])
    refs = [str(r.ReferencedSOPInstanceUID) for r in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence]
    assert seg.Modality == "SEG" and refs == [str(pydicom.dcmread(source).SOPInstanceUID)]
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["lesion", "cyst"]
    frames = seg.pixel_array.reshape(-1, 128, 128)
    numbers = [int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
               for f in seg.PerFrameFunctionalGroupsSequence]
    assert sorted(numbers) == [1, 2]
    for frame, number in zip(frames, numbers):
        np.testing.assert_array_equal(frame.astype(bool), mask == number)


def test_a_dicom_seg_from_a_multiframe_dicom_references_the_source_frames(tmp_path: Path) -> None:
    base = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    series = []
    for k in range(3):
        ds = copy.deepcopy(base)
        ds.SOPInstanceUID, ds.InstanceNumber = hd.UID(), k + 1
        position = [float(v) for v in ds.ImagePositionPatient]
        ds.ImagePositionPatient = [position[0], position[1], position[2] + 5 * k]
        series.append(ds)
    enhanced = hd.legacy.LegacyConvertedEnhancedCTImage(series, series_instance_uid=hd.UID(), series_number=9,
                                                        sop_instance_uid=hd.UID(), instance_number=1)
    source = tmp_path / "enhanced.dcm"
    enhanced.save_as(source)
    assert [i.name for i in list_items(tmp_path).items] == [f"enhanced.dcm [{k}/3]" for k in (1, 2, 3)]
    masks = [np.zeros((128, 128), np.uint8) for _ in range(3)]
    masks[1][5:9, 5:9] = 1
    written = write_masks("dicom-seg", source, masks, tmp_path / "out", class_names=["lesion"])
    seg = pydicom.dcmread(written[0])
    assert str(seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID) \
        == str(enhanced.SOPInstanceUID)
    derived = seg.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0].SourceImageSequence[0]
    assert int(derived.ReferencedFrameNumber) == 2   # the one frame with a mask, counted from 1
    np.testing.assert_array_equal(seg.pixel_array.astype(bool), masks[1] == 1)


def test_a_dicom_seg_is_refused_in_one_line_for_sources_that_cannot_carry_it(tmp_path: Path) -> None:
    with pytest.raises(BadImageError, match=r"^scan\.png: not a DICOM file, so no DICOM SEG can reference it; "):
        (tmp_path / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        write_masks("dicom-seg", tmp_path / "scan.png", [np.zeros((2, 2), np.uint8)], tmp_path, class_names=["x"])
    dose = pydicom_file("rtdose.dcm")   # a classic multi-frame file: no functional groups to place frames by
    with pytest.raises(BadImageError) as info:
        write_masks("dicom-seg", dose, [np.zeros((10, 10), np.uint8)] * 15, tmp_path, class_names=["lesion"])
    assert str(info.value) == ("rtdose.dcm: a classic multi-frame DICOM (no functional groups), whose frames a "
                               "DICOM SEG cannot place; export NIfTI or PNG masks instead")
    assert "\n" not in str(info.value) and not list(tmp_path.glob("*_seg.dcm*"))   # nothing half-written


def test_classes_json_names_and_colours_every_label(tmp_path: Path) -> None:
    write_export_extras(tmp_path, ["lesion", "cyst"], {})
    document = json.loads((tmp_path / "classes.json").read_text(encoding="utf-8"))
    assert document == {"1": {"name": "lesion", "color": "#e6194b"}, "2": {"name": "cyst", "color": PALETTE[1]}}
    assert label_color(len(PALETTE) + 1) == PALETTE[0]
    assert len(set(PALETTE)) == len(PALETTE)
    assert classes_document([]) == {}


def test_area_is_pixel_count_times_spacing_and_volume_is_voxels_times_voxel_volume(tmp_path: Path) -> None:
    masks = [np.zeros((10, 10), np.uint8) for _ in range(3)]
    masks[0][0:2, 0:3] = 1            # 6 px
    masks[1][4:8, 4:9] = 1            # 20 px
    masks[2][0:1, 0:1] = 2            # 1 px of label 2
    rows = measure_mask(masks[1], (0.5, 0.2))
    assert rows[0].area == pytest.approx(20 * 0.5 * 0.2) and rows[0].area_unit == "mm^2"
    volume = measure_volume(masks, (0.5, 0.2), 3.0)
    assert [(r.label, r.region, r.pixel_count) for r in volume] == [(1, "volume", 26), (2, "volume", 1)]
    assert volume[0].area == pytest.approx(26 * 0.5 * 0.2 * 3.0) and volume[0].area_unit == "mm^3"
    assert measure_volume(masks, None, None)[0].area_unit == "voxels"
    measurements = source_measurements("ct.nii.gz", masks, [(0.5, 0.2)] * 3, 3.0)
    assert list(measurements) == ["ct.nii.gz [1/3]", "ct.nii.gz [2/3]", "ct.nii.gz [3/3]", "ct.nii.gz"]
    write_export_extras(tmp_path, ["lesion", "cyst"], measurements)
    with open(tmp_path / "measurements.csv", newline="", encoding="utf-8") as stream:
        table = list(csv.DictReader(stream))
    volume_rows = [r for r in table if r["region"] == "volume"]
    assert [(r["image"], r["label"], r["area"], r["area_unit"], r["max_diameter"]) for r in volume_rows] == [
        ("ct.nii.gz", "1", "7.8000", "mm^3", ""), ("ct.nii.gz", "2", "0.3000", "mm^3", "")]
    assert math.isclose(float(table[0]["area"]), 6 * 0.5 * 0.2)


def test_png_targets_number_the_frames() -> None:
    assert target_names("png", Path("scan.png")) == ["scan.png"]
    assert target_names("png", Path("cine.dcm"), 12)[:2] == ["cine_01.png", "cine_02.png"]
    assert target_names("nifti", Path("ct.NII.GZ")) == ["ct.nii.gz"]
    assert target_names("dicom-seg", Path("IM0001")) == ["IM0001_seg.dcm"]
