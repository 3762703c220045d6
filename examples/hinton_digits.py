"""The textbook case on rldistill's losses: Hinton et al. 2015 on scikit-learn's digits.

A large MLP teacher is trained on the digits training split; a small student is trained on a
small labelled subset, once with the hard labels only and once with
``alpha * T^2-scaled soft-target CE at temperature T + (1 - alpha) * hard-label CE``,
using :func:`rldistill.heads.losses.ce` (the same function the RL loop uses). Run it:

    .venv/bin/python examples/hinton_digits.py
"""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F
from torch import nn

from rldistill.heads.losses import ce


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _fit(model: nn.Module, x: torch.Tensor, loss_of: object, epochs: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            loss = loss_of(model(x[idx]), idx)  # type: ignore[operator]
            opt.zero_grad()
            loss.backward()
            opt.step()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).float().mean())


def run(temperature: float = 8.0, alpha: float = 0.9, student_hidden: int = 64,
        transfer_size: int = 100, seed: int = 0) -> dict[str, float]:
    """Test accuracies of teacher, student with and without distillation."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x_np, y_np = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x_np / 16.0, y_np, test_size=0.3,
                                              random_state=seed, stratify=y_np)
    x, xt = torch.tensor(x_tr, dtype=torch.float32), torch.tensor(x_te, dtype=torch.float32)
    y, yt = torch.tensor(y_tr), torch.tensor(y_te)
    torch.manual_seed(seed)
    teacher = _mlp([64, 512, 512, 10])
    _fit(teacher, x, lambda out, i: F.cross_entropy(out, y[i]), epochs=40, seed=seed)
    with torch.no_grad():
        soft = teacher(x)
    sub = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:transfer_size]
    xs, ys, ss = x[sub], y[sub], soft[sub]
    results = {"teacher": accuracy(teacher, xt, yt)}
    for name, a in (("student_hard_labels", 0.0), ("student_distilled", alpha)):
        torch.manual_seed(seed + 1)
        student = _mlp([64, student_hidden, 10])

        def loss_of(out: torch.Tensor, i: torch.Tensor, a: float = a) -> torch.Tensor:
            hard = F.cross_entropy(out, ys[i])
            if a == 0.0:
                return hard
            soft_loss, _ = ce(out, ss[i], temperature=temperature)  # T^2-scaled
            return a * soft_loss + (1 - a) * hard

        _fit(student, xs, loss_of, epochs=150, seed=seed)
        results[name] = accuracy(student, xt, yt)
    results["teacher_params"] = sum(p.numel() for p in teacher.parameters())
    results["student_params"] = sum(p.numel() for p in student.parameters())
    return results


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(json.dumps(run()))
