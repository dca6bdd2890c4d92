"""nnscratch.sklearn estimators: scikit-learn's own estimator checks, and use in its tools."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("sklearn")  # the `experiments` extra

from sklearn.datasets import make_classification, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, LabelError
from nnscratch.sklearn import MLPClassifier, MLPRegressor

# Like scikit-learn's own MLP, ours warns when max_iter ends training before convergence; these
# tests train briefly on purpose (test_stopping_rules checks the warning itself with pytest.warns).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def moons():
    return make_moons(n_samples=200, noise=0.15, random_state=0)


def small(cls=MLPClassifier, **kw):
    params = {"hidden_layer_sizes": (16,), "learning_rate_init": 0.02, "max_iter": 300, "random_state": 0}
    return cls(**{**params, **kw})


def test_pipeline_cross_val_score_and_grid_search(moons):
    X, y = moons
    pipe = make_pipeline(StandardScaler(), small(activation="tanh"))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.9
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), small(max_iter=100)),
        {"mlpclassifier__hidden_layer_sizes": [(2,), (16,)], "mlpclassifier__alpha": [1e-4, 1e-2]},
        cv=2,
    )
    grid.fit(X, y)
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] == (16,)
    assert grid.score(X, y) > 0.9


def test_fitted_attributes_follow_scikit_learn(moons):
    X, y = moons
    labels = np.array(["cat", "dog"])[y]
    ours = small(hidden_layer_sizes=(5, 3)).fit(X, labels)
    theirs = SkMLPClassifier(hidden_layer_sizes=(5, 3), max_iter=2000, random_state=0).fit(X, labels)
    assert list(ours.classes_) == list(theirs.classes_) == ["cat", "dog"]
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.n_layers_ == theirs.n_layers_ == 4
    assert ours.n_outputs_ == theirs.n_outputs_ == 1
    assert ours.out_activation_ == theirs.out_activation_ == "logistic"
    assert ours.n_features_in_ == 2
    assert len(ours.loss_curve_) == ours.n_iter_ <= 300
    assert ours.best_loss_ == min(ours.loss_curve_) and ours.t_ == ours.n_iter_ * len(X)
    proba = ours.predict_proba(X)
    assert proba.shape == (200, 2) and np.allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(np.exp(ours.predict_log_proba(X)), proba, rtol=1e-10)
    assert set(ours.predict(X)) == {"cat", "dog"}
    assert ours.score(X, labels) > 0.9
    # the trained network is an ordinary nnscratch model: it saves and reloads
    buf = io.BytesIO()
    ns.save(ours.model_, buf)
    assert np.array_equal(ns.load(io.BytesIO(buf.getvalue()))(X), ours.model_(X))


def test_multiclass_uses_a_softmax_output():
    X, y = make_classification(n_samples=150, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
                               random_state=1)  # fmt: skip
    clf = small().fit(X, y)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    assert clf.predict_proba(X).shape == (150, 3)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-10)
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("solver", ["sgd", "momentum", "adam", "rmsprop"])
def test_every_solver_learns(moons, solver):
    X, y = moons
    lr = {"sgd": 0.05, "momentum": 0.05, "adam": 0.02, "rmsprop": 0.01}[solver]
    clf = small(solver=solver, learning_rate_init=lr, hidden_layer_sizes=(16, 16))
    clf.fit(X, y)
    assert clf.score(X, y) > 0.9


def test_stopping_rules(moons):
    X, y = moons
    clf = small(max_iter=1000, tol=1e-3, n_iter_no_change=5).fit(X, y)
    assert clf.n_iter_ < 1000  # stopped by the tol rule, hence no warning
    early = small(max_iter=1000, early_stopping=True, validation_fraction=0.2, n_iter_no_change=5).fit(X, y)
    assert early.n_iter_ < 1000 and early.best_loss_ is None
    assert len(early.validation_scores_) == early.n_iter_
    assert early.best_validation_score_ == max(early.validation_scores_)
    assert early.score(X, y) > 0.8
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        small(max_iter=3).fit(X, y)


def test_regressor_single_and_multi_output(rng):
    X = rng.uniform(-2, 2, size=(200, 2))
    y = np.column_stack([np.sin(X[:, 0]) + X[:, 1], X[:, 0] * X[:, 1]])
    reg = small(MLPRegressor, hidden_layer_sizes=(32,), max_iter=500).fit(X, y)
    assert reg.predict(X).shape == (200, 2) and reg.n_outputs_ == 2 and reg.out_activation_ == "identity"
    assert reg.score(X, y) > 0.9
    single = small(MLPRegressor, hidden_layer_sizes=(32,), max_iter=500).fit(X, y[:, 0])
    assert single.predict(X).shape == (200,) and single.score(X, y[:, 0]) > 0.95
    assert (
        cross_val_score(make_pipeline(StandardScaler(), small(MLPRegressor)), X, y[:, 0], cv=3).mean() > 0.8
    )


def test_random_state_makes_training_reproducible(moons):
    X, y = moons
    a = small(max_iter=20).fit(X, y).predict_proba(X)
    b = small(max_iter=20).fit(X, y).predict_proba(X)
    c = small(max_iter=20, random_state=1).fit(X, y).predict_proba(X)
    d = small(max_iter=20, random_state=np.random.RandomState(0)).fit(X, y).predict_proba(X)
    e = small(max_iter=20, random_state=np.random.default_rng(0)).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert d.shape == e.shape == a.shape


def test_verbose_prints_the_loss(moons, capsys):
    X, y = moons
    small(max_iter=400, verbose=True, tol=1e-2).fit(X, y)
    out = capsys.readouterr().out
    assert out.startswith("Iteration 1, loss = ") and "Stopping" in out


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"activation": "softplus"}, "activation"),
        ({"solver": "lbfgs"}, "optimizer"),  # the name tables' message: "unknown optimizer 'lbfgs'"
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": "wide"}, "hidden_layer_sizes"),
        ({"batch_size": 0}, "batch_size"),
        ({"alpha": -1.0}, "alpha"),
        ({"learning_rate_init": 0}, "learning_rate_init"),
        ({"max_iter": 1.5}, "max_iter"),
        ({"momentum": 2.0}, "momentum"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"beta_1": 1.0}, "beta_1"),
    ],
)
def test_bad_parameters_are_refused_at_fit(moons, params, name):
    X, y = moons
    clf = MLPClassifier(**params)  # construction never validates (scikit-learn's rule)
    with pytest.raises(HyperparameterError, match=rf"{name}.*Received: {name}="):
        clf.fit(X, y)


def test_one_class_is_refused(moons):
    X, _ = moons
    with pytest.raises(LabelError, match="1 class"):
        MLPClassifier().fit(X, np.zeros(len(X)))
