"""`ukan segment --format nifti|dicom-seg`: a volume's masks as one volume, a DICOM's as a SEG, plus
classes.json and measurements.csv beside them; the default PNG output is unchanged."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")
pytest.importorskip("highdicom")
import pydicom  # noqa: E402

from tests.core.test_cli_segment import save_tiny  # noqa: E402
from ukan_core.cli.main import main  # noqa: E402

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
AFFINE = np.array([[0.9, 0.1, 0.0, -20.0], [-0.1, 0.9, 0.0, 4.0], [0.0, 0.0, 2.5, 30.0], [0, 0, 0, 1.0]])


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    data = np.random.default_rng(0).normal(100, 40, (24, 20, 5)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, AFFINE), folder / "ct.nii.gz")
    for root, _, files in os.walk(PYDICOM_FILES):
        if "CT_small.dcm" in files:
            shutil.copy(Path(root) / "CT_small.dcm", folder / "CT_small.dcm")
            break
    return folder


def test_nifti_format_writes_a_volume_input_as_one_volume(inputs: Path, tiny_checkpoint: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    code = main(["segment", str(inputs), "--out", str(out), "--model", str(tiny_checkpoint), "--device", "cpu",
                 "--format", "nifti", "--threshold", "0.01"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(p.name for p in out.iterdir()) == ["CT_small.nii.gz", "classes.json", "ct.nii.gz",
                                                     "measurements.csv"]
    labels = nib.load(out / "ct.nii.gz")
    assert labels.shape == (24, 20, 5) and np.allclose(labels.affine, AFFINE)
    assert labels.get_data_dtype() == np.uint8 and set(np.unique(np.asarray(labels.dataobj))) <= {0, 1}
    assert json.loads((out / "classes.json").read_text()) == {"1": {"name": "foreground", "color": "#e6194b"}}
    with open(out / "measurements.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    volume = [r for r in rows if r["image"] == "ct.nii.gz" and r["region"] == "volume"]
    voxels = int((np.asarray(labels.dataobj) == 1).sum())
    assert voxels > 0 and len(volume) == 1
    zooms = labels.header.get_zooms()
    assert float(volume[0]["area"]) == pytest.approx(voxels * float(np.prod(zooms)), rel=1e-3)
    assert "segmented 2 files (nifti), 0 failed" in captured.out


def test_dicom_seg_format_writes_a_seg_per_dicom_and_one_line_for_others(inputs: Path, tiny_checkpoint: Path,
                                                                       tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    code = main(["segment", str(inputs), "--out", str(out), "--model", str(tiny_checkpoint), "--device", "cpu",
                 "--format", "dicom-seg"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip().splitlines()[-1].startswith(
        "error: ct.nii.gz: not a DICOM file, so no DICOM SEG can reference it; use png or nifti")
    seg = pydicom.dcmread(out / "CT_small_seg.dcm")
    source = pydicom.dcmread(inputs / "CT_small.dcm", stop_before_pixels=True)
    assert seg.Modality == "SEG"
    assert seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID \
        == source.SOPInstanceUID
    assert (out / "classes.json").is_file() and (out / "measurements.csv").is_file()


def test_png_format_names_the_volumes_it_skips(inputs: Path, tiny_checkpoint: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    code = main(["segment", str(inputs), "--out", str(out), "--model", str(tiny_checkpoint), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0 and sorted(p.name for p in out.iterdir()) == ["CT_small.png"]   # PNG output as before
    assert "note: 1 NIfTI volume skipped: PNG masks are written for 2D images; segment volumes with --format nifti" \
        in captured.err
