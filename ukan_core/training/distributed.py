"""Multi-process training with DistributedDataParallel, started by `torchrun`.

    torchrun --nproc_per_node=4 -m ukan_core.cli.main train DATA --config ukan
    torchrun --nnodes=2 --node_rank=R --master_addr=HOST --master_port=29500 --nproc_per_node=8 \
        -m ukan_core.cli.main train DATA

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; `context_from_env`
reads them and joins the process group (NCCL on CUDA, Gloo on CPU). Only rank 0 validates,
writes files and prints; the others learn its decisions through `broadcast_floats`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ukan_core.device import pick_device


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in a distributed run."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that validates, writes and prints."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when the environment describes a run of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def context_from_env(device: str = "auto") -> DistributedContext | None:
    """Join the process group torchrun describes; None for a single-process run.

    On CUDA each process takes GPU `LOCAL_RANK` and NCCL; otherwise Gloo on the CPU.
    """
    if not launched_by_torchrun():
        return None
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = pick_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
        backend = "nccl"
    else:
        chosen = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank, device=chosen)


def broadcast_floats(values: list[float], ctx: DistributedContext | None) -> list[float]:
    """Rank 0's `values` on every rank (unchanged without a context)."""
    if ctx is None:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=_comm_device(ctx))
    dist.broadcast(tensor, src=0)
    return tensor.tolist()


def max_over_ranks(values: list[float], ctx: DistributedContext | None) -> list[float]:
    """Element-wise maximum of `values` across ranks (NaN anywhere stays NaN)."""
    if ctx is None:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=_comm_device(ctx))
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor.tolist()


def sync_buffers(model: torch.nn.Module, ctx: DistributedContext | None) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank.

    DDP broadcasts buffers at the start of each forward, so after the last step each rank
    holds its own statistics; this makes the replicas identical again.
    """
    if ctx is None:
        return
    for buffer in model.buffers():
        dist.broadcast(buffer.data, src=0)


def barrier(ctx: DistributedContext | None) -> None:
    """Wait for every rank (no-op without a context)."""
    if ctx is not None:
        dist.barrier()


def shutdown(ctx: DistributedContext | None) -> None:
    """Leave the process group at the end of a run."""
    if ctx is not None and dist.is_initialized():
        dist.destroy_process_group()


def _comm_device(ctx: DistributedContext) -> torch.device:
    return ctx.device if dist.get_backend() == "nccl" else torch.device("cpu")
