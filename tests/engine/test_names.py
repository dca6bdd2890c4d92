"""One vocabulary: every table of names in ``nnscratch.engine.names`` means the same in every entry
point, and one misspelling raises the same error with the same message from each of them."""

from __future__ import annotations

import pickle
import textwrap
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import nnscratch as ns
from nnscratch.base.errors import ConfigError, HyperparameterError, ModelFileError, UnknownNameError
from nnscratch.engine import names
from nnscratch.evaluation import make_optimizer as evaluation_make_optimizer
from nnscratch.experiments import builder
from nnscratch.experiments.config import load_config
from nnscratch.io.architecture import BuildLimits, from_config
from nnscratch.playground.session import PlaygroundConfig, Session
from nnscratch.sklearn import MLPClassifier
from nnscratch.training.callbacks import Callback
from nnscratch.worked.problem import parse_problem
from nnscratch.worked.trace import resolve_loss

# -- what every spelling stands for --------------------------------------------------------------
ACTIVATIONS = {
    "sigmoid": ns.Sigmoid,
    "logistic": ns.Sigmoid,
    "Sigmoid": ns.Sigmoid,
    "tanh": ns.Tanh,
    "relu": ns.ReLU,
    "ReLU": ns.ReLU,
    "leaky_relu": ns.LeakyReLU,
    "leakyrelu": ns.LeakyReLU,
    "LeakyReLU": ns.LeakyReLU,
    "leaky-relu": ns.LeakyReLU,
    "softmax": ns.Softmax,
    "identity": ns.Identity,
    "linear": ns.Identity,
    "none": ns.Identity,
}
LOSSES = {
    "mse": ns.MSELoss,
    "MSELoss": ns.MSELoss,
    "mean_squared_error": ns.MSELoss,
    "l2": ns.L2Loss,
    "L2Loss": ns.L2Loss,
    "bce": ns.BCELoss,
    "BCELoss": ns.BCELoss,
    "binary_cross_entropy": ns.BCELoss,
    "bce_logits": ns.BCEWithLogitsLoss,
    "bce_with_logits": ns.BCEWithLogitsLoss,
    "BCEWithLogitsLoss": ns.BCEWithLogitsLoss,
    "cross_entropy": ns.CrossEntropyLoss,
    "ce": ns.CrossEntropyLoss,
    "CrossEntropyLoss": ns.CrossEntropyLoss,
    "cross-entropy": ns.CrossEntropyLoss,
}
OPTIMIZERS = {
    "sgd": ns.SGD,
    "SGD": ns.SGD,
    "gd": ns.SGD,
    "momentum": ns.SGD,
    "adam": ns.Adam,
    "Adam": ns.Adam,
    "adamw": ns.AdamW,
    "AdamW": ns.AdamW,
    "rmsprop": ns.RMSprop,
    "RMSprop": ns.RMSprop,
}
SCHEDULERS = {
    "step": ns.StepLR,
    "StepLR": ns.StepLR,
    "multistep": ns.MultiStepLR,
    "MultiStepLR": ns.MultiStepLR,
    "exponential": ns.ExponentialLR,
    "ExponentialLR": ns.ExponentialLR,
    "cosine": ns.CosineAnnealingLR,
    "cosine_annealing": ns.CosineAnnealingLR,
    "CosineAnnealingLR": ns.CosineAnnealingLR,
}
INITIALIZERS = {
    "xavier_uniform": ns.init.xavier_uniform,
    "glorot_uniform": ns.init.xavier_uniform,
    "xavier_normal": ns.init.xavier_normal,
    "glorot_normal": ns.init.xavier_normal,
    "torch": ns.init.torch_default,
    "default": ns.init.torch_default,
    "uniform": ns.init.uniform,
    "normal": ns.init.normal,
    "zeros": ns.init.zeros,
}
ALIASES = [  # (table, alias, canonical)
    (names.ACTIVATION_NAMES, "logistic", "sigmoid"),
    (names.ACTIVATION_NAMES, "linear", "identity"),
    (names.ACTIVATION_NAMES, "none", "identity"),
    (names.LOSS_NAMES, "bce_logits", "bce_with_logits"),
    (names.LOSS_NAMES, "ce", "cross_entropy"),
    (names.OPTIMIZER_NAMES, "gd", "sgd"),
    (names.SCHEDULER_NAMES, "cosine_annealing", "cosine"),
    (names.INITIALIZER_NAMES, "glorot_uniform", "xavier_uniform"),
    (names.INITIALIZER_NAMES, "he_normal", "kaiming_normal"),
    (names.INITIALIZER_NAMES, "default", "torch"),
]


