"""`ukan segment`: write one mask PNG per image of the given files and folders.

    ukan segment FOLDER_OR_FILES... --out DIR [--model NAME_OR_PATH|FILE.onnx] [--device D]
                 [--threshold T] [--batch-size N] [--format png|nifti|dicom-seg]
    torchrun --nproc_per_node=N -m ukan_core.cli.main segment FOLDER --out DIR [...]

Masks are `<out>/<image stem>.png` at the image's displayed size: 0/255 for a one-class model,
label values 0..C for C classes. Images are listed by `ukan_core.io.listing` (image extensions,
and DICOM files without one); other entries (.txt, Thumbs.db, .DS_Store, sub-folders) are skipped
and counted. An unreadable image, or an entry named like one that is not a regular file (a FIFO,
a broken link, a folder named x.png), gets one `error: <file>: <reason>` line and the rest are
still processed. Exit 0 when every image was segmented, 1 when some failed, 2 for usage errors
(no inputs, no images, missing model, an --out folder that cannot be made).

Reading and writing run on threads beside the network (`ukan_core.segment_pipeline`; on the CPU,
several one-thread forward passes run side by side unless OMP_NUM_THREADS is set). A model
file ending in .onnx runs through ONNX Runtime (`ukan_core.onnx_runtime`, the `[onnx]` extra) with
the same preprocessing and threshold. Started by torchrun, each rank segments the files whose
index in the listing modulo the world size is its rank; rank 0 prints every rank's errors and the
summary once (gathered over Gloo on the CPU), and every rank exits with the same code.

`--format nifti` and `--format dicom-seg` (one process) segment every frame of every file, NIfTI
volumes included, and write one mask file per source through `ukan_core.annotation.formats`: a
NIfTI volume's masks as one label volume with its shape and affine, a DICOM's as a DICOM SEG that
references it; `classes.json` and `measurements.csv` (areas per slice, volumes in mm^3) go beside.
"""

from __future__ import annotations

