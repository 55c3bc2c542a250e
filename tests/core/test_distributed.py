"""DDP: two CPU processes (gloo) train a few steps and end with identical weights."""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from ukan_core.training import distributed as ddp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, data: str, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from tests.core.test_trainer import preprocessing, tiny_model, tiny_recipe
    from ukan_core.data.folders import scan_labelled_folder
    from ukan_core.training.trainer import fit

    ctx = ddp.context_from_env("cpu")
    assert ctx is not None and ctx.rank == rank and ctx.world_size == world_size
    pairs = list(scan_labelled_folder(Path(data)))
    model = tiny_model(seed=rank)  # different starting weights: DDP must broadcast rank 0's
    try:
        result = fit(model, pairs[:8], pairs[8:], tiny_recipe(epochs=2), preprocessing=preprocessing(),
                     distributed=ctx, seed=1)
        torch.save({"state": model.state_dict(), "steps": result.steps, "metrics": result.metrics},
                   Path(out) / f"rank{rank}.pt")
    finally:
        ddp.shutdown(ctx)


@pytest.mark.slow
def test_two_cpu_processes_end_with_identical_weights(tmp_path: Path) -> None:
    from tests.core.test_trainer import write_pairs

    data = write_pairs(tmp_path / "data", 10)
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path)), nprocs=2, join=True)
    results = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    a, b = results[0]["state"], results[1]["state"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # 8 training images over 2 ranks at batch 4: one step per epoch per rank
    assert results[0]["steps"] == results[1]["steps"] == 2
    assert results[0]["metrics"] == results[1]["metrics"] and results[0]["metrics"]["val_n"] == 2


def test_a_single_process_run_has_no_context(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert ddp.context_from_env("cpu") is None
    assert ddp.broadcast_floats([1.0, 2.0], None) == [1.0, 2.0]
    assert dataclasses.is_dataclass(ddp.DistributedContext)
