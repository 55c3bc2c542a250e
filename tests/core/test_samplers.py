"""Samplers on data whose true noise predictor is known in closed form (a Gaussian mixture per pixel).

With the exact ε(x_t, t) every sampler should reproduce the data distribution; how closely it
does at a given number of steps is the sampler's quality, free of any training noise.
"""

from __future__ import annotations

import pytest
import torch

from ukan_core.diffusion.samplers import (
    DEFAULT_SAMPLER,
    SAMPLERS,
    DDIMSampler,
    DDPMSampler,
    DPMSolverPP2MSampler,
    make_sampler,
    sample_noise,
)
from ukan_core.diffusion.schedule import NoiseSchedule

SCHEDULE = NoiseSchedule()


class MixtureOracle(torch.nn.Module):
    """The exact E[ε | x_t] when every value of x0 is drawn from a 1-D Gaussian mixture."""

    def __init__(self, means: list[float], stds: list[float], weights: list[float]) -> None:
        super().__init__()
        self.means, self.stds, self.weights = torch.tensor(means), torch.tensor(stds), torch.tensor(weights)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = SCHEDULE.alphas_cumprod[t].float().view(-1, *[1] * x.dim())  # trailing axis: the components
        xs = x.unsqueeze(-1)
        var = a * self.stds**2 + (1.0 - a)
        centred = xs - a.sqrt() * self.means
        log_p = torch.log(self.weights) - 0.5 * centred**2 / var - 0.5 * torch.log(var)
        return (torch.softmax(log_p, dim=-1) * (1.0 - a).sqrt() / var * centred).sum(-1)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        return self.means[k] + self.stds[k] * torch.randn(n, generator=generator)

    def quantiles(self, n: int) -> torch.Tensor:
        """The exact (i + 0.5) / n quantiles, found by bisection on the mixture's CDF."""
        target = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        lo, hi = torch.full((n,), -3.0, dtype=torch.float64), torch.full((n,), 3.0, dtype=torch.float64)
        means, stds, weights = self.means.double(), self.stds.double(), self.weights.double()
        for _ in range(60):
            mid = (lo + hi) / 2
            below = (weights * torch.special.ndtr((mid[:, None] - means) / stds)).sum(-1) < target
            lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        return ((lo + hi) / 2).float()


GAUSSIAN = MixtureOracle([0.3], [0.2], [1.0])
BIMODAL = MixtureOracle([-0.6, 0.5], [0.05, 0.1], [0.4, 0.6])


