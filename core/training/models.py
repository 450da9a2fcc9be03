"""Models: a dense network whose linear layers can be truncated, factored or masked, and
timm image models built without pretrained weights."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.config import require
from core.errors import DataNotFoundError, UserError
from core.spectral.mp import gram_eigenvalues


@dataclass
class ModelConfig:
    """Model choice: ``dense`` (our MLP) or ``timm`` (any timm architecture by name)."""

    kind: str = "dense"
    # dense: hidden widths, input -> widths -> classes
    widths: list[int] = field(default_factory=lambda: [1000, 1000])
    # timm: architecture name, e.g. resnet18, vit_tiny_patch16_224
    name: str = "resnet18"
    # timm: optional local checkpoint (state dict) to load; weights are never downloaded
    checkpoint: str | None = None

    def __post_init__(self) -> None:
        require(
            all(w >= 1 for w in self.widths),
            f"model.widths must be positive integers, got {self.widths}",
        )


class SpectralLinear(nn.Module):
    """A linear layer ``y = x W^T + b`` whose weight is held in one of three forms.

    Dense ``W`` (out x in); factored ``W = B A`` with ``B = U sqrt(S)`` (out x r) and
    ``A = sqrt(S) V^T`` (r x in), two thin layers that are cheaper once
    ``r (out + in) < out in``; or dense with a fixed 0/1 mask (unstructured pruning).
    """

    def __init__(self, fan_in: int, fan_out: int, generator: torch.Generator) -> None:
        super().__init__()
        # N(0, 1/fan_in): the weights start as a Marchenko-Pastur matrix
        w = torch.randn(fan_out, fan_in, generator=generator) / math.sqrt(fan_in)
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(fan_out))
        self.register_parameter("factor_b", None)
        self.register_parameter("factor_a", None)
        self.register_buffer("mask", None)

    @property
    def shape(self) -> tuple[int, int]:
        return self.bias.shape[0], self.in_features

    @property
    def in_features(self) -> int:
        return (self.factor_a if self.factor_a is not None else self.weight).shape[1]

    @property
    def factored(self) -> bool:
        return self.factor_a is not None

    def effective_weight(self) -> torch.Tensor:
        """The out x in weight the layer applies, whatever its form."""
        if self.factored:
            return self.factor_b @ self.factor_a
        return self.weight if self.mask is None else self.weight * self.mask

    def weight_params(self) -> int:
        """Number of stored weight entries (nonzeros for a masked layer), biases excluded."""
        if self.factored:
            return self.factor_b.numel() + self.factor_a.numel()
        return int(self.mask.sum()) if self.mask is not None else self.weight.numel()

    @torch.no_grad()
    def svd(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Thin SVD ``(U, s, V^T)`` of the effective weight, ``min(out, in)`` values descending.

        A factored layer is decomposed through its factors (QR of each, SVD of the small
        r x r core, in float64), so its singular values beyond rank r are exact zeros rather
        than float32 round-off of ``B A``; the matching columns of U and rows of V^T are 0.
        """
        if not self.factored:
            return torch.linalg.svd(self.effective_weight().detach(), full_matrices=False)
        q_b, r_b = torch.linalg.qr(self.factor_b.detach().double())
        q_a, r_a = torch.linalg.qr(self.factor_a.detach().double().T)
        u, s, vh = torch.linalg.svd(r_b @ r_a.T)
        pad = min(self.shape) - s.numel()
        u_full = torch.nn.functional.pad(q_b @ u, (0, pad))
        vh_full = torch.nn.functional.pad(vh @ q_a.T, (0, 0, 0, pad))
        s_full = torch.nn.functional.pad(s, (0, pad))
        return u_full.float(), s_full.float(), vh_full.float()

    @torch.no_grad()
    def singular_values(self) -> torch.Tensor:
        """Singular values of the effective weight, descending (exact zeros past the rank
        of a factored layer); dense layers go through the cheaper Gram eigenvalues."""
        if self.factored:
            return self.svd()[1]
        w = self.effective_weight().detach().numpy()
        lam = gram_eigenvalues(w)[::-1].copy()
        return torch.from_numpy(np.sqrt(lam * max(w.shape))).float()

    def set_low_rank(self, u: torch.Tensor, s: torch.Tensor, vh: torch.Tensor) -> None:
        """Replace the weight by ``U diag(s) V^T``: factored when that saves parameters."""
        out_f, in_f = self.shape
        r = s.numel()
        if r * (out_f + in_f) < out_f * in_f:
            root = s.sqrt()
            self.factor_b = nn.Parameter((u * root).contiguous())
            self.factor_a = nn.Parameter((root[:, None] * vh).contiguous())
            self.weight = None
        else:
            w = (u * s) @ vh
            if self.factored:
                self.factor_a = self.factor_b = None
                self.weight = nn.Parameter(w)
            else:
                self.weight.data.copy_(w)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Keep only the weights where ``mask`` is 1 (dense layers only)."""
        self.mask = mask.to(self.weight.dtype)
        self.weight.data.mul_(self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.factored:
            return (x @ self.factor_a.T) @ self.factor_b.T + self.bias
        return x @ self.effective_weight().T + self.bias


class DenseNet(nn.Module):
    """Fully connected ReLU network ``in -> widths -> classes`` of SpectralLinear layers."""

    def __init__(self, n_in: int, widths: list[int], n_classes: int, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        dims = [n_in, *widths, n_classes]
        self.layers = nn.ModuleList(
            SpectralLinear(a, b, gen) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x

    def named_weights(self) -> list[tuple[str, SpectralLinear]]:
        """(name, layer) of every linear layer, names ``fc1``, ``fc2``, ..."""
        return [(f"fc{i + 1}", layer) for i, layer in enumerate(self.layers)]

    def param_count(self) -> int:
        """Stored parameters: weight entries (nonzeros when masked) plus biases."""
        return sum(layer.weight_params() + layer.bias.numel() for layer in self.layers)


def build_timm(cfg: ModelConfig, n_classes: int, in_chans: int = 3) -> nn.Module:
    """A timm model by name, randomly initialized (``pretrained=False``), optionally loaded
    from a local checkpoint. Unknown names raise UserError with close matches."""
    import timm

    names = timm.list_models()
    if cfg.name not in names:
        close = difflib.get_close_matches(cfg.name, names, n=10, cutoff=0.5)
        raise UserError(
            f"unknown timm model '{cfg.name}'; close names: {', '.join(close) or 'none'} "
            "(python -c 'import timm; print(timm.list_models())' lists all)"
        )
    model = timm.create_model(cfg.name, pretrained=False, num_classes=n_classes, in_chans=in_chans)
    if cfg.checkpoint:
        path = Path(cfg.checkpoint).expanduser()
        if not path.is_file():
            raise DataNotFoundError(f"model.checkpoint {path} does not exist")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state.get("state_dict", state))
        except Exception as err:
            raise UserError(
                f"model.checkpoint {path} is not a state dict of timm's {cfg.name}: {err}"
            ) from None
    return model
