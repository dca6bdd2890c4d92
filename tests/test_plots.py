"""Plots render headless to PNG files with real content; bad input gets clear errors."""

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.figure import Figure

import nnscratch as ns
from nnscratch import plots
from nnscratch.base.errors import DataError, DTypeError, HyperparameterError, ShapeError


def check_png(fig, path, min_bytes=8000):
    assert isinstance(fig, Figure)
    out = plots.save_figure(fig, path)
    assert out.exists() and out.suffix == ".png" and out.stat().st_size > min_bytes
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
    assert img[..., :3].std() > 0.05  # not a blank canvas
    return img


@pytest.fixture(scope="module")
def moons_run():
    ds = ns.datasets.load("moons", n_samples=120, noise=0.2, seed=0)
    train, val = ds.split(0.25, seed=0)
    model = ns.Sequential(ns.Linear(2, 8, rng=0), ns.Tanh(), ns.Linear(8, 1, rng=1), ns.Sigmoid())
    history = ns.fit(
        model,
        *train,
        loss=ns.BCELoss(),
        lr=1.0,
        epochs=150,
        validation_data=tuple(val),
        metrics=("accuracy", "f1"),
    )
    return ds, model, history


def test_plot_history_draws_train_and_validation_curves(tmp_path, moons_run):
    _, _, history = moons_run
    fig = plots.plot_history(history, metrics=("loss", "accuracy", "f1"))
    assert len(fig.axes) == 3
    loss_ax = fig.axes[0]
    assert [line.get_label() for line in loss_ax.lines] == ["train loss", "validation loss"]
    assert np.allclose(loss_ax.lines[0].get_ydata(), history["loss"])
    check_png(fig, tmp_path / "history.png")
    check_png(
        plots.plot_history(history.to_dict(), "loss", logy=True), tmp_path / "from_dict"
    )  # suffix added


def test_plot_history_unknown_metric():
    h = ns.History()
    h.append(1, loss=1.0)
    with pytest.raises(HyperparameterError, match=r"no 'f1'\. Recorded: loss"):
        plots.plot_history(h, ("f1",))


def test_decision_boundary_binary_and_multiclass(tmp_path, moons_run):
    ds, model, _ = moons_run
    fig = plots.plot_decision_boundary(model, *ds, resolution=80)
    check_png(fig, tmp_path / "binary.png")
    spirals = ns.datasets.load("spirals", n_samples=150)
    multi = ns.Sequential(ns.Linear(2, 16, rng=0), ns.ReLU(), ns.Linear(16, 3, rng=1))
    ns.fit(multi, *spirals, loss=ns.CrossEntropyLoss(), optimizer="adam", lr=0.02, epochs=50)
    fig = plots.plot_decision_boundary(multi, *spirals, resolution=60, target_names=spirals.target_names)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["0", "1", "2"]
    check_png(fig, tmp_path / "multi.png")


def test_decision_boundary_needs_two_features(moons_run):
    _, model, _ = moons_run
    X, y = ns.datasets.load("iris")
    with pytest.raises(ShapeError, match=r"shape \(n, 2\)"):
        plots.plot_decision_boundary(model, X, y)
    with pytest.raises(ShapeError, match="same, non-zero length"):
        plots.plot_decision_boundary(model, X[:, :2], y[:-1])


