"""Containers: Sequential (a chain of modules, forward in order and backward in reverse) and
Residual (a skip connection around a module)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from nnscratch.base.errors import DTypeError, ShapeError

from ..inference import predict, predict_proba
from ..module import Module, check_grad_out


class Sequential(Module):
    r"""Apply modules one after the other.

    Forward:  a⁽⁰⁾ = x,  a⁽ˡ⁾ = f_l(a⁽ˡ⁻¹⁾),  output a⁽ᴸ⁾
    Backward: the chain rule in reverse: g⁽ᴸ⁾ = dL/da⁽ᴸ⁾, g⁽ˡ⁻¹⁾ = f_l.backward(g⁽ˡ⁾)

    Children are named ``"0"``, ``"1"``, ... so ``state_dict`` keys are PyTorch's
    (``"0.weight"``, ``"2.bias"``...).
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise DTypeError(
                    f"Sequential takes Module instances; argument {i} is {layer!r} of type "
                    f"{type(layer).__name__}. Did you forget to call it, e.g. ns.ReLU()?"
                )
        self.layers: list[Module] = list(layers)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def append(self, layer: Module) -> Sequential:
        if not isinstance(layer, Module):
            raise DTypeError(f"append takes a Module. Received: {layer!r}")
        self.layers.append(layer)
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        self._cache = x.shape
        return x

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        check_grad_out(grad_out, self._cached(), self)
        layers = self.layers
        for layer in layers[:0:-1]:
            grad_out = layer.backward(grad_out)
        if layers:
            return layers[0].backward(grad_out, input_grad=input_grad)
        return grad_out if input_grad else None

    def output_module(self) -> Module:
        return self.layers[-1].output_module() if self.layers else self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: :func:`nnscratch.predict_proba` on this model."""
        return predict_proba(self, X)

    def predict(self, X: Any, threshold: float = 0.5) -> np.ndarray:
        """Predicted labels: :func:`nnscratch.predict` on this model."""
        return predict(self, X, threshold=threshold)


class Residual(Module):
    r"""A skip connection around ``module``: the block learns a correction to its input.

    Forward:  y = x + F(x)                      (F = ``module``; it must keep x's shape)
    Backward: dL/dx = dL/dy + F.backward(dL/dy)

    x fans out to two uses (the identity path and F), so its gradient is the sum of the gradient
    through each; F's parameters get theirs from F's own backward. The child is stored as
    ``module``, so ``state_dict`` keys are ``"module.0.weight"``...
    """

    def __init__(self, module: Module) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise DTypeError(
                f"Residual wraps one Module, e.g. ns.Residual(ns.Sequential(...)). Received: {module!r:.80}"
            )
        self.module = module

    def forward(self, x: np.ndarray) -> np.ndarray:
        fx = self.module.forward(x)
        if fx.shape != x.shape:
            raise ShapeError(
                f"Residual: the wrapped module must keep its input's shape, to add them. "
                f"Received: input {x.shape}, module output {fx.shape}"
            )
        y = x + fx
        self._cache = y.shape
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        dy = check_grad_out(grad_out, self._cached(), self)
        dF_dx = self.module.backward(dy, input_grad=input_grad)  # F's parameters get their gradients here
        if not input_grad:
            return None
        return dy + dF_dx  # the identity path and F's path, summed where x fanned out
