"""Evaluation: metrics equal scikit-learn's, cross-validation is seeded and accumulates correctly."""

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score

import nnscratch as ns
from nnscratch.base.errors import DataError, DTypeError, HyperparameterError, LabelError, ShapeError
from nnscratch.evaluation import (
    classification_metrics,
    cross_validate,
    cv_splits,
    evaluate_split,
    fold_seeds,
    make_optimizer,
)


def sk(y_true, y_pred, average, **kw):
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": precision_score(y_true, y_pred, average=average, zero_division=0, **kw),
        "recall": recall_score(y_true, y_pred, average=average, zero_division=0, **kw),
        "f1": f1_score(y_true, y_pred, average=average, zero_division=0, **kw),
    }


def binary_builder(rng):
    return ns.Sequential(ns.Linear(2, 4, rng=rng), ns.Tanh(), ns.Linear(4, 1, rng=rng), ns.Sigmoid())


def multi_builder(rng):
    return ns.Sequential(ns.Linear(2, 8, rng=rng), ns.ReLU(), ns.Linear(8, 3, rng=rng))


# -- metrics -----------------------------------------------------------------------------------
def test_classification_metrics_equal_scikit_learn(rng):
    yb, pb = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    assert classification_metrics(yb, pb) == pytest.approx(sk(yb, pb, "binary"))
    ym, pm = rng.integers(0, 4, 60), rng.integers(0, 4, 60)
    assert classification_metrics(ym, pm) == pytest.approx(sk(ym, pm, "macro"))
    assert classification_metrics(ym, pm, "weighted") == pytest.approx(sk(ym, pm, "weighted"))
    assert classification_metrics(ym, pm, "micro") == pytest.approx(sk(ym, pm, "micro"))
    # a class never seen still counts in the macro average when the labels say so
    labels = [0, 1, 2, 3, 4]
    got = classification_metrics(ym, pm, "macro", labels=labels)
    assert got == pytest.approx(sk(ym, pm, "macro", labels=labels))


def test_classification_metrics_binary_with_other_label_values_uses_the_larger_as_positive():
    y, p = np.array([1, 2, 2, 1, 2]), np.array([1, 2, 1, 1, 2])
    assert classification_metrics(y, p) == pytest.approx(sk(y, p, "binary", pos_label=2))


def test_classification_metrics_errors():
    with pytest.raises(HyperparameterError, match="average must be one of"):
        classification_metrics([0, 1], [0, 1], average="samples")
    with pytest.raises(HyperparameterError, match="at most 2 classes"):
        classification_metrics([0, 1, 2], [0, 1, 2], average="binary")
    with pytest.raises(ShapeError, match="same length"):
        classification_metrics([0, 1], [0])
    with pytest.raises(ShapeError, match="1-D"):
        classification_metrics(np.zeros((2, 2)), np.zeros((2, 2)))


# -- splits and seeds -----------------------------------------------------------------------------
def test_cv_splits_partition_the_data_and_stratify():
    y = np.repeat([0, 1, 2], [20, 30, 50])
    splits = cv_splits(y, folds=5, seed=3)
    tests = np.concatenate([te for _, te in splits])
    assert np.array_equal(np.sort(tests), np.arange(100))
    for tr, te in splits:
        assert np.array_equal(np.bincount(y[te]), [4, 6, 10])
        assert len(np.intersect1d(tr, te)) == 0
    again = cv_splits(y, folds=5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again, strict=True))
    assert not np.array_equal(cv_splits(y, folds=5, seed=4)[0][1], splits[0][1])
    plain = cv_splits(y, folds=4, stratified=False, seed=0)
    assert sorted(len(te) for _, te in plain) == [25, 25, 25, 25]


def test_cv_splits_errors():
    with pytest.raises(HyperparameterError, match="folds must be >= 2"):
        cv_splits([0, 1, 0, 1], folds=1)
    with pytest.raises(DataError, match="more than the number of samples"):
        cv_splits([0, 1, 0], folds=5, stratified=False)
    with pytest.raises(DataError, match="class 1 has 2"):
        cv_splits([0] * 10 + [1] * 2, folds=3)
    with pytest.raises(HyperparameterError, match="seed"):
        cv_splits([0, 1] * 5, folds=2, seed=-1)