def test_confusion_matrix_annotates_counts(tmp_path):
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plots.plot_confusion_matrix(cm, labels=["a", "b", "c"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [str(v) for v in cm.ravel()]
    check_png(fig, tmp_path / "cm.png")
    normed = plots.plot_confusion_matrix(cm, normalize=True)
    assert normed.axes[0].texts[0].get_text() == f"{5 / 6:.2f}"
    with pytest.raises(ShapeError, match="square"):
        plots.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="name each of the 3 classes"):
        plots.plot_confusion_matrix(cm, labels=["a"])


def test_plot_sweep_one_line_per_setting_with_fold_averages(tmp_path):
    rows = [
        {
            "lr": lr,
            "hidden": hidden,
            "fold": f,
            "accuracy": 0.6 + 0.1 * np.log10(lr) / 3 + 0.02 * len(hidden) + 0.01 * f,
        }
        for lr in (0.001, 0.01, 0.1, 1.0)
        for hidden in ([3], [3, 3])
        for f in range(3)
    ]
    fig = plots.plot_sweep(rows, "lr", "accuracy", hue="hidden")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["hidden=[3]", "hidden=[3, 3]"]
    first = ax.lines[0].get_ydata()  # averaged over the 3 folds
    expected = [
        np.mean([r["accuracy"] for r in rows if r["lr"] == lr and r["hidden"] == [3]])
        for lr in (0.001, 0.01, 0.1, 1.0)
    ]
    assert np.allclose(first, expected)
    check_png(fig, tmp_path / "sweep.png")
    categorical = plots.plot_sweep(rows, "hidden", "accuracy")
    assert [t.get_text() for t in categorical.axes[0].get_xticklabels()] == ["[3]", "[3, 3]"]
    check_png(categorical, tmp_path / "sweep_cat.png")
    with pytest.raises(DataError, match=r"row 0 has no 'epochs'"):
        plots.plot_sweep(rows, "epochs", "accuracy")
    with pytest.raises(DataError, match="at least one row"):
        plots.plot_sweep([], "lr", "accuracy")


@pytest.mark.parametrize(
    ("module", "derivative"),
    [
        (ns.Sigmoid(), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
        (ns.Tanh(), lambda z: 1 - np.tanh(z) ** 2),
        (ns.ReLU(), lambda z: (z > 0).astype(float)),
    ],
)
def test_plot_activation_draws_f_and_the_backward_derivative(tmp_path, module, derivative):
    fig = plots.plot_activation(module, x_range=(-4, 4), n=201)
    f_line, d_line = fig.axes[0].lines[:2]
    z = f_line.get_xdata()
    assert np.allclose(d_line.get_ydata(), derivative(z), atol=1e-12)
    check_png(fig, tmp_path / "act.png", min_bytes=5000)


def test_plot_activation_side_by_side_and_errors(tmp_path):
    custom = ns.Activation(
        lambda z: np.maximum(z, 0) + np.sin(z), lambda z: (z > 0) + np.cos(z), name="relu_sin"
    )
    fig = plots.plot_activation([ns.Sigmoid(), ns.LeakyReLU(0.1), custom])
    assert [ax.get_title() for ax in fig.axes] == ["Sigmoid", "LeakyReLU", "relu_sin"]
    check_png(fig, tmp_path / "acts.png")
    with pytest.raises(DTypeError, match="activation Modules"):
        plots.plot_activation(np.tanh)
    with pytest.raises(HyperparameterError, match="x_range"):
        plots.plot_activation(ns.Tanh(), x_range=(2, -2))


def test_plot_network_diagram(tmp_path, moons_run):
    _, model, _ = moons_run
    assert plots.network_layers(model) == [(2, "input"), (8, "tanh"), (1, "sigmoid")]
    fig = plots.plot_network(model)
    assert "2-8-1" in fig.axes[0].get_title()
    check_png(fig, tmp_path / "net.png")
    wide = ns.Sequential(ns.Linear(64, 32, rng=0), ns.ReLU(), ns.Linear(32, 10, rng=1))
    fig = plots.plot_network(wide, max_nodes=12)
    assert sum(t.get_text() == "⋮" for t in fig.axes[0].texts) == 2  # 64 and 32 are truncated, 10 is not
    check_png(fig, tmp_path / "wide.png")


def test_plot_network_rejects_what_it_cannot_draw():
    with pytest.raises(DTypeError, match="Linear layers and activations"):
        plots.plot_network(ns.Sequential(ns.Tanh()))
    with pytest.raises(ShapeError, match="takes 5 inputs"):
        plots.plot_network(ns.Sequential(ns.Linear(2, 3), ns.Linear(5, 1)))


def test_figures_display_as_png_in_jupyter():
    fig = plots.plot_confusion_matrix([[1, 2], [3, 4]])
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_save_figure_rejects_non_figures(tmp_path):
    with pytest.raises(DTypeError, match="matplotlib Figure"):
        plots.save_figure("figure", tmp_path / "x.png")
