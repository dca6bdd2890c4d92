"""Datasets: built-ins, CSV/NPZ loading with located errors, preprocessing helpers."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import DataError, HyperparameterError, LabelError, ShapeError, StateError
from nnscratch.data import (
    Dataset,
    Standardizer,
    describe,
    from_csv,
    from_npz,
    list_datasets,
    load,
    one_hot,
    standardize,
    train_test_split,
)

EXPECTED = {
    "xor": (4, 2, "binary"),
    "xor_easy": (21, 2, "binary"),
    "xor_quadrants": (400, 2, "binary"),
    "linear": (100, 2, "binary"),
    "moons": (200, 2, "binary"),
    "circles": (200, 2, "binary"),
    "spirals": (300, 2, "multiclass"),
    "gaussians": (300, 2, "multiclass"),
    "iris": (150, 4, "multiclass"),
    "digits": (1797, 64, "multiclass"),
    "breast_cancer": (569, 30, "binary"),
    "wine": (178, 13, "multiclass"),
}


# -- built-ins -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_builtin_has_its_documented_shape_dtype_and_task(name):
    ds = load(name)
    n, f, task = EXPECTED[name]
    assert ds.X.shape == (n, f) and ds.X.dtype == np.float64
    assert ds.y.shape == (n,) and ds.y.dtype == np.int64
    assert ds.task == task
    assert len(ds.feature_names) == f
    assert set(np.unique(ds.y)) == set(range(ds.n_classes))
    assert len(ds.target_names) == ds.n_classes
    X, y = ds  # unpacks like a tuple
    assert X is ds.X and y is ds.y


def test_list_datasets_names_them_all_and_ns_datasets_is_the_same_api():
    # regression sets, tested below and in test_regression_sets.py
    # regression sets, tested below and in test_regression_sets.py; sequence sets in test_sequences.py
    assert set(list_datasets()) == set(EXPECTED) | {
        "sine",
        "plane",
        "multi_gaussian",
        "digit_sequences",
        "shakespeare",
    }
    assert ns.datasets.load is load and ns.data.from_csv is ns.datasets.from_csv
    assert np.array_equal(ns.datasets.load("xor").X, load("xor").X)


def test_xor_is_the_truth_table():
    X, y = load("xor")
    assert np.array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(int))
    assert {tuple(r) for r in X} == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_xor_easy_is_21_points_on_the_two_diagonals():
    X, y = load("xor_easy")
    main, anti = y == 0, y == 1
    assert main.sum() == 11 and anti.sum() == 10
    assert np.allclose(X[main, 0], X[main, 1])  # main diagonal -> 0
    assert np.allclose(X[anti, 0] + X[anti, 1], 1.0)  # anti-diagonal -> 1
    assert not np.any(np.all(np.isclose(X[anti], 0.5), axis=1))  # the centre is labelled 0 only
    assert np.allclose(np.sort(X[main, 0]), np.arange(11) / 10)


def test_linear_labels_by_x0_greater_than_x1_and_is_seeded():
    X, y = load("linear", n_samples=250, seed=3)
    assert X.shape == (250, 2) and X.min() >= 0 and X.max() <= 1
    assert np.array_equal(y, (X[:, 0] > X[:, 1]).astype(int))
    assert np.array_equal(X, load("linear", n_samples=250, seed=3).X)
    assert not np.array_equal(X, load("linear", n_samples=250, seed=4).X)


def test_moons_and_circles_match_scikit_learn_with_the_same_seed():
    from sklearn.datasets import make_circles, make_moons

    X, y = load("moons", n_samples=150, noise=0.3, seed=7)
    Xs, ys = make_moons(150, noise=0.3, random_state=7)
    assert np.array_equal(X, Xs) and np.array_equal(y, ys)
    X, y = load("circles", n_samples=90, noise=0.05, factor=0.3, seed=1)
    Xs, ys = make_circles(90, noise=0.05, factor=0.3, random_state=1)
    assert np.array_equal(X, Xs) and np.array_equal(y, ys)


def test_spirals_split_samples_over_arms_and_noise_is_seeded():
    ds = load("spirals", n_samples=101, n_classes=4, noise=0.1, seed=5)
    assert np.array_equal(np.bincount(ds.y), [26, 25, 25, 25])
    assert ds.task == "multiclass" and ds.n_classes == 4
    assert np.abs(ds.X).max() <= 1.0 + 1e-12  # radius <= 1
    assert np.array_equal(ds.X, load("spirals", n_samples=101, n_classes=4, noise=0.1, seed=5).X)
    assert load("spirals", n_classes=2).task == "binary"
    with pytest.raises(HyperparameterError, match="n_classes >= 2"):
        load("spirals", n_classes=1)


def test_gaussians_use_given_centres():
    centers = [[-5.0, 0.0], [5.0, 0.0]]
    ds = load("gaussians", n_samples=200, centers=centers, noise=0.5, seed=0)
    assert ds.task == "binary" and ds.n_classes == 2
    for k, c in enumerate(centers):
        assert np.allclose(ds.X[ds.y == k].mean(axis=0), c, atol=0.2)
    assert load("gaussians", n_classes=5, n_features=3).X.shape == (300, 3)
    with pytest.raises(HyperparameterError, match="centers"):
        load("gaussians", centers=[1.0, 2.0])


def test_iris_binary_is_the_homework_subset_and_shuffle_matches_its_code():
    from sklearn.datasets import load_iris

    Xi, yi = load_iris(return_X_y=True)
    ds = load("iris", binary=True)
    assert np.array_equal(ds.X, Xi[:100, :2]) and np.array_equal(ds.y, yi[:100])
    assert ds.feature_names == ["sepal length (cm)", "sepal width (cm)"]
    # Seed 002, verbatim: the shuffle the homework applies before training.
    X, Y = Xi[:100, :2], yi[:100]
    rng = np.random.default_rng(2)
    indices = [i for i in range(100)]
    rng.shuffle(indices)
    shuffled = load("iris", binary=True, shuffle=True)
    assert np.array_equal(shuffled.X, X[indices]) and np.array_equal(shuffled.y, Y[indices])
    assert not np.array_equal(load("iris", binary=True, shuffle=True, seed=3).y, shuffled.y)


def test_digits_scaled_to_unit_interval_and_unscaled_on_request():
    assert load("digits").X.max() == 1.0
    assert load("digits", scale=False).X.max() == 16.0
    assert load("digits", n_class=3).n_classes == 3


def test_load_rejects_unknown_names_and_options_helpfully():
    with pytest.raises(DataError, match=r"unknown dataset 'moon'.*Did you mean 'moons'"):
        load("moon")
    with pytest.raises(DataError, match=r"'xor' has no option 'noise'.*accepts: no options"):
        load("xor", noise=0.1)
    with pytest.raises(DataError, match=r"no option 'n'.*n_samples, noise, seed"):
        load("moons", n=10)
    with pytest.raises(HyperparameterError, match="n_samples"):
        load("linear", n_samples=0)
    assert load("XOR-easy").name == "xor_easy"


def test_describe_gives_summary_options_and_doc():
    info = describe("moons", n_samples=50)
    assert info["n_samples"] == 50 and info["options"]["n_samples"] == 50 and info["options"]["noise"] == 0.2
    assert info["class_counts"] == {"0": 25, "1": 25}
    assert "make_moons" in info["doc"]


def test_dataset_validates_its_fields():
    with pytest.raises(ShapeError, match="2-D"):
        Dataset(np.zeros(3), np.zeros(3))
    with pytest.raises(ShapeError, match="one target per row"):
        Dataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(LabelError, match=">= 0"):
        Dataset(np.zeros((2, 1)), [-1, 0])
    with pytest.raises(ns.NonFiniteError):
        Dataset([[np.nan]], [0])
    reg = Dataset(np.zeros((3, 1)), [0.5, 1.5, 2.0])
    assert reg.task == "regression" and reg.n_classes == 0 and reg.y.dtype == np.float64


def test_dataset_split_is_stratified_and_seeded():
    ds = load("iris")
    train, test = ds.split(0.2, seed=1)
    assert len(train) == 120 and len(test) == 30
    assert np.array_equal(np.bincount(test.y), [10, 10, 10])
    assert np.array_equal(test.X, ds.split(0.2, seed=1)[1].X)
    assert train.target_names == ds.target_names


# -- CSV -------------------------------------------------------------------------------------------
def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_from_csv_with_header_and_named_target(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,1\n")
    ds = from_csv(path, target="label")
    assert np.array_equal(ds.X, [[1, 2], [3, 4], [5, 6]]) and np.array_equal(ds.y, [0, 1, 1])
    assert ds.feature_names == ["a", "b"] and ds.name == "d" and ds.task == "binary"
    # the default finds a column named label/target/y/class, wherever it is
    ds2 = from_csv(write(tmp_path, "e.csv", "Target,a\n1,0.5\n0,0.25\n"))
    assert np.array_equal(ds2.y, [1, 0]) and ds2.feature_names == ["a"]


def test_from_csv_without_header_uses_last_column_or_index(tmp_path):
    path = write(tmp_path, "n.csv", "0.5,1.5,2\n1.5,0.5,0\n\n2.5,2.5,1\n")
    ds = from_csv(path)
    assert ds.task == "multiclass" and np.array_equal(ds.y, [2, 0, 1]) and ds.feature_names == ["x0", "x1"]
    first = from_csv(path, target=0, task="regression")
    assert np.allclose(first.y, [0.5, 1.5, 2.5]) and first.task == "regression"


def test_from_csv_maps_text_and_odd_numeric_labels_to_indices(tmp_path):
    ds = from_csv(write(tmp_path, "s.csv", "x,species\n1,setosa\n2,virginica\n3,setosa\n"))
    assert ds.target_names == ["setosa", "virginica"] and np.array_equal(ds.y, [0, 1, 0])
    pm = from_csv(write(tmp_path, "pm.csv", "x,y\n1,-1\n2,1\n3,1\n"))
    assert pm.target_names == ["-1", "1"] and np.array_equal(pm.y, [0, 1, 1])
    reg = from_csv(write(tmp_path, "r.csv", "x,y\n1,0.5\n2,1.25\n"))
    assert reg.task == "regression" and np.allclose(reg.y, [0.5, 1.25])


def test_from_csv_with_separate_x_and_y_files(tmp_path):
    xp = write(tmp_path, "X.csv", "f1,f2\n0,1\n1,0\n1,1\n")
    yp = write(tmp_path, "Y.csv", "1\n1\n0\n")
    ds = from_csv(xp, y_path=yp)
    assert ds.X.shape == (3, 2) and np.array_equal(ds.y, [1, 1, 0]) and ds.feature_names == ["f1", "f2"]


@pytest.mark.parametrize(
    ("files", "kwargs", "pattern"),
    [
        ({}, {}, r"missing\.csv: no such file"),
        ({"d.csv": ""}, {}, r"d\.csv is empty"),
        ({"d.csv": "\n\n"}, {}, r"d\.csv is empty"),
        ({"d.csv": "a,b,label\n"}, {}, r"header line but no data rows"),
        (
            {"d.csv": "a,b,label\n1,2,0\n"},
            {"target": "class"},
            r"no column named 'class'\. Columns: a, b, label",
        ),
        ({"d.csv": "1,2,0\n3,4,1\n"}, {"target": "label"}, r"no header line, so target='label'"),
        ({"d.csv": "1,2,0\n3,4,1\n"}, {"target": 5}, r"index 5 is out of range for 3 columns"),
        ({"d.csv": "a,b,label\n1,2,0\n3,4\n"}, {}, r"line 3: expected 3 values .*found 2"),
        (
            {"d.csv": "a,b,label\n1,2,0\n3,x,1\n"},
            {},
            r"line 3, column 2 \('b'\): cannot read 'x' as a number",
        ),
        ({"d.csv": "a,b,label\n1,,0\n"}, {}, r"line 2, column 2 \('b'\): empty cell"),
        ({"d.csv": "a,b,label\n1,2,0\n1,NaN,1\n"}, {}, r"line 3, column 2 \('b'\): missing value 'NaN'"),
        ({"d.csv": "a,b,label\n1,inf,0\n"}, {}, r"column 2 \('b'\): non-finite value 'inf'"),
        ({"d.csv": "a,b,label\n1,2,\n"}, {}, r"line 2, column 3 \('label'\): empty cell"),
        ({"d.csv": "a\n1\n2\n"}, {}, r"single column"),
        (
            {"d.csv": "a,b\n1,2\n3,4\n", "y.csv": "0\n1\n0\n"},
            {"y_path": "y.csv"},
            r"2 data rows but .*y\.csv has 3",
        ),
        (
            {"d.csv": "a,b\n1,2\n", "y.csv": "label\nx1\n"},
            {"y_path": "y.csv", "task": "regression"},
            r"cannot read 'x1'",
        ),
    ],
)
def test_from_csv_errors_name_the_file_line_and_column(tmp_path, files, kwargs, pattern):
    for name, text in files.items():
        write(tmp_path, name, text)
    if "y_path" in kwargs:
        kwargs = {**kwargs, "y_path": tmp_path / kwargs["y_path"]}
    path = tmp_path / ("d.csv" if files else "missing.csv")
    with pytest.raises(DataError, match=pattern):
        from_csv(path, **kwargs)


def test_from_csv_line_numbers_count_blank_lines(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,label\n\n1,2,0\n\n3,?,1\n")
    with pytest.raises(DataError, match=re.escape("d.csv, line 5, column 2 ('b'): missing value '?'")):
        from_csv(path)


def test_from_csv_semicolon_delimiter_and_forced_header(tmp_path):
    path = write(tmp_path, "d.csv", "1;2;0\n3;4;1\n")
    ds = from_csv(path, delimiter=";", header=False)
    assert ds.X.shape == (2, 2)
    with pytest.raises(DataError, match="header line but no data rows"):
        from_csv(write(tmp_path, "one.csv", "1;2;0\n"), delimiter=";", header=True)


# -- NPZ -----------------------------------------------------------------------------------------
def test_from_npz_round_trip_and_custom_keys(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, features=np.arange(6.0).reshape(3, 2), labels=np.array([[2], [1], [2]]))
    ds = from_npz(path, x_key="features", y_key="labels")
    assert ds.X.shape == (3, 2) and np.array_equal(ds.y, [1, 0, 1]) and ds.target_names == ["1", "2"]


@pytest.mark.parametrize(
    ("arrays", "pattern"),
    [
        ({"X": np.zeros((3, 2))}, r"no array named 'y'\. Arrays in the file: X"),
        ({"X": np.array([{"a": 1}], dtype=object), "y": np.zeros(1)}, r"'X' holds Python objects"),
        ({"X": np.zeros((3, 2)), "y": np.zeros(2)}, r"'X' has 3 rows but 'y' has 2"),
        (
            {"X": np.array([[1.0, np.nan]]), "y": np.zeros(1)},
            r"'X' holds NaN or inf \(first at index \(0, 1\)\)",
        ),
        ({"X": np.array(1.0), "y": np.zeros(1)}, r"'X' must be 2-D"),  # (N, H, W) images are flattened
        ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, r"'X' must be numeric"),
    ],
)
def test_from_npz_errors(tmp_path, arrays, pattern):
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=pattern):
        from_npz(path)


def test_from_npz_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        from_npz(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip archive at all")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        from_npz(bad)


# -- preprocessing -------------------------------------------------------------------------------
def test_standardize_uses_reference_statistics_and_handles_constant_columns(rng):
    X = rng.normal(3.0, 2.0, size=(50, 3))
    X[:, 2] = 7.0
    Z = standardize(X)
    assert np.allclose(Z[:, :2].mean(axis=0), 0) and np.allclose(Z[:, :2].std(axis=0), 1)
    assert np.all(Z[:, 2] == 0)
    X_test = rng.normal(size=(5, 3))
    s = Standardizer().fit(X)
    assert np.allclose(standardize(X_test, reference=X), s.transform(X_test))
    assert np.allclose(s.inverse_transform(s.transform(X_test)), X_test)
    assert np.allclose(Standardizer.from_dict(s.to_dict()).transform(X_test), s.transform(X_test))
    ds = standardize(load("wine"))
    assert isinstance(ds, Dataset) and np.allclose(ds.X.mean(axis=0), 0)


def test_standardizer_errors():
    with pytest.raises(StateError, match="before fit"):
        Standardizer().transform([[1.0]])
    with pytest.raises(ShapeError, match="fitted on 2 features"):
        Standardizer().fit(np.ones((3, 2))).transform(np.ones((3, 3)))
    with pytest.raises(DataError, match="empty"):
        Standardizer().fit(np.ones((0, 2)))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=30))
def test_one_hot_round_trips_through_argmax(labels):
    Y = one_hot(labels)
    assert Y.shape == (len(labels), max(labels) + 1)
    assert np.array_equal(Y.argmax(axis=1), labels) and np.all(Y.sum(axis=1) == 1)


def test_one_hot_errors_and_n_classes():
    assert one_hot([0, 1], n_classes=4).shape == (2, 4)
    with pytest.raises(LabelError, match="n_classes must be"):
        one_hot([0, 3], n_classes=3)
    with pytest.raises(LabelError, match=">= 0"):
        one_hot([-1, 0])
    with pytest.raises(LabelError, match="whole-number"):
        one_hot([0.5, 1.0])
    with pytest.raises(ShapeError, match="1-D"):
        one_hot(np.zeros((2, 2)))


def test_train_test_split_is_seeded_and_stratifies():
    X, y = load("iris")
    a = train_test_split(X, y, test_size=0.2, seed=4, stratify=True)
    b = train_test_split(X, y, test_size=0.2, seed=4, stratify=True)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert np.array_equal(np.bincount(a[3]), [10, 10, 10])
    with pytest.raises(ShapeError, match="same number of samples"):
        train_test_split(X, y[:-1])
    with pytest.raises(HyperparameterError, match="test_size"):
        train_test_split(X, y, test_size=1.5)
    with pytest.raises(DataError, match="cannot split"):
        train_test_split(np.zeros((4, 1)), [0, 0, 0, 1], test_size=0.5, stratify=True)


def test_sine_windows_are_the_series_and_its_next_value():
    ds = load("sine", n_samples=50, window=5, noise=0.1, seed=3)
    series = ns.data.sine_series(55, 0.1, 3)
    assert ds.task == "regression" and ds.X.shape == (50, 5) and ds.y.dtype == np.float64
    np.testing.assert_array_equal(ds.X[7], series[7:12])
    assert ds.y[7] == series[12] and ds.feature_names == ["t-5", "t-4", "t-3", "t-2", "t-1"]
    np.testing.assert_array_equal(load("sine", seed=3).X, load("sine", seed=3).X)
    assert not np.array_equal(load("sine", seed=3).y, load("sine", seed=4).y)
    clean = load("sine", n_samples=50, window=5, noise=0.0)
    t = np.arange(5, 55)
    np.testing.assert_allclose(clean.y, np.sin(2 * np.pi * t / 50) + 0.5 * np.sin(2 * np.pi * t / 17))


@pytest.mark.parametrize("bad", [{"window": 0}, {"n_samples": -1}, {"noise": -0.1}])
def test_sine_rejects_bad_options(bad):
    with pytest.raises(HyperparameterError, match=next(iter(bad))):
        load("sine", **bad)
