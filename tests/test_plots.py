"""Plots render headless to PNG files with real content; bad input gets clear errors."""

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.collections import PathCollection
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


def data_boxes(fig):
    """The window extents of a figure's data panels (colour bars left out) and its legends."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_label() != "<colorbar>"]
    legends = [leg.get_window_extent(renderer) for leg in fig.legends]
    legends += [ax.get_legend().get_window_extent(renderer) for ax in fig.axes if ax.get_legend()]
    return panels, legends


def assert_legends_off_the_data(fig):
    panels, legends = data_boxes(fig)
    assert legends, "the figure has no legend"
    for legend in legends:
        assert not any(legend.overlaps(panel) for panel in panels)


def test_plot_history_draws_train_and_validation_curves(tmp_path, moons_run):
    _, _, history = moons_run
    fig = plots.plot_history(history, metrics=("loss", "accuracy", "f1"))
    assert len(fig.axes) == 3
    loss_ax = fig.axes[0]
    assert [line.get_label() for line in loss_ax.lines] == ["train loss", "validation loss"]
    assert np.allclose(loss_ax.lines[0].get_ydata(), history["loss"])
    assert_legends_off_the_data(fig)
    check_png(fig, tmp_path / "history.png")
    check_png(
        plots.plot_history(history.to_dict(), "loss", logy=True), tmp_path / "from_dict"
    )  # suffix added


HISTORY = {
    "epoch": [1, 2, 3],
    "loss": [30.0, 20.0, 12.0],
    "accuracy": [0.5, 0.7, 0.8],
    "val_loss": [9.0, 7.0, 6.0],
    "val_accuracy": [0.4, 0.6, 0.7],
    "test_loss": [4.0, 3.0, 2.5],
    "test_accuracy": [0.45, 0.55, 0.75],
}


def test_plot_history_puts_train_validation_and_test_in_one_panel_per_metric():
    fig = plots.plot_history(HISTORY, ("loss", "accuracy"))
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train loss", "validation loss", "test loss"]
    assert [line.get_label() for line in acc_ax.lines] == [
        "train accuracy",
        "validation accuracy",
        "test accuracy",
    ]
    assert np.allclose(loss_ax.lines[2].get_ydata(), HISTORY["test_loss"])
    styles = {(ln.get_color(), ln.get_linestyle(), ln.get_marker()) for ln in loss_ax.lines}
    assert len(styles) == 3  # each part of the data has its own colour, line style and marker
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["train", "validation", "test"]
    assert_legends_off_the_data(fig)
    for ax in fig.axes:  # three epochs: a plain locator would put ticks at 1.25, 1.5, ...
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert ax.get_xlabel() == "epoch"


def test_plot_history_draws_summed_losses_per_sample():
    per_sample = {"loss": 60, "val_loss": 20, "test_loss": 10}
    fig = plots.plot_history(HISTORY, ("loss", "accuracy"), per_sample=per_sample)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss per sample" and acc_ax.get_ylabel() == "accuracy"
    for line, key in zip(loss_ax.lines, ("loss", "val_loss", "test_loss"), strict=True):
        assert np.allclose(line.get_ydata(), np.array(HISTORY[key]) / per_sample[key])
    assert np.allclose(acc_ax.lines[0].get_ydata(), HISTORY["accuracy"])  # not a loss: untouched
    with pytest.raises(HyperparameterError, match="Missing: test_loss"):
        plots.plot_history(HISTORY, "loss", per_sample={"loss": 60, "val_loss": 20})
    with pytest.raises(HyperparameterError, match=r"per_sample\['loss'\]=0"):
        plots.plot_history(HISTORY, "loss", per_sample={"loss": 0})


def test_plot_runs_overlays_runs_with_their_held_out_curves():
    other = {k: [v * 1.1 for v in vals] if k != "epoch" else vals for k, vals in HISTORY.items()}
    fig = plots.plot_runs([("fold 1", HISTORY), ("fold 2", other)], "loss", title="folds")
    ax = fig.axes[0]
    assert len(ax.lines) == 6  # train, validation and test of each fold
    assert {ln.get_color() for ln in ax.lines[:3]} == {"C0"} and ax.lines[3].get_color() == "C1"
    assert ax.lines[0].get_marker() != ax.lines[3].get_marker()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "fold 1",
        "fold 2",
        "train",
        "validation",
        "test",
    ]
    assert_legends_off_the_data(fig)
    scaled = plots.plot_runs(
        [("a", HISTORY)], "loss", per_sample=[{"loss": 60, "val_loss": 20, "test_loss": 10}]
    )
    assert scaled.axes[0].get_ylabel() == "loss per sample"
    assert np.allclose(scaled.axes[0].lines[1].get_ydata(), np.array(HISTORY["val_loss"]) / 20)
    with pytest.raises(HyperparameterError, match="has no 'f1'"):
        plots.plot_runs([("a", HISTORY)], "f1")


def test_plot_history_unknown_metric():
    h = ns.History()
    h.append(1, loss=1.0)
    with pytest.raises(HyperparameterError, match=r"no 'f1'\. Recorded: loss"):
        plots.plot_history(h, ("f1",))


def misclassified_marks(ax):
    """The points drawn with the "misclassified" cross."""
    (marks,) = [c for c in ax.collections if c.get_label() == "misclassified"]
    return marks.get_offsets()


def test_decision_boundary_binary_and_multiclass(tmp_path, moons_run):
    ds, model, _ = moons_run
    fig = plots.plot_decision_boundary(model, *ds, resolution=80)
    check_png(fig, tmp_path / "binary.png")
    spirals = ns.datasets.load("spirals", n_samples=150)
    multi = ns.Sequential(ns.Linear(2, 16, rng=0), ns.ReLU(), ns.Linear(16, 3, rng=1))
    ns.fit(multi, *spirals, loss=ns.CrossEntropyLoss(), optimizer="adam", lr=0.02, epochs=50)
    fig = plots.plot_decision_boundary(multi, *spirals, resolution=60, target_names=spirals.target_names)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["class 0", "class 1", "class 2", "misclassified"]
    wrong = ns.predict(multi, spirals.X) != spirals.y
    assert np.allclose(misclassified_marks(fig.axes[1]), spirals.X[wrong])
    check_png(fig, tmp_path / "multi.png")


def test_decision_boundary_shows_ground_truth_beside_prediction(moons_run):
    ds, model, _ = moons_run
    fig = plots.plot_decision_boundary(model, *ds, resolution=40)
    truth_ax, pred_ax = fig.axes[:2]
    assert "ground truth" in truth_ax.get_title() and "prediction" in pred_ax.get_title()
    wrong = ns.predict(model, ds.X) != ds.y
    assert 0 < wrong.sum() < len(ds.y)
    assert np.allclose(misclassified_marks(pred_ax), ds.X[wrong])
    assert f"{wrong.sum()} of {len(ds.y)} misclassified" in pred_ax.get_title()
    # the left panel shows the true labels: its points, by colour, are the classes of y
    truth_points = np.vstack([c.get_offsets() for c in truth_ax.collections])
    assert len(truth_points) == len(ds.y)
    assert_legends_off_the_data(fig)
    # given predicted labels (the experiment's own rule), those are what is marked
    y_pred = ds.y.copy()
    y_pred[:3] = 1 - y_pred[:3]
    fig = plots.plot_decision_boundary(model, *ds, resolution=40, y_pred=y_pred)
    assert np.allclose(misclassified_marks(fig.axes[1]), ds.X[:3])
    with pytest.raises(ShapeError, match="one label per row"):
        plots.plot_decision_boundary(model, *ds, resolution=40, y_pred=y_pred[:5])


def test_plot_dataset_scatters_each_class_with_its_name(tmp_path):
    ds = ns.datasets.load("moons", n_samples=40, seed=0)
    fig = plots.plot_dataset(ds)
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    assert sum(len(c.get_offsets()) for c in ax.collections) == 40
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ds.target_names
    assert (ax.get_xlabel(), ax.get_ylabel()) == tuple(ds.feature_names)
    assert "moons" in ax.get_title()
    assert_legends_off_the_data(fig)
    check_png(fig, tmp_path / "moons.png", min_bytes=5000)
    from_arrays = plots.plot_dataset(ds.X, ds.y, target_names=["a", "b"], title="mine")
    assert [t.get_text() for t in from_arrays.axes[0].get_legend().get_texts()] == ["a", "b"]
    assert from_arrays.axes[0].get_title() == "mine"
    X, y = ns.datasets.load("iris")
    with pytest.raises(ShapeError, match=r"shape \(n, 2\)"):
        plots.plot_dataset(X, y)


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
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["hidden=[3]", "hidden=[3, 3]"]
    assert_legends_off_the_data(fig)
    first = ax.lines[0].get_ydata()  # averaged over the 3 folds
    expected = [
        np.mean([r["accuracy"] for r in rows if r["lr"] == lr and r["hidden"] == [3]])
        for lr in (0.001, 0.01, 0.1, 1.0)
    ]
    assert np.allclose(first, expected)
    check_png(fig, tmp_path / "sweep.png")
    categorical = plots.plot_sweep(rows, "hidden", "accuracy")
    assert [t.get_text() for t in categorical.axes[0].get_xticklabels()] == ["[3]", "[3, 3]"]
    assert categorical.axes[0].lines[0].get_linestyle() == "None"  # points, no line between categories
    check_png(categorical, tmp_path / "sweep_cat.png")
    with pytest.raises(DataError, match=r"row 0 has no 'epochs'"):
        plots.plot_sweep(rows, "epochs", "accuracy")
    with pytest.raises(DataError, match="at least one row"):
        plots.plot_sweep([], "lr", "accuracy")


def test_plot_sweep_one_panel_per_facet_with_every_series_visible():
    rows = [
        {
            "data.dataset": data,
            "lr": lr,
            "hidden": hidden,
            "seed": seed,
            "accuracy": 0.5 + lr / 10 + 0.01 * seed,
        }
        for data in ("moons", "xor", "circles")
        for lr in (0.1, 0.5, 1.0)
        for hidden in ("[3]", "[8]")  # equal results: the two series lie on top of each other
        for seed in range(3)
    ]
    fig = plots.plot_sweep(rows, "lr", "accuracy", "hidden", facet="data.dataset")
    assert [ax.get_title() for ax in fig.axes] == [
        "data.dataset = moons",
        "data.dataset = xor",
        "data.dataset = circles",
    ]
    for ax in fig.axes:
        first, second = ax.lines[0], ax.lines[3]  # each errorbar adds its data line and two caps
        assert np.allclose(first.get_ydata(), second.get_ydata())
        assert first.get_marker() != second.get_marker()
        assert first.get_linestyle() != second.get_linestyle()
        assert first.get_markerfacecolor() == "none"  # hollow: the shape underneath shows through
        expected = [np.mean([0.5 + lr / 10 + 0.01 * s for s in range(3)]) for lr in (0.1, 0.5, 1.0)]
        assert np.allclose(first.get_ydata(), expected)  # the seeds of a setting averaged
    assert_legends_off_the_data(fig)
    by_name = plots.plot_sweep(rows, "data.dataset", "accuracy", "lr")
    ax = by_name.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["moons", "xor", "circles"]
    data_lines = [ln for ln in ax.lines if ln.get_marker() not in ("_", "None", None, "")]
    assert len(data_lines) == 3 and all(ln.get_linestyle() == "None" for ln in data_lines)
    assert len({tuple(ln.get_xdata()) for ln in data_lines}) == 3  # side by side, not on top
    with pytest.raises(DataError, match=r"row 0 has no 'optimizer'"):
        plots.plot_sweep(rows, "lr", "accuracy", facet="optimizer")


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
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:3] == ["input features", "tanh units", "sigmoid units"]
    assert "positive weight" in legend
    nodes = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]  # one per layer
    assert [len(c.get_offsets()) for c in nodes] == [2, 8, 1]
    fills = [tuple(c.get_facecolor()[0]) for c in nodes]
    assert len(set(fills)) == 3  # input, tanh and sigmoid nodes each in their own colour
    assert_legends_off_the_data(fig)
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
