"""Lesson 5's SGD from scratch, then the same model through briskml's Learner.

A linear classifier on synthetic data (a stand-in for the lesson's MNIST, so nothing is downloaded):
  1. a hand-written training loop: SGD with weight decay written into the loss (L2);
  2. the same loop with momentum, v = m*v + (1-m)*g, the lesson's exponentially weighted average;
  3. Adam written by hand: momentum plus a moving average of squared gradients, bias-corrected;
then the same model, data and batches through `Learner.fit` with "sgd" and "adam".

Run: python examples/sgd_from_scratch.py [--tiny]
"""

from __future__ import annotations

import argparse
import functools

import torch
import torch.nn.functional as F
from torch import nn

import briskml as bm
from briskml.optim import sgd


def make_data(num_rows: int, num_features: int = 20, num_classes: int = 3
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows labelled by a hidden linear rule plus noise."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(num_rows, num_features, generator=generator)
    rule = torch.randn(num_features, num_classes, generator=generator)
    noise = 0.5 * torch.randn(num_rows, num_classes, generator=generator)
    return x, (x @ rule + noise).argmax(dim=1)


def hand_written(model: nn.Module, loader: bm.TensorLoader, epochs: int, lr: float, wd: float,
                 method: str) -> float:
    """Train with updates written out by hand; returns the last epoch's mean loss."""
    state = {name: {"avg": torch.zeros_like(p), "sqr": torch.zeros_like(p)}
             for name, p in model.named_parameters()}
    beta1, beta2, eps, step = 0.9, 0.99, 1e-5, 0
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in loader:
            step += 1
            loss = F.cross_entropy(model(x), y)
            squares = sum((p**2).sum() for p in model.parameters())
            (loss + wd * squares).backward()  # L2: weight decay written into the loss
            with torch.no_grad():
                for name, p in model.named_parameters():
                    _update(p, state[name], method, lr, beta1, beta2, eps, step)
                    p.grad.zero_()
            total += loss.item() * len(y)
            count += len(y)
    return total / count


def _update(p: torch.Tensor, state: dict[str, torch.Tensor], method: str, lr: float,
            beta1: float, beta2: float, eps: float, step: int) -> None:
    if method == "sgd":
        p.sub_(lr * p.grad)
    elif method == "momentum":
        if step == 1:
            state["avg"].copy_(p.grad)  # PyTorch starts the average at the first gradient
        else:
            state["avg"].mul_(beta1).add_((1 - beta1) * p.grad)  # v = m*v + (1-m)*g
        p.sub_(lr * state["avg"])
    else:  # adam
        state["avg"].mul_(beta1).add_((1 - beta1) * p.grad)
        state["sqr"].mul_(beta2).add_((1 - beta2) * p.grad**2)
        avg = state["avg"] / (1 - beta1**step)                 # bias correction
        sqr = state["sqr"] / (1 - beta2**step)
        p.sub_(lr * avg / (sqr.sqrt() + eps))


def with_learner(model: nn.Module, data: bm.DataLoaders, epochs: int, lr: float, wd: float,
                 opt_func: object) -> float:
    """The same training through the Learner; returns the last epoch's mean training loss.

    The hand-written loss adds wd * sum(w**2), whose gradient is 2*wd*w, so the Learner gets wd*2
    in L2 mode, and decays biases too (wd_bn_bias) as the hand-written loop does.
    """
    learn = bm.Learner(data, model, loss_func=F.cross_entropy, opt_func=opt_func, wd=2 * wd,
                       wd_mode="l2", wd_bn_bias=True, metrics=[bm.accuracy], progress=False)
    learn.fit(epochs, lr)
    return learn.recorder.values[-1]["train_loss"]


def main() -> None:
    parser = argparse.ArgumentParser(description="SGD from scratch, then with the Learner.")
    parser.add_argument("--tiny", action="store_true", help="a few seconds, for the tests")
    args = parser.parse_args()
    num_rows, epochs = (512, 2) if args.tiny else (20_000, 5)
    x, y = make_data(num_rows)
    train = bm.TensorLoader(x, y, bs=64)  # the same batches, in the same order, for every run
    data = bm.DataLoaders(train, bm.TensorLoader(x[:256], y[:256], bs=256))
    wd = 1e-4
    print(f"{'optimizer':<22}{'hand-written':>14}{'Learner.fit':>14}")
    plain_sgd = functools.partial(sgd, momentum=0.0)
    for method, lr, opt_func in [("sgd", 0.1, plain_sgd), ("momentum", 0.1, "sgd"),
                                 ("adam", 1e-2, "adam")]:
        torch.manual_seed(1)
        initial = nn.Linear(x.shape[1], 3)
        by_hand = hand_written(_copy(initial), train, epochs, lr, wd, method)
        learner = with_learner(_copy(initial), data, epochs, lr, wd, opt_func)
        print(f"{method:<22}{by_hand:>14.4f}{learner:>14.4f}")


def _copy(model: nn.Linear) -> nn.Linear:
    clone = nn.Linear(model.in_features, model.out_features)
    clone.load_state_dict(model.state_dict())
    return clone


if __name__ == "__main__":
    main()
