"""Containers: Sequential (a chain of modules, forward in order and backward in reverse),
Residual (a skip connection around a module) and Parallel (branches side by side)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from nnscratch.base.errors import DTypeError, HyperparameterError, ShapeError
from nnscratch.base.validation import check_positive_int, describe

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


class Parallel(Module):
    r"""Branches side by side, their outputs added or concatenated: Inception blocks, wide-and-deep
    models, two-tower models.

    Inputs, ``split=None``: every branch reads the whole input (x fans out, x_k = x);
            ``split=[s_1, …, s_K]``: branch k reads its own s_k columns of the last axis (several
            inputs packed side by side in one array, as a data set's columns are).
    Forward:  y_k = B_k(x_k);   y = Σ_k y_k  (``merge="add"``)   or   y = [y_1 … y_K]  (``"concat"``,
              along the last axis)
    Backward: g_k = dL/dy                    (add: the sum passes its gradient to each term)
              g_k = dL/dy[…, columns of y_k] (concat: each branch gets its own slice)
              dL/dx_k = B_k.backward(g_k);   dL/dx = Σ_k dL/dx_k  (fan-out: summed, as in Residual)
                                             or [dL/dx_1 … dL/dx_K]  (split: placed side by side)

    Children are named ``"0"``, ``"1"``, … so ``state_dict`` keys read ``"1.0.weight"``.
    """

    def __init__(self, *branches: Module, merge: str = "add", split: list[int] | None = None) -> None:
        super().__init__()
        if len(branches) == 1 and isinstance(branches[0], (list, tuple)):
            branches = tuple(branches[0])
        if len(branches) < 2 or not all(isinstance(b, Module) for b in branches):
            raise DTypeError(
                "Parallel takes two or more Module branches, e.g. ns.Parallel(ns.Linear(2, 4), "
                f"ns.Linear(2, 4)). Received: {branches!r:.100}"
            )
        if merge not in ("add", "concat"):
            raise HyperparameterError(f"merge must be 'add' or 'concat'. Received: merge={merge!r}")
        if split is not None:
            split = [check_positive_int(s, "split") for s in split]
            if len(split) != len(branches):
                raise HyperparameterError(
                    f"split gives one width per branch ({len(branches)}). Received: split={split}"
                )
        self.branches: list[Module] = list(branches)
        self.merge, self.split = merge, split

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, branch in enumerate(self.branches):
            yield str(i), branch

    def _inputs(self, x: np.ndarray) -> list[np.ndarray]:
        if self.split is None:
            return [x] * len(self.branches)
        if x.shape[-1] != sum(self.split):
            raise ShapeError(
                f"Parallel(split={self.split}) reads {sum(self.split)} columns. Received: {describe(x)}"
            )
        return np.split(x, np.cumsum(self.split)[:-1], axis=-1)

    def forward(self, x: np.ndarray) -> np.ndarray:
        ys = [branch.forward(x_k) for branch, x_k in zip(self.branches, self._inputs(x), strict=True)]
        shapes = [y.shape for y in ys]
        if self.merge == "add":
            if len(set(shapes)) > 1:
                raise ShapeError(f"Parallel(merge='add'): the branches' outputs differ in shape: {shapes}")
            y = sum(ys[1:], ys[0])
        else:
            if len({s[:-1] for s in shapes}) > 1:
                raise ShapeError(
                    f"Parallel(merge='concat'): the branches' outputs differ before the last axis: {shapes}"
                )
            y = np.concatenate(ys, axis=-1)
        self._cache = (y.shape, [s[-1] for s in shapes])
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        y_shape, widths = self._cached()
        dy = check_grad_out(grad_out, y_shape, self)
        if self.merge == "add":
            g = [dy] * len(self.branches)
        else:
            g = np.split(dy, np.cumsum(widths)[:-1], axis=-1)
        pairs = zip(self.branches, g, strict=True)
        dx = [branch.backward(g_k, input_grad=input_grad) for branch, g_k in pairs]
        if not input_grad:
            return None
        if self.split is None:
            return sum(dx[1:], dx[0])  # x fanned out to every branch: its gradient is the sum
        return np.concatenate(dx, axis=-1)

    def output_module(self) -> Module:
        return self

    def extra_repr(self) -> str:
        split = f", split={self.split}" if self.split is not None else ""
        return f"merge={self.merge!r}{split}"