@pytest.mark.parametrize(("table", "alias", "canonical"), ALIASES)
def test_aliases_resolve_to_their_canonical_name_and_are_listed(table, alias, canonical):
    assert table.canonical(alias) == canonical
    assert table.lookup(alias) is table.lookup(canonical)
    assert f"{canonical} (or " in table.listing() and alias in table.listing()


def test_each_kind_has_one_table():
    assert set(names.TABLES) == {"activation", "loss", "optimizer", "scheduler", "initializer", "layer type"}
    assert names.INITIALIZER_NAMES is ns.init.INITIALIZERS  # the layers' own table, not a copy
    assert names.LAYER_TYPE_NAMES.lookup("Linear") is ns.Linear
    assert names.LAYER_TYPE_NAMES.lookup("conv2d") is ns.Conv2d
    assert set(names.layer_types()) == set(names.LAYER_TYPE_NAMES)


@pytest.mark.parametrize(("name", "cls"), ACTIVATIONS.items())
def test_activation_names_in_the_engine(name, cls):
    assert names.activation_class(name) is cls
    assert type(names.activation(name)) is cls


@pytest.mark.parametrize(("name", "cls"), LOSSES.items())
def test_loss_names_in_the_engine(name, cls):
    assert names.loss_class(name) is cls
    assert type(names.make_loss(name, reduction="sum")) is cls


@pytest.mark.parametrize(("name", "cls"), OPTIMIZERS.items())
def test_optimizer_names_in_the_engine(name, cls):
    opt = names.make_optimizer(name, ns.Linear(2, 1, rng=0).parameters(), lr=0.3)
    assert type(opt) is cls and opt.lr == 0.3
    if name == "momentum":
        assert opt.momentum == 0.9  # heavy-ball SGD
        assert names.make_optimizer(name, ns.Linear(2, 1, rng=0), momentum=0.5).momentum == 0.5


@pytest.mark.parametrize(("name", "cls"), SCHEDULERS.items())
def test_scheduler_names_in_the_engine(name, cls):
    opt = ns.SGD(ns.Linear(2, 1, rng=0).parameters(), lr=1.0)
    needs = {"step_size": 2, "milestones": [2], "gamma": 0.5, "T_max": 4}
    kwargs = {k: needs[k] for k in names.scheduler_required(name)}
    assert type(names.make_scheduler(name, opt, **kwargs)) is cls


@pytest.mark.parametrize(("name", "fn"), INITIALIZERS.items())
def test_initializer_names_in_the_engine_and_the_layers(name, fn):
    assert names.initializer(name) is fn
    layer = ns.Linear(3, 2, init=name, rng=7)
    np.testing.assert_array_equal(layer.weight.data, fn((2, 3), np.random.default_rng(7), np.float64))


def test_options_a_name_does_not_take_are_refused_with_the_accepted_ones():
    with pytest.raises(
        HyperparameterError, match=r"optimizer 'adam' does not accept momentum \(it takes betas"
    ):
        names.make_optimizer("adam", ns.Linear(2, 1, rng=0).parameters(), momentum=0.9)
    with pytest.raises(HyperparameterError, match="loss 'mse' does not accept from_logits"):
        names.make_loss("mse", from_logits=True)
    assert names.optimizer_options("gd") == ("momentum", "dampening", "weight_decay", "nesterov", "l1")
    assert names.scheduler_required("cosine") == ("T_max",)