import argparse
import os
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
        description="Segment image files and folders; write one mask PNG per image into --out. Under torchrun "
                    "(torchrun --nproc_per_node=N -m ukan_core.cli.main segment ...) the files are shared across "
                    "the ranks and rank 0 prints the summary.",
    )
    parser.add_argument("inputs", nargs="*", metavar="FOLDER_OR_FILE", help="image files and/or folders of images")
    parser.add_argument("--out", required=True, type=Path, help="folder for the masks (<image stem>.png)")
    parser.add_argument("--model", default=None, metavar="NAME_OR_PATH",
                        help="a store or bundled model name (name[/version]), a .safetensors or an official "
                             ".pth/.pt file, or an exported .onnx file run by ONNX Runtime on the CPU (default: the "
                             "bundled model)")
    parser.add_argument("--device", default="auto", help="auto (default), cuda, cuda:N, mps or cpu")
    parser.add_argument("--threshold", type=float, default=None,
                        help="probability above which a pixel is foreground (default: the model's own, "
                             "which a fine-tune chooses on its held-out corrections; else 0.5)")
    parser.add_argument("--batch-size", type=int, default=4, help="images per forward pass (default 4)")
    parser.add_argument("--format", default="png", choices=("png", "nifti", "dicom-seg"),
                        help="png (default): one mask PNG per image (first frame); nifti: one label volume per "
                             "NIfTI volume (same shape and affine), a row x column x frame volume per other file; "
                             "dicom-seg: one "
                             "DICOM SEG per DICOM file, referencing it. nifti and dicom-seg segment every frame and "
                             "also write classes.json and measurements.csv")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ukan_core.io.listing import list_images
    from ukan_core.onnx_support import is_onnx_file
    from ukan_core.segment_pipeline import cpu_workers_for_folder, segment_files

    if not args.inputs:
        raise UkanError("no inputs; give image files or folders to segment")
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        raise UkanError(f"--threshold must be between 0 and 1, got {args.threshold}")
    if args.batch_size < 1:
        raise UkanError(f"--batch-size must be at least 1, got {args.batch_size}")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UkanError(f"{display_name(out)}: --out must be a folder, and this is a file")
    model_ref = args.model or _default_model()
    if getattr(args, "format", "png") != "png":
        from ukan_core.cli.segment_formats import run_format

        return run_format(args, out, model_ref, _load_segmenter)

    listing = list_images(args.inputs)
    images, skipped = listing.images, listing.skipped
    from ukan_core.training.distributed import context_from_env, launched_by_torchrun, shutdown

    is_main = not launched_by_torchrun() or os.environ.get("RANK") == "0"
    for line in listing.problems if is_main else ():   # every rank lists; one says what it found
        print(f"error: {line}", file=sys.stderr)
    volumes = _skipped_volumes(args.inputs)
    hint = f"; {volumes} NIfTI {_plural(volumes, 'volume')} among them: use --format nifti" if volumes else ""
    if not images and not listing.problems:
        raise UkanError(f"no images found in the inputs ({skipped} skipped, not images{hint})")
    if volumes and is_main:
        print(f"note: {volumes} NIfTI {_plural(volumes, 'volume')} skipped: PNG masks are written for 2D images; "
              "segment volumes with --format nifti", file=sys.stderr)
    targets = _mask_paths(images, out)
    inputs = {p.resolve() for p in images}
    if any(t.resolve() in inputs for t in targets.values()):
        raise UkanError(f"{display_path(out)}: masks would overwrite input images; choose another --out folder")

    ctx = context_from_env(args.device) if launched_by_torchrun() else None
    try:
        status(f"loading {model_ref} ...")
        segmenter = _load_segmenter(model_ref, args.device if ctx is None else ctx.device, args.batch_size)
        _make_out_folder(out)
        mine = images if ctx is None else images[ctx.rank::ctx.world_size]   # each file on exactly one rank
        position = {path: index for index, path in enumerate(images)}
        errors: list[tuple[int, str]] = []
        with TerminalProgress(len(mine) if is_main else 0, unit="image", desc="segmenting") as bar:
            def on_error(path: Path, line: str) -> None:
                if ctx is None:
                    bar.error(line)
                else:   # held for rank 0, which prints every rank's lines once
                    errors.append((position[path], line))

            on_torch_cpu = "onnx" if is_onnx_file(model_ref) else segmenter.device   # ONNX Runtime has its own threads
            with cpu_workers_for_folder(on_torch_cpu) as workers:
                done, failed = segment_files(segmenter, mine, targets, args.threshold, on_error=on_error,
                                             on_advance=bar.advance, readers=workers.readers,
                                             forward_workers=workers.forward)
        if ctx is not None:
            done, failed, lines = _gather_outcomes(done, failed, errors, ctx)
            if not ctx.is_main:
                return 1 if failed + len(listing.problems) else 0
            for line in lines:
                print(line, file=sys.stderr)
    finally:
        shutdown(ctx)
    failed += len(listing.problems)
    print(f"segmented {done} {_plural(done, 'image')}, {failed} failed, "
          f"{skipped} skipped (not images) -> {display_path(out)}")
    return 1 if failed else 0


def _load_segmenter(model_ref: str, device: Any, batch_size: int) -> Any:
    """The torch Segmenter of a checkpoint or model name, or the ONNX Runtime one of an .onnx file."""
    from ukan_core.onnx_support import is_onnx_file, require_onnx

    if is_onnx_file(model_ref):
        require_onnx("ukan segment --model FILE.onnx")
        from ukan_core.onnx_runtime import OnnxSegmenter

        return OnnxSegmenter.from_file(Path(model_ref), batch_size=batch_size)
    from ukan_core.inference import Segmenter

    return Segmenter.from_name_or_path(model_ref, device=device, batch_size=batch_size)


def _gather_outcomes(done: int, failed: int, errors: list[tuple[int, str]],
                     ctx: Any) -> tuple[int, int, list[str]]:
    """Every rank's (segmented, failed, error lines) summed on every rank, the lines in file order."""
    import torch.distributed as dist

    gathered: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(gathered, (done, failed, errors))
    lines = [line for _, line in sorted(item for _, _, rank_errors in gathered for item in rank_errors)]
    return sum(g[0] for g in gathered), sum(g[1] for g in gathered), lines


def _default_model() -> str:
    from ukan_core.model_refs import DEFAULT_MODEL
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


def _skipped_volumes(inputs: list[str]) -> int:
    """How many NIfTI volumes the PNG listing skipped (names only: `--format nifti` reads them)."""
    from ukan_core.io.listing import list_images
    from ukan_core.io.volumes import is_volume_name

    return sum(1 for path in list_images(inputs, volumes=True).images if is_volume_name(path))


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"
