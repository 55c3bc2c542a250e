"""Samplers that turn noise into images with a trained noise predictor, in the diffusers style.

Every sampler has the same surface: `set_timesteps(n)` once, then for each `t` in `timesteps`
`step(model_output, t, sample, generator=...) -> SamplerStep`. The denoiser and the generation
loop never change when the sampler does.

- "ddpm": the official ancestral sampler ("fixedlarge" variance). With all T steps it is the
  official loop step for step; with fewer it uses the respaced schedule (Nichol & Dhariwal 2021).
- "ddim": DDIM (Song et al. 2021); deterministic at eta=0, close to DDPM statistics at eta=1;
  quadratic timestep spacing (denser near t = 0).
- "dpmpp2m": DPM-Solver++(2M) (Lu et al. 2022), a second-order multistep ODE solver on steps
  evenly spaced in log-SNR; the default. On data whose true noise predictor is known in closed
  form it matches 1000-step DDPM statistics with 10-20 steps, where DDIM needs about 50 and
  respaced DDPM more than 100 (tests/core/test_samplers.py, tests/benchmarks/bench_generate.py).

Noise is drawn on the CPU from the caller's generator(s) and then moved to the sample's device,
so a seed gives the same images on every device. A list of generators (one per sample) makes
each image depend only on its own seed, not on the batch it was drawn in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Union

import torch

from ukan_core.diffusion.schedule import SPACINGS, NoiseSchedule

Generators = Union[torch.Generator, Sequence[torch.Generator], None]


@dataclass(frozen=True)
class SamplerStep:
    """One denoising step's result."""

    prev_sample: torch.Tensor           # x at the next (lower) timestep: feed it back into the model
    pred_original_sample: torch.Tensor  # x̂0 predicted at this step: good for a live preview


def sample_noise(shape: Sequence[int], generator: Generators = None, *, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal noise of `shape`, drawn on the CPU; one generator per sample when given a list."""
    shape = tuple(int(s) for s in shape)
    if isinstance(generator, Sequence):
        if len(generator) != shape[0]:
            raise ValueError(f"got {len(generator)} generators for a batch of {shape[0]}")
        noise = torch.stack([torch.randn(shape[1:], generator=g, dtype=dtype) for g in generator])
    else:
        noise = torch.randn(shape, generator=generator, dtype=dtype)
    return noise.to(device)


class Sampler:
    """Shared bookkeeping: the timesteps in use and where each one sits in the sequence."""

    name: ClassVar[str] = ""
    default_steps: ClassVar[int] = 50
    default_spacing: ClassVar[str] = "linear"

    def __init__(self, schedule: NoiseSchedule, *, spacing: str | None = None) -> None:
        self.schedule = schedule
        self.spacing = spacing or self.default_spacing
        if self.spacing not in SPACINGS:
            raise ValueError(f"unknown timestep spacing {self.spacing!r}; known: {', '.join(SPACINGS)}")
        self.timesteps = torch.empty(0, dtype=torch.long)
        self._position: dict[int, int] = {}

    def set_timesteps(self, num_steps: int) -> None:
        """Use `num_steps` training timesteps from T-1 down to 0, placed by this sampler's spacing."""
        self.timesteps = self.schedule.spaced_timesteps(num_steps, self.spacing)
        self._position = {int(t): i for i, t in enumerate(self.timesteps.tolist())}

    def _index(self, timestep: int | torch.Tensor) -> int:
        if not self._position:
            raise RuntimeError(f"{type(self).__name__}: call set_timesteps() before step()")
        t = int(timestep)
        if t not in self._position:
            raise ValueError(f"{type(self).__name__}: timestep {t} is not one of the {len(self._position)} set")
        return self._position[t]

    def _alpha_bar(self, index: int) -> tuple[float, float]:
        """ᾱ at step `index` and at the step after it (1.0 after the last: the clean image)."""
        a_t = float(self.schedule.alphas_cumprod[int(self.timesteps[index])])
        nxt = index + 1
        a_prev = float(self.schedule.alphas_cumprod[int(self.timesteps[nxt])]) if nxt < len(self.timesteps) else 1.0
        return a_t, a_prev

    @staticmethod
    def _x0(sample: torch.Tensor, eps: torch.Tensor, a_t: float) -> torch.Tensor:
        return (sample - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor, *,
             generator: Generators = None) -> SamplerStep:
        raise NotImplementedError


class DDPMSampler(Sampler):
    """Ancestral DDPM with the official "fixedlarge" variance; never clips during the loop (as the official)."""

    name = "ddpm"
    default_steps = 1000

    def set_timesteps(self, num_steps: int | None = None) -> None:
        """All T steps by default (the official sampler); fewer use the respaced schedule."""
        s = self.schedule
        super().set_timesteps(s.num_train_timesteps if num_steps is None else num_steps)
        if len(self.timesteps) == s.num_train_timesteps:
            # The official buffers, reordered from T-1 down to 0.
            self._coeff1, self._coeff2 = s.coeff1.flip(0), s.coeff2.flip(0)
            self._var = s.sampling_var.flip(0)
            return
        a_t = s.alphas_cumprod[self.timesteps]
        a_prev = torch.cat([a_t[1:], a_t.new_ones(1)])
        betas = 1.0 - a_t / a_prev
        self._coeff1 = torch.sqrt(1.0 / (1.0 - betas))
        self._coeff2 = self._coeff1 * betas / torch.sqrt(1.0 - a_t)
        posterior_var = betas * (1.0 - a_prev) / (1.0 - a_t)
        # "fixedlarge": beta, except at the last step (t = 0), where the official uses posterior_var[1].
        self._var = torch.cat([betas[:-1], posterior_var[-2:-1]]) if len(betas) > 1 else betas

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor, *,
             generator: Generators = None) -> SamplerStep:
        i = self._index(timestep)
        # Coefficients as float32 0-d tensors: the official `extract()` casts them the same way.
        c1 = self._coeff1[i].float().to(sample.device)
        c2 = self._coeff2[i].float().to(sample.device)
        mean = c1 * sample - c2 * model_output
        if i < len(self.timesteps) - 1:
            std = torch.sqrt(self._var[i].float()).to(sample.device)
            prev = mean + std * sample_noise(sample.shape, generator, device=sample.device, dtype=sample.dtype)
        else:
            prev = mean
        a_t, _ = self._alpha_bar(i)
        return SamplerStep(prev_sample=prev, pred_original_sample=self._x0(sample, model_output, a_t))