# -- the consumers: experiment files ---------------------------------------------------------------
EXPERIMENT = """\
[data]
dataset = "moons"
params = { n_samples = 40, noise = 0.2 }

[model]
hidden = [3]
activation = "tanh"
output = "none"

[loss]
name = "bce_logits"

[optimizer]
name = "sgd"
lr = 0.5
"""


def experiment(**replace: str) -> dict:
    """The config dict of EXPERIMENT with ``key="old|new"`` replacements applied to its text."""
    text = EXPERIMENT
    for old_new in replace.values():
        old, new = old_new.split("|")
        assert old in text, old
        text = text.replace(old, new, 1)
    return tomllib.loads(text)


def built_experiment(raw: dict):
    cfg = load_config(raw)
    data, _ = builder.load_data(cfg)
    loss = builder.loss_name(cfg, data.task)
    model = builder.build_model(
        cfg, data.n_features, builder.n_outputs(cfg, loss, data), loss, np.random.default_rng(0)
    )
    return cfg, loss, model


@pytest.mark.parametrize(("name", "cls"), LOSSES.items())
def test_experiment_files_take_every_loss_name(name, cls):
    output = {ns.BCELoss: "sigmoid"}.get(cls, "none")
    raw = experiment(loss='"bce_logits"|' + f'"{name}"', out='output = "none"|' + f'output = "{output}"')
    cfg, loss, _ = built_experiment(raw)
    assert type(builder.build_loss(cfg, loss)) is cls
    assert loss == names.LOSS_NAMES.canonical(name)


@pytest.mark.parametrize(("name", "cls"), ACTIVATIONS.items())
def test_experiment_files_take_every_activation_name(name, cls):
    _, _, model = built_experiment(experiment(act='"tanh"|' + f'"{name}"'))
    assert type(model.layers[1]) is cls


@pytest.mark.parametrize(("name", "cls"), OPTIMIZERS.items())
def test_experiment_files_take_every_optimizer_name(name, cls):
    cfg, _, model = built_experiment(experiment(opt='name = "sgd"|' + f'name = "{name}"'))
    opt = builder.build_optimizer(cfg, model)
    assert type(opt) is cls and opt.lr == 0.5
    if name == "momentum":
        assert opt.momentum == 0.9


@pytest.mark.parametrize(("name", "cls"), SCHEDULERS.items())
def test_experiment_files_take_every_scheduler_name(name, cls):
    table = (
        f'\n[optimizer.scheduler]\nname = "{name}"\nstep_size = 2\nmilestones = [2]\ngamma = 0.5\nT_max = 4\n'
    )
    cfg, _, model = built_experiment(experiment(s="lr = 0.5|lr = 0.5" + table))
    assert type(builder.build_scheduler(cfg, builder.build_optimizer(cfg, model))) is cls


def test_experiment_files_take_initializer_and_layer_type_aliases():
    _, _, glorot = built_experiment(experiment(i='output = "none"|output = "none"\ninit = "glorot_uniform"'))
    _, _, xavier = built_experiment(experiment(i='output = "none"|output = "none"\ninit = "xavier_uniform"'))
    np.testing.assert_array_equal(glorot.layers[0].weight.data, xavier.layers[0].weight.data)
    layers = '\n[[model.layers]]\ntype = "linear"\nout_features = 4\n\n[[model.layers]]\ntype = "Tanh"\n'
    layers += '\n[[model.layers]]\ntype = "LINEAR"\nout_features = 1\n'
    raw = experiment(h='hidden = [3]\nactivation = "tanh"\noutput = "none"\n|' + layers)
    _, _, model = built_experiment(raw)
    assert [type(m) for m in model.layers] == [ns.Linear, ns.Tanh, ns.Linear]


