"""`ukan import-masks`: bring masks made elsewhere into a folder's annotations, as status "imported".

    ukan import-masks FOLDER [--from MASKS] [--replace]

FOLDER is a folder of images, or a dataset root with images/ + masks/0/ (the U-KAN layout) whose
masks are imported into images/; without --from, BUSI's <stem>_mask.png beside the images are used.
Imported masks train like corrected ones (`ukan_core.annotation.statuses`). A mask whose size
differs from its image gets one `error:` line and is not imported. Exit 0 when every mask found was
imported (or kept), 1 when some were refused, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ukan_core.io.names import display_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-masks",
        help="import existing masks into a folder's annotations (status imported)",
        description="Import masks made by other tools into the annotation store of an image folder, as status "
                    "'imported', which Retrain uses like corrected masks. Masks are matched by the "
                    "image's stem (<stem>.png or <stem>_mask.png) and must have the image's size.",
    )
    parser.add_argument("folder", type=Path, metavar="FOLDER",
                        help="the image folder, or a dataset root with images/ + masks/0/")
    parser.add_argument("--from", dest="masks_from", type=Path, default=None, metavar="MASKS",
                        help="a folder of masks named like the images, or a dataset root with masks/0/ "
                             "(default: FOLDER's own masks/ or <stem>_mask.png files)")
    parser.add_argument("--replace", action="store_true",
                        help="also replace masks already corrected, accepted or imported in the app")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ukan_core.annotation.importing import import_masks

    report = import_masks(args.folder, args.masks_from, replace=args.replace)
    for line in report.problems:
        print(f"error: {line}", file=sys.stderr)
    print(f"imported {report.imported} {'mask' if report.imported == 1 else 'masks'}, {report.kept} kept "
          f"(already the user's own), {len(report.problems)} refused, {report.without_mask} images without a mask "
          f"-> {display_path(report.folder)}")
    return 1 if report.problems else 0