def test_every_fold_starts_from_the_same_weights():
    # the seed rule: build_model gets the same generator in every fold, so the folds differ by
    # their data only (scikit-learn's random_state semantics)
    X, y = ns.datasets.load("linear", n_samples=40)
    first_weights = []

    def build(rng):
        model = binary_builder(rng)
        first_weights.append(model.state_dict()["0.weight"].copy())
        return model

    cross_validate(build, X, y, loss=ns.BCELoss(), epochs=1, folds=4, seed=9)
    assert len(first_weights) == 4
    assert all(np.array_equal(w, first_weights[0]) for w in first_weights)
    expected = binary_builder(np.random.default_rng(np.random.SeedSequence(9))).state_dict()["0.weight"]
    assert np.array_equal(first_weights[0], expected)
    assert [s.entropy for s in fold_seeds(9, 4)] == [9] * 4


# -- cross-validation -----------------------------------------------------------------------------
def test_cv_confusion_matrix_sums_to_the_dataset_and_matches_out_of_fold_predictions():
    X, y = ns.datasets.load("xor_easy")
    X, y = np.vstack([X] * 3), np.concatenate([y] * 3)  # 63 points, >= 5 per class per fold
    res = cross_validate(binary_builder, X, y, loss=ns.BCELoss(), lr=1.0, epochs=200, folds=5, seed=1)
    assert res.confusion_matrix.sum() == len(y) == 63
    assert np.array_equal(res.confusion_matrix, confusion_matrix(y, res.y_pred, labels=[0, 1]))
    assert res.confusion_matrix.sum(axis=1).tolist() == np.bincount(y).tolist()
    for fold, (_, te) in zip(res.folds, cv_splits(y, folds=5, seed=1), strict=True):
        expected = sk(y[te], res.y_pred[te], "binary")
        assert {k: fold[k] for k in expected} == pytest.approx(expected)
        assert fold["n_test"] == len(te)
    for key in ("accuracy", "precision", "recall", "f1", "train_accuracy", "test_loss"):
        values = [f[key] for f in res.folds]
        assert res.mean[key] == pytest.approx(np.mean(values))
        assert res.std[key] == pytest.approx(np.std(values))


def test_cv_on_the_linear_set_is_accurate_and_reproducible():
    X, y = ns.datasets.load("linear", n_samples=100, seed=0)
    kwargs = dict(loss=ns.BCELoss(), lr=2.0, epochs=150, folds=5, seed=7)
    a = cross_validate(binary_builder, X, y, **kwargs)
    b = cross_validate(binary_builder, X, y, **kwargs)
    assert a.to_dict(histories=True) == b.to_dict(histories=True)
    assert a.mean["accuracy"] > 0.9
    c = cross_validate(binary_builder, X, y, **{**kwargs, "seed": 8})
    assert c.to_dict() != a.to_dict()
    json.dumps(a.to_dict(histories=True))  # JSON-safe
    assert a.n_folds == 5 and len(a.histories) == 5 and len(a.histories[0]) == 150
    assert "mean" in a.summary() and a.summary().count("\n") == 7


def test_cv_multiclass_with_minibatches_momentum_and_fit_kwargs():
    X, y = ns.datasets.load("gaussians", n_samples=90, noise=1.5, seed=2)
    res = ns.cross_validate(
        multi_builder,
        X,
        y,
        loss=ns.CrossEntropyLoss(),
        optimizer="momentum",
        lr=0.05,
        optimizer_kwargs={"weight_decay": 1e-4},
        epochs=20,
        batch_size=16,
        folds=3,
        seed=0,
        fit_kwargs={"metrics": ("accuracy", "f1")},
    )
    assert res.confusion_matrix.shape == (3, 3) and res.confusion_matrix.sum() == 90
    assert res.labels == [0, 1, 2]
    assert "f1" in res.histories[0]
    for fold, (_, te) in zip(res.folds, cv_splits(y, folds=3, seed=0), strict=True):
        assert fold["f1"] == pytest.approx(f1_score(y[te], res.y_pred[te], average="macro", zero_division=0))
    weighted = ns.cross_validate(
        multi_builder, X, y, loss=ns.CrossEntropyLoss(), epochs=5, folds=3, average="weighted"
    )
    _, te = cv_splits(y, folds=3, seed=0)[0]
    assert weighted.folds[0]["f1"] == pytest.approx(
        f1_score(y[te], weighted.y_pred[te], average="weighted", zero_division=0)
    )


