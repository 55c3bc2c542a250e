"""DICOM bytes -> pixels of one frame (the first unless asked), after the modality LUT/rescale, VOI LUT and palette;
Rows x Columns x frames is checked against the pixel limits before `pixel_array` decodes anything.

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


DICOMDIR_CLASS = "1.2.840.10008.1.3.10"   # Media Storage Directory Storage


def decode_dicom(data: bytes, name: str, frame: int = 0) -> Decoded:
    """A DICOM file with or without its 'DICM' preamble (old ACR-NEMA files have none).

    Frame `frame` (0-based) is decoded (compressed transfer syntaxes through pydicom's pixel plugins and
    ours, `dicom_codecs`), then the modality LUT or rescale, the VOI LUT and PALETTE COLOR are
    applied with pydicom's own functions; a linear window is passed on as a fact for `to_rgb8`.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    from ukan_core.io import dicom_codecs

    dicom_codecs.register()
    with quiet_pydicom():
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
        except InvalidDicomError:
            ds = _read_headerless(data, name)
        except Exception as exc:
            raise BadImageError(f"{name}: corrupt or truncated DICOM ({reason(exc)})") from None
        if _is_dicomdir(ds):
            raise BadImageError(f"{name}: a DICOMDIR (the index of a DICOM folder), not an image; "
                                "skipped: open the image files it lists")
        if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
            raise BadImageError(f"{name}: DICOM file has no pixel data")
        try:
            frame_count = int(ds.get("NumberOfFrames", 1) or 1)
            rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        except (TypeError, ValueError) as exc:
            raise BadImageError(f"{name}: corrupt DICOM header ({reason(exc)})") from None
        check_declared_size(name, columns, rows, frames=frame_count)
        if not 0 <= frame < frame_count:
            raise BadImageError(f"{name}: has {frame_count} frame{'s' if frame_count != 1 else ''}, "
                                f"no frame {frame + 1}")
        arr = _frame(ds, name, frame_count, frame)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        bits_stored = int(ds.get("BitsStored", arr.dtype.itemsize * 8) or 8)
        photometric = str(ds.get("PhotometricInterpretation", "")).upper()
        window = None
        if photometric == "PALETTE COLOR" and samples == 1:
            arr = _palette_to_rgb(arr, ds, name)
        elif samples == 1:
            arr = _modality_values(arr, ds)
            arr, window = _voi(arr, ds)
        pixels, _ = normalise_array(arr, name)
        modality = str(ds.Modality) if ds.get("Modality") else None
        spacing = pixel_spacing_of(ds, frame)
    return Decoded(pixels, bits_stored, {"modality": modality, "window": window, "frame_count": frame_count,
                                         "inverted": photometric == "MONOCHROME1", "pixel_spacing": spacing,
                                         "frame": frame, "slice_thickness": slice_thickness_of(ds, frame)})


def _frame(ds, name: str, frame_count: int, index: int) -> np.ndarray:
    """One frame's stored values; a one-line error naming the transfer syntax when it cannot be."""
    import pydicom

    try:
        return ds.pixel_array if frame_count == 1 else pydicom.pixels.pixel_array(ds, index=index)
    except Exception as exc:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        if syntax is None:
            raise BadImageError(f"{name}: cannot decode DICOM pixels (the file names no transfer syntax)") from None
        described = f"{getattr(syntax, 'name', '') or 'unknown transfer syntax'} ({syntax})"
        if not _has_decoder(syntax):
            package = _package_for(syntax)
            if package is not None:   # a syntax we read, on an installation that lacks its codec
                raise BadImageError(f"{name}: DICOM pixel data in {described} needs the '{package}' package "
                                    f"(pip install {package})") from None
            raise BadImageError(f"{name}: DICOM pixel data in {described} is not supported; "
                                "convert it to uncompressed DICOM first") from None
        raise BadImageError(f"{name}: cannot decode DICOM pixels ({described}: {reason(exc)})") from None


def _has_decoder(syntax) -> bool:
    """True when pydicom has a decoder with its dependencies installed for this transfer syntax."""
    from pydicom.pixels.decoders.base import get_decoder

    try:
        return bool(get_decoder(syntax).is_available)
    except (NotImplementedError, ValueError, KeyError):
        return False


def _package_for(syntax) -> str | None:
    """The package (a project dependency) that decodes this transfer syntax, if it is one we read."""
    from pydicom.uid import JPEG2000TransferSyntaxes

    from ukan_core.io.dicom_codecs import DECODER_DEPENDENCIES

    if syntax in DECODER_DEPENDENCIES:
        return "imagecodecs"
    if syntax in JPEG2000TransferSyntaxes:
        return "pylibjpeg-openjpeg"
    return None


