"""`ukan segment`: write one mask PNG per image of the given files and folders.

    ukan segment FOLDER_OR_FILES... --out DIR [--model NAME_OR_PATH] [--device D]
                 [--threshold T] [--batch-size N]

Masks are `<out>/<image stem>.png` at the image's displayed size: 0/255 for a one-class model,
label values 0..C for C classes. Images are listed by `ukan_core.io.listing` (image extensions,
and DICOM files without one); other entries (.txt, Thumbs.db, .DS_Store, sub-folders) are skipped
and counted. An unreadable image, or an entry named like one that is not a regular file (a FIFO,
a broken link, a folder named x.png), gets one `error: <file>: <reason>` line and the rest are
still processed. Exit 0 when every image was segmented, 1 when some failed, 2 for usage errors
(no inputs, no images, missing model, an --out folder that cannot be made).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ukan_core.cli.terminal import TerminalProgress, status
from ukan_core.errors import UkanError
from ukan_core.io.names import display_name, display_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment",
        help="segment images with a U-KAN model and write mask PNGs",
        description="Segment image files and folders; write one mask PNG per image into --out.",
    )
    parser.add_argument("inputs", nargs="*", metavar="FOLDER_OR_FILE", help="image files and/or folders of images")
    parser.add_argument("--out", required=True, type=Path, help="folder for the masks (<image stem>.png)")
    parser.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                        help="a store or bundled model name (name[/version]), a .safetensors or an official "
                             ".pth/.pt file (default: the bundled model)")
    parser.add_argument("--device", default="auto", help="auto (default), cuda, cuda:N, mps or cpu")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability above which a pixel is foreground")
    parser.add_argument("--batch-size", type=int, default=4, help="images per forward pass (default 4)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ukan_core.io.listing import list_images

    if not args.inputs:
        raise UkanError("no inputs; give image files or folders to segment")
    if not 0.0 < args.threshold < 1.0:
        raise UkanError(f"--threshold must be between 0 and 1, got {args.threshold}")
    if args.batch_size < 1:
        raise UkanError(f"--batch-size must be at least 1, got {args.batch_size}")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UkanError(f"{display_name(out)}: --out must be a folder, and this is a file")
    model_ref = args.model or _default_model()

    listing = list_images(args.inputs)
    images, skipped = listing.images, listing.skipped
    for line in listing.problems:
        print(f"error: {line}", file=sys.stderr)
    if not images and not listing.problems:
        raise UkanError(f"no images found in the inputs ({skipped} skipped, not images)")
    targets = _mask_paths(images, out)
    inputs = {p.resolve() for p in images}
    if any(t.resolve() in inputs for t in targets.values()):
        raise UkanError(f"{display_path(out)}: masks would overwrite input images; choose another --out folder")

    from ukan_core.inference import Segmenter

    status(f"loading {model_ref} ...")
    segmenter = Segmenter.from_name_or_path(model_ref, device=args.device, batch_size=args.batch_size)
    _make_out_folder(out)
    with TerminalProgress(len(images), unit="image", desc="segmenting") as bar:
        done, failed = _segment_all(segmenter, images, targets, args.threshold, bar)
    failed += len(listing.problems)
    print(f"segmented {done} {_plural(done, 'image')}, {failed} failed, "
          f"{skipped} skipped (not images) -> {display_path(out)}")
    return 1 if failed else 0


def _default_model() -> str:
    from ukan_core.io.checkpoints import DEFAULT_MODEL
    from ukan_core.store import ModelStore

    if DEFAULT_MODEL not in ModelStore().names():
        raise UkanError("no bundled model found; pass --model NAME_OR_PATH")
    return DEFAULT_MODEL


def _make_out_folder(out: Path) -> None:
    """Create --out (and its parents); a folder that cannot be made is a one-line usage error."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UkanError(f"{display_path(out)}: cannot create the --out folder ({exc.strerror or exc}); "
                        "choose a folder you can write to") from None


def _mask_paths(images: list[Path], out: Path) -> dict[Path, Path]:
    """`<out>/<stem>.png` per image; a repeated stem gets its suffix added (`scan_jpg.png`)."""
    used: set[str] = set()
    targets = {}
    for image in images:
        name = image.stem
        if name.lower() in used:
            name = f"{image.stem}_{image.suffix.lstrip('.').lower()}"
            base, n = name, 2
            while name.lower() in used:
                name, n = f"{base}_{n}", n + 1
        used.add(name.lower())
        targets[image] = out / f"{name}.png"
    return targets


def _segment_all(segmenter: Any, images: list[Path], targets: dict[Path, Path], threshold: float,
                 bar: TerminalProgress) -> tuple[int, int]:
    """Read, segment and write in batches; return (segmented, failed)."""
    from ukan_core.io.images import read_image, to_rgb8

    done = failed = 0
    batch: list[tuple[Path, Any]] = []

    def flush() -> None:
        nonlocal done, failed
        for path, outcome in _predict(segmenter, batch, threshold):
            if isinstance(outcome, BaseException):
                failed += 1
                bar.error(_error_line(path, outcome))
                continue
            try:
                _write(targets[path], outcome, segmenter.num_classes)
                done += 1
            except (OSError, ValueError) as exc:
                failed += 1
                bar.error(_error_line(path, exc, prefix="cannot write its mask"))
        bar.advance(len(batch))
        batch.clear()

    for path in images:
        try:
            rgb = to_rgb8(read_image(path))
        except (UkanError, ValueError, OSError, MemoryError) as exc:
            failed += 1
            bar.error(_error_line(path, exc))
            bar.advance(1)
            continue
        batch.append((path, rgb))
        if len(batch) >= segmenter.batch_size:
            flush()
    if batch:
        flush()
    return done, failed


def _predict(segmenter: Any, batch: list[tuple[Path, Any]], threshold: float) -> list[tuple[Path, Any]]:
    """[(path, mask or exception)]: the batch at once, or one by one when the batch fails."""
    try:
        masks = segmenter.predict_mask_batch([rgb for _, rgb in batch], threshold)
        return [(path, mask) for (path, _), mask in zip(batch, masks)]
    except Exception:  # e.g. out of memory: retry singly so one image cannot sink the others
        results: list[tuple[Path, Any]] = []
        for path, rgb in batch:
            try:
                results.append((path, segmenter.predict_mask(rgb, threshold)))
            except Exception as exc:  # reported as one line per image, never a traceback
                results.append((path, exc))
        return results


def _write(target: Path, labels: Any, num_classes: int) -> None:
    from ukan_core.io.masks import write_mask

    write_mask(target, labels * 255 if num_classes == 1 else labels)


def _error_line(path: Path, exc: BaseException, prefix: str = "") -> str:
    name = display_name(path)
    text = " ".join(str(exc).split()) or type(exc).__name__
    if text.startswith(f"{name}: "):
        text = text[len(name) + 2:]
    return f"error: {name}: {prefix + ': ' if prefix else ''}{text}"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"
