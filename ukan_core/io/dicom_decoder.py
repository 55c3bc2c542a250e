"""DICOM bytes -> pixels of the first frame, after the modality rescale; Rows x Columns x frames is
checked against the pixel limits before `pixel_array` decodes anything.

pydicom logs its own tracebacks for some broken files (its default handler prints them to
stderr); while we read, its log records are kept out of the terminal and passed to our logger at
debug level, so a broken file costs exactly one line: our error.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from ukan_core.errors import BadImageError
from ukan_core.io.image_limits import check_declared_size
from ukan_core.io.pixel_arrays import Decoded, normalise_array, reason

log = logging.getLogger(__name__)


def decode_dicom(data: bytes, name: str) -> Decoded:
    """A DICOM file with or without its 'DICM' preamble (old ACR-NEMA files have none)."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut

    with quiet_pydicom():
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
        except InvalidDicomError:
            ds = _read_headerless(data, name)
        except Exception as exc:
            raise BadImageError(f"{name}: corrupt or truncated DICOM ({reason(exc)})") from None
        if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
            raise BadImageError(f"{name}: DICOM file has no pixel data")
        try:
            frame_count = int(ds.get("NumberOfFrames", 1) or 1)
            rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        except (TypeError, ValueError) as exc:
            raise BadImageError(f"{name}: corrupt DICOM header ({reason(exc)})") from None
        check_declared_size(name, columns, rows, frames=frame_count)
        try:
            arr = ds.pixel_array if frame_count == 1 else pydicom.pixels.pixel_array(ds, index=0)
        except Exception as exc:
            syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
            syntax_name = getattr(syntax, "name", str(syntax))
            raise BadImageError(f"{name}: cannot decode DICOM pixels ({syntax_name}: {reason(exc)})") from None
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        bits_stored = int(ds.get("BitsStored", arr.dtype.itemsize * 8) or 8)
        if samples == 1:
            has_rescale = "RescaleSlope" in ds or "RescaleIntercept" in ds or "ModalityLUTSequence" in ds
            if has_rescale:
                arr = apply_modality_lut(arr, ds)
                slope = float(ds.get("RescaleSlope", 1) or 1)
                intercept = float(ds.get("RescaleIntercept", 0) or 0)
                if arr.dtype.kind == "f" or slope != 1 or intercept != 0:
                    arr = np.asarray(arr, np.float32)
        pixels, _ = normalise_array(arr, name)
        photometric = str(ds.get("PhotometricInterpretation", "")).upper()
        modality = str(ds.Modality) if ds.get("Modality") else None
        window = _window(ds) if samples == 1 else None
    return Decoded(pixels, bits_stored, {"modality": modality, "window": window, "frame_count": frame_count,
                                         "inverted": photometric == "MONOCHROME1"})


def _read_headerless(data: bytes, name: str):
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            ok = "PixelData" in ds and "Rows" in ds and "Columns" in ds
    except Exception:
        ok = False
    if not ok:
        raise BadImageError(f"{name}: not a DICOM file (no DICM header)")
    if not hasattr(ds, "file_meta") or "TransferSyntaxUID" not in ds.file_meta:
        from pydicom.dataset import FileMetaDataset
        from pydicom.uid import ImplicitVRLittleEndian

        ds.file_meta = getattr(ds, "file_meta", None) or FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian  # the ACR-NEMA default
    return ds


def _window(ds) -> tuple[float, float] | None:
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        return None
    try:
        c = float(center[0] if _is_multi(center) else center)
        w = float(width[0] if _is_multi(width) else width)
    except (TypeError, ValueError, IndexError):
        return None
    return (c, w) if w > 0 else None


def _is_multi(value) -> bool:
    return not isinstance(value, (str, bytes)) and hasattr(value, "__len__") and hasattr(value, "__getitem__")


# -- pydicom's log ------------------------------------------------------------------------------
class _ToDebug(logging.Handler):
    """Passes pydicom's records to our logger at debug level, message only (no traceback)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            log.debug("pydicom: %s", " ".join(record.getMessage().split())[:300])
        except Exception:
            pass


_lock = threading.Lock()
_readers = 0
_saved: tuple[list[logging.Handler], bool] | None = None
_capture = _ToDebug()


@contextmanager
def quiet_pydicom() -> Iterator[None]:
    """While any thread reads DICOM, pydicom's logger goes to our debug log instead of stderr."""
    global _readers, _saved
    logger = logging.getLogger("pydicom")
    with _lock:
        if _readers == 0:
            _saved = (list(logger.handlers), logger.propagate)
            logger.handlers = [_capture]
            logger.propagate = False
        _readers += 1
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if _readers == 0 and _saved is not None:
                logger.handlers, logger.propagate = _saved[0], _saved[1]
                _saved = None
