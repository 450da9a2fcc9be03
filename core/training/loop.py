"""A plain training loop: SGD with momentum, exponential learning-rate decay, optional L1 and
L2 penalties on weight matrices, seeded shuffling, and a hook between epochs."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from core.config import require
from core.errors import DivergedError
from core.training.data import Dataset

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Optimization settings shared by every method of an experiment."""

    epochs: int = 12
    lr: float = 0.05
    momentum: float = 0.9
    # multiply the learning rate by this after every epoch
    lr_decay: float = 0.9
    batch_size: int = 64
    # penalties lambda_1 ||W||_1 + lambda_2 ||W||_F^2 summed over weight matrices
    l1: float = 0.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        require(self.epochs >= 0, f"train.epochs must be >= 0, got {self.epochs}")
        require(self.lr > 0, f"train.lr must be > 0, got {self.lr}")
        require(0 <= self.momentum < 1, f"train.momentum must be in [0, 1), got {self.momentum}")
        require(0 < self.lr_decay <= 1, f"train.lr_decay must be in (0, 1], got {self.lr_decay}")
        require(self.batch_size >= 1, f"train.batch_size must be >= 1, got {self.batch_size}")
        require(self.l1 >= 0 and self.l2 >= 0, "train.l1 and train.l2 must be >= 0")


def weight_matrices(model: nn.Module) -> list[torch.Tensor]:
    """All parameters with two or more dimensions (weights and factors, not biases)."""
    return [p for p in model.parameters() if p.ndim >= 2]


def penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor:
    """``l1 sum |W| + l2 sum W^2`` over the weight matrices of ``model`` (0 when both are 0)."""
    total = torch.zeros(())
    if l1 == 0 and l2 == 0:
        return total
    for w in weight_matrices(model):
        if l1:
            total = total + l1 * w.abs().sum()
        if l2:
            total = total + l2 * w.square().sum()
    return total


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 2048) -> dict:
    """Mean cross-entropy ``loss`` (nats) and ``acc`` (fraction correct) of ``model`` on x, y."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(y), batch):
        logits = model(x[i : i + batch])
        loss += float(F.cross_entropy(logits, y[i : i + batch], reduction="sum"))
        correct += int((logits.argmax(1) == y[i : i + batch]).sum())
    model.train()
    return {"loss": loss / len(y), "acc": correct / len(y)}


def make_optimizer(model: nn.Module, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """SGD with momentum over the current parameters (rebuilt after a layer changes form)."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg.momentum)


def train(
    model: nn.Module,
    data: Dataset,
    cfg: TrainConfig,
    seed: int,
    label: str,
    on_epoch_end: Callable[[int], bool] | None = None,
    log_epoch: Callable[[int, dict], None] | None = None,
) -> dict:
    """Train ``model`` in place for ``cfg.epochs`` epochs and return the final test metrics.

    ``on_epoch_end(epoch)`` runs after each epoch (1-based) and returns True when it changed
    the parameter set (the optimizer is then rebuilt). ``log_epoch(epoch, metrics)`` gets
    ``train_loss, train_acc, test_loss, test_acc`` (epoch 0 is the initialization). A
    non-finite loss stops training with DivergedError.
    """
    gen = torch.Generator().manual_seed(seed)
    lr = cfg.lr
    opt = make_optimizer(model, cfg, lr)
    n = len(data.y_train)

    def report(epoch: int) -> dict:
        tr = evaluate(model, data.x_train, data.y_train)
        te = evaluate(model, data.x_test, data.y_test)
        metrics = {"train_loss": tr["loss"], "train_acc": tr["acc"]}
        metrics |= {"test_loss": te["loss"], "test_acc": te["acc"]}
        if log_epoch:
            log_epoch(epoch, metrics)
        return metrics

    metrics = report(0)
    bar = tqdm(range(1, cfg.epochs + 1), desc=label, leave=False, disable=None)
    for epoch in bar:
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            loss = loss + penalty(model, cfg.l1, cfg.l2)
            if not math.isfinite(loss.item()):
                raise DivergedError(
                    f"{label}: the loss became {loss.item()} in epoch {epoch}; "
                    f"lower train.lr (now {cfg.lr}) or the penalties"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        lr *= cfg.lr_decay
        for group in opt.param_groups:
            group["lr"] = lr
        if on_epoch_end is not None and on_epoch_end(epoch):
            opt = make_optimizer(model, cfg, lr)
        metrics = report(epoch)
        bar.set_postfix(test_acc=f"{metrics['test_acc']:.3f}")
    return metrics
