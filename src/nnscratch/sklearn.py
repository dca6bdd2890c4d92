"""scikit-learn estimators on nnscratch networks: ``MLPClassifier`` and ``MLPRegressor``.

They follow scikit-learn's ``MLPClassifier``/``MLPRegressor`` (same parameter names, ``classes_``,
``loss_curve_``, ``n_iter_``, ``best_loss_``, ``validation_scores_``, ``coefs_``...) but train an
:class:`nnscratch.Sequential` with :func:`nnscratch.fit`, so they drop into ``Pipeline``,
``GridSearchCV`` and ``cross_val_score``::

    from sklearn.model_selection import cross_val_score
    from nnscratch.sklearn import MLPClassifier
    cross_val_score(MLPClassifier(hidden_layer_sizes=(16,), random_state=0), X, y, cv=5)

Differences from scikit-learn: ``alpha`` is the optimizer's L2 ``weight_decay`` (added as
``alpha * w`` to every gradient, biases included — scikit-learn scales it by ``1/batch_size`` and
skips biases); the solvers are ``"sgd"`` (with ``momentum``/``nesterovs_momentum``), ``"momentum"``
(heavy-ball SGD), ``"adam"``, ``"adamw"`` and ``"rmsprop"`` — no ``"lbfgs"`` and a constant
learning rate; ``activation`` and ``solver`` take the names of :mod:`nnscratch.engine.names`
(``"logistic"`` is ``"sigmoid"`` there, and every other activation is accepted too);
the regression loss is ``L2Loss(reduction="mean")`` = ½·Σ_k (y - ŷ)² averaged over samples.
The fitted network is ``model_`` (save it with :func:`nnscratch.save`).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from nnscratch.base.errors import HyperparameterError, LabelError
from nnscratch.engine.functional import log_softmax, softmax
from nnscratch.engine.layers import Linear, Sequential
from nnscratch.engine.losses import BCEWithLogitsLoss, CrossEntropyLoss, L2Loss, Loss
from nnscratch.engine.names import ACTIVATION_NAMES, OPTIMIZER_NAMES, make_optimizer
from nnscratch.engine.names import activation as make_activation
from nnscratch.engine.optim.optimizers import Optimizer
from nnscratch.training.callbacks import Callback, FitState
from nnscratch.training.loop import fit


def _check(ok: bool, name: str, expected: str, value: Any) -> None:
    if not ok:
        raise HyperparameterError(f"{name} must be {expected}. Received: {name}={value!r}")


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)


class _Stopper(Callback):
    """scikit-learn's stopping rule: stop when the training loss (or, with early stopping, the
    validation score) has not improved by ``tol`` for more than ``n_iter_no_change`` epochs."""

    def __init__(self, est: _BaseMLP, validation: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.est, self.validation = est, validation
        self.best_loss, self.best_score = np.inf, -np.inf
        self.best_state: dict[str, np.ndarray] | None = None
        self.scores: list[float] = []
        self.no_improvement = 0
        self.converged = False

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        est, loss = self.est, logs["loss"]
        if self.validation is not None:
            score = est._score_model(state.model, *self.validation)
            self.scores.append(score)
            self.no_improvement = self.no_improvement + 1 if score < self.best_score + est.tol else 0
            if score > self.best_score:
                self.best_score, self.best_state = score, state.model.state_dict()
        else:
            self.no_improvement = self.no_improvement + 1 if loss > self.best_loss - est.tol else 0
            self.best_loss = min(self.best_loss, loss)
        if est.verbose:
            extra = f", validation score = {self.scores[-1]:.8f}" if self.scores else ""
            print(f"Iteration {state.epoch}, loss = {loss:.8f}{extra}")
        if self.no_improvement > est.n_iter_no_change:
            self.converged = state.stop_training = True
            if est.verbose:
                print(
                    f"Stopping: no improvement of at least tol={est.tol} for {est.n_iter_no_change} epochs."
                )


class _BaseMLP(BaseEstimator):
    """Shared parameters, validation and training of the two estimators."""

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate_init: float = 0.001,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # -- hooks for the subclasses ------------------------------------------------------------------
    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int, Loss]:
        raise NotImplementedError

    def _score_model(self, model: Sequential, X: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    # -- fitting -----------------------------------------------------------------------------------
    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if _is_int(sizes) else sizes
        try:
            sizes = tuple(sizes)
        except TypeError:
            sizes = None
        _check(
            sizes is not None and all(_is_int(s) and s > 0 for s in sizes),
            "hidden_layer_sizes",
            "a positive int or a sequence of positive ints",
            self.hidden_layer_sizes,
        )
        return tuple(int(s) for s in sizes)

    def _validate_params(self) -> None:
        ACTIVATION_NAMES.entry(self.activation)  # an unknown name: the names table's error
        OPTIMIZER_NAMES.entry(self.solver)
        rules = {
            "alpha": (_is_real, lambda v: v >= 0, "a number >= 0"),
            "tol": (_is_real, lambda v: v >= 0, "a number >= 0"),
            "momentum": (_is_real, lambda v: 0 <= v <= 1, "in [0, 1]"),
            "learning_rate_init": (_is_real, lambda v: v > 0, "a number > 0"),
            "epsilon": (_is_real, lambda v: v > 0, "a number > 0"),
            "beta_1": (_is_real, lambda v: 0 <= v < 1, "in [0, 1)"),
            "beta_2": (_is_real, lambda v: 0 <= v < 1, "in [0, 1)"),
            "validation_fraction": (_is_real, lambda v: 0 < v < 1, "in (0, 1)"),
            "max_iter": (_is_int, lambda v: v >= 1, "an int >= 1"),
            "n_iter_no_change": (_is_int, lambda v: v >= 1, "an int >= 1"),
        }
        for name, (kind, in_range, expected) in rules.items():
            value = getattr(self, name)
            _check(kind(value) and in_range(value), name, expected, value)
        bs = self.batch_size
        _check(bs == "auto" or (_is_int(bs) and bs >= 1), "batch_size", "'auto' or an int >= 1", bs)

    def _optimizer(self, model: Sequential) -> Optimizer:
        lr, wd = self.learning_rate_init, self.alpha
        solver = OPTIMIZER_NAMES.canonical(self.solver)
        kwargs: dict[str, Any] = {"lr": lr, "weight_decay": wd}
        if solver in ("adam", "adamw"):
            kwargs.update(betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        elif solver == "rmsprop":
            kwargs.update(eps=self.epsilon)
        else:  # sgd (scikit-learn's: with momentum, Nesterov's by default) or heavy-ball momentum
            nesterov = solver == "sgd" and self.nesterovs_momentum and self.momentum > 0
            kwargs.update(momentum=self.momentum, nesterov=nesterov)
        return make_optimizer(solver, model.parameters(), **kwargs)

    def _build(self, n_in: int, n_out: int, rng: np.random.Generator) -> Sequential:
        sizes = [n_in, *self._hidden_sizes(), n_out]
        layers: list[Any] = []
        for i in range(len(sizes) - 1):
            layers.append(Linear(sizes[i], sizes[i + 1], init="xavier_uniform", rng=rng))
            if i < len(sizes) - 2:
                layers.append(make_activation(self.activation))
        return Sequential(*layers)

    def _seeds(self) -> list[np.random.Generator]:
        """Independent generators for the initial weights, the shuffling and the validation split."""
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            entropy = int(rs.integers(2**63))
        elif rs is None or _is_int(rs):
            entropy = None if rs is None else int(rs)
        else:
            entropy = int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        return [np.random.default_rng(s) for s in np.random.SeedSequence(entropy).spawn(3)]

    def _fit(self, X: np.ndarray, y: np.ndarray) -> _BaseMLP:
        self._validate_params()
        y_enc, n_out, loss = self._prepare_targets(y)
        init_rng, shuffle_rng, split_rng = self._seeds()
        validation = None
        X_train, y_train = X, y_enc
        if self.early_stopping:
            stratify = y_enc if isinstance(self, ClassifierMixin) else None
            X_train, X_val, y_train, y_val = train_test_split(
                X, y_enc, test_size=self.validation_fraction, stratify=stratify,
                random_state=int(split_rng.integers(2**31)),
            )  # fmt: skip
            validation = (X_val, y_val)
        n = len(X_train)
        batch_size = min(200, n) if self.batch_size == "auto" else min(self.batch_size, n)
        model = self._build(X.shape[1], n_out, init_rng)
        stopper = _Stopper(self, validation)
        history = fit(
            model, X_train, y_train, loss=loss, optimizer=self._optimizer(model), epochs=self.max_iter,
            batch_size=batch_size, shuffle=self.shuffle, seed=shuffle_rng, callbacks=[stopper],
        )  # fmt: skip
        if validation is not None and stopper.best_state is not None:
            model.load_state_dict(stopper.best_state)  # keep the weights of the best validation score
        self.model_ = model.eval()
        self.loss_curve_ = list(history["loss"])
        self.n_iter_ = len(history)
        self.t_ = self.n_iter_ * n
        self.n_layers_ = len(self._hidden_sizes()) + 2
        self.n_outputs_ = n_out
        self.best_loss_ = None if validation is not None else min(self.loss_curve_)
        self.validation_scores_ = stopper.scores if validation is not None else None
        self.best_validation_score_ = stopper.best_score if validation is not None else None
        if not stopper.converged and self.n_iter_ == self.max_iter:
            warnings.warn(
                f"{type(self).__name__}: reached max_iter={self.max_iter} epochs and the optimization "
                "has not converged yet; raise max_iter or learning_rate_init.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.model_(X)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices in scikit-learn's layout ``(n_in, n_out)`` (our ``Linear.weight.T``)."""
        check_is_fitted(self)
        return [m.weight.data.T.copy() for m in self.model_ if isinstance(m, Linear)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        check_is_fitted(self)
        return [m.bias.data.copy() for m in self.model_ if isinstance(m, Linear)]


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier (scikit-learn API) trained by nnscratch.

    Binary problems use one sigmoid output with ``BCEWithLogitsLoss``; more classes use a
    softmax output with ``CrossEntropyLoss``. Labels may be any sortable values (ints, strings).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    loss_curve_ : list of float, one per epoch
    n_iter_ : int, epochs run
    model_ : nnscratch.Sequential, the trained network (outputs logits)
    out_activation_ : ``"logistic"`` or ``"softmax"``
    """

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Fit on ``X`` of shape (n_samples, n_features) and labels ``y`` of shape (n_samples,)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        return self._fit(X, y)

    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int, Loss]:
        self.classes_, idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise LabelError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; got 1 class: "
                f"{self.classes_.tolist()}"
            )
        if len(self.classes_) == 2:
            self.out_activation_ = "logistic"
            return idx.astype(np.float64), 1, BCEWithLogitsLoss()
        self.out_activation_ = "softmax"
        return idx.astype(np.int64), len(self.classes_), CrossEntropyLoss()

    def _score_model(self, model: Sequential, X: np.ndarray, y: np.ndarray) -> float:
        out = model.forward(X)
        pred = (out[:, 0] > 0).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)
        return float(np.mean(pred == y))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        out = self._forward(X)
        if out.shape[1] == 1:  # exp(log σ(±z)): accurate to the last bits even for tiny probabilities
            return np.exp(self._log_sigmoid_pair(out[:, 0]))
        return softmax(out, axis=1)

    @staticmethod
    def _log_sigmoid_pair(z: np.ndarray) -> np.ndarray:
        """[log(1 - σ(z)), log σ(z)] = [-log(1 + e^z), -log(1 + e^-z)], stable for any z."""
        return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`, computed stably (log-sigmoid / log-softmax of the logits)."""
        out = self._forward(X)
        if out.shape[1] == 1:
            return self._log_sigmoid_pair(out[:, 0])
        return log_softmax(out, axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, shape (n_samples,)."""
        proba = self.predict_proba(X)  # first: it checks that the estimator is fitted
        return self.classes_[proba.argmax(axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor (scikit-learn API) trained by nnscratch.

    A linear output layer trained with ``L2Loss(reduction="mean")``; ``y`` may have several
    columns (multi-output). Predictions of a single target have shape (n_samples,).
    """

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or (n_samples, n_targets)."""
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        return self._fit(X, y)

    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int, Loss]:
        y2 = y.reshape(len(y), -1).astype(np.float64)
        self.out_activation_ = "identity"
        return y2, y2.shape[1], L2Loss(reduction="mean")

    def _score_model(self, model: Sequential, X: np.ndarray, y: np.ndarray) -> float:
        return float(r2_score(y, model.forward(X)))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: (n_samples,) for one target, else (n_samples, n_targets)."""
        out = self._forward(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["MLPClassifier", "MLPRegressor"]
