"""Choose the compute device: CUDA, then Apple MPS, then CPU, unless the caller names one."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ukan_core.errors import UkanError

if TYPE_CHECKING:  # torch is imported on first use, so `ukan --help` and the app start stay fast
    import torch

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def pick_device(name: str | torch.device = "auto") -> torch.device:
    """Return the device for `name`; "auto" picks CUDA, then MPS, then CPU.

    Raises UkanError with one line when a named device is not available here.
    """
    import torch

    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UkanError(f"device {name!r}: CUDA is not available (this torch build: {torch.__version__})")
        return torch.device(name)
    if name == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise UkanError("device 'mps': Apple MPS is not available on this machine")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise UkanError(f"device {name!r}: unknown; choose one of {', '.join(DEVICE_CHOICES)}")


def device_label(device: torch.device) -> str:
    """A short human label such as "CUDA (NVIDIA H100)", "MPS" or "CPU (2 threads)"."""
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"CUDA ({torch.cuda.get_device_name(index)})"
    if device.type == "mps":
        return "MPS (Apple GPU)"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'' if threads == 1 else 's'})"


def studio_threads(cpu_count: int | None = None) -> int:
    """Torch threads for the Studio's workers: 2 on a 2- or 3-core machine, else one core left to the GUI.

    With 2 cores one thread left a core idle during Segment all; two threads keep the window
    responsive (the GUI thread mostly waits, see tests/benchmarks/bench_ui_stall.py).
    """
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    if cores <= 1:
        return 1
    return max(2, cores - 1)
