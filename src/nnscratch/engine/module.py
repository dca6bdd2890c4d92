"""The ``Module`` base class: explicit forward and hand-derived backward.

A module owns its parameters (attributes holding :class:`Parameter`) and its sub-modules
(attributes holding :class:`Module`), discovered in the order they were assigned, the way
PyTorch does it, so ``state_dict`` keys read ``"0.weight"``, ``"0.bias"``, ``"lstm.weight_ih_l0"``.
Buffers (non-trained state such as BatchNorm's running statistics) are named in ``_buffer_names``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from nnscratch.base.backend import as_float_dtype
from nnscratch.base.errors import ShapeError, StateDictError, StateError
from nnscratch.base.validation import as_array, check_finite, describe

from .parameter import Parameter


class Module:
    """Base class of every layer, activation and container.

    Subclasses implement ``forward(x)``, caching in ``self._cache`` what ``backward`` needs, and
    ``backward(grad_out, *, input_grad=True)``, which adds parameter gradients into each
    ``Parameter.grad`` and returns dL/dx (or ``None`` when ``input_grad`` is False: the first layer
    of a network need not compute a gradient nobody reads).
    """

    _buffer_names: ClassVar[tuple[str, ...]] = ()
    #: True for a layer whose output is already probabilities (Sigmoid, Softmax), so that
    #: ``predict_proba`` returns a network's output as it is instead of squashing it again.
    outputs_probabilities: ClassVar[bool] = False

    def __init__(self) -> None:
        self.training = True
        self._cache: Any = None

    # -- computation -----------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, x: Any) -> np.ndarray:
        """Validate ``x`` once (numeric, finite, cast to the parameters' dtype), then ``forward``."""
        return self.forward(self._prepare_input(x))

    def _prepare_input(self, x: Any) -> np.ndarray:
        dtype = self.dtype
        arr = as_array(x, "input", dtype)
        if arr.dtype.kind != "f":  # ints/bools (e.g. XOR's 0/1 inputs) become the default float
            arr = arr.astype(np.float64)
        check_finite(arr, "input")
        return arr

    def _cached(self) -> Any:
        """Return what forward cached, or raise a clear error if forward has not run."""
        if self._cache is None:
            raise StateError(
                f"{type(self).__name__}.backward was called before forward: call the module on "
                "an input first, then backward with the gradient of the loss w.r.t. its output."
            )
        return self._cache

    # -- structure ---------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def output_module(self) -> Module:
        """The module whose output is this module's output (``predict_proba`` reads its kind)."""
        return self

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def modules(self) -> Iterator[Module]:
        """This module and all its descendants, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for name in self._buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the first parameter, or ``None`` for a module without parameters."""
        for _, p in self.named_parameters():
            return p.data.dtype
        return None

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # -- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def astype(self, dtype: Any) -> Module:
        """Convert every parameter and buffer to ``dtype`` (float32 or float64), in place."""
        dtype = as_float_dtype(dtype)
        for p in self.parameters():
            p.astype(dtype)  # new arrays only if the dtype changes
        for m in self.modules():
            for name in m._buffer_names:
                value = getattr(m, name)
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    setattr(m, name, value.astype(dtype))
            m._cache = None
        return self

    def copy(self) -> Module:
        """A deep copy (parameters, buffers, mode), with no cached activations."""
        clone = copy.deepcopy(self)
        for m in clone.modules():
            m._cache = None
        return clone

    # -- state dicts -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters and buffers under PyTorch-style dotted keys."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        for name, buf in self.named_buffers():
            state[name] = np.array(buf, copy=True)
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy values from ``state`` into this module's parameters and buffers.

        Raises :class:`StateDictError` naming every missing, unexpected or misshaped key; with
        ``strict=False`` missing and unexpected keys are ignored (shapes are still checked).
        Nothing is modified unless every entry fits.
        """
        if not isinstance(state, Mapping):
            raise StateDictError(
                "state must be a mapping of names to arrays, as returned by state_dict(). "
                f"Received: {type(state).__name__}"
            )
        params = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        expected = set(params) | set(buffers)
        missing = sorted(expected - set(state))
        unexpected = sorted(set(state) - expected)
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        converted: dict[str, np.ndarray] = {}
        for key in sorted(expected & set(state)):
            target = params[key].data if key in params else np.asarray(buffers[key])
            try:
                value = as_array(state[key], f"state[{key!r}]")
            except Exception as exc:  # re-raised as the state-dict error the caller expects
                problems.append(str(exc))
                continue
            if value.shape != target.shape:
                problems.append(f"{key!r} has shape {value.shape}, expected {target.shape}")
                continue
            converted[key] = value.astype(target.dtype, copy=True)
        if problems:
            raise StateDictError(f"cannot load state dict into {type(self).__name__}: " + "; ".join(problems))
        for key, value in converted.items():
            if key in params:
                params[key].data[...] = value
            else:
                self._set_buffer(key, value)

    def _set_buffer(self, dotted: str, value: np.ndarray) -> None:
        owner: Module = self
        *path, name = dotted.split(".")
        for part in path:
            owner = dict(owner.named_children())[part]
        current = getattr(owner, name)
        if isinstance(current, np.ndarray) and current.shape == value.shape:
            current[...] = value
        else:
            setattr(owner, name, value)

    # -- display -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():  # the module's own settings first, then its children (as PyTorch)
            lines.append(f"  {self.extra_repr()}")
        for name, child in children:
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)


def check_grad_out(grad_out: Any, expected_shape: tuple[int, ...], owner: Module) -> np.ndarray:
    """Return ``grad_out`` if it is an array of ``expected_shape``, the shape of ``owner``'s forward
    output; raise a :class:`ShapeError` naming ``owner`` otherwise. Every layer's backward starts
    with it."""
    if not isinstance(grad_out, np.ndarray) or grad_out.shape != expected_shape:
        raise ShapeError(
            f"{type(owner).__name__}.backward: grad_out must have shape {expected_shape}, the shape of "
            f"the forward output. Received: {describe(grad_out)}"
        )
    return grad_out
