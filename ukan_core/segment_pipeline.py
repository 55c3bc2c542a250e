"""Segment many image files at the model's speed: decode and write in parallel with inference.

A small pool of threads reads and prepares the next images (`read_image`, `to_rgb8`,
`Segmenter.prepare`: cv2, PIL and numpy release the GIL) while forward workers run the network;
one more thread restores, thresholds and writes the masks. The queues are bounded (`prefetch`
prepared images, and as many files' worth of batches in flight), so memory does not grow with the folder.
Each mask is synced before its rename; the output folders are synced once at the end.
Files are taken, and their outcomes reported, in the order given; a file that cannot be read,
segmented or written costs one error line and the others go on.

On the CPU, small networks use the cores better as several one-thread forward passes side by
side than as one pass on all the threads: torch's intra-op workers spin between the layers of a
128² model and starve the readers. `cpu_split` chooses the workers (measured on 2 cores with
512² PNGs, tests/benchmarks/bench_segment_folder.py: one pass at a time on 2 threads 0.37-0.57x the
model-only loop, one on 1 thread 0.45x, two one-thread passes side by side 0.62-0.87x).
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ukan_core.atomic import sync_folder
from ukan_core.errors import UkanError
from ukan_core.inference import probabilities_to_mask
from ukan_core.io.names import display_name

READ_ERRORS = (UkanError, ValueError, OSError, MemoryError)


@dataclass
class _Prepared:
    path: Path
    size: tuple[int, int]
    x: np.ndarray


def cpu_split(cores: int | None = None) -> tuple[int, int, int]:
    """(forward workers, torch threads each, readers) for segmenting a folder on `cores` CPU cores
    (None: this machine's).

    One-thread forward passes on up to 4 workers (beyond that, more threads per worker rather than
    more copies of the activations in memory); about a third of the cores' worth of readers, never
    fewer than two (decoding a PNG and writing its mask cost about half a one-thread forward pass).
    """
    cores = max(1, cores or os.cpu_count() or 1)
    workers = min(cores, 4)
    return workers, max(1, cores // workers), max(2, cores // 3)


@dataclass(frozen=True)
class Workers:
    """How many threads segment a folder: forward passes side by side, and readers."""

    forward: int = 1
    readers: int = 2


@contextlib.contextmanager
def cpu_workers_for_folder(device: Any) -> Iterator[Workers]:
    """`cpu_split`'s workers, with torch set to its threads per worker within the block, when `device` is
    the CPU and the user did not set OMP_NUM_THREADS (torchrun does, with several processes per node);
    otherwise one forward worker with torch's threads as they are."""
    import torch

    workers, threads, readers = cpu_split()
    if str(device).split(":")[0] != "cpu" or os.environ.get("OMP_NUM_THREADS"):
        yield Workers(1, readers)
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield Workers(workers, readers)
    finally:
        torch.set_num_threads(before)


def segment_files(segmenter: Any, images: list[Path], targets: dict[Path, Path], threshold: float | None, *,
                  on_error: Callable[[Path, str], None], on_advance: Callable[[int], None],
                  readers: int = 2, forward_workers: int = 1, prefetch: int | None = None) -> tuple[int, int]:
    """Segment `images` into `targets[image]`; return (segmented, failed).

    `forward_workers` threads run forward passes side by side (the segmenter must allow that: torch
    and ONNX Runtime inference do). `on_error(path, line)` gets one "error: <file>: <reason>" line
    per failed file, `on_advance(n)` the files finished; both are called on the calling thread, batch
    by batch in the order given.
    """
    window = prefetch or max(8, 2 * segmenter.batch_size * forward_workers + readers)
    done = failed = 0
    batch: list[_Prepared] = []
    jobs: deque[tuple[int, Future]] = deque()   # (files, future of (error lines, future of the writes))

    def settle(block: bool, keep: int = 0) -> None:
        """Report finished batches in order; `block`: wait until at most `keep` remain in flight."""
        nonlocal done, failed
        while len(jobs) > keep:
            count, job = jobs[0]
            if not block and not job.done():
                return
            lines, written = job.result()
            if written is not None:
                if not block and not written.done():
                    return
                lines = lines + written.result()
            jobs.popleft()
            for path, line in lines:
                on_error(path, line)
            failed += len(lines)
            done += count - len(lines)
            on_advance(count)

    def flush(network: ThreadPoolExecutor, writer: ThreadPoolExecutor) -> None:
        items = list(batch)
        batch.clear()
        settle(block=True, keep=max(1, window // segmenter.batch_size) - 1)   # bounded: batches in flight
        jobs.append((len(items), network.submit(_forward_then_write, segmenter, items, targets, threshold, writer)))
        settle(block=False)

    # The forward pool closes first (the last opened), so no forward pass hands a mask to a closed writer.
    with ThreadPoolExecutor(readers, thread_name_prefix="ukan-read") as pool, \
            ThreadPoolExecutor(1, thread_name_prefix="ukan-write") as writer, \
            ThreadPoolExecutor(max(1, forward_workers), thread_name_prefix="ukan-forward") as network:
        reads: deque[Future] = deque()
        pending = iter(images)
        for path in pending:
            reads.append(pool.submit(_read, segmenter, path))
            if len(reads) >= window:
                break
        while reads:
            outcome = reads.popleft().result()
            next_path = next(pending, None)
            if next_path is not None:
                reads.append(pool.submit(_read, segmenter, next_path))
            if isinstance(outcome, tuple):
                path, exc = outcome
                failed += 1
                on_error(path, error_line(path, exc))
                on_advance(1)
                continue
            if batch and batch[0].x.shape != outcome.x.shape:
                flush(network, writer)   # one forward pass needs one input size
            batch.append(outcome)
            if len(batch) >= segmenter.batch_size:
                flush(network, writer)
        if batch:
            flush(network, writer)
        settle(block=True)
    for folder in {targets[path].parent for path in images}:
        sync_folder(folder)   # once per folder: each mask skipped its own folder fsync
    return done, failed


def _forward_then_write(segmenter: Any, batch: list[_Prepared], targets: dict[Path, Path], threshold: float | None,
                        writer: ThreadPoolExecutor) -> tuple[list[tuple[Path, str]], Future | None]:
    """On a forward worker: the batch's probabilities, handed to the writer; (error lines of the images
    that failed here, the future of the writes' error lines or None)."""
    outcomes = _forward(segmenter, batch)
    good = [(item, prob) for item, prob in outcomes if not isinstance(prob, BaseException)]
    lines = [(item.path, error_line(item.path, exc)) for item, exc in outcomes if isinstance(exc, BaseException)]
    return lines, (writer.submit(_write_all, segmenter, good, targets, threshold) if good else None)


def error_line(path: Path, exc: BaseException, prefix: str = "") -> str:
    """ "error: <file>: [prefix: ]<reason>" on one line, the file named once."""
    name = display_name(path)
    text = " ".join(str(exc).split()) or type(exc).__name__
    if text.startswith(f"{name}: "):
        text = text[len(name) + 2:]
    return f"error: {name}: {prefix + ': ' if prefix else ''}{text}"


def _read(segmenter: Any, path: Path) -> _Prepared | tuple[Path, BaseException]:
    """The prepared network input of one file, or (path, why not)."""
    from ukan_core.io.images import read_image, to_rgb8

    try:
        rgb = to_rgb8(read_image(path))
    except READ_ERRORS as exc:
        return path, exc
    try:
        return _Prepared(path, (int(rgb.shape[0]), int(rgb.shape[1])), segmenter.prepare(rgb))
    except Exception as exc:  # reported as one line for this file, never a traceback
        return path, exc


def _forward(segmenter: Any, batch: list[_Prepared]) -> list[tuple[_Prepared, Any]]:
    """[(item, probabilities or exception)]: the batch at once, or one by one when the batch fails."""
    try:
        probs = segmenter.forward(np.stack([item.x for item in batch]))
        return [(item, probs[row]) for row, item in enumerate(batch)]
    except Exception:  # e.g. out of memory: retry singly so one image cannot sink the others
        results: list[tuple[_Prepared, Any]] = []
        for item in batch:
            try:
                results.append((item, segmenter.forward(item.x[None])[0]))
            except Exception as exc:  # reported as one line per image, never a traceback
                results.append((item, exc))
        return results


def _to_mask(segmenter: Any, prob: np.ndarray, threshold: float | None) -> np.ndarray:
    """The segmenter's own labels rule (its threshold unless one is given, then its post-processing)."""
    to_mask = getattr(segmenter, "to_mask", None)
    if to_mask is not None:
        return to_mask(prob, threshold)
    return probabilities_to_mask(prob, getattr(segmenter, "threshold", 0.5) if threshold is None else threshold)


def _write_all(segmenter: Any, items: list[tuple[_Prepared, np.ndarray]], targets: dict[Path, Path],
               threshold: float | None) -> list[tuple[Path, str]]:
    """Restore, threshold and write each mask (on the writer thread); the error lines of those that failed."""
    from ukan_core.io.masks import write_mask

    lines = []
    for item, prob in items:
        try:
            labels = _to_mask(segmenter, segmenter.restore(prob, item.size), threshold)
        except Exception as exc:  # one line for this file, never a traceback
            lines.append((item.path, error_line(item.path, exc)))
            continue
        try:
            write_mask(targets[item.path], labels * 255 if segmenter.num_classes == 1 else labels, sync_folder=False)
        except (OSError, ValueError) as exc:
            lines.append((item.path, error_line(item.path, exc, prefix="cannot write its mask")))
    return lines
