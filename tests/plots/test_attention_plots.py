"""Attention heat maps: the shapes taken, one panel per head, token labels, masked cells set apart,
and the weights of every attention layer of a model read on one sample."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure

import nnscratch as ns
from nnscratch import plots
from nnscratch.base.errors import HyperparameterError, ShapeError


def softmax_rows(scores):
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def weights(*shape, seed=0):
    return softmax_rows(np.random.default_rng(seed).normal(size=shape))


def heat_panels(fig):
    """The heat-map panels of a figure (colour bars and switched-off spare panels left out)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.images]


def shown(ax):
    return np.ma.filled(ax.images[0].get_array(), 0.0)


@pytest.mark.parametrize(
    ("shape", "panels"), [((5, 5), 1), ((3, 4, 6), 3), ((2, 2, 4, 4), 2), ((1, 1, 3, 7), 1)]
)
def test_each_accepted_shape_gives_one_panel_per_head(shape, panels):
    w = weights(*shape)
    fig = ns.plot_attention(w)
    assert isinstance(fig, Figure)
    drawn = heat_panels(fig)
    assert len(drawn) == panels
    heads = w.reshape(-1, *shape[-2:])[:panels]  # of a batch, the first sample's heads
    for h, ax in enumerate(drawn):
        np.testing.assert_array_equal(shown(ax), heads[h])
        assert ax.get_title() == f"head {h + 1}"
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 1  # one shared colour scale


@pytest.mark.parametrize(
    "bad",
    [np.ones(4), np.ones((1, 1, 1, 3, 3)), np.ones((0, 3)), np.ones((2, 0, 3, 3)), np.ones((0, 2, 3, 3))],
)
def test_a_bad_shape_is_a_shape_error_naming_the_shapes_taken(bad):
    with pytest.raises(ShapeError, match=r"\(T_q, T_k\), \(H, T_q, T_k\) or \(N, H, T_q, T_k\).*Received"):
        ns.plot_attention(bad)