def test_cv_argument_errors():
    X, y = ns.datasets.load("linear", n_samples=30)
    with pytest.raises(DTypeError, match="build_model must be a function"):
        cross_validate(binary_builder(0), X, y, loss=ns.BCELoss())
    with pytest.raises(DTypeError, match="must return an nnscratch Module"):
        cross_validate(lambda rng: "net", X, y, loss=ns.BCELoss(), folds=2)
    with pytest.raises(ShapeError, match="one target per row"):
        cross_validate(binary_builder, X, y[:-1], loss=ns.BCELoss())
    with pytest.raises(HyperparameterError, match=r"fit_kwargs must not repeat the arguments \['epochs'\]"):
        cross_validate(binary_builder, X, y, loss=ns.BCELoss(), folds=2, fit_kwargs={"epochs": 3})
    with pytest.raises(LabelError, match="classification metrics need class targets"):
        cross_validate(
            lambda rng: ns.Sequential(ns.Linear(2, 1, rng=rng)),
            X,
            X[:, 0] * 0.37,
            loss=ns.MSELoss(),
            folds=2,
            stratified=False,
            epochs=1,
        )
    with pytest.raises(DTypeError, match="loss must be"):
        cross_validate(binary_builder, X, y, loss="bce", folds=2)


def test_make_optimizer_names_factories_and_errors():
    model = binary_builder(np.random.default_rng(0))
    opt = make_optimizer(model, "momentum", lr=0.2)
    assert isinstance(opt, ns.SGD) and opt.momentum == 0.9 and opt.lr == 0.2
    assert isinstance(make_optimizer(model, lambda p: ns.Adam(p, lr=1e-3)), ns.Adam)
    with pytest.raises(HyperparameterError, match="unknown optimizer 'lbfgs'"):
        make_optimizer(model, "lbfgs")
    with pytest.raises(DTypeError, match="each fold needs a fresh one"):
        make_optimizer(model, ns.SGD(model.parameters()))
    with pytest.raises(HyperparameterError, match="does not accept"):
        make_optimizer(model, "adam", optimizer_kwargs={"momentum": 0.9})


# -- train/test split ----------------------------------------------------------------------------
def test_evaluate_split_scores_the_test_set_with_scikit_learn():
    ds = ns.datasets.load("moons", n_samples=120, noise=0.2, seed=0)
    train, test = ds.split(0.25, seed=0)
    res = evaluate_split(binary_builder, *train, *test, loss=ns.BCELoss(), lr=1.0, epochs=300, seed=5)
    y_pred = ns.predict(res["model"], test.X)
    assert np.array_equal(res["y_pred"], y_pred)
    assert {k: res[k] for k in ("accuracy", "precision", "recall", "f1")} == pytest.approx(
        sk(test.y, y_pred, "binary")
    )
    train_pred = ns.predict(res["model"], train.X)
    assert res["train_accuracy"] == pytest.approx(accuracy_score(train.y, train_pred))
    assert np.array_equal(res["confusion_matrix"], confusion_matrix(test.y, y_pred))
    assert res["n_train"] == 90 and res["n_test"] == 30 and res["accuracy"] > 0.8
    assert res["test_loss"] == pytest.approx(ns.BCELoss()(res["model"](test.X), test.y))
    again = evaluate_split(binary_builder, *train, *test, loss=ns.BCELoss(), lr=1.0, epochs=300, seed=5)
    assert again["history"].to_dict() == res["history"].to_dict()


def test_evaluate_split_trains_a_given_module_in_place():
    ds = ns.datasets.load("linear", n_samples=60)
    train, test = ds.split(0.5, seed=0)
    model = binary_builder(np.random.default_rng(0))
    before = model.state_dict()["0.weight"].copy()
    res = evaluate_split(model, *train, *test, loss=ns.BCELoss(), epochs=5)
    assert res["model"] is model and not np.array_equal(model.state_dict()["0.weight"], before)


def test_cv_progress_bar_over_folds(capsys):
    X, y = ns.datasets.load("linear", n_samples=30)
    cross_validate(binary_builder, X, y, loss=ns.BCELoss(), epochs=2, folds=3, progress=True)
    err = capsys.readouterr().err
    assert "cross-validation" in err and "3/3" in err
