"""Side-by-side training-step timings of nnscratch and PyTorch CPU for a small CNN, an RNN and an LSTM.

Cases (performance issue, cases e, f, g), float32, forward + loss + backward + SGD step:

  e  CNN: conv 1→8 3×3, ReLU, max-pool 2, conv 8→16 3×3, ReLU, max-pool 2, dense 400→10;
     28×28 inputs, batch 64, softmax cross-entropy
  f  RNN (tanh), input 16, hidden 64, length 50, batch 32, full BPTT; last step → dense 64→10
  g  the same with an LSTM

Both libraries start from the same weights and see the same batch; before timing, one step is
run in each and the updated parameters are compared. Timing is interleaved (nnscratch, PyTorch,
nnscratch, ...) after a warm-up, and the reported figure is the median over repeats of the paired
ratio  t_torch / t_nnscratch  (= samples/s of nnscratch ÷ samples/s of PyTorch; > 1 means nnscratch
is faster), with its 25th–75th percentile spread.

Run:  PYTHONPATH=src python benchmarks/bench_convrnn.py [--threads 1 2] [--repeats 15] [--cases e f g]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import nnscratch as ns

DTYPE = np.float32


@dataclass
class Case:
    key: str
    title: str
    ns_model: ns.Module
    build_torch: Callable[[], object]
    x: np.ndarray
    y: np.ndarray
    lr: float = 0.01


def cnn_case(seed: int = 0) -> Case:
    rng = np.random.default_rng(seed)
    model = ns.Sequential(
        ns.Conv2d(1, 8, 3, dtype=DTYPE, rng=1),
        ns.ReLU(),
        ns.MaxPool2d(2),
        ns.Conv2d(8, 16, 3, dtype=DTYPE, rng=2),
        ns.ReLU(),
        ns.MaxPool2d(2),
        ns.Flatten(),
        ns.Linear(16 * 5 * 5, 10, dtype=DTYPE, rng=3),
    )

    def build_torch():
        import torch

        t = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(400, 10),
        )
        return t

    x = rng.standard_normal((64, 1, 28, 28)).astype(DTYPE)
    y = rng.integers(0, 10, size=64)
    return Case("e", "(e) CNN 28x28, batch 64", model, build_torch, x, y)


def rnn_case(kind: str, seed: int = 0) -> Case:
    rng = np.random.default_rng(seed)
    cell = ns.RNN(16, 64, dtype=DTYPE, rng=1) if kind == "rnn" else ns.LSTM(16, 64, dtype=DTYPE, rng=1)
    model = ns.Sequential(cell, ns.LastTimeStep(), ns.Linear(64, 10, dtype=DTYPE, rng=2))

    def build_torch():
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.rec = (torch.nn.RNN if kind == "rnn" else torch.nn.LSTM)(16, 64, batch_first=True)
                self.head = torch.nn.Linear(64, 10)

            def forward(self, x):
                out, _ = self.rec(x)
                return self.head(out[:, -1])

        return Net()

    x = rng.standard_normal((32, 50, 16)).astype(DTYPE)
    y = rng.integers(0, 10, size=32)
    if kind == "rnn":
        key, title = "f", "(f) RNN tanh 16→64, T=50, batch 32"
    else:
        key, title = "g", "(g) LSTM 16→64, T=50, batch 32"
    return Case(key, title, model, build_torch, x, y)


def copy_weights_to_torch(model: ns.Module, tmodel) -> None:
    """Copy nnscratch parameters into the PyTorch model, in parameter order (same shapes)."""
    import torch

    ours = model.parameters()
    theirs = list(tmodel.parameters())
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    with torch.no_grad():
        for p, t in zip(ours, theirs, strict=True):
            assert tuple(t.shape) == p.shape, (t.shape, p.shape)
            t.copy_(torch.from_numpy(p.data.copy()))


def make_steps(case: Case):
    import torch

    model = case.ns_model
    loss_fn = ns.CrossEntropyLoss()
    opt = ns.SGD(model.parameters(), lr=case.lr)
    x, y = case.x, case.y

    def ns_step() -> None:
        pred = model.forward(x)
        loss_fn.forward(pred, y)
        opt.zero_grad()
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()

    tmodel = case.build_torch()
    copy_weights_to_torch(model, tmodel)
    topt = torch.optim.SGD(tmodel.parameters(), lr=case.lr)
    tloss = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step() -> None:
        topt.zero_grad()
        loss = tloss(tmodel(xt), yt)
        loss.backward()
        topt.step()

    return model, tmodel, ns_step, torch_step


def check_same_step(model, tmodel, ns_step, torch_step) -> float:
    """Run one step in each library from the same weights; return the largest parameter difference."""
    ns_step()
    torch_step()
    diffs = [
        float(np.abs(p.data - t.detach().numpy()).max())
        for p, t in zip(model.parameters(), tmodel.parameters(), strict=True)
    ]
    return max(diffs)


def _time(fn: Callable[[], None], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def bench_case(case: Case, threads: int, repeats: int, inner: int) -> dict:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads):
        model, tmodel, ns_step, torch_step = make_steps(case)
        diff = check_same_step(model, tmodel, ns_step, torch_step)
        for _ in range(3):  # warm-up (allocators, BLAS buffers, torch's kernel selection)
            ns_step()
            torch_step()
        t_ns, t_torch, ratios = [], [], []
        for _ in range(repeats):
            a = _time(ns_step, inner)
            b = _time(torch_step, inner)
            t_ns.append(a)
            t_torch.append(b)
            ratios.append(b / a)
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {
        "case": case.key,
        "title": case.title,
        "threads": threads,
        "ns_ms": 1e3 * statistics.median(t_ns),
        "torch_ms": 1e3 * statistics.median(t_torch),
        "ratio": statistics.median(ratios),
        "ratio_q1": q[0],
        "ratio_q3": q[2],
        "max_param_diff": diff,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--inner", type=int, default=5, help="steps per timed block")
    parser.add_argument("--cases", nargs="+", default=["e", "f", "g"])
    args = parser.parse_args(argv)
    import torch

    print(f"numpy {np.__version__}, torch {torch.__version__}, python {platform.python_version()}, "
          f"{platform.machine()} ({platform.processor() or 'cpu'})")  # fmt: skip
    builders = {"e": cnn_case, "f": lambda: rnn_case("rnn"), "g": lambda: rnn_case("lstm")}
    results = []
    header = f"{'case':<36}{'thr':>4}{'nnscratch ms':>14}{'torch ms':>10}{'ratio':>8}"
    header += "   spread (q1-q3)  step diff"
    print(header)
    print("-" * len(header))
    for threads in args.threads:
        for key in args.cases:
            r = bench_case(builders[key](), threads, args.repeats, args.inner)
            results.append(r)
            print(
                f"{r['title']:<36}{threads:>4}{r['ns_ms']:>14.3f}{r['torch_ms']:>10.3f}{r['ratio']:>7.2f}x"
                f"   {r['ratio_q1']:.2f}-{r['ratio_q3']:.2f}      {r['max_param_diff']:.1e}"
            )
    print("ratio = median over repeats of t_torch / t_nnscratch (> 1: nnscratch faster)")
    return results


if __name__ == "__main__":
    main()
