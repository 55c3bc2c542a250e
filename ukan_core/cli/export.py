"""`ukan export`: write the saved masks of a Studio-annotated folder as PNGs, NIfTI or DICOM SEG.

    ukan export FOLDER --out DIR [--format png|nifti|dicom-seg] [--values binary|labels]
                [--which all|corrected] [--overwrite]

The same files as the Studio's Export (`ukan_core.annotation.export`). `--format png` (default):
`<out>/<image stem>.png` (two images sharing a stem: the later one `<stem>_<ext>.png`; frame k of a
multi-frame file `<stem>_<k>.png`), 0/255 for `--values binary`, the label values for `--values
labels`. `--format nifti`: one `<stem>.nii.gz` label volume per source (a NIfTI source keeps its
shape and affine); `--format dicom-seg`: one `<stem>_seg.dcm` per DICOM source, referencing it.
Every export also writes `classes.json` and `measurements.csv` beside the masks. `--which all`
exports every saved mask (predicted and corrected), `--which corrected` only the user's own work.
The annotations are read where the Studio keeps them: `FOLDER/.ukan-studio/`, or the per-user copy
of a read-only folder; nothing there is changed (no lock is taken, repairs stay in memory). Images
are listed as by `ukan segment` (`ukan_core.io.listing`, NIfTI volumes included), so a mask whose image is gone is not
exported. Exit 0 when every mask was written, 1 when some could not be read or written (one
`error:` line each), 2 for usage errors (no such folder, no annotations, files in DIR that would be
overwritten without `--overwrite`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ukan_core.cli.terminal import TerminalProgress
from ukan_core.errors import UkanError
from ukan_core.io.names import display_name, display_path

FORMATS = ("png", "nifti", "dicom-seg")
VALUES = ("binary", "labels")
WHICH = ("all", "corrected")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export the saved masks of a Studio-annotated folder (PNG, NIfTI or DICOM SEG)",
        description="Write the masks saved in UKAN Studio for FOLDER's images into --out, exactly as the "
                    "Studio's Export does, with classes.json and measurements.csv beside them. "
                    "Nothing in FOLDER is changed.",
    )
    parser.add_argument("folder", type=Path, metavar="FOLDER", help="an image folder annotated in UKAN Studio")
    parser.add_argument("--out", required=True, type=Path, help="folder for the mask files")
    parser.add_argument("--format", choices=FORMATS, default="png",
                        help="png: <image stem>.png per image or frame (default); nifti: one <stem>.nii.gz "
                             "label volume per source; dicom-seg: one <stem>_seg.dcm per DICOM source")
    parser.add_argument("--values", choices=VALUES, default="binary",
                        help="PNG values: binary: 0/255 (default); labels: the label values 0..K "
                             "(NIfTI and DICOM SEG always hold labels)")
    parser.add_argument("--which", choices=WHICH, default="all",
                        help="all: every saved mask (default); corrected: only masks the user made or corrected")
    parser.add_argument("--overwrite", action="store_true", help="replace files that already exist in --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ukan_core.annotation import AnnotationStore, ExportConflictError, export_store_masks, statuses
    from ukan_core.annotation.export import planned_exports
    from ukan_core.annotation.keys import display_item, split_item_key
    from ukan_core.assets import samples_dir
    from ukan_core.io.listing import list_folder, list_images

    folder: Path = args.folder.expanduser()
    out: Path = args.out.expanduser()
    if not folder.is_dir():
        raise UkanError(f"{display_name(folder)}: " + ("not a folder" if folder.exists() else "folder not found"))
    if out.exists() and not out.is_dir():
        raise UkanError(f"{display_name(out)}: --out must be a folder, and this is a file")
    try:
        list_folder(folder, strict=True)   # OSError when the folder itself cannot be listed
        listing = list_images([folder], volumes=True)   # NIfTI volumes too: their slices are items
    except OSError as exc:
        raise UkanError(f"{display_name(folder)}: folder cannot be read ({exc.strerror or exc})") from None
    bundled = folder.resolve() == samples_dir().resolve()
    store = AnnotationStore.open(folder, beside_images=not bundled)   # reads only; no lock, nothing repaired on disk
    if not store.names():
        raise UkanError(f"{display_name(folder)}: no UKAN Studio annotations found; open the folder in UKAN Studio "
                        f"(or segment it there) first")
    for line in listing.problems:
        print(f"error: {line}", file=sys.stderr)
    names = [path.name for path in listing.images]
    frames: dict[str, list[str]] = {}
    for key in store.names():   # every saved frame of a listed image, in frame order
        frames.setdefault(split_item_key(key)[0], []).append(key)
    keys = [key for n in names for key in sorted(frames.get(n, []), key=lambda k: split_item_key(k)[1])]
    chosen = [k for k in keys if statuses.in_export_scope(store.status(k), args.which)]
    failures: list[str] = []
    with TerminalProgress(len(chosen), unit="mask", desc="export") as bar:
        def failed(line: str) -> None:
            failures.append(line)
            bar.error(f"error: {line}")

        try:
            written = export_store_masks(store, chosen, out, overwrite=args.overwrite, mode=args.values,
                                         progress=bar.report, on_error=failed, format=args.format)
        except ExportConflictError as exc:
            first = exc.existing[0]
            more = f" and {len(exc.existing) - 1} more" if len(exc.existing) > 1 else ""
            verb = "already exist" if more else "already exists"
            raise UkanError(f"{display_name(first.name)}{more}: {verb} in {display_path(out)}; pass "
                            f"--overwrite to replace them or choose another --out") from None
    for plan in planned_exports(store, chosen, args.format)[0]:
        if plan.renamed:
            shown = ", ".join(plan.targets[:3]) + (f" and {len(plan.targets) - 3} more" if len(plan.targets) > 3 else "")
            print(f"{display_item(plan.file_name)}: exported as {shown} (another image has the same stem)")
    kind = "corrected " if args.which == "corrected" else ""
    what = "mask" if args.format == "png" else f"{args.format} file"
    print(f"exported {len(written)} {kind}{what}{'s' if len(written) != 1 else ''} of {len(names)} images "
          f"to {display_path(out)}, with classes.json and measurements.csv")
    return 1 if failures or listing.problems else 0
