"""`ukan segment --format nifti|dicom-seg`: every frame of every file, one mask file per source.

Each source file (a NIfTI volume, a multi-frame DICOM or TIFF, a 2D image) is read frame by frame,
segmented in batches, and written through `ukan_core.annotation.formats.write_masks`; a source that
cannot be read or cannot take the format costs one `error:` line and the others go on. The
measurements of every source and the model's classes are written beside the masks at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from ukan_core.errors import UkanError
from ukan_core.io.names import display_path

_ERRORS = (UkanError, ValueError, OSError, MemoryError)


def run_format(args: argparse.Namespace, out: Path, model_ref: str,
               load_segmenter: Callable[[str, Any, int], Any]) -> int:
    """Segment `args.inputs` into `out` in `args.format`; the exit code (0, or 1 when some failed)."""
    from ukan_core.annotation.formats import source_measurements, target_names, write_export_extras, write_masks
    from ukan_core.cli.terminal import TerminalProgress, status
    from ukan_core.io.listing import list_images
    from ukan_core.segment_pipeline import error_line
    from ukan_core.training.distributed import launched_by_torchrun

    if launched_by_torchrun():
        raise UkanError(f"--format {args.format} runs in one process; start it without torchrun")
    listing = list_images(args.inputs, volumes=True)
    for line in listing.problems:
        print(f"error: {line}", file=sys.stderr)
    if not listing.images and not listing.problems:
        raise UkanError(f"no images found in the inputs ({listing.skipped} skipped, not images)")
    inputs = {p.resolve() for p in listing.images}
    status(f"loading {model_ref} ...")
    segmenter = load_segmenter(model_ref, args.device, args.batch_size)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UkanError(f"{display_path(out)}: cannot create the --out folder ({exc.strerror or exc})") from None
    class_names = list(segmenter.class_names)
    measurements: dict[str, list] = {}
    used: set[str] = set()
    done = failed = 0
    with TerminalProgress(len(listing.images), unit="file", desc="segmenting") as bar:
        for path in listing.images:
            try:
                masks, spacings, thickness = _segment_frames(segmenter, path, args.threshold)
                names = _unique(target_names(args.format, path, len(masks)), used)
                if any((out / name).resolve() in inputs for name in names):
                    raise UkanError("its mask would overwrite an input; choose another --out folder")
                write_masks(args.format, path, masks, out, class_names=class_names,
                            pixel_spacing=spacings[0], slice_thickness=thickness, names=names)
                measurements.update(source_measurements(path.name, masks, spacings, thickness))
                done += 1
            except _ERRORS as exc:
                bar.error(error_line(path, exc))
                failed += 1
            bar.advance(1)
    write_export_extras(out, class_names, measurements)
    failed += len(listing.problems)
    print(f"segmented {done} {'file' if done == 1 else 'files'} ({args.format}), {failed} failed, "
          f"{listing.skipped} skipped (not images) -> {display_path(out)}")
    return 1 if failed else 0


def _segment_frames(segmenter: Any, path: Path, threshold: float | None) -> tuple[list[Any], list[Any], float | None]:
    """(label mask, pixel spacing) of every frame of `path`, and its slice thickness; frames are read
    one at a time and segmented in batches: only one batch of 8-bit RGB copies waits for the network."""
    from ukan_core.io.images import to_rgb8
    from ukan_core.io.items import iter_frames

    masks: list[Any] = []
    spacings: list[Any] = []
    thickness: float | None = None
    batch: list[Any] = []
    for image in iter_frames(path):
        batch.append(to_rgb8(image))
        spacings.append(image.pixel_spacing)
        thickness = thickness if thickness is not None else image.slice_thickness
        if len(batch) >= segmenter.batch_size:
            masks += segmenter.predict_mask_batch(batch, threshold)
            batch = []
    if batch:
        masks += segmenter.predict_mask_batch(batch, threshold)
    return masks, spacings, thickness


def _unique(names: list[str], used: set[str]) -> list[str]:
    """`names` with `_2`, `_3` ... before the extension where an earlier source took the name."""
    result = []
    for name in names:
        stem, dot, ext = name.partition(".")
        candidate, n = name, 2
        while candidate.lower() in used:
            candidate, n = f"{stem}_{n}{dot}{ext}", n + 1
        used.add(candidate.lower())
        result.append(candidate)
    return result
