"""The annotation store of an image folder: mask keys, the status table, the folder lock,
migration of older stores, and export. Qt-free; the Studio, the CLI and training share it."""

from ukan_core.annotation.corrected import CorrectedItem
from ukan_core.annotation.export import ExportConflictError, export_mask_pixels, export_names, export_store_masks
from ukan_core.annotation.keys import display_name, mask_file_name
from ukan_core.annotation.statuses import STATUSES
from ukan_core.annotation.store import (
    FORMAT_VERSION,
    INDEX_FILE,
    MASKS_FOLDER,
    STORE_FOLDER,
    AnnotationStore,
    fallback_location,
)

__all__ = [
    "FORMAT_VERSION", "INDEX_FILE", "MASKS_FOLDER", "STATUSES", "STORE_FOLDER", "AnnotationStore", "CorrectedItem",
    "ExportConflictError", "display_name", "export_mask_pixels", "export_names", "export_store_masks",
    "fallback_location", "mask_file_name",
]
