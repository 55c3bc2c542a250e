"""Which image format a file holds, decided by its first bytes (magic numbers), not its name.

The one place that maps content to a decoder: PNG content named `.tif`, DICOM named `.png` or
a JPEG named `.png` are all read by what they are. The name only matters when the content is
not recognised (to word the error) and for listing a folder (image extensions, plus DICOM files
without an extension, which scanners often write).
"""

from __future__ import annotations

import struct

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom"}
)
DICOM_EXTENSIONS = frozenset({".dcm", ".dicom"})
HEAD_BYTES = 132  # enough for every magic number below (DICOM's 'DICM' sits at offset 128)

PNG, JPEG, BMP, TIFF, DICOM = "PNG", "JPEG", "BMP", "TIFF", "DICOM"
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}   # BITMAPCOREHEADER ... BITMAPV5HEADER


def sniff_format(head: bytes) -> str | None:
    """"PNG", "JPEG", "BMP", "TIFF" or "DICOM" for the first HEAD_BYTES of a file; None if unknown.

    A DICOM file without the 128-byte preamble and 'DICM' (old ACR-NEMA style) returns None here;
    see `looks_like_headerless_dicom`.
    """
    if head[128:132] == b"DICM":   # first: a DICOM preamble may itself hold a TIFF header (dual-format files)
        return DICOM
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):   # classic and BigTIFF
        return TIFF
    if head.startswith(b"BM") and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in _BMP_HEADER_SIZES:
        return BMP
    return None


def looks_like_headerless_dicom(head: bytes) -> bool:
    """True when the file starts like a bare DICOM dataset: a group 0x0008 (or 0x0002) element first.

    A cheap guess for listing files without an extension; the DICOM reader confirms it.
    """
    if len(head) < 8:
        return False
    group, element = struct.unpack_from("<HH", head, 0)
    if group not in (0x0002, 0x0008) or element > 0x0200:
        return False
    vr = head[4:6]
    if vr.isalpha() and vr.isupper():   # explicit VR
        return True
    length = struct.unpack_from("<I", head, 4)[0]   # implicit VR: a plausible element length
    return length < 0x10000


def is_dicom_content(head: bytes) -> bool:
    """True for a DICOM file with or without its 'DICM' preamble (the first HEAD_BYTES given)."""
    return sniff_format(head) == DICOM or looks_like_headerless_dicom(head)