def _sample(denoiser, sampler, steps: int, n: int = 4000, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = sample_noise((n, 1), generator)
    sampler.set_timesteps(steps)
    for t in sampler.timesteps.tolist():
        x = sampler.step(denoiser(x, torch.full((n,), t)), t, x, generator=generator).prev_sample
    return x.flatten()


def _w1(samples: torch.Tensor, reference: torch.Tensor) -> float:
    """1-D Wasserstein distance between two equally sized samples."""
    return float((samples.sort().values - reference.sort().values).abs().mean())


def test_registry_names_and_defaults():
    assert set(SAMPLERS) == {"ddpm", "ddim", "dpmpp2m"}
    assert DEFAULT_SAMPLER in SAMPLERS
    assert isinstance(make_sampler("ddim", SCHEDULE, eta=0.5), DDIMSampler)
    assert make_sampler("ddpm").schedule.num_train_timesteps == 1000
    with pytest.raises(ValueError, match="known: ddpm, ddim, dpmpp2m"):
        make_sampler("euler")


def test_step_needs_set_timesteps_and_a_known_timestep():
    sampler = DDIMSampler(SCHEDULE)
    x = torch.zeros(1, 1)
    with pytest.raises(RuntimeError, match="set_timesteps"):
        sampler.step(x, 999, x)
    sampler.set_timesteps(10)
    with pytest.raises(ValueError, match="timestep 500"):
        sampler.step(x, 500, x)


def test_ddpm_with_all_steps_is_the_official_loop():
    """Step for step the official `GaussianDiffusionSampler.forward`, bit for bit, given the same noise."""
    n = 64
    x_official = x_ours = torch.randn(n, 3, generator=torch.Generator().manual_seed(5))
    g_official, g_ours = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    sampler = DDPMSampler(SCHEDULE)
    sampler.set_timesteps(1000)
    for step in reversed(range(1000)):
        t = torch.full((n,), step, dtype=torch.long)
        mean, var = SCHEDULE.p_mean_variance(BIMODAL(x_official, t), x_official, t)
        noise = torch.randn(x_official.shape, generator=g_official) if step > 0 else 0
        x_official = mean + torch.sqrt(var) * noise
        x_ours = sampler.step(BIMODAL(x_ours, t), step, x_ours, generator=g_ours).prev_sample
    assert torch.equal(x_ours, x_official)


def test_ddim_eta_one_with_all_steps_matches_ddpm_statistics():
    truth = GAUSSIAN.quantiles(4000)
    ddpm = _sample(GAUSSIAN, DDPMSampler(SCHEDULE), 1000)
    ddim = _sample(GAUSSIAN, DDIMSampler(SCHEDULE, eta=1.0), 1000)
    for samples in (ddpm, ddim):
        assert abs(float(samples.mean()) - 0.3) < 0.01
        assert abs(float(samples.std()) - 0.2) < 0.01
        assert _w1(samples, truth) < 0.01
    assert abs(float(ddpm.mean() - ddim.mean())) < 0.01 and abs(float(ddpm.std() - ddim.std())) < 0.01


def test_dpm_solver_in_few_steps_is_as_close_as_ddim_in_many():
    """Measured W1 (20,000 samples): DPM-Solver++ 15/20 steps 0.010/0.006, DDIM 20/50 0.016/0.007, DDPM 1000 0.002."""
    n = 20000
    truth = BIMODAL.quantiles(n)
    dpm_15 = _w1(_sample(BIMODAL, DPMSolverPP2MSampler(SCHEDULE), 15, n=n), truth)
    dpm_20 = _w1(_sample(BIMODAL, DPMSolverPP2MSampler(SCHEDULE), 20, n=n), truth)
    ddim_20 = _w1(_sample(BIMODAL, DDIMSampler(SCHEDULE), 20, n=n), truth)
    ddim_50 = _w1(_sample(BIMODAL, DDIMSampler(SCHEDULE), 50, n=n), truth)
    assert dpm_20 < 0.012 and dpm_15 < 0.018
    assert dpm_20 < ddim_20 and dpm_15 < ddim_20
    assert dpm_20 < ddim_50 * 1.3


@pytest.mark.parametrize("name", ["ddim", "dpmpp2m"])
@pytest.mark.parametrize("steps", [1, 10, 50])
def test_deterministic_samplers_recover_a_known_image(name, steps):
    """With the exact ε of a single image x0, x̂0 is exact from the first step on."""
    x0 = torch.linspace(-0.9, 0.9, 12).view(1, 3, 2, 2)

    def oracle(x, t):
        a = SCHEDULE.alphas_cumprod[t].float().view(-1, 1, 1, 1)
        return (x - a.sqrt() * x0) / (1.0 - a).sqrt()

    sampler = make_sampler(name, SCHEDULE)
    sampler.set_timesteps(steps)
    x = sample_noise((1, 3, 2, 2), torch.Generator().manual_seed(0))
    for t in sampler.timesteps.tolist():
        x = sampler.step(oracle(x, torch.tensor([t])), t, x).prev_sample
    # float32: x̂0 = (x - sqrt(1-ᾱ)ε)/sqrt(ᾱ) loses ~1e-4 at t = 999, where 1/sqrt(ᾱ) = 158
    torch.testing.assert_close(x, x0, atol=2e-4, rtol=0)


def test_respaced_ddpm_still_samples_the_data():
    samples = _sample(GAUSSIAN, DDPMSampler(SCHEDULE), 100)
    assert abs(float(samples.mean()) - 0.3) < 0.02
    assert abs(float(samples.std()) - 0.2) < 0.05


def test_same_generator_state_same_steps():
    a = _sample(BIMODAL, DDPMSampler(SCHEDULE), 50, n=100, seed=3)
    b = _sample(BIMODAL, DDPMSampler(SCHEDULE), 50, n=100, seed=3)
    c = _sample(BIMODAL, DDPMSampler(SCHEDULE), 50, n=100, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_per_sample_generators_make_noise_independent_of_the_batch():
    def gens(seeds):
        return [torch.Generator().manual_seed(s) for s in seeds]

    together = sample_noise((3, 2, 4, 4), gens([10, 11, 12]))
    alone = sample_noise((1, 2, 4, 4), gens([11]))
    assert torch.equal(together[1:2], alone)
    with pytest.raises(ValueError, match="generators"):
        sample_noise((2, 1), gens([1]))


def test_dpm_solver_history_resets_with_set_timesteps():
    sampler = DPMSolverPP2MSampler(SCHEDULE)
    first = _sample(BIMODAL, sampler, 10, n=50)
    second = _sample(BIMODAL, sampler, 10, n=50)
    assert torch.equal(first, second)