# -- problem files, explain ------------------------------------------------------------------------
PROBLEM = textwrap.dedent(
    """
    sizes = [2, 2, 1]
    x = [1, 0]
    y = 1
    loss = "mse"

    [[layers]]
    weight = [[0.6, -0.4], [-0.3, 0.7]]
    activation = "tanh"

    [[layers]]
    weight = [[0.9, -0.8]]
    activation = "identity"

    [optimizer]
    name = "sgd"
    lr = 0.5
    """
)


def problem(old: str, new: str):
    assert old in PROBLEM, old
    return parse_problem(PROBLEM.replace(old, new, 1), "p.toml")


@pytest.mark.parametrize(("name", "cls"), LOSSES.items())
def test_problem_files_and_explain_take_every_loss_name(name, cls):
    assert type(problem('loss = "mse"', f'loss = "{name}"').loss) is cls
    model = ns.Sequential(ns.Linear(2, 1, rng=0))
    assert type(resolve_loss(name, model)) is cls


@pytest.mark.parametrize(("name", "cls"), ACTIVATIONS.items())
def test_problem_files_take_every_activation_name(name, cls):
    model = problem('activation = "tanh"', f'activation = "{name}"').model
    layers = [type(m) for m in model.layers]
    assert layers[1] is cls if cls is not ns.Identity else layers[1] is ns.Linear  # identity: no module


@pytest.mark.parametrize(("name", "cls"), OPTIMIZERS.items())
def test_problem_files_and_explain_take_every_optimizer_name(name, cls):
    p = problem('name = "sgd"', f'name = "{name}"')
    opt = p.optimizer(p.model.parameters())
    assert type(opt) is cls and opt.lr == 0.5
    assert (opt.momentum == 0.9) if name == "momentum" else True  # the same "momentum" as everywhere
    model = ns.Sequential(ns.Linear(2, 1, rng=0))
    worked = ns.explain(model, [1.0, 0.0], 1.0, loss="mse", optimizer=name, lr=0.2)
    assert type(worked.trace.optimizer) is cls


# -- fit, evaluation, scikit-learn, playground --------------------------------------------------------
class _Keep(Callback):
    def on_epoch_end(self, state, logs):
        self.optimizer = state.optimizer


@pytest.mark.parametrize(("name", "cls"), OPTIMIZERS.items())
def test_fit_and_evaluation_take_every_optimizer_name(name, cls):
    X, y = np.random.default_rng(0).normal(size=(8, 2)), np.arange(8) % 2
    keep = _Keep()
    model = ns.Sequential(ns.Linear(2, 1, rng=0), ns.Sigmoid())
    ns.fit(model, X, y, loss=ns.BCELoss(), optimizer=name, lr=0.2, epochs=1, callbacks=[keep])
    assert type(keep.optimizer) is cls and keep.optimizer.lr == 0.2
    opt = evaluation_make_optimizer(model, name, lr=0.2)
    assert type(opt) is cls
    if name == "momentum":
        assert keep.optimizer.momentum == opt.momentum == 0.9


@pytest.mark.parametrize(("name", "cls"), ACTIVATIONS.items())
def test_sklearn_estimators_take_every_activation_name(name, cls):
    clf = MLPClassifier(hidden_layer_sizes=(3,), activation=name)
    clf._validate_params()
    assert type(clf._build(2, 1, np.random.default_rng(0)).layers[1]) is cls


@pytest.mark.parametrize(("name", "cls"), OPTIMIZERS.items())
def test_sklearn_solvers_are_optimizer_names(name, cls):
    clf = MLPClassifier(hidden_layer_sizes=(3,), solver=name, max_iter=2)
    clf._validate_params()
    assert type(clf._optimizer(clf._build(2, 1, np.random.default_rng(0)))) is cls
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert clf.fit(X, y).n_iter_ == 2


