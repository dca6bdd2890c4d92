"""One training step of a :class:`~cases.Case` in each implementation.

Every runner is built from the same initial parameters (nnscratch's ``state_dict``, PyTorch's
layout and keys), keeps its own copy of the batches in its native format (converted once,
outside the timed step), and cycles through them one batch per ``step()``.
"""

from __future__ import annotations

import numpy as np
from cases import DTYPE, Case
from reference import NumpyMLP

import nnscratch as ns
from nnscratch.training.loop import prepare_data

_NS_ACT = {"tanh": ns.Tanh, "sigmoid": ns.Sigmoid, "relu": ns.ReLU}


def linear_keys(case: Case) -> list[tuple[str, str]]:
    """state_dict keys of each Linear layer: they sit at every other index of the Sequential."""
    return [(f"{2 * i}.weight", f"{2 * i}.bias") for i in range(len(case.sizes) - 1)]


class MeanOverTime(ns.Module):
    """(N, T, E) → (N, E), the mean over the time steps; backward spreads g/T over every step."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = x.shape
        return x.mean(axis=1)

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray:
        N, T, E = self._cached()
        return np.broadcast_to((grad_out / T)[:, None, :], (N, T, E))


def build_nnscratch_model(case: Case, rng: int | None = None) -> ns.Sequential:
    """The case's network in nnscratch (float32); ``rng`` seeds PyTorch-style initialisation."""

    def seed(i: int) -> int | None:
        return None if rng is None else rng + i

    if case.transformer is not None:
        t = case.transformer
        blocks = [
            ns.TransformerEncoderLayer(t.d_model, t.nhead, t.d_ff, dropout=0.0, dtype=DTYPE, rng=seed(1 + i))
            for i in range(t.layers)
        ]
        return ns.Sequential(
            ns.Linear(t.inputs, t.d_model, dtype=DTYPE, rng=seed(0)),
            *blocks,
            MeanOverTime(),
            ns.Linear(t.d_model, 10, dtype=DTYPE, rng=seed(1 + t.layers)),
        )
    if case.kind == "cnn":
        return ns.Sequential(
            ns.Conv2d(1, 8, 3, dtype=DTYPE, rng=seed(0)),
            ns.ReLU(),
            ns.MaxPool2d(2),
            ns.Conv2d(8, 16, 3, dtype=DTYPE, rng=seed(1)),
            ns.ReLU(),
            ns.MaxPool2d(2),
            ns.Flatten(),
            ns.Linear(400, 10, dtype=DTYPE, rng=seed(2)),
        )
    if case.kind in ("rnn", "lstm"):
        cell = ns.RNN if case.kind == "rnn" else ns.LSTM
        return ns.Sequential(
            cell(16, 64, dtype=DTYPE, rng=seed(0)),
            ns.LastTimeStep(),
            ns.Linear(64, 10, dtype=DTYPE, rng=seed(1)),
        )
    pairs = list(zip(case.sizes[:-1], case.sizes[1:], strict=True))
    layers: list[ns.Module] = []
    for i, (fan_in, fan_out) in enumerate(pairs):
        layers.append(ns.Linear(fan_in, fan_out, dtype=DTYPE, rng=seed(i)))
        if i < len(pairs) - 1:
            layers.append(_NS_ACT[case.hidden]())
    if case.binary:
        layers.append(ns.Sigmoid())
    return ns.Sequential(*layers)


def build_torch_model(case: Case):
    """The same network in PyTorch, with the same ``state_dict`` keys as nnscratch's."""
    import torch
    from torch import nn

    if case.transformer is not None:
        t = case.transformer

        class MeanOverTimeT(nn.Module):
            def forward(self, x):
                return x.mean(dim=1)

        blocks = [
            nn.TransformerEncoderLayer(t.d_model, t.nhead, t.d_ff, dropout=0.0, batch_first=True)
            for _ in range(t.layers)
        ]
        model = nn.Sequential(
            nn.Linear(t.inputs, t.d_model), *blocks, MeanOverTimeT(), nn.Linear(t.d_model, 10)
        )
    elif case.kind == "cnn":
        model = nn.Sequential(
            nn.Conv2d(1, 8, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 10),
        )
    elif case.kind in ("rnn", "lstm"):

        class LastStepClassifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                cell = nn.RNN if case.kind == "rnn" else nn.LSTM
                self.add_module("0", cell(16, 64, batch_first=True))
                self.add_module("2", nn.Linear(64, 10))

            def forward(self, x):
                out, _ = self._modules["0"](x)
                return self._modules["2"](out[:, -1])

        model = LastStepClassifier()
    else:
        act = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}[case.hidden]
        pairs = list(zip(case.sizes[:-1], case.sizes[1:], strict=True))
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(pairs):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(pairs) - 1:
                layers.append(act())
        if case.binary:
            layers.append(nn.Sigmoid())
        model = nn.Sequential(*layers)
    return model.to(torch.float32)


def initial_state(case: Case) -> dict[str, np.ndarray]:
    """PyTorch's default initialisation drawn with the case's seed, as a float32 state dict."""
    return build_nnscratch_model(case, rng=case.seed).state_dict()


