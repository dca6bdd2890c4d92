"""Parameters, modules and containers: the DESIGN.md section 2 contract."""

from __future__ import annotations

import numpy as np
import pytest

import nnscratch as ns


def mlp(seed: int = 0, dtype=np.float64) -> ns.Sequential:
    return ns.Sequential(
        ns.Linear(3, 4, dtype=dtype, rng=seed),
        ns.ReLU(),
        ns.Linear(4, 2, dtype=dtype, rng=seed + 1),
        ns.Softmax(),
    )


class TwoBranch(ns.Module):
    """A hand-written module with named children, to check key naming outside Sequential."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = ns.Sequential(ns.Linear(2, 3, rng=0), ns.Tanh())
        self.head = ns.Linear(3, 1, bias=False, rng=1)
        self.scale = ns.Parameter(np.ones(1))


X = np.linspace(-1, 1, 15).reshape(5, 3)


# -- state dicts ------------------------------------------------------------------------------------
def test_state_dict_keys_follow_pytorch():
    assert list(mlp().state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    nested = ns.Sequential(ns.Linear(2, 2), ns.Sequential(ns.ReLU(), ns.Linear(2, 1)))
    assert list(nested.state_dict()) == ["0.weight", "0.bias", "1.1.weight", "1.1.bias"]
    assert list(TwoBranch().state_dict()) == ["scale", "encoder.0.weight", "encoder.0.bias", "head.weight"]


def test_state_dict_shapes_follow_pytorch_layout():
    state = mlp().state_dict()
    assert state["0.weight"].shape == (4, 3) and state["0.bias"].shape == (4,)
    assert state["2.weight"].shape == (2, 4) and state["2.bias"].shape == (2,)


def test_state_dict_holds_copies():
    model = mlp()
    state = model.state_dict()
    state["0.weight"][...] = 123.0
    assert not np.any(model[0].weight.data == 123.0)


def test_load_state_dict_round_trip_reproduces_outputs():
    source, target = mlp(seed=0), mlp(seed=10)
    assert not np.allclose(source(X), target(X))
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target(X), source(X))
    for (name_a, a), (name_b, b) in zip(source.named_parameters(), target.named_parameters(), strict=True):
        assert name_a == name_b
        np.testing.assert_array_equal(a.data, b.data)
        assert a.data is not b.data


def test_load_state_dict_copies_values_in_place():
    model = mlp()
    weight_array = model[0].weight.data
    state = mlp(seed=5).state_dict()
    model.load_state_dict(state)
    assert model[0].weight.data is weight_array  # optimizers holding the Parameter still see it
    state["0.weight"][...] = 0.0
    assert np.any(model[0].weight.data != 0.0)


def test_load_state_dict_casts_to_the_parameters_dtype():
    model = mlp(dtype=np.float32)
    model.load_state_dict(mlp(dtype=np.float64).state_dict())
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_load_state_dict_non_strict_ignores_missing_and_unexpected_keys():
    model = mlp(seed=0)
    before = model.state_dict()
    other = mlp(seed=7).state_dict()
    model.load_state_dict({"2.bias": other["2.bias"], "extra.weight": np.zeros(3)}, strict=False)
    after = model.state_dict()
    np.testing.assert_array_equal(after["2.bias"], other["2.bias"])
    for key in ("0.weight", "0.bias", "2.weight"):
        np.testing.assert_array_equal(after[key], before[key])


def test_load_state_dict_strict_lists_every_problem():
    state = mlp().state_dict()
    del state["0.bias"]
    state["3.weight"] = np.ones(1)
    state["2.weight"] = np.ones((4, 2))
    with pytest.raises(ns.StateDictError) as info:
        mlp().load_state_dict(state)
    message = str(info.value)
    assert "missing keys ['0.bias']" in message
    assert "unexpected keys ['3.weight']" in message
    assert "'2.weight' has shape (4, 2), expected (2, 4)" in message


# -- modes, gradients, dtype, copies --------------------------------------------------------------------
def test_train_and_eval_recurse_into_every_module():
    model = ns.Sequential(mlp(), TwoBranch())
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not any(m.training for m in model.modules())


def test_modules_and_parameters_are_discovered_in_order():
    model = TwoBranch()
    kinds = [type(m).__name__ for m in model.modules()]
    assert kinds == ["TwoBranch", "Sequential", "Linear", "Tanh", "Linear"]
    assert model.num_parameters() == 1 + 2 * 3 + 3 + 3
    assert [p.shape for p in model.parameters()] == [(1,), (3, 2), (3,), (1, 3)]


def test_parameter_grad_matches_data():
    p = ns.Parameter(np.ones((2, 3), dtype=np.float32))
    assert p.grad.shape == p.shape == (2, 3)
    assert p.grad.dtype == p.dtype == np.float32
    assert np.all(p.grad == 0)


def test_zero_grad_resets_in_place():
    model = mlp()
    model(X)
    model.backward(np.ones((5, 2)))
    grads = [p.grad for p in model.parameters()]
    assert any(np.any(g != 0) for g in grads)
    model.zero_grad()
    for p, g in zip(model.parameters(), grads, strict=True):
        assert p.grad is g and np.all(g == 0)


def test_gradients_accumulate_with_plus_equals():
    model = ns.Sequential(ns.Linear(3, 4, rng=0), ns.Tanh(), ns.Linear(4, 2, rng=1))
    upstream = np.random.default_rng(0).normal(size=(5, 2))

    def grads_after(batches) -> list[np.ndarray]:
        model.zero_grad()
        for xb, gb in batches:
            model(xb)
            model.backward(gb)
        return [p.grad.copy() for p in model.parameters()]

    once = grads_after([(X, upstream)])
    twice = grads_after([(X, upstream), (X, upstream)])
    split = grads_after([(X[:2], upstream[:2]), (X[2:], upstream[2:])])
    for g1, g2, gs in zip(once, twice, split, strict=True):
        np.testing.assert_allclose(g2, 2 * g1, rtol=1e-14)
        np.testing.assert_allclose(gs, g1, rtol=1e-12, atol=1e-15)


class MatmulCounter(np.ndarray):
    """An array that counts the matrix products it takes part in (``@`` and ``np.dot``)."""

    calls = 0

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.matmul:
            MatmulCounter.calls += 1
        inputs = tuple(np.asarray(i) if isinstance(i, MatmulCounter) else i for i in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.dot:
            MatmulCounter.calls += 1
        args = tuple(np.asarray(a) if isinstance(a, MatmulCounter) else a for a in args)
        return func(*args, **kwargs)


def test_input_grad_false_returns_none_and_skips_the_input_gradient():
    model = ns.Sequential(ns.Linear(3, 4, rng=0), ns.Tanh(), ns.Linear(4, 2, rng=1))
    upstream = np.ones((5, 2))
    model(X)
    model.zero_grad()
    dx = model.backward(upstream)
    with_input = [p.grad.copy() for p in model.parameters()]
    assert dx.shape == X.shape

    first = model[0]
    first.weight.data = first.weight.data.view(MatmulCounter)
    model(X)
    model.zero_grad()
    MatmulCounter.calls = 0
    assert model.backward(upstream, input_grad=False) is None
    assert MatmulCounter.calls == 0  # dL/dx = g W was never formed
    for p, g in zip(model.parameters(), with_input, strict=True):
        np.testing.assert_allclose(p.grad, g, rtol=1e-14)
    model(X)
    MatmulCounter.calls = 0
    model.backward(upstream, input_grad=True)
    assert MatmulCounter.calls == 1  # the counter does see the product when it is needed


@pytest.mark.parametrize(
    "layer", [ns.Sigmoid(), ns.Tanh(), ns.ReLU(), ns.LeakyReLU(), ns.Softmax(), ns.Identity()]
)
def test_activations_return_none_without_input_grad(layer):
    layer(X)
    assert layer.backward(np.ones_like(X), input_grad=False) is None


@pytest.mark.parametrize(("start", "end"), [(np.float64, np.float32), (np.float32, np.float64)])
def test_astype_converts_parameters_gradients_and_outputs(start, end):
    model = mlp(dtype=start)
    assert model.dtype == start
    model(X)
    model.backward(np.ones((5, 2)))
    assert model.astype(end) is model
    assert model.dtype == end
    assert all(p.dtype == end and p.grad.dtype == end for p in model.parameters())
    assert model(X).dtype == end
    assert model(X.astype(start)).dtype == end  # inputs are cast once, at the entry


def test_astype_round_trip_keeps_values_to_float32_precision():
    model = mlp()
    before = model.state_dict()
    model.astype(np.float32).astype(np.float64)
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value, before[key], rtol=1e-7)


def test_float32_network_computes_in_float32():
    model = mlp(dtype=np.float32)
    out = model(X)  # float64 input, cast once
    assert out.dtype == np.float32
    dx = model.backward(np.ones_like(out))
    assert dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_integer_inputs_become_floats():
    assert mlp()(np.array([[1, 0, 1]])).dtype == np.float64
    assert ns.Tanh()(np.array([[1, 0]])).dtype == np.float64


def test_copy_is_independent():
    model = mlp()
    model(X)
    clone = model.copy()
    assert clone._cache is None and all(m._cache is None for m in clone.modules())
    np.testing.assert_array_equal(clone(X), model(X))
    clone[0].weight.data += 1.0
    clone[0].weight.grad += 1.0
    assert not np.allclose(clone(X), model(X))
    assert np.all(model[0].weight.grad == 0)
    assert clone.state_dict().keys() == model.state_dict().keys()


def test_sequential_indexing_and_append():
    model = mlp()
    assert len(model) == 4 and isinstance(model[0], ns.Linear)
    head = model[2:]
    assert isinstance(head, ns.Sequential) and len(head) == 2 and head[0] is model[2]
    model.append(ns.Identity())
    assert len(model) == 5 and list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert ns.Sequential([ns.Linear(2, 2), ns.ReLU()]).__len__() == 2


def test_empty_sequential_is_the_identity():
    model = ns.Sequential()
    np.testing.assert_array_equal(model(X), X)
    np.testing.assert_array_equal(model.backward(np.ones_like(X)), np.ones_like(X))
    assert model.backward(np.ones_like(X), input_grad=False) is None


def test_linear_forward_is_x_times_w_transpose_plus_b():
    w = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    b = np.array([0.1, -0.2])
    layer = ns.Linear.from_arrays(w, b)
    np.testing.assert_allclose(layer(X), X @ w.T + b)
    assert ns.Linear.from_arrays(w).bias is None


def test_linear_accepts_extra_leading_dims():
    layer = ns.Linear(3, 2, rng=0)
    x = np.arange(24, dtype=float).reshape(2, 4, 3)
    np.testing.assert_allclose(
        layer(x), (x.reshape(-1, 3) @ layer.weight.data.T + layer.bias.data).reshape(2, 4, 2)
    )


def test_repr_shows_the_structure():
    text = repr(mlp())
    assert "(0): Linear(in_features=3, out_features=4, bias=True)" in text
    assert "(3): Softmax(dim=-1)" in text
