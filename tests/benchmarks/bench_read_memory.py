"""Benchmark: peak memory of `read_image` + `to_rgb8` per image size and kind (run by hand, not by pytest).

    python tests/benchmarks/bench_read_memory.py [--megapixels 12 40 100] [--kinds png8 tiff16 jpeg]

Each case writes one image of that many pixels (4:3) to a temporary folder, then reads it in a
fresh process and reports that process's peak resident memory (ru_maxrss) above the same
process's baseline after the imports, with the time the read took. The pixel limits refuse
anything over 100 MP per image (`ukan_core.io.image_limits`), so 100 MP is the largest size a
reader meets; a decompression bomb is refused from its header and costs nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import resource, sys, time
from ukan_core.io.images import read_image, to_rgb8
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
rgb = to_rgb8(read_image(sys.argv[1]))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(rgb.shape[1], rgb.shape[0], (peak - base) / 1024, seconds)
"""


def _write(folder: Path, kind: str, megapixels: float) -> Path:
    height = int(math.sqrt(megapixels * 1e6 * 3 / 4))
    width = int(height * 4 / 3)
    ramp = (np.arange(width, dtype=np.uint32) * 65535 // max(width - 1, 1)).astype(np.uint16)
    if kind == "tiff16":
        import tifffile

        path = folder / f"{kind}_{megapixels:g}mp.tif"
        tifffile.imwrite(path, np.broadcast_to(ramp, (height, width)), compression="zlib")
        return path
    grey = np.broadcast_to((ramp >> 8).astype(np.uint8), (height, width))
    path = folder / f"{kind}_{megapixels:g}mp.{'png' if kind == 'png8' else 'jpg'}"
    image = np.ascontiguousarray(grey) if kind == "png8" else np.dstack([grey] * 3)
    ok, data = cv2.imencode(path.suffix, image)
    assert ok
    path.write_bytes(data.tobytes())
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[12, 40, 100])
    parser.add_argument("--kinds", nargs="+", default=["png8", "tiff16", "jpeg"], choices=["png8", "tiff16", "jpeg"])
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    print(f"{'kind':8} {'size':>13} {'file MB':>8} {'peak MB':>8} {'seconds':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            for megapixels in args.megapixels:
                path = _write(Path(tmp), kind, megapixels)
                out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], env=env, capture_output=True,
                                     text=True, check=True)
                width, height, peak_mb, seconds = out.stdout.split()
                print(f"{kind:8} {width + 'x' + height:>13} {path.stat().st_size / 1e6:8.1f} "
                      f"{float(peak_mb):8.0f} {float(seconds):8.2f}")
                path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