class NNScratchRunner:
    """nnscratch, used as ``nnscratch.fit`` uses it: data validated once, then per batch
    ``forward``, ``loss.forward``, ``zero_grad``, ``backward(loss.backward(), input_grad=False)``,
    ``step``."""

    name = "nnscratch"

    def __init__(self, case: Case, state: dict[str, np.ndarray]) -> None:
        self.model = build_nnscratch_model(case)
        self.model.load_state_dict(state)
        self.loss = ns.BCELoss() if case.binary else ns.CrossEntropyLoss()
        self.opt = ns.SGD(self.model.parameters(), lr=case.lr, momentum=case.momentum)
        self.batches = [prepare_data(self.model, x, y, self.loss) for x, y in case.batches]
        self.i = 0

    def step(self) -> None:
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        model, loss, opt = self.model, self.loss, self.opt
        pred = model.forward(x)
        loss.forward(pred, y)
        opt.zero_grad()
        model.backward(loss.backward(), input_grad=False)
        opt.step()

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.astype(np.float64) for k, v in self.model.state_dict().items()}


class TorchRunner:
    """PyTorch CPU: ``zero_grad``, forward, loss, ``backward``, ``step`` (the canonical loop)."""

    name = "pytorch"

    def __init__(self, case: Case, state: dict[str, np.ndarray]) -> None:
        import torch
        from torch import nn

        self.model = build_torch_model(case)
        self.model.load_state_dict({k: torch.from_numpy(np.array(v, copy=True)) for k, v in state.items()})
        self.loss = nn.BCELoss() if case.binary else nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=case.lr, momentum=case.momentum)
        if case.binary:
            self.batches = [
                (torch.from_numpy(x), torch.from_numpy(y.astype(DTYPE).reshape(-1, 1)))
                for x, y in case.batches
            ]
        else:
            self.batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in case.batches]
        self.i = 0

    def step(self) -> None:
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        self.opt.zero_grad()
        self.loss(self.model(x), y).backward()
        self.opt.step()

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().numpy().astype(np.float64) for k, v in self.model.state_dict().items()}


