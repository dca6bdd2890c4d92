"""The benchmark harness still runs and still checks its implementations agree (no timings asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytestmark = pytest.mark.torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import cases  # noqa: E402
import impls  # noqa: E402
import run  # noqa: E402


def test_every_implementation_takes_the_same_first_step():
    case = cases.dense_cases()[0]
    report = impls.check_same_step(case, impls.initial_state(case), impls.runners_for(case))
    assert set(report) == {"pytorch", "sklearn", "numpy-ref"}
    assert all(r["max_rel_update_diff"] < 2e-3 for r in report.values())


def test_the_check_catches_a_different_step():
    case = cases.dense_cases()[0]
    state = impls.initial_state(case)

    class Wrong(impls.NumpyRunner):
        def step(self) -> None:
            super().step()
            self.net.W[0] += 1e-2  # an update nnscratch does not make

    impls.RUNNERS["wrong"] = Wrong
    try:
        with pytest.raises(AssertionError, match="differs from nnscratch"):
            impls.check_same_step(case, state, ["nnscratch", "wrong"])
    finally:
        del impls.RUNNERS["wrong"]


def test_flop_counts_of_the_dense_cases():
    a = cases.dense_cases()[0]  # 2-3-3-1, batch 200: forward, dW for 3 layers, dx for 2
    forward = 2 * 200 * (2 * 3 + 3 * 3 + 3 * 1)
    assert a.flops() == 2 * forward + 2 * 200 * (3 * 3 + 3 * 1)


def test_a_tiny_run_writes_json_and_markdown(tmp_path):
    args = ["--quick", "--cases", "a", "--threads", "1", "--repeats", "2", "--block-ms", "1", "--no-memory"]
    assert run.main([*args, "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "latest.json").read_text())
    (row,) = result["rows"]
    assert row["case"] == "a" and row["threads"] == 1 and row["repeats"] == 2
    assert np.isfinite(row["ratios"]["vs_pytorch"]["median"])
    assert set(row["step_seconds"]) == {"nnscratch", "pytorch", "sklearn", "numpy-ref", "gemm-only"}
    assert "oneDNN" not in (tmp_path / "latest.md").read_text()  # only said where an LSTM ran
    assert "cpu_model" in result["machine"] and "env" in result["machine"]
    assert "| (a) moons 2-3-3-1 | 1 |" in (tmp_path / "latest.md").read_text()


def test_recurrent_cases_list_their_products_and_count_the_same_flops():
    """The GEMM floor of (f)/(g) repeats the per-step products T times; their FLOPs are the sum
    (for the LSTM, of the fused products [h_{t-1}, x_t, 1] it really does)."""
    f, g = (c for c in cases.conv_rnn_cases() if c.kind in ("rnn", "lstm"))
    for case, gates in ((f, 1), (g, 4)):
        steps, n, inputs, hidden = 50, case.batch, 16, 64
        proj = 2 * steps * n * inputs * gates * hidden
        recur = 2 * steps * n * hidden * gates * hidden
        head = 2 * n * hidden * 10
        if case.kind == "lstm":  # the bias rides along as a column of ones in the fused products
            ones = 2 * steps * n * gates * hidden
            assert case.flops() == 2 * (proj + recur + ones) + recur + 3 * head
        else:
            assert case.flops() == 2 * proj + 3 * recur + 3 * head
        labels = {p.label: p.count for p in case.gemms()}
        assert labels["fwd-rec"] == labels["dx-rec"] == steps
        assert "gemm-only" in impls.runners_for(case)
    e = next(c for c in cases.conv_rnn_cases() if c.kind == "cnn")
    assert "gemm-only" in impls.runners_for(e)


def test_cnn_products_match_the_convolutions_shapes():
    """The CNN's listed products are the shapes its layers really multiply."""
    import nnscratch as ns

    e = next(c for c in cases.conv_rnn_cases() if c.kind == "cnn")
    model = impls.build_nnscratch_model(e, rng=0)
    x = e.batches[0][0]
    conv1, conv2 = model[0], model[3]
    h = model[2](model[1](conv1(x)))
    conv2(h)
    products = {p.label: p for p in e.gemms()}
    for label, conv in (("conv1", conv1), ("conv2", conv2)):
        cols = conv._cache[0]  # X̂ (C_in·KH·KW, N·OH·W_p)
        fwd = products[f"fwd-{label}"]
        assert (fwd.m, fwd.k, fwd.n) == (conv.out_channels, *cols.shape)
        dw = products[f"dW-{label}"]
        assert (dw.m, dw.n, dw.k) == (cols.shape[0], conv.out_channels, cols.shape[1])
    assert isinstance(model[-1], ns.Linear) and products["fwd-dense"].k == model[-1].in_features


def test_the_lstm_case_also_times_pytorch_without_onednn_and_it_takes_the_same_step():
    """PyTorch's default float32 LSTM is a fused oneDNN kernel; the generic per-step path is timed
    beside it for information, and must make the same update."""
    import torch

    g = next(c for c in cases.conv_rnn_cases() if c.kind == "lstm")
    names = impls.runners_for(g)
    assert "pytorch-no-onednn" in names
    assert all("pytorch-no-onednn" not in impls.runners_for(c) for c in cases.dense_cases())
    report = impls.check_same_step(g, impls.initial_state(g), ["nnscratch", "pytorch", "pytorch-no-onednn"])
    assert report["pytorch-no-onednn"]["max_rel_update_diff"] < 2e-3
    assert torch.backends.mkldnn.enabled  # switched back on after the step


def test_the_optimizer_step_benchmark_runs(capsys):
    import bench_optimizer_step

    assert bench_optimizer_step.main(["--cases", "a"]) == 0
    out = capsys.readouterr().out
    assert "per parameter" in out and "flat groups" in out
    from nnscratch.engine.optim import flat as _flat_params

    assert _flat_params.FLAT_MAX == 1 << 14  # restored


def test_the_step_time_script_times_each_case_and_thread_count(capsys):
    import step_time

    assert step_time.main(["--cases", "a,b_32", "--threads", "1", "--number", "2", "--repeat", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" best ")[0] for line in lines] == ["a threads=1", "b_32 threads=1"]
    assert all(float(line.split()[-2]) > 0 for line in lines)


def test_the_transformer_cases_take_the_same_step_as_pytorch_and_list_their_products():
    """(h) and (i): nnscratch and PyTorch start from one state dict and make the same SGD step; the
    GEMM floor lists the embedding, the head and per layer 4 Linears (3 products each, dx for all)
    and 6 batched per-head products, whose FLOPs add up to the step's count."""
    for case in cases.transformer_cases():
        t = case.transformer
        names = impls.runners_for(case)
        assert names == ["nnscratch", "pytorch", "gemm-only"]
        report = impls.check_same_step(case, impls.initial_state(case), names)
        assert report["pytorch"]["max_rel_update_diff"] < 2e-3
        products = case.gemms()
        assert len(products) == 2 + 3 + t.layers * (4 * 3 + 6)
        batched = [p for p in products if p.batched]
        assert {p.count for p in batched} == {case.batch * t.nhead}
        assert case.flops() == sum(2 * p.m * p.n * p.k * p.count for p in products)
        gemm = impls.GemmRunner(case)
        gemm.step()
        assert len(gemm.ops) == len(products)
