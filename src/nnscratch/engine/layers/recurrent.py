"""Recurrent layers RNN, LSTM and GRU with PyTorch's shapes, parameter names and gate order.

Interface (one design that works both alone and inside a ``Sequential``):

- ``out = layer(x)`` / ``layer.forward(x)`` takes x (N, T, input_size) (``batch_first=True``, the
  default; (T, N, input_size) otherwise) and returns the output sequence of the top layer,
  (N, T, hidden_size). The final state is kept in ``layer.last_state``: ``h_n`` for RNN/GRU and
  ``(h_n, c_n)`` for LSTM, each (num_layers, N, hidden_size), as PyTorch returns it.
- ``out, state = layer.forward_with_state(x, state0)`` is PyTorch's call ``layer(x, h0)`` with an
  optional initial state (None = zeros), returning the output and the final state.
- ``layer.backward(grad_out, grad_state=None)`` back-propagates through time from dL/d(out) and,
  optionally, dL/d(final state) (same structure as ``last_state``). It adds every parameter's
  gradient, returns dL/dx, and leaves dL/d(initial state) in ``layer.initial_state_grad``.

So ``Sequential(LSTM(8, 64), LastTimeStep(), Linear(64, 10))`` classifies sequences.

Per layer, the input projections of all T steps are one GEMM (x W_ihᵀ + b over T·N rows), each step
is one GEMM for all gates (h W_hhᵀ), and the weight gradients are again one GEMM each over T·N
rows (the LSTM folds the projection and the bias into its per-step GEMM over [h_{t-1}, x_t, 1], and
its three weight gradients into one GEMM); the time loops themselves live in
:mod:`._recurrent_cells`, with the per-step math.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.errors import ShapeError
from nnscratch.base.validation import check_choice, check_positive_int, describe

from ..module import Module, check_grad_out
from ..parameter import Parameter, column_sums
from . import _recurrent_cells as cells
from ._workspace import workspace

State = Any  # ndarray (RNN, GRU) or (h, c) tuple (LSTM)


class _Recurrent(Module):
    """Shared parameters, shape checks and the layer-by-layer forward/backward."""

    _gates = 1
    _n_states = 1  # h only; LSTM has (h, c)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        *,
        bptt_steps: int | None = None,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bptt_steps = None if bptt_steps is None else check_positive_int(bptt_steps, "bptt_steps")
        dtype = as_float_dtype(dtype)
        gen = as_generator(rng)
        bound = 1.0 / math.sqrt(self.hidden_size)  # PyTorch: every weight and bias ~ U(±1/√H)
        rows = self._gates * self.hidden_size
        for k in range(self.num_layers):
            cols = self.input_size if k == 0 else self.hidden_size
            names_shapes = [(f"weight_ih_l{k}", (rows, cols)), (f"weight_hh_l{k}", (rows, self.hidden_size))]
            if self.bias:
                names_shapes += [(f"bias_ih_l{k}", (rows,)), (f"bias_hh_l{k}", (rows,))]
            for name, shape in names_shapes:  # assigned in PyTorch's order: same state_dict order
                setattr(self, name, Parameter(gen.uniform(-bound, bound, size=shape).astype(dtype)))
        self.last_state: State = None
        self.initial_state_grad: State = None

    # -- helpers ------------------------------------------------------------------------------
    def _layer_parameters(self, k: int) -> list[Parameter | None]:
        """Layer k's W_ih, W_hh, b_ih, b_hh (the biases None without bias)."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return [getattr(self, f"{name}_l{k}", None) for name in names]

    def _params(self, k: int) -> list[np.ndarray | None]:
        """The arrays of layer k's W_ih, W_hh, b_ih, b_hh."""
        return [None if p is None else p.data for p in self._layer_parameters(k)]

    def _workspace(self, k: int) -> dict[str, np.ndarray]:
        """Layer k's reusable internal buffers (see :mod:`._workspace`)."""
        return workspace(self, k)

    def _name(self) -> str:
        return f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size})"

    def _time_major(self, x: np.ndarray) -> np.ndarray:
        layout = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[0] == 0 or x.shape[1] == 0:
            raise ShapeError(
                f"{self._name()} expects a 3-D input {layout} with input_size={self.input_size} and at "
                f"least one step and one sample. Received: {describe(x)}"
            )
        return np.ascontiguousarray(x.transpose(1, 0, 2) if self.batch_first else x)

    def _check_state(self, state: Any, n: int, dtype: np.dtype, what: str) -> list[np.ndarray | None]:
        """Split a state (or a state gradient) into one array per state kind, checking shapes."""
        if state is None:
            return [None] * self._n_states
        parts = list(state) if self._n_states > 1 else [state]
        if self._n_states > 1 and (not isinstance(state, (tuple, list)) or len(parts) != self._n_states):
            raise ShapeError(f"{self._name()}: {what} must be a tuple (h, c). Received: {state!r:.80}")
        shape = (self.num_layers, n, self.hidden_size)
        out: list[np.ndarray | None] = []
        for part in parts:
            if part is None:
                out.append(None)
                continue
            arr = np.asarray(part)
            if arr.shape != shape or arr.dtype.kind not in "biuf":
                raise ShapeError(
                    f"{self._name()}: {what} must have shape (num_layers, N, hidden_size) = {shape}. "
                    f"Received: {describe(arr)}"
                )
            out.append(arr.astype(dtype, copy=False))
        return out

    # -- forward --------------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        out, _ = self.forward_with_state(x)
        return out

    def forward_with_state(self, x: np.ndarray, state: State = None) -> tuple[np.ndarray, State]:
        """Run the layers over the sequence; return (output sequence, final state).

        ``state`` is the initial state (h0, or (h0, c0) for LSTM), each (num_layers, N, hidden_size);
        None means zeros.
        """
        xt = self._time_major(np.asarray(x))
        T, N, _ = xt.shape
        dtype = xt.dtype
        init = self._check_state(state, N, dtype, "the initial state")
        # The buffers of the previous call's cache are about to be reused: drop that cache first.
        self._cache = None
        caches, finals = [], []
        inp = xt
        for k in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._params(k)
            ws = self._workspace(k)
            s0 = [np.zeros((N, self.hidden_size), dtype=dtype) if s is None else s[k] for s in init]
            cache = self._run_layer(inp.reshape(T * N, -1), w_ih, w_hh, b_ih, b_hh, s0, ws)
            caches.append((inp, cache))
            inp = cache[0][1:]  # Hs[1:]: this layer's outputs, (T, N, H), contiguous
            finals.append([s[-1] for s in self._state_arrays(cache)])
        final = [np.stack([f[j] for f in finals]) for j in range(self._n_states)]
        self.last_state = tuple(final) if self._n_states > 1 else final[0]
        self._cache = (caches, x.shape, T, N)
        out = inp.transpose(1, 0, 2) if self.batch_first else inp
        return out, self.last_state

    # -- backward -------------------------------------------------------------------------------
    def backward(
        self, grad_out: np.ndarray, *, input_grad: bool = True, grad_state: State = None
    ) -> np.ndarray | None:
        """Back-propagate through time; ``grad_state`` is dL/d(final state), optional."""
        caches, _, T, N = self._cached()
        out_shape = (N, T, self.hidden_size) if self.batch_first else (T, N, self.hidden_size)
        check_grad_out(grad_out, out_shape, self)
        dtype = caches[0][0].dtype
        dfinal = self._check_state(grad_state, N, dtype, "grad_state")
        # Time-major view of the gradient, no copy: each step reads its (N, H) slice in place.
        dY = (grad_out.transpose(1, 0, 2) if self.batch_first else grad_out).astype(dtype, copy=False)
        dinit: list[list[np.ndarray]] = [[] for _ in range(self._n_states)]
        dx = None
        for k in range(self.num_layers - 1, -1, -1):
            inp, cache = caches[k]
            w_ih, w_hh, _, _ = self._params(k)
            dT = [None if d is None else d[k] for d in dfinal]
            dXW, dU, d0 = self._backprop_layer(dY, dT, cache, w_hh, self._workspace(k))
            for j in range(self._n_states):
                dinit[j].append(d0[j])
            dXW2 = dXW.reshape(T * N, -1)
            dU2 = dXW2 if dU is dXW else dU.reshape(T * N, -1)
            self._weight_grads(k, dXW2, dU2, inp.reshape(T * N, -1), cache)
            if k > 0 or input_grad:
                dY = (dXW2 @ w_ih).reshape(T, N, -1)  # dx_t = dXW_t W_ih: the next layer down's dY
                dx = dY
        grads = [np.stack(d[::-1]) for d in dinit]
        self.initial_state_grad = tuple(grads) if self._n_states > 1 else grads[0]
        if not input_grad:
            return None
        return dx.transpose(1, 0, 2) if self.batch_first else dx

    # -- per-kind hooks ---------------------------------------------------------------------------
    def _run_layer(self, x2, w_ih, w_hh, b_ih, b_hh, s0, ws):  # pragma: no cover - abstract
        raise NotImplementedError

    def _state_arrays(self, cache) -> list[np.ndarray]:
        return [cache[0]]

    def _weight_grads(self, k: int, dXW2: np.ndarray, dU2: np.ndarray, x2: np.ndarray, cache) -> None:
        """Add layer k's weight gradients, one GEMM each over all T·N rows (dXW, dU, x: (T·N, ·))."""
        w_ih, w_hh, b_ih, b_hh = self._layer_parameters(k)
        h_prev = cache[0][:-1].reshape(-1, self.hidden_size)  # h_{t-1} of every row
        w_ih.accumulate_product(dXW2.T, x2)  # dW_ih += Σ_t dXW_tᵀ x_t
        w_hh.accumulate_product(dU2.T, h_prev)  # dW_hh += Σ_t dU_tᵀ h_{t-1}
        if self.bias:
            db_ih = column_sums(dXW2)
            b_ih.accumulate(db_ih)  # db_ih += Σ dXW_t
            b_hh.accumulate(db_ih if dU2 is dXW2 else column_sums(dU2))  # db_hh += Σ dU_t (RNN: dU = dXW)

    def _backprop_layer(self, dY, dT, cache, w_hh, ws):  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        extra = f", bptt_steps={self.bptt_steps}" if self.bptt_steps else ""
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}, "
            f"batch_first={self.batch_first}{extra}"
        )


