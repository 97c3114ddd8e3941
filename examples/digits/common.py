"""Shared pieces of the digits examples: data (scikit-learn's bundled 8x8 digits), models, training, accuracy."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

BATCH = 40  # test batches (360 test samples = 9 batches); also the deployed programs' batch size


def load_digits(test_size: int = 360, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_test, y_test); x in [0, 1], shape (N, 1, 8, 8). No download: the data ships with sklearn."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    return x[test_size:], y[test_size:], x[:test_size], y[:test_size]


class SmallCNN(nn.Module):
    """conv-bn-relu, max pool, conv-bn-relu, max pool, linear."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width)
        self.fc = nn.Linear(2 * width * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        h = nn.functional.max_pool2d(torch.relu(self.bn2(self.conv2(h))), 2)
        return self.fc(h.flatten(1))


class TinyTransformer(nn.Module):
    """Rows of the image as 8 tokens: embedding + position, one pre-norm block (single-head attention with
    softmax, LayerNorm, GELU MLP, residuals), mean over tokens, linear classifier."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Linear(8, dim)
        self.pos = nn.Parameter(torch.zeros(8, dim))
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)
        self.head = nn.Linear(dim, 10)
        self.scale = dim ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x.squeeze(1)) + self.pos
        a = self.norm1(h)
        att = torch.softmax((self.q(a) @ self.k(a).transpose(-1, -2)) * self.scale, dim=-1)
        h = h + self.o(att @ self.v(a))
        h = h + self.fc2(nn.functional.gelu(self.fc1(self.norm2(h))))
        return self.head(h.mean(dim=1))


def batches(x: torch.Tensor, y: torch.Tensor, size: int, seed: int | None = None) -> Iterator[tuple[torch.Tensor, ...]]:
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed)) if seed is not None else \
        torch.arange(len(y))
    for i in range(0, len(y) - size + 1, size):
        j = idx[i:i + size]
        yield x[j], y[j]


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, lr: float = 3e-3, seed: int = 0,
          after_epoch: Callable[[int], None] | None = None) -> nn.Module:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for ep in range(epochs):
        for xb, yb in batches(x, y, 32, seed=seed + ep):
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if after_epoch is not None:
            after_epoch(ep)
    return model


def accuracy(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy in percent, evaluated in batches of BATCH."""
    correct = 0
    with torch.no_grad():
        for xb, yb in batches(x, y, BATCH):
            correct += int((fn(xb).argmax(-1) == yb).sum())
    return 100.0 * correct / (len(y) // BATCH * BATCH)


def seed_all(seed: int = 0) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
