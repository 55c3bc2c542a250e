"""Hostile input files made on the fly: decompression bombs, special files, misnamed formats.

Each writer returns the path it wrote. The bombs are tiny on disk and declare a huge size; they
are meant to be refused from their header, before anything is decoded.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np


def write_tiff_declaring(path: Path, width: int, height: int, *, pages: int = 1, full_data: bool = False) -> Path:
    """A deflate TIFF of `pages` grey 8-bit pages of width x height, all zeros.

    With `full_data` the strip holds every row: a real image (30000² zeros take 0.9 MB), which a
    reader without limits decodes into 900 MB; otherwise it holds up to 256 rows, so even a
    45000 x 45000 page is a few kilobytes.
    """
    compressor = zlib.compressobj(6)
    block = bytes(width * min(height, 256))
    strip = bytearray()
    for first in range(0, height if full_data else 1, 256):   # streamed: a 30000² page never sits in memory
        strip += compressor.compress(block[: width * min(256, height - first)])
    strip = bytes(strip + compressor.flush())
    entries = 9
    ifd_size = 2 + entries * 12 + 4
    data_offset = 8
    first_ifd = data_offset + len(strip)
    out = bytearray(b"II*\x00" + struct.pack("<I", first_ifd) + strip)
    for page in range(pages):
        ifd_offset = first_ifd + page * ifd_size
        next_ifd = ifd_offset + ifd_size if page + 1 < pages else 0
        tags = [
            (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
            (273, 4, 1, data_offset), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, len(strip)),
        ]
        out += struct.pack("<H", entries)
        for tag, kind, count, value in tags:
            out += struct.pack("<HHII", tag, kind, count, value) if kind == 4 else \
                struct.pack("<HHIHH", tag, kind, count, value, 0)
        out += struct.pack("<I", next_ifd)
    path.write_bytes(bytes(out))
    return path


def write_png_declaring(path: Path, width: int, height: int, *, rows: int | None = None) -> Path:
    """A grey 8-bit PNG of width x height zeros, compressed row by row (small on disk); with `rows`,
    only that many rows are stored (a truncated file that still declares the whole size)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = bytes(width + 1)   # filter byte 0 + the row
    idat = bytearray()
    for _ in range(height if rows is None else rows):
        idat += compressor.compress(row)
    idat += compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", bytes(idat)) + chunk(b"IEND", b""))
    return path


def write_dicom_declaring(path: Path, rows: int, columns: int, frames: int = 1) -> Path:
    """A DICOM whose header declares rows x columns x frames 8-bit pixels, with 16 bytes of pixel data."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = bytes(16)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_corrupt_rle_dicom(path: Path) -> Path:
    """An RLE Lossless DICOM whose compressed frame is garbage (pydicom logs a traceback for it)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import RLELossless, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = RLELossless
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = 8, 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([b"\x01\x00\x00\x00" + b"\xff" * 60])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return path


def write_png(path: Path, height: int = 40, width: int = 56) -> Path:
    """A small RGB gradient PNG, written through bytes so any file name works."""
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    ok, data = cv2.imencode(".png", np.dstack([np.tile(ramp, (height, 1))] * 3))
    assert ok
    with open(path, "wb") as stream:
        stream.write(data.tobytes())
    return path


def make_special_entries(folder: Path) -> dict[str, str]:
    """Entries named like images that are not regular files; {name: words its error line must hold}."""
    (folder / "gone.png").symlink_to(folder / "no-such-target.png")
    (folder / "loop.png").symlink_to(folder / "loop.png")
    (folder / "scans.png").mkdir()
    os.mkfifo(folder / "pipe.png")
    (folder / "zero.png").symlink_to("/dev/zero")
    return {"gone.png": "broken link", "loop.png": "link loop", "scans.png": "folder",
            "pipe.png": "FIFO", "zero.png": "device"}