@pytest.mark.parametrize(("name", "cls"), [("tanh", ns.Tanh), ("logistic", ns.Sigmoid), ("ReLU", ns.ReLU)])
@pytest.mark.parametrize("optimizer", ["gd", "Adam", "momentum"])
def test_playground_takes_the_same_names_and_keeps_them_canonical(name, cls, optimizer):
    cfg = PlaygroundConfig.from_dict({"hidden": [3], "activations": [name], "optimizer": optimizer})
    assert cfg.activations == [names.ACTIVATION_NAMES.canonical(name)]
    assert cfg.optimizer == names.OPTIMIZER_NAMES.canonical(optimizer)
    session = Session(cfg)
    assert type(session.model.layers[1]) is cls
    assert type(session.optimizer) is OPTIMIZERS[optimizer]


# -- one mistake, one error ---------------------------------------------------------------------------
def _message(call) -> str:
    with pytest.raises(UnknownNameError) as info:
        call()
    return str(info.value)


def _located(call, error=ConfigError) -> str:
    with pytest.raises(error) as info:
        call()
    return str(info.value)


def _experiment_error(tmp_path: Path, old: str, new: str) -> str:
    path = tmp_path / "exp.toml"
    assert old in EXPERIMENT, old
    path.write_text(EXPERIMENT.replace(old, new, 1))
    return _located(lambda: load_config(path))


def _line_of(tmp_path: Path, text: str) -> int:
    return next(
        i for i, line in enumerate((tmp_path / "exp.toml").read_text().splitlines(), 1) if text in line
    )


def test_an_unknown_optimizer_reads_the_same_from_every_entry_point(tmp_path):
    params = ns.Linear(2, 1, rng=0).parameters()
    model = ns.Sequential(ns.Linear(2, 1, rng=0), ns.Sigmoid())
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    expected = _message(lambda: names.make_optimizer("adamm", params))
    assert expected.startswith(
        "unknown optimizer 'adamm'. Did you mean 'adam'? Known optimizers: sgd (or gd), "
    )
    assert expected.endswith("Received: optimizer='adamm'")
    clf = MLPClassifier(solver="adamm")
    same = [
        lambda: ns.fit(model, X, y, loss=ns.BCELoss(), optimizer="adamm", epochs=1),
        lambda: evaluation_make_optimizer(model, "adamm"),
        lambda: ns.explain(model, [1.0, 0.0], 1.0, loss="bce", optimizer="adamm"),
        lambda: clf.fit(X, y),
        lambda: PlaygroundConfig.from_dict({"optimizer": "adamm"}),
    ]
    for call in same:
        assert _message(call) == expected
    msg = _experiment_error(tmp_path, 'name = "sgd"', 'name = "adamm"')
    assert msg == f"{tmp_path / 'exp.toml'}:{_line_of(tmp_path, 'adamm')}: optimizer.name: {expected}"
    msg = _located(lambda: problem('name = "sgd"', 'name = "adamm"'))
    assert msg == f"p.toml: optimizer.name: {expected}"


def test_an_unknown_activation_reads_the_same_from_every_entry_point(tmp_path):
    expected = _message(lambda: names.activation("tanhh"))
    assert expected.startswith("unknown activation 'tanhh'. Did you mean 'tanh'? Known activations: ")
    assert "identity (or linear, none)" in expected and expected.endswith("Received: activation='tanhh'")
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    assert _message(lambda: MLPClassifier(activation="tanhh").fit(X, y)) == expected
    assert _message(lambda: PlaygroundConfig.from_dict({"hidden": [2], "activations": ["tanhh"]})) == expected
    msg = _experiment_error(tmp_path, 'activation = "tanh"', 'activation = "tanhh"')
    assert msg == f"{tmp_path / 'exp.toml'}:{_line_of(tmp_path, 'tanhh')}: model.activation: {expected}"
    msg = _located(lambda: problem('activation = "tanh"', 'activation = "tanhh"'))
    assert msg.startswith(f"p.toml: layers[0].activation: {expected}. An activation may also be a formula")


