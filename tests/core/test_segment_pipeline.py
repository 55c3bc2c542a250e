"""The folder pipeline: reads run beside the network, queues stay bounded, outcomes keep file order."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from ukan_core.segment_pipeline import segment_files


class SlowSegmenter:
    """A stand-in network: thresholds the first channel; counts the prepared inputs alive at once."""

    batch_size = 2
    num_classes = 1

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.alive = self.most_alive = 0
        self.prepare_threads: set[str] = set()
        self.forward_threads: set[str] = set()

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        with self.lock:
            self.alive += 1
            self.most_alive = max(self.most_alive, self.alive)
            self.prepare_threads.add(threading.current_thread().name)
        return rgb[:, :, :1].transpose(2, 0, 1).astype(np.float32) / 255

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.forward_threads.add(threading.current_thread().name)
        time.sleep(0.002)
        return x

    def restore(self, prob: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        with self.lock:
            self.alive -= 1
        return prob


def test_many_files_keep_the_queues_bounded_and_the_reads_off_the_calling_thread(tmp_path: Path) -> None:
    paths = []
    for i in range(60):
        paths.append(tmp_path / f"img{i:02d}.png")
        cv2.imwrite(str(paths[-1]), np.full((16, 16, 3), 4 * i, np.uint8))
    (tmp_path / "img07.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    out.mkdir()
    segmenter = SlowSegmenter()
    errors: list[tuple[Path, str]] = []
    advanced: list[int] = []
    done, failed = segment_files(segmenter, paths, {p: out / p.name for p in paths}, 0.5,
                                 on_error=lambda path, line: errors.append((path, line)),
                                 on_advance=advanced.append, readers=2, prefetch=6)
    assert (done, failed) == (59, 1) and sum(advanced) == 60
    assert [p for p, _ in errors] == [tmp_path / "img07.png"] and errors[0][1].startswith("error: img07.png: ")
    assert segmenter.most_alive <= 6 + 6 * segmenter.batch_size + segmenter.batch_size   # reads + writes + batch
    assert segmenter.forward_threads == {"ukan-forward_0"}   # one forward worker unless asked for more
    assert segmenter.prepare_threads and all(name.startswith("ukan-read") for name in segmenter.prepare_threads)
    assert len(list(out.iterdir())) == 59
    assert cv2.imread(str(out / "img40.png"), cv2.IMREAD_GRAYSCALE).max() == 255   # 160 / 255 > 0.5


def test_forward_passes_side_by_side_keep_the_outcomes_in_file_order(tmp_path: Path) -> None:
    paths = []
    for i in range(40):
        paths.append(tmp_path / f"img{i:02d}.png")
        cv2.imwrite(str(paths[-1]), np.full((16, 16, 3), 6 * i, np.uint8))
    for broken in (5, 22):
        paths[broken].write_bytes(b"not a png")
    out = tmp_path / "out"
    out.mkdir()

    class JitterySegmenter(SlowSegmenter):
        def forward(self, x: np.ndarray) -> np.ndarray:   # later batches often finish first
            self.forward_threads.add(threading.current_thread().name)
            time.sleep(0.001 * float(np.random.default_rng(int(x.sum() * 1000) % 2**32).integers(0, 8)))
            return x

    segmenter = JitterySegmenter()
    errors: list[Path] = []
    advanced: list[int] = []
    done, failed = segment_files(segmenter, paths, {p: out / p.name for p in paths}, 0.5,
                                 on_error=lambda path, _line: errors.append(path), on_advance=advanced.append,
                                 readers=2, forward_workers=3, prefetch=8)
    assert (done, failed) == (38, 2) and sum(advanced) == 40 and errors == [paths[5], paths[22]]
    assert len(segmenter.forward_threads) > 1 and all(n.startswith("ukan-forward") for n in segmenter.forward_threads)
    for i, path in enumerate(paths):
        if i not in (5, 22):   # every mask its own image's: 6 i / 255 > 0.5 from i = 22
            assert cv2.imread(str(out / path.name), cv2.IMREAD_GRAYSCALE).max() == (255 if 6 * i > 127 else 0)


def test_an_unwritable_mask_costs_one_line_and_the_rest_are_written(tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"img{i}.png")
        cv2.imwrite(str(paths[-1]), np.full((8, 8, 3), 200, np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    targets = {p: out / p.name for p in paths}
    targets[paths[2]] = out / "missing-folder" / "deeper" / "x.png"
    (out / "missing-folder").write_text("a file where a folder should be")
    lines: list[str] = []
    done, failed = segment_files(SlowSegmenter(), paths, targets, 0.5,
                                 on_error=lambda _p, line: lines.append(line), on_advance=lambda _n: None)
    assert (done, failed) == (4, 1)
    assert len(lines) == 1 and lines[0].startswith("error: img2.png: cannot write its mask: ")


def test_the_pipeline_applies_the_segmenters_post_processing(tmp_path: Path) -> None:
    """A segmenter with a clean-up rule gets the same masks from the folder pipeline as from predict_mask."""
    from ukan_core.inference import probabilities_to_mask

    class CleaningSegmenter(SlowSegmenter):
        def to_mask(self, prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
            mask = probabilities_to_mask(prob, threshold)
            mask[:, :2] = 0   # a visible clean-up: the pipeline must not bypass it
            return mask

    image = np.full((8, 8, 3), 255, np.uint8)
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), image)
    target = tmp_path / "out" / "a.png"
    target.parent.mkdir()
    done, failed = segment_files(CleaningSegmenter(), [path], {path: target}, 0.5,
                                 on_error=lambda _p, _line: None, on_advance=lambda _n: None)
    written = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
    assert (done, failed) == (1, 0) and written is not None
    assert (written[:, :2] == 0).all() and (written[:, 2:] == 255).all()


def test_the_cpu_is_split_between_forward_workers_and_readers(monkeypatch) -> None:
    import torch

    from ukan_core.segment_pipeline import Workers, cpu_split, cpu_workers_for_folder

    assert cpu_split(1) == (1, 1, 2) and cpu_split(2) == (2, 1, 2)
    assert cpu_split(4) == (4, 1, 2) and cpu_split(16) == (4, 4, 5)
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    with cpu_workers_for_folder(torch.device("cpu")) as workers:
        assert (torch.get_num_threads(), workers) == (2, Workers(4, 2))
    assert torch.get_num_threads() == before   # given back after the folder
    with cpu_workers_for_folder(torch.device("cuda", 0)) as workers:   # one stream of batches on a GPU
        assert workers.forward == 1 and torch.get_num_threads() == before
    monkeypatch.setenv("OMP_NUM_THREADS", "3")   # the user's (or torchrun's) choice wins
    with cpu_workers_for_folder("cpu") as workers:
        assert workers.forward == 1 and torch.get_num_threads() == before
