"""Benchmark: peak memory and time of refusing hostile model files (run by hand).

    python tests/benchmarks/bench_hostile_checkpoints.py [--bomb-mb 1200] [--side 16384] [--out DIR]

Each case runs `ukan segment` on one small image in a fresh process and reports its exit code,
wall time and peak resident memory (the child's ru_maxrss), next to the same command on the
bundled model for comparison. Cases:
- the bundled model's weights with an input size of `--side` x `--side` declared in its metadata;
- an official `.pth` zip whose tensor (zeros, `--bomb-mb` MB) is stored deflated, so the file is
  tiny but unpacks to `--bomb-mb` MB;
- metadata nested 100,000 levels deep.
Targets: every hostile case exits 2 with one line, in well under the memory the bundled model needs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def bundled_model() -> Path:
    from ukan_core.model_refs import resolve_model

    return resolve_model("ukan-synthetic-us")


def with_metadata(source: Path, dest: Path, change) -> Path:
    data = source.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    info = json.loads(header["__metadata__"]["ukan"])
    result = change(info)
    header["__metadata__"]["ukan"] = result if isinstance(result, str) else json.dumps(info)
    raw = json.dumps(header).encode()
    dest.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + length:])
    return dest


def huge_input(folder: Path, side: int) -> Path:
    def change(info):
        info["input_size"] = [side, side]
        info["preprocessing"] = {**info["preprocessing"], "input_size": [side, side]}
    return with_metadata(bundled_model(), folder / f"input-{side}.safetensors", change)


def deep(folder: Path) -> Path:
    nested = '{"architecture": "ukan", "config": {}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    return with_metadata(bundled_model(), folder / "deep.safetensors", lambda info: nested)


def zip_bomb(folder: Path, megabytes: int) -> Path:
    """A state dict of one zero tensor, written by torch.save and re-zipped with deflate."""
    import torch

    buffer = io.BytesIO()
    torch.save({"final.weight": torch.zeros(megabytes * 2**20 // 4)}, buffer)
    plain = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    path = folder / f"bomb-{megabytes}mb.pth"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for member in plain.infolist():
            out.writestr(member.filename, plain.read(member))
    return path


def run_segment(model: Path, image: Path, out: Path) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak MB, last stderr line) of `ukan segment` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
              "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
              "print((r.stderr.strip().splitlines() or [''])[-1])")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, sys.executable, "-m", "ukan_core.cli.main", "segment",
                           str(image), "--out", str(out), "--model", str(model), "--device", "cpu"],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    first, _, last = done.stdout.partition("\n")
    code, peak_kb = (int(v) for v in first.split())
    return code, seconds, peak_kb / 1024, last.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bomb-mb", type=int, default=1200, help="unpacked size of the zip bomb (MB)")
    parser.add_argument("--side", type=int, default=16384, help="declared input size per side")
    parser.add_argument("--out", type=Path, default=None, help="folder for the files (default: a temp folder)")
    args = parser.parse_args()

    import cv2
    import numpy as np

    folder = args.out or Path(tempfile.mkdtemp(prefix="ukan-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / "scan.png"
    cv2.imwrite(str(image), np.full((128, 128, 3), 90, np.uint8))
    cases = [("bundled model (reference)", bundled_model()),
             (f"input size {args.side}x{args.side}", huge_input(folder, args.side)),
             (f"deflated .pth, {args.bomb_mb} MB unpacked", zip_bomb(folder, args.bomb_mb)),
             ("metadata nested 100k deep", deep(folder))]
    print(f"{'case':<36} {'file':>9} {'exit':>4} {'seconds':>8} {'peak MB':>8}  message")
    for label, path in cases:
        code, seconds, peak, line = run_segment(path, image, folder / "masks")
        size = f"{path.stat().st_size / 2**20:.2f} MB"
        print(f"{label:<36} {size:>9} {code:>4} {seconds:>8.2f} {peak:>8.0f}  {line[:90]}")
    print(f"(files in {folder}; peak = ru_maxrss of the ukan process; {resource.getpagesize()} B pages)")


if __name__ == "__main__":
    main()