class SklearnRunner:
    """scikit-learn's ``MLPClassifier``: one ``partial_fit(X_batch, y_batch)`` per step.

    With ``solver="sgd"``, ``batch_size`` = the batch, ``shuffle=False``, ``alpha=0`` (no L2),
    a constant learning rate and plain (non-Nesterov) momentum, one ``partial_fit`` call is one
    SGD step on that batch, plus scikit-learn's per-call input validation and label encoding,
    which is part of its cost. Weights are set after a first ``partial_fit`` that initialises
    the estimator, and the optimizer is re-created so its momentum starts at zero.
    """

    name = "sklearn"

    def __init__(self, case: Case, state: dict[str, np.ndarray]) -> None:
        import warnings

        from sklearn.neural_network import MLPClassifier

        act = {"tanh": "tanh", "sigmoid": "logistic", "relu": "relu"}[case.hidden]
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(case.sizes[1:-1]),
            activation=act,
            solver="sgd",
            alpha=0.0,
            batch_size=case.batch,
            learning_rate="constant",
            learning_rate_init=case.lr,
            momentum=case.momentum,
            nesterovs_momentum=False,
            shuffle=False,
            n_iter_no_change=10**9,
            random_state=0,
        )
        self.batches = case.batches
        x0, y0 = case.batches[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(x0, y0, classes=np.arange(case.n_classes))
        self.keys = linear_keys(case)
        self.clf.coefs_ = [np.array(state[w].T, dtype=DTYPE, order="C") for w, _ in self.keys]
        self.clf.intercepts_ = [np.array(state[b], dtype=DTYPE) for _, b in self.keys]
        del self.clf._optimizer  # re-created on the next partial_fit around the new arrays
        self.i = 0

    def step(self) -> None:
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        self.clf.partial_fit(x, y)

    def state(self) -> dict[str, np.ndarray]:
        out = {}
        for (w, b), coef, intercept in zip(self.keys, self.clf.coefs_, self.clf.intercepts_, strict=True):
            out[w] = coef.T.astype(np.float64)
            out[b] = intercept.astype(np.float64)
        return out


class NumpyRunner:
    """The plain NumPy reference of :mod:`reference` (the notebooks' code, vectorised)."""

    name = "numpy-ref"

    def __init__(self, case: Case, state: dict[str, np.ndarray]) -> None:
        self.keys = linear_keys(case)
        weights = [(np.array(state[w].T, order="C"), state[b]) for w, b in self.keys]
        self.net = NumpyMLP(weights, case.hidden, case.binary, case.lr, case.momentum)
        if case.binary:
            self.batches = [(x, y.astype(DTYPE).reshape(-1, 1)) for x, y in case.batches]
        else:
            eye = np.eye(case.n_classes, dtype=DTYPE)
            self.batches = [(x, eye[y]) for x, y in case.batches]
        self.i = 0

    def step(self) -> None:
        x, t = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        self.net.step(x, t)

    def state(self) -> dict[str, np.ndarray]:
        out = {}
        for (w, b), W, bias in zip(self.keys, self.net.W, self.net.b, strict=True):
            out[w] = W.T.astype(np.float64)
            out[b] = bias.astype(np.float64)
        return out


class GemmRunner:
    """Only the step's matrix products, into preallocated outputs, at nnscratch's sizes and
    layouts (:meth:`cases.Case.gemms`: which operand BLAS reads transposed matters, up to 2× for a
    small product): the BLAS floor of the step. A recurrent step's per-time-step products are
    repeated T times, as the time loop does; attention's per-head products are one batched
    ``np.matmul`` over a stack, as nnscratch's are."""

    name = "gemm-only"

    def __init__(self, case: Case, state: dict[str, np.ndarray] | None = None) -> None:
        rng = np.random.default_rng(0)
        self.ops = []

        def operand(rows: int, cols: int, transposed: bool, batch: tuple[int, ...]) -> np.ndarray:
            """A (rows, cols) matrix (a stack of ``batch`` of them), stored as is or as the
            transposed view of a (cols, rows) one."""
            if transposed:
                return rng.random((*batch, cols, rows), dtype=DTYPE).swapaxes(-1, -2)
            return rng.random((*batch, rows, cols), dtype=DTYPE)

        for p in case.gemms():
            batch = (p.count,) if p.batched else ()
            a = operand(p.m, p.k, p.layout[0] == "T", batch)
            b = operand(p.k, p.n, p.layout[1] == "T", batch)
            c = np.empty((*batch, p.m, p.n), dtype=DTYPE)
            self.ops.extend([(np.matmul if p.batched else np.dot, a, b, c)] * (1 if p.batched else p.count))

    def step(self) -> None:
        for op, a, b, c in self.ops:
            op(a, b, out=c)

    def state(self) -> dict[str, np.ndarray]:
        raise NotImplementedError


class TorchNoOneDNNRunner(TorchRunner):
    """PyTorch CPU with its oneDNN (MKL-DNN) kernels switched off, for the LSTM case only.

    With oneDNN on (the default), float32 ``nn.LSTM`` on the CPU runs forward and backward as
    one fused oneDNN RNN primitive per layer (``aten::mkldnn_rnn_layer`` and its backward in the
    profiler), not as per-step operations; the step is then close to the time of its matrix
    products alone. Off, it takes PyTorch's generic path: per time step a GEMM and a few
    element-wise kernels, each dispatched and recorded by autograd. The ratio against this runner
    is reported for information; issue 6's target is against the default.
    """

    name = "pytorch-no-onednn"

    def step(self) -> None:
        import torch.backends.mkldnn as onednn

        was = onednn.enabled
        onednn.enabled = False  # the flag alone: flags() would also reset the TF32 setting
        try:
            super().step()
        finally:
            onednn.enabled = was


RUNNERS = {
    "nnscratch": NNScratchRunner,
    "pytorch": TorchRunner,
    "pytorch-no-onednn": TorchNoOneDNNRunner,
    "sklearn": SklearnRunner,
    "numpy-ref": NumpyRunner,
    "gemm-only": GemmRunner,
}


def runners_for(case: Case) -> list[str]:
    names = ["nnscratch", "pytorch"]
    if case.kind == "lstm":
        names.append("pytorch-no-onednn")
    if case.sklearn:
        names.append("sklearn")
    if case.reference:
        names.append("numpy-ref")
    if case.gemms():
        names.append("gemm-only")
    return names


def check_same_step(
    case: Case, state: dict[str, np.ndarray], names: list[str]
) -> dict[str, dict[str, float]]:
    """Run one step from ``state`` in every implementation and compare parameters with nnscratch.

    Returns, per implementation, the largest parameter difference and the normwise relative
    difference of the *update* (θ₁ - θ₀), which checks the gradients themselves; raises
    ``AssertionError`` if an update differs by more than float32 rounding can explain.
    """
    runners = {n: RUNNERS[n](case, state) for n in names if n != "gemm-only"}
    for r in runners.values():
        r.step()
    after = {n: r.state() for n, r in runners.items()}
    base = after["nnscratch"]
    report = {}
    for name, st in after.items():
        if name == "nnscratch":
            continue
        max_abs = 0.0
        worst_rel = 0.0
        for key, theta0 in state.items():
            theta0 = theta0.astype(np.float64)
            d_ref, d_other = base[key] - theta0, st[key] - theta0
            max_abs = max(max_abs, float(np.max(np.abs(base[key] - st[key]))))
            scale = max(float(np.linalg.norm(d_ref)), 1e-30)
            worst_rel = max(worst_rel, float(np.linalg.norm(d_ref - d_other)) / scale)
        report[name] = {"max_abs_param_diff": max_abs, "max_rel_update_diff": worst_rel}
        if worst_rel > 2e-3 or max_abs > 1e-4:
            raise AssertionError(
                f"case {case.key}: one step of {name} differs from nnscratch: relative update "
                f"difference {worst_rel:.3g}, max parameter difference {max_abs:.3g}"
            )
    return report
