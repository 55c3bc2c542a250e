"""Segment many image files at the model's speed: decode and write in parallel with inference.

A small pool of threads reads and prepares the next images (`read_image`, `to_rgb8`,
`Segmenter.prepare`: cv2, PIL and numpy release the GIL) while the calling thread runs the
network; one more thread restores, thresholds and writes the masks. Both queues are bounded
(`prefetch` prepared images, `prefetch` pending writes), so memory does not grow with the folder.
Files are taken, and their outcomes reported, in the order given; a file that cannot be read,
segmented or written costs one error line and the others go on.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ukan_core.errors import UkanError
from ukan_core.inference import probabilities_to_mask
from ukan_core.io.names import display_name

READ_ERRORS = (UkanError, ValueError, OSError, MemoryError)


@dataclass
class _Prepared:
    path: Path
    size: tuple[int, int]
    x: np.ndarray


def segment_files(segmenter: Any, images: list[Path], targets: dict[Path, Path], threshold: float | None, *,
                  on_error: Callable[[Path, str], None], on_advance: Callable[[int], None],
                  readers: int = 2, prefetch: int | None = None) -> tuple[int, int]:
    """Segment `images` into `targets[image]`; return (segmented, failed).

    `on_error(path, line)` gets one "error: <file>: <reason>" line per failed file, `on_advance(n)` the
    files finished; both are called on the calling thread.
    """
    window = prefetch or max(8, 2 * segmenter.batch_size + readers)
    done = failed = 0
    batch: list[_Prepared] = []
    writes: deque[tuple[int, Future]] = deque()

    def settle(block: bool) -> None:
        nonlocal done, failed
        while writes and (block or writes[0][1].done()):
            count, future = writes.popleft()
            lines = future.result()
            for path, line in lines:
                on_error(path, line)
            failed += len(lines)
            done += count - len(lines)
            on_advance(count)

    def settle_one() -> None:
        writes[0][1].result()
        settle(block=False)

    def flush(writer: ThreadPoolExecutor) -> None:
        nonlocal failed
        outcomes = _forward(segmenter, batch)
        good = [(item, prob) for item, prob in outcomes if not isinstance(prob, BaseException)]
        for item, exc in outcomes:
            if isinstance(exc, BaseException):
                failed += 1
                on_error(item.path, error_line(item.path, exc))
                on_advance(1)
        batch.clear()
        if good:
            while len(writes) >= window:
                settle_one()
            writes.append((len(good), writer.submit(_write_all, segmenter, good, targets, threshold)))
        settle(block=False)

    with ThreadPoolExecutor(readers, thread_name_prefix="ukan-read") as pool, \
            ThreadPoolExecutor(1, thread_name_prefix="ukan-write") as writer:
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
                flush(writer)   # one forward pass needs one input size
            batch.append(outcome)
            if len(batch) >= segmenter.batch_size:
                flush(writer)
        if batch:
            flush(writer)
        settle(block=True)
    return done, failed


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
            write_mask(targets[item.path], labels * 255 if segmenter.num_classes == 1 else labels)
        except (OSError, ValueError) as exc:
            lines.append((item.path, error_line(item.path, exc, prefix="cannot write its mask")))
    return lines