class DDIMSampler(Sampler):
    """DDIM (Song et al. 2021, eq. 12) on any subset of the training timesteps; eta=0 is deterministic."""

    name = "ddim"
    default_steps = 50
    default_spacing = "quadratic"

    def __init__(self, schedule: NoiseSchedule, *, eta: float = 0.0, clip_sample: bool = True,
                 spacing: str | None = None) -> None:
        super().__init__(schedule, spacing=spacing)
        if eta < 0:
            raise ValueError(f"eta must be >= 0, got {eta}")
        self.eta, self.clip_sample = float(eta), clip_sample

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor, *,
             generator: Generators = None) -> SamplerStep:
        i = self._index(timestep)
        a_t, a_prev = self._alpha_bar(i)
        eps = model_output
        x0 = self._x0(sample, eps, a_t)
        if self.clip_sample:
            x0 = x0.clamp(-1.0, 1.0)
        sigma = self.eta * math.sqrt((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
        prev = math.sqrt(a_prev) * x0 + math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)) * eps
        if sigma > 0.0:
            prev = prev + sigma * sample_noise(sample.shape, generator, device=sample.device, dtype=sample.dtype)
        return SamplerStep(prev_sample=prev, pred_original_sample=x0)


class DPMSolverPP2MSampler(Sampler):
    """DPM-Solver++(2M): second-order multistep in log-SNR with data (x̂0) prediction; deterministic.

    The first step is first order (no history yet) and the last goes straight to the clean image
    (x̂0 at t = 0), as diffusers does with `final_sigmas_type="zero"`.
    """

    name = "dpmpp2m"
    default_steps = 20
    default_spacing = "logsnr"

    def __init__(self, schedule: NoiseSchedule, *, clip_sample: bool = True, spacing: str | None = None) -> None:
        super().__init__(schedule, spacing=spacing)
        self.clip_sample = clip_sample
        self._last_x0: torch.Tensor | None = None
        self._last_h = 0.0

    def set_timesteps(self, num_steps: int) -> None:
        super().set_timesteps(num_steps)
        self._last_x0, self._last_h = None, 0.0

    def step(self, model_output: torch.Tensor, timestep: int | torch.Tensor, sample: torch.Tensor, *,
             generator: Generators = None) -> SamplerStep:
        i = self._index(timestep)
        a_t, a_next = self._alpha_bar(i)
        x0 = self._x0(sample, model_output, a_t)
        if self.clip_sample:
            x0 = x0.clamp(-1.0, 1.0)
        if i == len(self.timesteps) - 1:
            self._last_x0 = None
            return SamplerStep(prev_sample=x0, pred_original_sample=x0)
        alpha_s, sigma_s = math.sqrt(a_t), math.sqrt(1.0 - a_t)
        alpha_t, sigma_t = math.sqrt(a_next), math.sqrt(1.0 - a_next)
        h = math.log(alpha_t / sigma_t) - math.log(alpha_s / sigma_s)
        if self._last_x0 is None or i == 0:
            d = x0
        else:
            r = self._last_h / h
            d = (1.0 + 0.5 / r) * x0 - (0.5 / r) * self._last_x0
        prev = (sigma_t / sigma_s) * sample + alpha_t * (-math.expm1(-h)) * d
        self._last_x0, self._last_h = x0, h
        return SamplerStep(prev_sample=prev, pred_original_sample=x0)


SAMPLERS: dict[str, type[Sampler]] = {cls.name: cls for cls in (DDPMSampler, DDIMSampler, DPMSolverPP2MSampler)}
DEFAULT_SAMPLER = "dpmpp2m"


def make_sampler(name: str, schedule: NoiseSchedule | None = None, **options: float | bool) -> Sampler:
    """The sampler called `name` ("ddpm", "ddim", "dpmpp2m") over `schedule` (default: the official one)."""
    cls = SAMPLERS.get(name)
    if cls is None:
        raise ValueError(f"unknown sampler {name!r}; known: {', '.join(SAMPLERS)}")
    return cls(schedule if schedule is not None else NoiseSchedule(), **options)
