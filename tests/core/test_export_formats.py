"""One export, three formats: a Studio folder's masks as PNG (as before), NIfTI or DICOM SEG, always
with classes.json and measurements.csv beside them, and never over existing files unless asked."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

nib = pytest.importorskip("nibabel")
hd = pytest.importorskip("highdicom")
tifffile = pytest.importorskip("tifffile")
import pydicom  # noqa: E402

from ukan_core.annotation import AnnotationStore, ExportConflictError, export_store_masks  # noqa: E402
from ukan_core.annotation.classes import PALETTE  # noqa: E402
from ukan_core.annotation.export import export_mask_pixels  # noqa: E402
from ukan_core.errors import BadImageError  # noqa: E402
from ukan_core.io.masks import write_mask  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXTRAS = {"classes.json", "measurements.csv"}


def _ct_small() -> Path:
    for folder, _, files in os.walk(Path(pydicom.__file__).parent / "data" / "test_files"):
        if "CT_small.dcm" in files:
            return Path(folder) / "CT_small.dcm"
    pytest.skip("pydicom's test file CT_small.dcm is not installed")


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "measurements.csv", newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _studio_folder(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """Three PNG/JPEG images (two share a stem), their masks saved in the store, three classes."""
    folder = tmp_path / "scans"
    folder.mkdir()
    masks = {}
    for i, name in enumerate(("case 1.png", "scan.png", "scan.jpg")):
        cv2.imwrite(str(folder / name), np.full((20, 30, 3), 50 + 40 * i, np.uint8))
        mask = np.zeros((20, 30), np.uint8)
        mask[2:6, 3:11] = 1          # 4 x 8 pixels: area 32, diameter sqrt(4^2 + 8^2)
        mask[12:14, 20 + i:22 + i] = 1   # a second region of label 1
        if i == 1:
            mask[15:18, 2:5] = 2     # 3 x 3 of label 2
        masks[name] = mask
    store = AnnotationStore.open(folder, writer=True)
    store.set_classes(["background", "lesion", "cyst"])
    for name, mask in masks.items():
        store.save_mask(name, mask, "corrected")
    store.close()
    return folder, masks


@pytest.mark.parametrize("mode", ["binary", "labels"])
def test_png_export_writes_the_same_mask_files_plus_classes_and_measurements(tmp_path: Path, mode: str) -> None:
    folder, masks = _studio_folder(tmp_path)
    store = AnnotationStore.open(folder)
    out = tmp_path / "out"
    written = export_store_masks(store, list(masks), out, mode=mode)
    assert [p.name for p in written] == ["case 1.png", "scan.png", "scan_jpg.png"]
    assert {p.name for p in out.iterdir()} == {"case 1.png", "scan.png", "scan_jpg.png"} | EXTRAS
    reference = tmp_path / "reference"   # the PNG bytes exactly as an export wrote them before formats
    reference.mkdir()
    for name, target in (("case 1.png", "case 1.png"), ("scan.png", "scan.png"), ("scan.jpg", "scan_jpg.png")):
        expected = write_mask(reference / target, export_mask_pixels(masks[name], mode))
        assert (out / target).read_bytes() == Path(expected).read_bytes()
    assert json.loads((out / "classes.json").read_text()) == {
        "1": {"name": "lesion", "color": PALETTE[0]}, "2": {"name": "cyst", "color": PALETTE[1]}}
    rows = _rows(out)
    assert [(r["image"], r["label"], r["region"]) for r in rows] == [
        ("case 1.png", "1", "1"), ("case 1.png", "1", "2"),
        ("scan.png", "1", "1"), ("scan.png", "1", "2"), ("scan.png", "2", "1"),
        ("scan.jpg", "1", "1"), ("scan.jpg", "1", "2")]
    first = rows[0]
    assert (first["area"], first["area_unit"], first["diameter_unit"]) == ("32.0000", "px^2", "px")
    assert float(first["max_diameter"]) == pytest.approx(80 ** 0.5, abs=1e-4)
    assert (rows[4]["area"], float(rows[4]["max_diameter"])) == ("9.0000", pytest.approx(18 ** 0.5, abs=1e-4))


def test_an_existing_classes_json_or_measurements_csv_stops_the_export_before_anything_is_written(
        tmp_path: Path) -> None:
    folder, masks = _studio_folder(tmp_path)
    store = AnnotationStore.open(folder)
    for extra in sorted(EXTRAS):
        out = tmp_path / f"out-{extra}"
        out.mkdir()
        (out / extra).write_text("keep me")
        with pytest.raises(ExportConflictError) as caught:
            export_store_masks(store, list(masks), out)
        assert [p.name for p in caught.value.existing] == [extra]
        assert [p.name for p in out.iterdir()] == [extra] and (out / extra).read_text() == "keep me"
        export_store_masks(store, list(masks), out, overwrite=True)
        assert (out / extra).read_text() != "keep me" and (out / "scan_jpg.png").is_file()


def test_nifti_export_of_a_nifti_source_keeps_its_shape_and_affine(tmp_path: Path) -> None:
    folder = tmp_path / "volumes"
    folder.mkdir()
    affine = np.diag([0.5, 0.7, 2.0, 1.0])
    nib.save(nib.Nifti1Image(np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6), affine), folder / "ct.nii.gz")
    first, third = np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.uint8)
    first[1:3, 1:4] = 1
    third[0:2, 0:2] = 2
    store = AnnotationStore.open(folder, writer=True)
    store.set_classes(["background", "lesion", "cyst"])
    store.save_mask("ct.nii.gz", first, "corrected")
    store.save_mask("ct.nii.gz/2", third, "predicted")
    store.close()
    out = tmp_path / "out"
    written = export_store_masks(AnnotationStore.open(folder), ["ct.nii.gz", "ct.nii.gz/2"], out, format="nifti")
    assert [p.name for p in written] == ["ct.nii.gz"]
    labels = nib.load(written[0])
    assert labels.shape == (4, 5, 6) and np.allclose(labels.affine, affine)
    data = np.asarray(labels.dataobj)
    np.testing.assert_array_equal(data[:, :, 0], first)
    np.testing.assert_array_equal(data[:, :, 2], third)
    assert not data[:, :, [1, 3, 4, 5]].any()   # frames without a saved mask are empty
    rows = _rows(out)
    assert [(r["image"], r["label"], r["region"], r["area"], r["area_unit"]) for r in rows] == [
        ("ct.nii.gz [1/6]", "1", "1", "2.1000", "mm^2"),        # 6 pixels of 0.5 x 0.7 mm
        ("ct.nii.gz [3/6]", "2", "1", "1.4000", "mm^2"),
        ("ct.nii.gz", "1", "volume", "4.2000", "mm^3"),         # x 2 mm slices
        ("ct.nii.gz", "2", "volume", "2.8000", "mm^3")]


def test_dicom_seg_export_of_a_dicom_source_reads_back_and_references_it(tmp_path: Path) -> None:
    folder = tmp_path / "dicom"
    folder.mkdir()
    shutil.copy(_ct_small(), folder / "ct.dcm")
    mask = np.zeros((128, 128), np.uint8)
    mask[10:20, 30:50] = 1
    store = AnnotationStore.open(folder, writer=True)
    store.set_classes(["background", "lesion"])
    store.save_mask("ct.dcm", mask, "corrected")
    store.close()
    out = tmp_path / "out"
    written = export_store_masks(AnnotationStore.open(folder), ["ct.dcm"], out, format="dicom-seg")
    assert [p.name for p in written] == ["ct_seg.dcm"]
    seg = hd.seg.segread(written[0])
    refs = [str(r.ReferencedSOPInstanceUID) for r in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence]
    assert refs == [str(pydicom.dcmread(folder / "ct.dcm").SOPInstanceUID)]
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["lesion"]
    np.testing.assert_array_equal(seg.pixel_array.reshape(128, 128).astype(bool), mask == 1)
    (row,) = _rows(out)
    assert (row["image"], row["area_unit"], row["diameter_unit"]) == ("ct.dcm", "mm^2", "mm")
    assert float(row["area"]) == pytest.approx(200 * 0.661468 ** 2, abs=1e-3)   # the DICOM's PixelSpacing


def test_a_dicom_seg_of_a_png_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(_ct_small(), folder / "ct.dcm")
    cv2.imwrite(str(folder / "photo.png"), np.zeros((8, 8), np.uint8))
    store = AnnotationStore.open(folder, writer=True)
    store.save_mask("ct.dcm", np.ones((128, 128), np.uint8), "corrected")
    store.save_mask("photo.png", np.ones((8, 8), np.uint8), "corrected")
    store.close()
    out = tmp_path / "out"
    with pytest.raises(BadImageError, match=r"^photo\.png: not a DICOM file, so no DICOM SEG"):
        export_store_masks(AnnotationStore.open(folder), ["ct.dcm", "photo.png"], out, format="dicom-seg")
    assert not out.exists()
    lines: list[str] = []
    written = export_store_masks(AnnotationStore.open(folder), ["ct.dcm", "photo.png"], out, format="dicom-seg",
                                 on_error=lines.append)
    assert [p.name for p in written] == ["ct_seg.dcm"] and len(lines) == 1 and lines[0].startswith("photo.png: ")
    assert {p.name for p in out.iterdir()} == {"ct_seg.dcm"} | EXTRAS


def test_frames_of_a_multi_frame_file_export_as_items_of_their_own(tmp_path: Path) -> None:
    folder = tmp_path / "cine"
    folder.mkdir()
    tifffile.imwrite(folder / "cine.tif", np.zeros((3, 10, 12), np.uint8), photometric="minisblack")
    masks = {key: np.zeros((10, 12), np.uint8) for key in ("cine.tif", "cine.tif/2")}
    masks["cine.tif"][0:2, 0:3] = 1
    masks["cine.tif/2"][5:9, 5:6] = 1
    store = AnnotationStore.open(folder, writer=True)
    for key, mask in masks.items():
        store.save_mask(key, mask, "corrected")
    store.close()
    out = tmp_path / "out"
    written = export_store_masks(AnnotationStore.open(folder), list(masks), out, mode="labels")
    assert [p.name for p in written] == ["cine_1.png", "cine_3.png"]
    np.testing.assert_array_equal(cv2.imread(str(out / "cine_3.png"), cv2.IMREAD_UNCHANGED), masks["cine.tif/2"])
    assert [(r["image"], r["region"], r["area"]) for r in _rows(out)] == [
        ("cine.tif [1/3]", "1", "6.0000"), ("cine.tif [3/3]", "1", "4.0000"), ("cine.tif", "volume", "10.0000")]
    volume = export_store_masks(AnnotationStore.open(folder), list(masks), tmp_path / "nii", format="nifti")
    data = np.asarray(nib.load(volume[0]).dataobj)
    assert data.shape == (10, 12, 3) and int(data.sum()) == 10 and not data[:, :, 1].any()


def test_ukan_export_format_nifti_in_a_real_process(tmp_path: Path) -> None:
    folder = tmp_path / "volumes"
    folder.mkdir()
    affine = np.diag([0.5, 0.7, 2.0, 1.0])
    nib.save(nib.Nifti1Image(np.zeros((4, 5, 3), np.int16), affine), folder / "ct.nii.gz")
    cv2.imwrite(str(folder / "photo.png"), np.zeros((8, 8), np.uint8))
    store = AnnotationStore.open(folder, writer=True)
    store.save_mask("ct.nii.gz/1", np.ones((4, 5), np.uint8), "corrected")
    store.save_mask("photo.png", np.ones((8, 8), np.uint8), "predicted")
    store.close()

    def ukan(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ukan_core.cli.main", "export", *map(str, args)], cwd=REPO,
                              capture_output=True, text=True, timeout=120, env=dict(os.environ))

    done = ukan(folder, "--out", tmp_path / "out", "--format", "nifti")
    assert done.returncode == 0, done.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"ct.nii.gz", "photo.nii.gz"} | EXTRAS
    labels = nib.load(tmp_path / "out" / "ct.nii.gz")
    assert labels.shape == (4, 5, 3) and np.allclose(labels.affine, affine)
    assert np.asarray(labels.dataobj)[:, :, 1].all() and not np.asarray(labels.dataobj)[:, :, [0, 2]].any()
    assert "exported 2 nifti files of 2 images" in done.stdout
    refused = ukan(folder, "--out", tmp_path / "seg", "--format", "dicom-seg", "--which", "corrected")
    assert refused.returncode == 1
    errors = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: ct.nii.gz: not a DICOM file, so no DICOM SEG")
    assert "exported 0 corrected dicom-seg files" in refused.stdout
    again = ukan(folder, "--out", tmp_path / "out", "--format", "nifti")
    assert again.returncode == 2 and "already exist" in again.stderr and "--overwrite" in again.stderr
