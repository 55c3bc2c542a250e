"""The DDPM noise schedule of Diffusion U-KAN: linear betas and the buffers derived from them.

Built exactly as the official trainer and sampler build them (`Diffusion/Diffusion.py`): the betas
are a float32 `linspace(1e-4, 0.02, T)` converted to float64, and every derived buffer is float64.
Per-sample coefficients are gathered and cast to float32 before they touch a sample, as the
official `extract()` does, so training targets and sampling steps match it bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

SPACINGS = ("linear", "quadratic", "logsnr")


class NoiseSchedule:
    """Linear-beta DDPM schedule (float64 buffers) plus the two maps every sampler needs.

    Attribute names follow the official code: `sqrt_alphas_bar`, `sqrt_one_minus_alphas_bar`,
    `coeff1`, `coeff2`, `posterior_var` and `sampling_var` (the "fixedlarge" variance the
    official sampler uses: `posterior_var[1]` at t = 0, `betas[t]` elsewhere).
    """

    def __init__(self, num_train_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> None:
        if num_train_timesteps < 2:
            raise ValueError(f"num_train_timesteps must be at least 2, got {num_train_timesteps}")
        if not 0.0 < beta_start <= beta_end < 1.0:
            raise ValueError(f"betas must satisfy 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
        T = num_train_timesteps  # noqa: N806
        self.num_train_timesteps = T
        self.beta_start, self.beta_end = float(beta_start), float(beta_end)
        # float32 linspace, then double: the official values (1e-4 becomes 9.9999997e-05).
        self.betas = torch.linspace(beta_start, beta_end, T).double()
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.alphas_cumprod_prev = F.pad(self.alphas_cumprod, [1, 0], value=1.0)[:T]
        self.sqrt_alphas_bar = torch.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_bar = torch.sqrt(1.0 - self.alphas_cumprod)
        self.coeff1 = torch.sqrt(1.0 / self.alphas)
        self.coeff2 = self.coeff1 * (1.0 - self.alphas) / torch.sqrt(1.0 - self.alphas_cumprod)
        self.posterior_var = self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.sampling_var = torch.cat([self.posterior_var[1:2], self.betas[1:]])

    @classmethod
    def for_model(cls, model: Any) -> NoiseSchedule:
        """The official schedule with the model's own number of timesteps (`model.config.T`)."""
        config = getattr(model, "config", None)
        return cls(int(getattr(config, "T", 1000)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description, stored in generator checkpoints."""
        return {"kind": "linear", "T": self.num_train_timesteps, "beta_start": self.beta_start, "beta_end": self.beta_end}

    def spaced_timesteps(self, num_steps: int, spacing: str = "linear") -> torch.Tensor:
        """`num_steps` distinct training timesteps from T-1 down to 0 (all of them when num_steps = T).

        `spacing` chooses where the steps fall: "linear" (evenly in t, as respaced DDPM), "quadratic"
        (denser near t = 0, as DDIM used for 32x32 images) or "logsnr" (evenly in log(alpha/sigma), as
        DPM-Solver recommends for low resolutions). Ending at t = 0 puts the last model call at the
        lowest noise level, which matters most for few-step samplers.
        """
        T = self.num_train_timesteps  # noqa: N806
        n = int(num_steps)
        if not 1 <= n <= T:
            raise ValueError(f"number of steps must be between 1 and {T}, got {num_steps}")
        if spacing not in SPACINGS:
            raise ValueError(f"unknown timestep spacing {spacing!r}; known: {', '.join(SPACINGS)}")
        if n == 1:
            return torch.tensor([T - 1], dtype=torch.long)
        u = torch.linspace(0.0, 1.0, n, dtype=torch.float64)  # 0 at the first (noisiest) step
        if spacing == "linear":
            steps = (T - 1) * (1.0 - u)
        elif spacing == "quadratic":
            steps = (T - 1) * (1.0 - u) ** 2
        else:
            log_snr = 0.5 * torch.log(self.alphas_cumprod / (1.0 - self.alphas_cumprod))  # decreasing in t
            target = log_snr[T - 1] + u * (log_snr[0] - log_snr[T - 1])
            steps = (log_snr[None, :] - target[:, None]).abs().argmin(dim=1).double()
        steps = steps.round().long().tolist()
        steps[0], steps[-1] = T - 1, 0
        for i in range(n - 2, 0, -1):  # make them distinct, keeping the ends fixed
            steps[i] = min(max(steps[i], steps[i + 1] + 1), T - 1 - i)
        return torch.tensor(steps, dtype=torch.long)

    def gather(self, values: torch.Tensor, t: torch.Tensor, ndim: int) -> torch.Tensor:
        """`values[t]` as float32 of shape (B, 1, ..., 1), on t's device (the official `extract`)."""
        out = torch.gather(values, 0, t.cpu()).float().to(t.device)
        return out.view([t.shape[0]] + [1] * (ndim - 1))

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(ᾱ_t)·x0 + sqrt(1-ᾱ_t)·ε for per-sample timesteps `t` (B,), as the official trainer."""
        return (self.gather(self.sqrt_alphas_bar, t, x0.dim()) * x0
                + self.gather(self.sqrt_one_minus_alphas_bar, t, x0.dim()) * noise)

    def p_mean_variance(self, eps: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of p(x_{t-1} | x_t) for per-sample `t`, exactly the official sampler's."""
        var = self.gather(self.sampling_var, t, x_t.dim())
        mean = self.gather(self.coeff1, t, x_t.dim()) * x_t - self.gather(self.coeff2, t, x_t.dim()) * eps
        return mean, var
