"""A pydicom pixel-decoder plugin backed by `imagecodecs` for the JPEG family pydicom's own
permissively licensed backends leave out.

pydicom 3 decodes compressed pixel data through plugins: its own RLE decoder, Pillow (JPEG
baseline, 8-bit JPEG extended, JPEG 2000) and pylibjpeg-openjpeg (JPEG 2000). JPEG Lossless
(processes 14 and 14 SV1), JPEG-LS and 12-bit JPEG Extended have, among pydicom's plugins, only
GPL-licensed (pylibjpeg-libjpeg) or separately installed (GDCM, pyjpegls) backends. `imagecodecs`,
already needed for compressed TIFF and BSD-licensed with the licence of every library it bundles
(liblj92, CharLS, libjpeg-turbo), covers them, so it is registered here as one more pydicom plugin,
after pydicom's own, through pydicom's public `Decoder.add_plugin`.

The module follows pydicom's plugin contract: `DECODER_DEPENDENCIES`, `is_available(uid)` and a
frame decoder `decode_frame(src, runner)` returning the frame's bytes (unsigned, interleaved);
pydicom then applies its own sign and unused-bit corrections.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from pydicom import uid

PLUGIN_LABEL = "ukan-imagecodecs"
_SYNTAXES = (uid.JPEGLossless, uid.JPEGLosslessSV1, uid.JPEGLSLossless, uid.JPEGLSNearLossless,
             uid.JPEGExtended12Bit)
DECODER_DEPENDENCIES = {syntax: ("numpy", "imagecodecs") for syntax in _SYNTAXES}
_registered = False
_lock = threading.Lock()


def is_available(syntax: str) -> bool:
    """True when imagecodecs is installed and has a codec for this transfer syntax."""
    if syntax not in DECODER_DEPENDENCIES:
        return False
    try:
        import imagecodecs
    except ImportError:
        return False
    codec = _codec_name(syntax)
    return bool(getattr(getattr(imagecodecs, codec.upper(), None), "available", False))


def register() -> None:
    """Add this plugin to pydicom's decoders for the transfer syntaxes above (once per process)."""
    global _registered
    with _lock:
        if _registered:
            return
        from pydicom.pixels.decoders.base import get_decoder

        for syntax in _SYNTAXES:
            try:
                get_decoder(syntax).add_plugin(PLUGIN_LABEL, (__name__, "decode_frame"))
            except ValueError:   # already added (e.g. the module was reloaded)
                pass
        _registered = True


def decode_frame(src: bytes, runner: Any) -> bytes:
    """One encoded frame -> its pixels as bytes in the container pydicom expects (pydicom's contract)."""
    import imagecodecs

    syntax = runner.transfer_syntax
    if syntax == uid.JPEGExtended12Bit:
        if runner.samples_per_pixel != 1:
            raise NotImplementedError("12-bit colour JPEG Extended is not supported")
        arr = imagecodecs.jpeg8_decode(src)
    elif syntax in (uid.JPEGLSLossless, uid.JPEGLSNearLossless):
        arr = imagecodecs.jpegls_decode(src)
    else:
        try:
            arr = imagecodecs.ljpeg_decode(src)
        except Exception:   # liblj92 reads the common predictors; libjpeg-turbo (3.0+) reads all of them
            arr = imagecodecs.jpeg8_decode(src)
    arr = np.asarray(arr)
    if arr.ndim == 3 and runner.samples_per_pixel > 1:
        runner.set_option("planar_configuration", 0)   # imagecodecs returns interleaved samples
    bits = 8 if runner.bits_stored <= 8 else 16
    runner.set_option("bits_allocated", bits)
    container = np.uint8 if bits == 8 else np.uint16
    return np.ascontiguousarray(arr.astype(container, copy=False)).tobytes()


def _codec_name(syntax: str) -> str:
    if syntax in (uid.JPEGLSLossless, uid.JPEGLSNearLossless):
        return "jpegls"
    if syntax == uid.JPEGExtended12Bit:
        return "jpeg8"
    return "ljpeg"