def test_an_unknown_loss_reads_the_same_from_every_entry_point(tmp_path):
    expected = _message(lambda: names.make_loss("bce_logit"))
    assert expected.startswith("unknown loss 'bce_logit'. Did you mean 'bce_logits'? Known losses: ")
    assert "bce_with_logits (or bce_logits, " in expected and "cross_entropy (or ce)" in expected
    model = ns.Sequential(ns.Linear(2, 1, rng=0))
    assert _message(lambda: ns.explain(model, [1.0, 0.0], 1.0, loss="bce_logit")) == expected
    msg = _experiment_error(tmp_path, 'name = "bce_logits"', 'name = "bce_logit"')
    assert msg == f"{tmp_path / 'exp.toml'}:{_line_of(tmp_path, 'bce_logit')}: loss.name: {expected}"
    assert _located(lambda: problem('loss = "mse"', 'loss = "bce_logit"')) == f"p.toml: loss: {expected}"


def test_an_unknown_scheduler_initializer_or_layer_type_reads_the_same_everywhere(tmp_path):
    opt = ns.SGD(ns.Linear(2, 1, rng=0).parameters())
    expected = _message(lambda: names.make_scheduler("stepp", opt, step_size=1))
    assert "Did you mean 'step'?" in expected and expected.endswith("Received: scheduler='stepp'")
    msg = _experiment_error(
        tmp_path, "lr = 0.5", 'lr = 0.5\n[optimizer.scheduler]\nname = "stepp"\nstep_size = 2'
    )
    assert msg.endswith(f": optimizer.scheduler.name: {expected}")

    expected = _message(lambda: names.initializer("xavier_unifrom"))
    assert "Did you mean 'xavier_uniform'?" in expected and expected.endswith(
        "Received: init='xavier_unifrom'"
    )
    assert _message(lambda: ns.Linear(2, 1, init="xavier_unifrom")) == expected
    assert _message(lambda: ns.Conv2d(1, 1, 3, init="xavier_unifrom")) == expected
    msg = _experiment_error(tmp_path, 'output = "none"', 'output = "none"\ninit = "xavier_unifrom"')
    assert msg.endswith(f": model.init: {expected}")

    expected = _message(lambda: names.layer_type("Lineer"))
    assert "Did you mean 'Linear'?" in expected and expected.endswith("Received: type='Lineer'")
    layers = '[[model.layers]]\ntype = "Lineer"\nout_features = 1\n'
    msg = _experiment_error(tmp_path, 'hidden = [3]\nactivation = "tanh"\noutput = "none"\n', layers)
    assert msg.endswith(f": model.layers[0].type: {expected}")
    node = {"type": "Lineer", "args": {}}
    msg = _located(lambda: from_config(node, BuildLimits(10, 100)), ModelFileError)
    assert msg == f"the architecture is invalid at model: {expected}"


def test_the_error_class_and_its_fields():
    assert issubclass(UnknownNameError, HyperparameterError) and issubclass(UnknownNameError, ValueError)
    assert ns.UnknownNameError is UnknownNameError
    with pytest.raises(UnknownNameError) as info:
        names.make_loss("hinge")
    err = info.value
    assert (err.kind, err.name, err.suggestion) == ("loss", "hinge", None)
    assert err.known == ["mse", "l2", "bce", "bce_with_logits", "cross_entropy"]
    assert "Did you mean" not in str(err)  # nothing close
    copy = pickle.loads(pickle.dumps(err))  # errors cross process boundaries in parallel sweeps
    assert type(copy) is UnknownNameError and str(copy) == str(err)
    with pytest.raises(ns.DTypeError, match="optimizer must be the name of an optimizer"):
        names.make_optimizer(3, [])
    long = "x" * 500
    assert len(_message(lambda: names.activation(long))) < 400  # hostile names are cut in messages


def test_derivations_take_the_same_names():
    assert (
        ns.derivation("bce_logits") == ns.derivation("bce_with_logits") == ns.derivation("BCEWithLogitsLoss")
    )
    assert ns.derivation("ce") == ns.derivation("cross_entropy")
    assert ns.derivation("logistic") == ns.derivation("sigmoid")
    assert ns.derivation("leaky_relu") == ns.derivation("relu")
    assert ns.derivation("adamw") == ns.derivation("optimizers")
