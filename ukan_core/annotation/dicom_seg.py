"""Label masks of a DICOM image -> a DICOM Segmentation (SEG) object that references its source.

Written through highdicom: one segment per class (its name from the annotation store, the
colour-independent SNOMED codes "morphologically abnormal structure" / "lesion"), binary frames,
and the source's SOP Instance UID (and frame numbers of a multi-frame source) in the references,
so a PACS or viewer shows the SEG over the image it came from. A single-frame source and an
enhanced multi-frame source (with functional groups, e.g. "Enhanced CT/MR" or a legacy-converted
enhanced image) are supported; a classic multi-frame file (an ultrasound cine, an RT dose) is
refused with one line, as highdicom cannot place its frames.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ukan_core import __version__
from ukan_core.annotation.mask_stack import stack_masks
from ukan_core.errors import BadImageError
from ukan_core.io.names import display_name
from ukan_core.io.pixel_arrays import reason

MANUFACTURER = "UKAN Studio"


def write_dicom_seg(source: str | Path, masks: Sequence[np.ndarray], class_names: Sequence[str],
                    target: str | Path, *, algorithm: str = "U-KAN") -> Path:
    """Write a DICOM SEG of `masks` (one (H, W) label mask per frame of `source`) at `target`, atomically.

    `class_names` names labels 1..K. BadImageError with one line when the source cannot carry a SEG.
    """
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    from ukan_core.atomic import atomic_path
    from ukan_core.io.dicom_decoder import quiet_pydicom

    name = display_name(source)
    with quiet_pydicom(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(str(source))
        except Exception as exc:
            raise BadImageError(f"{name}: not a readable DICOM file ({reason(exc)})") from None
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        if frames > 1 and "SharedFunctionalGroupsSequence" not in ds:
            raise BadImageError(f"{name}: a classic multi-frame DICOM (no functional groups), whose frames a DICOM "
                                "SEG cannot place; export NIfTI or PNG masks instead")
        size = (int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0))
        labels = stack_masks(masks, frames, size, name, part="frame", source="a DICOM", plane="image")
        used = int(labels.max())
        if used > len(class_names):
            raise BadImageError(f"{name}: masks hold label {used} but only {len(class_names)} classes are named")
        algorithm_id = hd.AlgorithmIdentificationSequence(
            name=algorithm, version=__version__, family=codes.cid7162.ArtificialIntelligence)
        descriptions = [hd.seg.SegmentDescription(
            segment_number=k, segment_label=str(class_name)[:64],
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Lesion,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm_id) for k, class_name in enumerate(class_names, start=1)]
        try:
            seg = hd.seg.Segmentation(
                source_images=[ds], pixel_array=labels if frames > 1 else labels[0],
                segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=descriptions,
                series_instance_uid=hd.UID(), series_number=int(ds.get("SeriesNumber", 0) or 0) + 1000,
                sop_instance_uid=hd.UID(), instance_number=1, manufacturer=MANUFACTURER,
                manufacturer_model_name=MANUFACTURER, software_versions=__version__, device_serial_number="0",
                omit_empty_frames=bool(used))
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise BadImageError(f"{name}: a DICOM SEG cannot reference this source ({reason(exc)}); "
                                "export NIfTI or PNG masks instead") from None
        target = Path(target)
        with atomic_path(target) as tmp:
            seg.save_as(tmp)
    return target


def dicom_seg_target_name(source: str | Path) -> str:
    """`<stem>_seg.dcm` (a source without an extension keeps its whole name: `IM0001_seg.dcm`)."""
    return f"{Path(source).stem}_seg.dcm"
