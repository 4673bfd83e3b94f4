"""Random augmentation on whole batches of tensors (no per-sample Python).

It covers what preprocessing leaves in real handwriting: residual slant and rotation, size and
aspect changes, off-centre placement, thin and thick strokes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, strength: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate (±12°), scale (±15%, per axis ±8%), shear (±0.25) and shift (±2.5 px) each image."""
    n = x.shape[0]

    def uniform(scale: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * 2 - 1) * scale * strength

    angle = uniform(math.radians(12))
    scale = 1 + uniform(0.15)
    sx, sy = scale * (1 + uniform(0.08)), scale * (1 - uniform(0.08))
    shear = uniform(0.25)
    tx, ty = uniform(2.5 / 14), uniform(2.5 / 14)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # output->input sampling matrix: inverse of scale, rotate and shear
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = (cos + shear * sin) / sx
    theta[:, 0, 1] = (shear * cos - sin) / sx
    theta[:, 1, 0] = sin / sy
    theta[:, 1, 1] = cos / sy
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_thickness(x: torch.Tensor, p: float = 0.3, generator: torch.Generator | None = None) -> torch.Tensor:
    """Thicken (grey dilation) or thin (grey erosion) a random fraction ``p`` of the strokes, half each."""
    n = x.shape[0]
    u = torch.rand(n, generator=generator).view(n, 1, 1, 1)
    thick = F.max_pool2d(x, 3, 1, 1)
    thin = -F.max_pool2d(-x, 3, 1, 1)
    mix = 0.5  # a full 3x3 step is too strong at 28x28: blend half of it
    x = torch.where(u < p / 2, x + mix * (thick - x), x)
    return torch.where((u >= p / 2) & (u < p), x + mix * (thin - x), x)


def augment(x: torch.Tensor, strength: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """The training augmentation; identity when ``strength`` is 0."""
    if strength <= 0:
        return x
    x = random_thickness(x, p=0.3 * min(1.0, strength), generator=generator)
    return random_affine(x, strength, generator).clamp_(0, 1)