def test_token_labels_name_the_rows_and_columns():
    w = weights(2, 3, 4)
    fig = ns.plot_attention(w, query_labels=["the", "cat", "sat"], key_labels=["<s>", "the", "cat", "sat"])
    for ax in heat_panels(fig):
        assert [t.get_text() for t in ax.get_yticklabels()] == ["the", "cat", "sat"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["<s>", "the", "cat", "sat"]
        assert "query" in ax.get_ylabel() and "key" in ax.get_xlabel()


def test_labels_of_the_wrong_length_are_a_shape_error():
    with pytest.raises(
        ShapeError, match=r"query_labels must name each of the 3 query positions. Received: 2"
    ):
        ns.plot_attention(weights(3, 4), query_labels=["a", "b"])
    with pytest.raises(ShapeError, match=r"key_labels must name each of the 4 key positions"):
        ns.plot_attention(weights(3, 4), key_labels="abc")


def test_chosen_heads_only_and_bad_heads_refused():
    w = weights(4, 3, 3)
    fig = ns.plot_attention(w, heads=[3, 1], title="enc.0")
    drawn = heat_panels(fig)
    assert [ax.get_title() for ax in drawn] == ["enc.0, head 4", "enc.0, head 2"]
    np.testing.assert_array_equal(shown(drawn[0]), w[3])
    assert len(heat_panels(ns.plot_attention(w, heads=2))) == 1
    for bad in (4, -1, [], [0, 7], 1.0, True, "0"):
        with pytest.raises(HyperparameterError, match=r"heads must be head indices in 0\.\.3"):
            ns.plot_attention(w, heads=bad)


def test_masked_weights_are_hatched_grey_and_explained():
    mha = ns.MultiheadAttention(4, 2, rng=0)
    mha(np.random.default_rng(1).normal(size=(1, 5, 4)), is_causal=True)
    fig = ns.plot_attention(mha.attn_weights)
    for ax in heat_panels(fig):
        hatched = [c for c in ax.collections if isinstance(c, PatchCollection)]
        assert len(hatched) == 1 and hatched[0].get_hatch() == "//"
        assert len(hatched[0].get_paths()) == 10  # the 5·4/2 cells above the diagonal
        assert np.ma.getmaskarray(ax.images[0].get_array()).sum() == 10  # not coloured as weight 0
    assert any("masked" in t.get_text() for leg in fig.legends for t in leg.get_texts())
    # no mask, nothing hatched and no legend
    plain = ns.plot_attention(weights(2, 5, 5))
    assert not plain.legends and not any(isinstance(c, PatchCollection) for c in plain.axes[0].collections)


def test_draws_on_given_axes():
    fig, grid = plots._figure(1, 3)
    out = ns.plot_attention(weights(2, 3, 3), ax=list(grid[0, :2]))
    assert out is fig and grid[0, 0].images and grid[0, 1].images and not grid[0, 2].images
    single = plots._figure()[1][0, 0]
    assert ns.plot_attention(weights(3, 3), ax=single) is single.figure
    with pytest.raises(HyperparameterError, match=r"one matplotlib Axes per head shown \(2\)"):
        ns.plot_attention(weights(2, 3, 3), ax=single)


@settings(max_examples=12, deadline=None)
@given(
    heads=st.integers(1, 3),
    t_q=st.integers(1, 6),
    t_k=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_the_panels_show_exactly_the_weights(heads, t_q, t_k, seed):
    w = weights(heads, t_q, t_k, seed=seed)
    fig = ns.plot_attention(w)
    drawn = heat_panels(fig)
    assert len(drawn) == heads
    for ax, head in zip(drawn, w, strict=True):
        np.testing.assert_array_equal(shown(ax), head)
        np.testing.assert_allclose(shown(ax).sum(axis=1), 1.0)
    fig.clear()


def transformer(dropout=0.0):
    return ns.Sequential(
        ns.Reshape((5, 4)),
        ns.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=dropout, rng=0),
        ns.Residual(ns.MultiheadAttention(4, 1, rng=1)),
        ns.LastTimeStep(),
        ns.Linear(4, 1, rng=2),
    )


def test_attention_maps_reads_every_attention_layer_by_its_dotted_name():
    model = transformer(dropout=0.5)
    X = np.random.default_rng(0).normal(size=(3, 20))
    maps = plots.attention_maps(model, X)
    assert list(maps) == ["1.self_attn", "2.module"]
    assert maps["1.self_attn"].shape == (1, 2, 5, 5) and maps["2.module"].shape == (1, 1, 5, 5)
    for w in maps.values():
        np.testing.assert_allclose(w.sum(axis=-1), 1.0)
    # eval mode (dropout off) on the first sample only: the same weights again, and as x[:1] gives them
    again = plots.attention_maps(model, X[:1])
    for name in maps:
        np.testing.assert_array_equal(maps[name], again[name])
    assert all(m.training for m in model.modules())  # each module's mode restored
    model.eval()
    model(X[:1])
    np.testing.assert_array_equal(model[1].self_attn.attn_weights, maps["1.self_attn"])


def test_attention_maps_of_a_model_without_attention_and_of_no_sample():
    mlp = ns.Sequential(ns.Linear(2, 3, rng=0), ns.Tanh())
    assert plots.attention_maps(mlp, np.zeros((4, 2))) == {}
    with pytest.raises(ShapeError, match="at least one sample"):
        plots.attention_maps(transformer(), np.zeros((0, 20)))
    lone = ns.MultiheadAttention(4, 2, rng=0)
    assert list(plots.attention_maps(lone, np.ones((2, 3, 4)))) == [""]  # the model is the layer


def test_plot_attention_maps_gives_one_row_per_layer():
    model = transformer()
    maps = plots.attention_maps(model, np.random.default_rng(0).normal(size=(2, 20)))
    fig = plots.plot_attention_maps(maps, title="two layers")
    titles = [ax.get_title() for ax in heat_panels(fig)]
    assert titles == ["1.self_attn, head 1", "1.self_attn, head 2", "2.module, head 1"]
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 2  # one colour bar per layer
    assert fig.get_suptitle() == "two layers"
    with pytest.raises(HyperparameterError, match="at least one attention layer"):
        plots.plot_attention_maps({})


def test_ns_plot_attention_loads_matplotlib_only_when_used():
    code = (
        "import sys, nnscratch as ns; before = 'matplotlib' in sys.modules; f = ns.plot_attention; "
        "from nnscratch.plots import plot_attention; "
        "print(before, 'matplotlib' in sys.modules, f is plot_attention, 'plot_attention' in ns.__all__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "True", "True"], done.stdout + done.stderr
    with pytest.raises(AttributeError, match="no attribute 'plot_attentions'"):
        ns.plot_attentions  # noqa: B018
