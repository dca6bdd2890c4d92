"""The benchmark cases: architecture, data, batches, loss, optimizer, and their FLOP counts.

Every case is one training step (forward + loss + backward + optimizer step) in float32 on
fixed batches; the implementations in ``impls.py`` all read the same :class:`Case`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

DTYPE = np.float32


class Product(NamedTuple):
    """One matrix product C (m, n) = A (m, k) @ B (k, n) of a step, done ``count`` times;
    ``layout`` says which operand is read transposed from memory: "NN", "NT" (B) or "TN" (A)."""

    label: str
    m: int
    n: int
    k: int
    count: int
    layout: str
    batched: bool = False  # the ``count`` products are one batched matmul (attention's heads)


class TransformerDims(NamedTuple):
    """A transformer case: a Linear embedding ``inputs`` → ``d_model`` per token, ``layers``
    post-norm encoder layers (ReLU, dropout 0), the mean over the ``steps`` tokens, a Linear head."""

    inputs: int
    d_model: int
    nhead: int
    d_ff: int
    layers: int
    steps: int

    def describe(self) -> str:
        return (
            f"Linear {self.inputs}→{self.d_model} per token, {self.layers}× TransformerEncoderLayer("
            f"d_model {self.d_model}, {self.nhead} heads, feed-forward {self.d_ff}, ReLU, post-norm, "
            f"dropout 0), T={self.steps}, mean over time → dense {self.d_model}→10"
        )


@dataclass
class Case:
    """A benchmark case: one training step of a network on fixed batches.

    ``kind="dense"``: a multi-layer perceptron; ``sizes`` are the layer widths from input to
    output, every hidden layer uses ``hidden`` (``"tanh"``, ``"sigmoid"`` or ``"relu"``) and the
    output is a sigmoid with binary cross-entropy (one output unit) or logits with softmax
    cross-entropy (several). ``kind="cnn"``, ``"rnn"``, ``"lstm"``: the fixed architectures of
    cases (e)–(g) (see :func:`conv_rnn_cases`), always with softmax cross-entropy on 10 classes.
    """

    key: str
    title: str
    sizes: list[int]
    hidden: str
    batch: int
    n_samples: int
    lr: float
    momentum: float = 0.0
    seed: int = 0
    kind: str = "dense"
    X: np.ndarray = field(repr=False, default=None)
    y: np.ndarray = field(repr=False, default=None)
    batches: list[tuple[np.ndarray, np.ndarray]] = field(repr=False, default_factory=list)
    sklearn: bool = True
    reference: bool = True
    transformer: TransformerDims | None = None

    @property
    def binary(self) -> bool:
        return self.kind == "dense" and self.sizes[-1] == 1

    @property
    def n_classes(self) -> int:
        return 2 if self.binary else self.sizes[-1]

    @property
    def loss_name(self) -> str:
        return "BCE on sigmoid" if self.binary else "softmax cross-entropy"

    def describe(self) -> str:
        arch = self.transformer.describe() if self.transformer else ARCHITECTURES.get(self.kind)
        arch = arch or "-".join(str(s) for s in self.sizes) + f" {self.hidden}"
        opt = f"SGD lr={self.lr}" + (f" momentum={self.momentum}" if self.momentum else "")
        return (
            f"{arch}, {self.loss_name}, batch {self.batch} of {self.n_samples} "
            f"({len(self.batches)} batches), {opt}"
        )

    def gemms(self) -> list[Product]:
        """The matrix products of one step, as nnscratch runs them: C (m, n) = A (m, k) @ B (k, n),
        done ``count`` times, with A and/or B read transposed as ``layout`` says.

        Dense: forward x Wᵀ (NT), weight gradient gᵀx (TN) and input gradient g W (NN) per layer
        (the first layer's input gradient is never needed). RNN: the input projection of all T·N
        rows (one product), the recurrent product h_{t-1} W_hhᵀ of every step (W_hhᵀ made
        contiguous once per sequence), the gradient reaching h_{t-1} through it, the two weight
        gradients over all T·N rows, and the dense head. LSTM: one product per step over the rows
        [h_{t-1}, x_t, 1] (recurrence, input projection and bias at once; nnscratch runs it as a
        batch of four gate blocks, which measured ~5% slower than the single product timed here,
        so the floor is slightly optimistic), the gradient reaching h_{t-1}, one weight-gradient
        product over all T·N such rows for [W_hh | W_ih | b], and the head. CNN: per convolution
        the im2col products W X̂ (forward), X̂ Gᵀ (weight gradient, transposed) and Wᵀ G (column
        gradient, not for the first layer), with the stride-1 path's full-width rows (OH·W_p
        columns per image), then the dense head. Transformer: see :func:`transformer_gemms`.
        """
        if self.transformer is not None:
            return transformer_gemms(self.transformer, self.batch)
        n = self.batch
        head = [
            Product("fwd-head", n, 10, RNN_HIDDEN, 1, "NT"),
            Product("dW-head", 10, RNN_HIDDEN, n, 1, "TN"),
            Product("dx-head", n, RNN_HIDDEN, 10, 1, "NN"),
        ]
        rows = RNN_STEPS * n
        if self.kind == "lstm":
            gh, k = 4 * RNN_HIDDEN, RNN_HIDDEN + RNN_INPUTS + 1
            return [
                Product("fwd-rec", n, gh, k, RNN_STEPS, "NN"),
                *head,
                Product("dx-rec", n, RNN_HIDDEN, gh, RNN_STEPS, "NN"),
                Product("dW-cat", gh, k, rows, 1, "TN"),
            ]
        if self.kind == "rnn":
            gh = RNN_HIDDEN
            return [
                Product("fwd-proj", rows, gh, RNN_INPUTS, 1, "NN"),
                Product("fwd-rec", n, gh, RNN_HIDDEN, RNN_STEPS, "NN"),
                *head,
                Product("dx-rec", n, RNN_HIDDEN, gh, RNN_STEPS, "NN"),
                Product("dW-hh", gh, RNN_HIDDEN, rows, 1, "TN"),
                Product("dW-ih", gh, RNN_INPUTS, rows, 1, "TN"),
            ]
        if self.kind == "cnn":
            cols1, cols2 = n * 26 * 28, n * 11 * 13  # OH·W_p per image: 26·28, then 11·13
            return [
                Product("fwd-conv1", 8, cols1, 1 * 9, 1, "NN"),
                Product("fwd-conv2", 16, cols2, 8 * 9, 1, "NN"),
                Product("fwd-dense", n, 10, 400, 1, "NT"),
                Product("dW-dense", 10, 400, n, 1, "TN"),
                Product("dx-dense", n, 400, 10, 1, "NN"),
                Product("dW-conv2", 8 * 9, 16, cols2, 1, "NT"),
                Product("dx-conv2", 8 * 9, cols2, 16, 1, "TN"),
                Product("dW-conv1", 1 * 9, 8, cols1, 1, "NT"),
            ]
        out = []
        pairs = list(zip(self.sizes[:-1], self.sizes[1:], strict=True))
        for i, (fan_in, fan_out) in enumerate(pairs):
            out.append(Product(f"fwd{i}", n, fan_out, fan_in, 1, "NT"))
        for i in reversed(range(len(pairs))):
            fan_in, fan_out = pairs[i]
            out.append(Product(f"dW{i}", fan_out, fan_in, n, 1, "TN"))
            if i > 0:  # the first layer's input gradient is never needed
                out.append(Product(f"dx{i}", n, fan_in, fan_out, 1, "NN"))
        return out

    def flops(self) -> int:
        """Multiply-add FLOPs (2·m·n·k) of the step's matrix products: the work BLAS must do.

        Forward, weight gradient and input gradient each cost one product per layer; the first
        layer's input gradient is never needed.
        """
        if self.kind == "cnn":  # conv as im2col GEMMs: 2·N·C_out·OH·OW·C_in·KH·KW each
            n = self.batch
            conv1 = 2 * n * 8 * 26 * 26 * 1 * 9
            conv2 = 2 * n * 16 * 11 * 11 * 8 * 9
            dense = 2 * n * 400 * 10
            return 2 * conv1 + 3 * conv2 + 3 * dense
        return sum(2 * p.m * p.n * p.k * p.count for p in self.gemms())


RNN_STEPS, RNN_INPUTS, RNN_HIDDEN = 50, 16, 64

ARCHITECTURES = {
    "cnn": "conv 1→8 3×3, ReLU, max-pool 2, conv 8→16 3×3, ReLU, max-pool 2, dense 400→10 (28×28)",
    "rnn": "RNN tanh 16→64, T=50, full BPTT, last step → dense 64→10",
    "lstm": "LSTM 16→64, T=50, full BPTT, last step → dense 64→10",
}


def _make_batches(case: Case) -> Case:
    """Cut the data into contiguous float32 batches of exactly ``case.batch`` rows."""
    X = np.ascontiguousarray(case.X, dtype=DTYPE)
    y = np.asarray(case.y, dtype=np.int64)
    nb = max(1, len(X) // case.batch)
    case.batches = [
        (
            np.ascontiguousarray(X[i * case.batch : (i + 1) * case.batch]),
            y[i * case.batch : (i + 1) * case.batch],
        )
        for i in range(nb)
    ]
    return case


def _moons(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n, noise=0.20, random_state=seed)
    return X.astype(DTYPE), y.astype(np.int64)


def _mnist_like(n: int, n_features: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic 784-feature data in [0, 1] with labels from a random linear teacher.

    Timings do not depend on the values; a learnable rule keeps the training step realistic.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_features), dtype=DTYPE)
    teacher = rng.standard_normal((n_features, n_classes)).astype(DTYPE)
    y = (X @ teacher).argmax(axis=1).astype(np.int64)
    return X, y


def dense_cases() -> list[Case]:
    """Cases (a)–(d) of issue 6."""
    cases = []
    X, y = _moons(200, 0)
    cases.append(Case("a", "(a) moons 2-3-3-1", [2, 3, 3, 1], "tanh", 200, 200, lr=0.5, X=X, y=y))
    X, y = _moons(1000, 1)
    cases.append(
        Case("b_full", "(b) 2-32-32-1 full batch", [2, 32, 32, 1], "sigmoid", 1000, 1000, lr=0.5, X=X, y=y)
    )
    cases.append(
        Case("b_32", "(b) 2-32-32-1 batch 32", [2, 32, 32, 1], "sigmoid", 32, 1000, lr=0.5, X=X, y=y)
    )
    X, y = _mnist_like(1024, 784, 10, 2)
    cases.append(
        Case(
            "c", "(c) 784-256-128-10", [784, 256, 128, 10], "relu", 128, 1024, lr=0.05, momentum=0.9, X=X, y=y
        )
    )
    X, y = _mnist_like(1024, 784, 10, 3)
    cases.append(
        Case(
            "d",
            "(d) 784-1024-1024-10",
            [784, 1024, 1024, 10],
            "relu",
            256,
            1024,
            lr=0.05,
            momentum=0.9,
            X=X,
            y=y,
        )
    )
    return [_make_batches(c) for c in cases]


def conv_rnn_cases() -> list[Case]:
    """Cases (e)–(g) of issue 6: a small CNN, an RNN and an LSTM, plain SGD."""
    rng = np.random.default_rng(4)
    images = rng.random((256, 1, 28, 28), dtype=DTYPE)
    sequences = rng.standard_normal((128, 50, 16)).astype(DTYPE)
    labels = rng.integers(0, 10, size=256)
    common = {"hidden": "", "lr": 0.01, "sklearn": False, "reference": False}
    cases = [
        Case(
            "e", "(e) CNN 28×28", [784, 10], batch=64, n_samples=256, kind="cnn", X=images, y=labels, **common
        ),
        Case(
            "f",
            "(f) RNN T=50",
            [16, 10],
            batch=32,
            n_samples=128,
            kind="rnn",
            X=sequences,
            y=labels[:128],
            **common,
        ),
        Case(
            "g",
            "(g) LSTM T=50",
            [16, 10],
            batch=32,
            n_samples=128,
            kind="lstm",
            X=sequences,
            y=labels[:128],
            **common,
        ),
    ]
    return [_make_batches(c) for c in cases]


def transformer_gemms(t: TransformerDims, n: int) -> list[Product]:
    """The products of one transformer step over R = n·T token rows, as nnscratch runs them.

    Per encoder layer, forward: the fused projection [Q K V] = x W_inᵀ, per sequence and head
    (n·H of them, one batched matmul each) the scores Q_h K_hᵀ and A_h V_h, the output projection
    and the two feed-forward Linears; backward: each Linear's weight and input gradients, and per
    head dA = dO Vᵀ, dV = Aᵀ dO, dQ = dS K, dK = dSᵀ Q. Around them the embedding (no input
    gradient) and the head on the time-mean (n rows).
    """
    E, F, T, d = t.d_model, t.d_ff, t.steps, t.d_model // t.nhead
    R, heads = n * T, n * t.nhead

    def linear(label: str, fan_in: int, fan_out: int, rows: int, dx: bool = True) -> tuple[list, list]:
        fwd = [Product(f"fwd-{label}", rows, fan_out, fan_in, 1, "NT")]
        bwd = [Product(f"dW-{label}", fan_out, fan_in, rows, 1, "TN")]
        if dx:
            bwd.append(Product(f"dx-{label}", rows, fan_in, fan_out, 1, "NN"))
        return fwd, bwd

    fwd_emb, bwd_emb = linear("embed", t.inputs, E, R, dx=False)
    fwd_head, bwd_head = linear("head", E, 10, n)
    forward, backward = list(fwd_emb), []
    for i in range(t.layers):
        f_in, b_in = linear(f"in_proj{i}", E, 3 * E, R)
        f_out, b_out = linear(f"out_proj{i}", E, E, R)
        f_l1, b_l1 = linear(f"linear1.{i}", E, F, R)
        f_l2, b_l2 = linear(f"linear2.{i}", F, E, R)
        scores = [
            Product(f"fwd-QKt{i}", T, T, d, heads, "NT", True),
            Product(f"fwd-AV{i}", T, d, T, heads, "NN", True),
        ]
        dscores = [
            Product(f"dA{i}", T, T, d, heads, "NT", True),
            Product(f"dV{i}", T, d, T, heads, "TN", True),
            Product(f"dQ{i}", T, d, T, heads, "NN", True),
            Product(f"dK{i}", T, d, T, heads, "TN", True),
        ]
        forward += f_in + scores + f_out + f_l1 + f_l2
        backward = b_l2 + b_l1 + b_out + dscores + b_in + backward
    return forward + fwd_head + bwd_head + backward + bwd_emb


def transformer_cases() -> list[Case]:
    """(h): two small encoder layers on T=32 tokens, the case tuned for; (i): a wider model on
    shorter sequences, measured but not tuned for. Plain SGD on 10 classes."""
    rng = np.random.default_rng(5)
    out = []
    for key, title, dims, batch in (
        ("h", "(h) Transformer T=32", TransformerDims(16, 64, 4, 128, 2, 32), 32),
        ("i", "(i) Transformer E=128 T=16", TransformerDims(16, 128, 8, 256, 2, 16), 64),
    ):
        n = 4 * batch
        X = rng.standard_normal((n, dims.steps, dims.inputs)).astype(DTYPE)
        y = rng.integers(0, 10, size=n)
        common = {"hidden": "", "lr": 0.01, "sklearn": False, "reference": False}
        case = Case(key, title, [dims.inputs, 10], batch=batch, n_samples=n, kind="transformer", X=X, y=y,
                    transformer=dims, **common)  # fmt: skip
        out.append(_make_batches(case))
    return out
