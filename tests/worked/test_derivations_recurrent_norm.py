"""The RNN/LSTM/GRU and batch-norm derivation pages: reachable by name, class and instance."""

import pytest

import nnscratch as ns


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("RNN", "rnn"),
        (ns.RNN(2, 3), "rnn"),
        ("bptt", "rnn"),
        (ns.LSTM, "lstm"),
        (ns.GRU(2, 3), "gru"),
        ("BatchNorm1d", "batchnorm"),
        (ns.BatchNorm2d(3), "batchnorm"),
        ("batch_norm", "batchnorm"),
    ],
)
def test_recurrent_and_batchnorm_pages_resolve(name, page):
    assert ns.derivation(name) == ns.derivation(page)


def test_formulas_use_the_code_conventions():
    assert "[a_i, a_f, a_g, a_o]" in ns.derivation("lstm").markdown  # PyTorch gate order
    gru = ns.derivation("gru").markdown
    assert r"n = \tanh(W_{in} x_t + b_{in} + r \odot (W_{hn} h_{t-1} + b_{hn}))" in gru
    text = str(ns.derivation("batchnorm"))
    assert "∂L/∂x = s (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂))" in text
    assert "dAₜ = dhₜ ⊙ φ'(aₜ) = dhₜ ⊙ (1 − hₜ²)" in str(ns.derivation("rnn"))
