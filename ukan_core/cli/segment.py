"""`ukan segment`: write one mask PNG per image of the given files and folders.

    ukan segment FOLDER_OR_FILES... --out DIR [--model NAME_OR_PATH] [--device D]
                 [--threshold T] [--batch-size N]

Masks are `<out>/<image stem>.png` at the image's displayed size: 0/255 for a one-class model,
label values 0..C for C classes. Files that are not images by name (.txt, Thumbs.db, .DS_Store,
sub-folders) are skipped and counted; an unreadable image gets one `error: <file>: <reason>`
line and the rest are still processed. Exit 0 when every image was segmented, 1 when some
failed, 2 for usage errors (no inputs, no images, missing model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from ukan_core.errors import UkanError


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
    from ukan_core.io.images import is_image_file

    if not args.inputs:
        raise UkanError("no inputs; give image files or folders to segment")
    if not 0.0 < args.threshold < 1.0:
        raise UkanError(f"--threshold must be between 0 and 1, got {args.threshold}")
    if args.batch_size < 1:
        raise UkanError(f"--batch-size must be at least 1, got {args.batch_size}")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UkanError(f"{out.name}: --out must be a folder, and this is a file")
    model_ref = args.model or _default_model()

    images, skipped, missing = _collect(args.inputs, is_image_file)
    for path in missing:
        print(f"error: {path.name}: file not found", file=sys.stderr)
    if not images and not missing:
        raise UkanError(f"no images found in the inputs ({skipped} skipped, not images)")
    targets = _mask_paths(images, out)
    inputs = {p.resolve() for p in images}
    if any(t.resolve() in inputs for t in targets.values()):
        raise UkanError(f"{out}: masks would overwrite input images; choose another --out folder")

    from ukan_core.inference import Segmenter

    segmenter = Segmenter.from_name_or_path(model_ref, device=args.device, batch_size=args.batch_size)
    out.mkdir(parents=True, exist_ok=True)
    with _ProgressBar(len(images)) as bar:
        done, failed = _segment_all(segmenter, images, targets, args.threshold, bar)
    failed += len(missing)
    print(f"segmented {done} {_plural(done, 'image')}, {failed} failed, "
          f"{skipped} skipped (not images) -> {out}")
    return 1 if failed else 0


def _default_model() -> str:
    from ukan_core.io.checkpoints import DEFAULT_MODEL
    from ukan_core.store import ModelStore

    if DEFAULT_MODEL not in ModelStore().names():
        raise UkanError("no bundled model found; pass --model NAME_OR_PATH")
    return DEFAULT_MODEL


def _collect(inputs: list[str], is_image: Callable[[Path], bool]) -> tuple[list[Path], int, list[Path]]:
    """(image files in order, number of skipped non-image entries, inputs that do not exist)."""
    images: list[Path] = []
    skipped = 0
    missing: list[Path] = []
    seen: set[Path] = set()
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_dir():
            entries = sorted(path.iterdir(), key=lambda p: p.name)
        elif path.exists():
            entries = [path]
        else:
            missing.append(path)
            continue
        for entry in entries:
            if entry.is_file() and is_image(entry):
                key = entry.resolve()
                if key not in seen:
                    seen.add(key)
                    images.append(entry)
            else:
                skipped += 1
    return images, skipped, missing


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
                 bar: _ProgressBar) -> tuple[int, int]:
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
    text = " ".join(str(exc).split()) or type(exc).__name__
    if text.startswith(f"{path.name}: "):
        text = text[len(path.name) + 2:]
    return f"error: {path.name}: {prefix + ': ' if prefix else ''}{text}"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


class _ProgressBar:
    """tqdm on stderr when it is a terminal; error lines go through it so they do not tear the bar."""

    def __init__(self, total: int) -> None:
        self._bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="image", desc="segmenting", file=sys.stderr, leave=False)

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def error(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)
