"""Draw the UKAN Studio app icon and write it in every format the installers need.

    python installer/make_icon.py [--out resources/icons]

The mark: a white "U" on a blue rounded square, holding a lesion outlined the way the app
shows a mask (amber fill with a solid contour). It is drawn with QPainter at each size (no
downscaled bitmaps, so 16 px stays crisp) and written as:

- ukan-studio.png (256 px) and ukan-studio-512.png: window icon, Linux desktop entry;
- ukan-studio.ico (16-256 px): Windows executable and installer;
- ukan-studio.icns (16-1024 px): macOS app bundle.

The outputs are committed; run this again only after changing the drawing.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image
    from PySide6.QtGui import QImage, QPainterPath

ROOT = Path(__file__).resolve().parent.parent
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)

BACKGROUND_TOP = "#2f80c0"
BACKGROUND_BOTTOM = "#163a6b"
U_COLOUR = "#ffffff"
LESION_FILL = "#ffd88a"
LESION_CONTOUR = "#f59e0b"


def _lesion_points() -> list[tuple[float, float]]:
    """A smooth, slightly irregular egg shape in unit coordinates (centre 0.5, 0.515): the lesion."""
    points = []
    for i in range(16):
        angle = 2 * math.pi * i / 16
        r = 0.105 * (1 + 0.10 * math.cos(2 * angle + 0.6) + 0.07 * math.cos(3 * angle + 1.3))
        points.append((0.5 + 1.15 * r * math.cos(angle), 0.515 + r * math.sin(angle)))
    return points


def render(size: int) -> QImage:
    """The icon as a `size`×`size` ARGB QImage (PySide6 is imported here, after the platform is set)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QLinearGradient, QPainter, QPainterPath, QPen

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size, size)   # draw in unit coordinates

    margin, radius = 0.04, 0.2
    tile = QRectF(margin, margin, 1 - 2 * margin, 1 - 2 * margin)
    gradient = QLinearGradient(QPointF(0.5, margin), QPointF(0.5, 1 - margin))
    gradient.setColorAt(0.0, QColor(BACKGROUND_TOP))
    gradient.setColorAt(1.0, QColor(BACKGROUND_BOTTOM))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(gradient))
    painter.drawRoundedRect(tile, radius, radius)

    # the lesion: a light fill inside a solid contour, like a mask overlay in the app
    blob = _smooth_closed_path(_lesion_points(), QPainterPath, QPointF)
    fill = QColor(LESION_FILL)
    fill.setAlphaF(0.85)
    painter.setBrush(fill)
    contour = QPen(QColor(LESION_CONTOUR), max(0.03, 1.3 / size))
    contour.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(contour)
    painter.drawPath(blob)

    # the U, a thick stroke with round ends
    u_path = QPainterPath(QPointF(0.27, 0.24))
    u_path.lineTo(0.27, 0.55)
    u_path.arcTo(QRectF(0.27, 0.32, 0.46, 0.46), 180, 180)
    u_path.lineTo(0.73, 0.24)
    pen = QPen(QColor(U_COLOUR), 0.12)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(u_path)
    painter.end()
    return image


def _smooth_closed_path(points: list[tuple[float, float]], path_type: type, point_type: type) -> QPainterPath:
    """A closed Catmull-Rom curve through `points`, as cubic Béziers."""
    n = len(points)
    path = path_type(point_type(*points[0]))
    for i in range(n):
        p0, p1, p2, p3 = (points[(i + k) % n] for k in (-1, 0, 1, 2))
        c1 = point_type(p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6)
        c2 = point_type(p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6)
        path.cubicTo(c1, c2, point_type(*p2))
    path.closeSubpath()
    return path


def _to_pillow(image: QImage) -> Image:
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA")


_app: object = None   # the QGuiApplication, kept alive for the whole run


def _ensure_gui() -> None:
    """Create a QGuiApplication (offscreen unless a platform is set): Qt painting expects one."""
    global _app
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])


def write_icons(out: Path) -> list[Path]:
    """Render every size and write the PNG, ICO and ICNS files into `out`; returns the paths."""
    _ensure_gui()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, size in (("ukan-studio.png", 256), ("ukan-studio-512.png", 512)):
        path = out / name
        _to_pillow(render(size)).save(path, optimize=True)
        written.append(path)

    ico_images = [_to_pillow(render(size)) for size in ICO_SIZES]
    ico = out / "ukan-studio.ico"
    ico_images[-1].save(ico, sizes=[(s, s) for s in ICO_SIZES], append_images=ico_images[:-1])
    written.append(ico)

    icns = out / "ukan-studio.icns"
    largest = _to_pillow(render(1024))
    icns_sizes = (16, 32, 64, 128, 256, 512)
    largest.save(icns, append_images=[_to_pillow(render(s)) for s in icns_sizes])
    written.append(icns)
    return written


def write_iconset(folder: Path) -> list[Path]:
    """The PNGs of a macOS `.iconset` folder (icon_16x16.png ... icon_512x512@2x.png), for `iconutil`."""
    _ensure_gui()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for size in (16, 32, 128, 256, 512):
        for scale, suffix in ((1, ""), (2, "@2x")):
            path = folder / f"icon_{size}x{size}{suffix}.png"
            _to_pillow(render(size * scale)).save(path)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write the icons (default into resources/icons), or a macOS iconset."""
    parser = argparse.ArgumentParser(description="Draw the UKAN Studio icon (PNG, ICO, ICNS).")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "icons", help="output folder")
    parser.add_argument("--iconset", type=Path, metavar="DIR.iconset",
                        help="write only a macOS iconset folder (for `iconutil -c icns`)")
    args = parser.parse_args(argv)
    written = write_iconset(args.iconset) if args.iconset else write_icons(args.out)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
