"""PyTorch twins of the small networks the parity tests build with nnscratch (torch is passed in:
the importing test decides whether it skips without it)."""

from __future__ import annotations

from typing import Any


def torch_mlp(torch: Any) -> Any:
    """3-5-4-2 with Tanh and Sigmoid, the layout of the tests' nnscratch ``mlp`` (same names)."""
    return torch.nn.Sequential(
        torch.nn.Linear(3, 5),
        torch.nn.Tanh(),
        torch.nn.Linear(5, 4),
        torch.nn.Sigmoid(),
        torch.nn.Linear(4, 2),
    )