class RNN(_Recurrent):
    r"""Elman RNN, PyTorch's ``nn.RNN``: h_t = φ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh).

    φ = tanh (default) or ReLU (``nonlinearity="relu"``). Parameters per layer k:
    ``weight_ih_lk`` (H, in), ``weight_hh_lk`` (H, H), ``bias_ih_lk`` (H,), ``bias_hh_lk`` (H,),
    all initialised U(±1/√H); in = input_size for k = 0, hidden_size above.

    Backward (BPTT, see :func:`._recurrent_cells.rnn_backward`), with dA_t = dL/da_t:
        dA_t = (dY_t + dA_{t+1} W_hh) ⊙ φ'(a_t)
        dW_ih += Σ_t dA_tᵀ x_t,  dW_hh += Σ_t dA_tᵀ h_{t-1},  db_ih = db_hh += Σ_t Σ_n dA_t
        dx_t = dA_t W_ih
    Shapes: x (N, T, input_size) -> out (N, T, H); h_n (num_layers, N, H) in ``last_state``.
    See the module docstring for ``forward_with_state`` and ``backward(grad_state=...)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = True,
        *,
        bptt_steps: int | None = None,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        self.nonlinearity = check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            bptt_steps=bptt_steps,
            dtype=dtype,
            rng=rng,
        )

    def _run_layer(self, x2, w_ih, w_hh, b_ih, b_hh, s0, ws):
        b = None if b_ih is None else b_ih + b_hh
        xw = cells.project(x2, w_ih, b, 1, ws).reshape(-1, *s0[0].shape)  # (T, N, H)
        return (cells.rnn_forward(xw, w_hh, s0[0], self.nonlinearity == "relu"),)

    def _backprop_layer(self, dY, dT, cache, w_hh, ws):
        dA, dh0 = cells.rnn_backward(
            dY, dT[0], cache[0], w_hh, self.nonlinearity == "relu", self.bptt_steps, ws
        )
        return dA, dA, [dh0]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


class LSTM(_Recurrent):
    r"""Long short-term memory, PyTorch's ``nn.LSTM`` (gate order i, f, g, o).

        [a_i, a_f, a_g, a_o] = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh
        i, f, o = σ(a_i), σ(a_f), σ(a_o);  g = tanh(a_g)
        c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)

    Parameters per layer k: ``weight_ih_lk`` (4H, in), ``weight_hh_lk`` (4H, H), ``bias_ih_lk``,
    ``bias_hh_lk`` (4H,), all U(±1/√H). Backward: BPTT through h and c (formulas in
    :func:`._recurrent_cells.lstm_backward`), then with dA_t = dL/d[a_i, a_f, a_g, a_o]:
        dW_ih += Σ_t dA_tᵀ x_t,  dW_hh += Σ_t dA_tᵀ h_{t-1},  db_ih = db_hh += Σ dA_t,  dx_t = dA_t W_ih
    Shapes: x (N, T, input_size) -> out (N, T, H); ``last_state`` = (h_n, c_n), each
    (num_layers, N, H); ``forward_with_state(x, (h0, c0))``; ``backward(g, grad_state=(dh_n, dc_n))``.
    """

    _gates = 4
    _n_states = 2

    def _run_layer(self, x2, w_ih, w_hh, b_ih, b_hh, s0, ws):
        b = None if b_ih is None else b_ih + b_hh
        return cells.lstm_forward(x2, w_ih, b, w_hh, s0[0], s0[1], ws)

    def _state_arrays(self, cache):
        return [cache[0], cache[1]]

    def _backprop_layer(self, dY, dT, cache, w_hh, ws):
        dA, dh0, dc0 = cells.lstm_backward(dY, dT[0], dT[1], cache, w_hh, self.bptt_steps, ws)
        return dA, dA, [dh0, dc0]

    def _weight_grads(self, k, dXW2, dU2, x2, cache):
        w_ih, w_hh, b_ih, b_hh = self._layer_parameters(k)
        # [dW_hh | dW_ih | db] = Σ_t dA_tᵀ [h_{t-1}, x_t, 1]: one GEMM over the forward's rows
        dW_hh, dW_ih, db = cells.lstm_weight_grads(dXW2, cache[-1], x2.shape[1])
        w_ih.accumulate(dW_ih)  # dW_ih += Σ_t dA_tᵀ x_t
        w_hh.accumulate(dW_hh)  # dW_hh += Σ_t dA_tᵀ h_{t-1}
        if db is not None:
            b_ih.accumulate(db)  # db_ih += Σ dA_t
            b_hh.accumulate(db)  # db_hh += Σ dA_t


class GRU(_Recurrent):
    r"""Gated recurrent unit, PyTorch's ``nn.GRU`` (gate order r, z, n):

        r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr),  z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn)),  h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

    Parameters per layer k: ``weight_ih_lk`` (3H, in), ``weight_hh_lk`` (3H, H), ``bias_ih_lk``,
    ``bias_hh_lk`` (3H,), all U(±1/√H). Backward: BPTT (formulas in
    :func:`._recurrent_cells.gru_backward`) gives dXW_t = dL/d(x_t W_ihᵀ + b_ih) and
    dU_t = dL/d(h_{t-1} W_hhᵀ + b_hh) (they differ in the n block because r multiplies u_n), then
        dW_ih += Σ_t dXW_tᵀ x_t,  db_ih += Σ dXW_t,  dW_hh += Σ_t dU_tᵀ h_{t-1},  db_hh += Σ dU_t
        dx_t = dXW_t W_ih
    Shapes: x (N, T, input_size) -> out (N, T, H); h_n (num_layers, N, H) in ``last_state``.
    """

    _gates = 3

    def _run_layer(self, x2, w_ih, w_hh, b_ih, b_hh, s0, ws):
        N, H = s0[0].shape
        xw = cells.project(x2, w_ih, b_ih, 1, ws).reshape(-1, N, 3 * H)  # (T, N, 3H)
        return cells.gru_forward(xw, w_hh, b_hh, s0[0], ws)

    def _backprop_layer(self, dY, dT, cache, w_hh, ws):
        dXW, dU, dh0 = cells.gru_backward(dY, dT[0], cache, w_hh, self.bptt_steps, ws)
        return dXW, dU, [dh0]