def _is_dicomdir(ds) -> bool:
    meta = getattr(ds, "file_meta", None)
    media_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    return media_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in ds


def _modality_values(arr: np.ndarray, ds) -> np.ndarray:
    """Stored values -> modality values (e.g. Hounsfield units) via the modality LUT or rescale."""
    from pydicom.pixels import apply_modality_lut

    if "RescaleSlope" not in ds and "RescaleIntercept" not in ds and "ModalityLUTSequence" not in ds:
        return arr
    out = apply_modality_lut(arr, ds)
    if "ModalityLUTSequence" in ds:
        return out   # LUT outputs are unsigned integers of the LUT's depth
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    if out.dtype.kind == "f" or slope != 1 or intercept != 0:
        out = np.asarray(out, np.float32)
    return out


def _voi(arr: np.ndarray, ds) -> tuple[np.ndarray, tuple[float, float] | None]:
    """(values, window for `to_rgb8`). A VOI LUT or a non-linear window function is applied here
    by pydicom and the window then spans its output range; a plain linear window is returned as is."""
    from pydicom.pixels import apply_voi, apply_windowing

    if "VOILUTSequence" in ds:
        try:
            out = apply_voi(arr, ds)
            bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        except Exception as exc:
            log.debug("VOI LUT not applied: %s", reason(exc))
        else:
            return np.asarray(out, np.float32), _window_spanning(0.0, float(2 ** bits - 1))
    window = _window(ds)
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    if window is None or function == "LINEAR":
        return arr, window
    try:   # SIGMOID, LINEAR_EXACT: pydicom's own formulas; their output range is found the same way
        out = apply_windowing(np.asarray(arr, np.float64), ds)
        with np.errstate(over="ignore", invalid="ignore"):
            lo, hi = apply_windowing(np.array([-1e300, 1e300]), ds)
    except Exception as exc:
        log.debug("VOI function %s not applied: %s", function, reason(exc))
        return arr, window
    return np.asarray(out, np.float32), _window_spanning(float(lo), float(hi))


def _window_spanning(lo: float, hi: float) -> tuple[float, float]:
    """The linear (center, width) that maps lo..hi onto the whole display range (PS3.3 C.11.2.1.2.1)."""
    return (lo + hi) / 2 + 0.5, hi - lo + 1


def _palette_to_rgb(arr: np.ndarray, ds, name: str) -> np.ndarray:
    """PALETTE COLOR indices -> RGB through the file's palette, as 8 bits per channel."""
    from pydicom.pixels import apply_color_lut

    try:
        rgb = apply_color_lut(arr, ds)
    except Exception as exc:
        raise BadImageError(f"{name}: PALETTE COLOR DICOM with an unreadable palette ({reason(exc)})") from None
    if rgb.dtype != np.uint8:   # 16-bit palette entries (the usual case) -> 8 bits, rounding
        rgb = np.rint(np.asarray(rgb, np.float64) / 257.0).astype(np.uint8)
    return rgb


def pixel_spacing_of(ds, frame: int = 0) -> tuple[float, float] | None:
    """Millimetres per pixel (row, column) of frame `frame`: the per-frame functional groups of an
    enhanced multi-frame file, then its shared groups, then PixelSpacing, else ImagerPixelSpacing;
    None when absent or not two positive numbers."""
    candidates = [_pixel_measure(ds, frame, "PixelSpacing"), ds.get("PixelSpacing"), ds.get("ImagerPixelSpacing")]
    for value in candidates:
        spacing = _two_positive(value)
        if spacing is not None:
            return spacing
    return None


def slice_thickness_of(ds, frame: int = 0) -> float | None:
    """SliceThickness in mm of frame `frame` (per-frame, then shared functional groups, then the
    top level); None when absent or not a positive number."""
    for value in (_pixel_measure(ds, frame, "SliceThickness"), ds.get("SliceThickness")):
        try:
            thickness = float(value) if value is not None and value != "" else None
        except (TypeError, ValueError):
            thickness = None
        if thickness is not None and np.isfinite(thickness) and thickness > 0:
            return thickness
    return None


def _pixel_measure(ds, frame: int, keyword: str):
    """`keyword` of the Pixel Measures of frame `frame` (per-frame group first, then shared), or None."""
    for sequence, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        try:
            value = getattr(ds, sequence)[index].PixelMeasuresSequence[0].get(keyword)
        except (AttributeError, IndexError, KeyError, TypeError):
            continue
        if value is not None:
            return value
    return None


def _two_positive(value) -> tuple[float, float] | None:
    if value is None or not _is_multi(value) or len(value) < 2:
        return None
    try:
        row, column = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(row) and np.isfinite(column) and row > 0 and column > 0):
        return None
    return row, column


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
