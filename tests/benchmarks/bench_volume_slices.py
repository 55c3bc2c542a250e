"""Benchmark: going through every slice of a NIfTI volume, slice by slice vs decompressed once (run by hand).

    python tests/benchmarks/bench_volume_slices.py [--size 256] [--slices 64]

Writes a random int16 volume as `.nii` and `.nii.gz`, then times (a) `read_image(path, frame=k)` for
every k and (b) `iter_frames(path)`, which `ukan segment --format nifti` uses. For a `.nii.gz`,
(a) decompresses the file up to slice k each time (quadratic in the slice count) and (b) once; for
an uncompressed `.nii` both read through nibabel's memory map. Also times `list_items` (headers only).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ukan_core.io.images import read_image  # noqa: E402
from ukan_core.io.items import iter_frames, list_items  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="rows and columns of a slice")
    parser.add_argument("--slices", type=int, default=64, help="slices in the volume")
    args = parser.parse_args()
    import nibabel as nib

    data = np.random.default_rng(0).integers(-1000, 2000, (args.size, args.size, args.slices), dtype=np.int16)
    with tempfile.TemporaryDirectory() as folder:
        for name in ("ct.nii", "ct.nii.gz"):
            path = Path(folder) / name
            nib.save(nib.Nifti1Image(data, np.diag([0.7, 0.7, 2.5, 1.0])), path)
            start = time.perf_counter()
            for k in range(args.slices):
                read_image(path, frame=k)
            one_by_one = time.perf_counter() - start
            start = time.perf_counter()
            count = sum(1 for _ in iter_frames(path))
            once = time.perf_counter() - start
            assert count == args.slices
            print(f"{name:10s} {args.size}x{args.size}x{args.slices}: read_image per slice {one_by_one:6.2f} s, "
                  f"iter_frames {once:6.2f} s")
        start = time.perf_counter()
        items = list_items(folder).items
        print(f"list_items: {len(items)} items in {time.perf_counter() - start:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
