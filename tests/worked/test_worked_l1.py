"""A worked example of an SGD step with L1 (``l1``) and L2 (``weight_decay``) regularisation."""

import numpy as np

import nnscratch as ns


def test_the_sgd_update_writes_out_the_l1_subgradient_and_matches_the_engine():
    model = ns.Sequential(ns.Linear(2, 2, rng=0), ns.Tanh(), ns.Linear(2, 1, rng=1), ns.Sigmoid())
    opt = ns.SGD(model.parameters(), lr=0.1, l1=0.01, weight_decay=0.02)
    ex = ns.explain(model, [0.3, -0.4], 1.0, loss="bce", optimizer=opt)
    text = ex.to_text()
    assert "W⁽¹⁾_new = W⁽¹⁾ − η (∂L/∂W⁽¹⁾ + 0.01 sign(W⁽¹⁾) + 0.02 W⁽¹⁾)" in text
    assert r"0.01 \operatorname{sign}(W^{(1)})" in ex.render("latex")
    lf = ns.BCELoss()
    lf(model([[0.3, -0.4]]), [[1.0]])
    model.backward(lf.backward())
    opt.step()
    np.testing.assert_allclose(ex["W1_new"], model.layers[0].weight.data, atol=1e-14)
    np.testing.assert_allclose(ex["b2_new"].ravel(), model.layers[2].bias.data, atol=1e-14)


def test_without_l1_the_update_reads_as_before():
    model = ns.Sequential(ns.Linear(2, 1, rng=0), ns.Sigmoid())
    text = ns.explain(
        model, [0.3, -0.4], 1.0, loss="bce", optimizer=ns.SGD(model.parameters(), lr=0.1)
    ).to_text()
    assert "sign(" not in text and "W⁽¹⁾_new = W⁽¹⁾ − η ∂L/∂W⁽¹⁾" in text
