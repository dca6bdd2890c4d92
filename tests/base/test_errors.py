"""Bad input gets a specific nnscratch error whose message names the argument, the expectation
and what was received — never a raw NumPy traceback or a silent NaN."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import nnscratch as ns
from nnscratch import errors


def net() -> ns.Sequential:
    return ns.Sequential(ns.Linear(2, 3, rng=0), ns.Tanh(), ns.Linear(3, 1, rng=1), ns.Sigmoid())


def params() -> list[ns.Parameter]:
    return net().parameters()


def forwarded(layer: ns.Module, x: np.ndarray) -> ns.Module:
    layer(x)
    return layer


def without(state: dict, key: str) -> dict:
    return {k: v for k, v in state.items() if k != key}


X4 = np.zeros((4, 2))
Y4 = np.zeros(4)

# (id, call, error class, fragments that must all appear in the message)
CASES: list[tuple[str, Callable[[], object], type[Exception], list[str]]] = [
    # -- inputs to layers ---------------------------------------------------------------------
    (
        "linear_wrong_feature_count",
        lambda: ns.Linear(3, 2)(np.ones((4, 5))),
        errors.ShapeError,
        ["(N, 3)", "in_features=3", "Received: array of shape (4, 5)"],
    ),
    (
        "linear_scalar_input",
        lambda: ns.Linear(3, 2)(np.float64(1.0)),
        errors.ShapeError,
        ["(N, 3)", "Received: array of shape ()"],
    ),
    (
        "softmax_missing_axis",
        lambda: ns.Softmax(dim=3)(np.ones((2, 3))),
        errors.ShapeError,
        ["Softmax(dim=3)", "Received: array of shape (2, 3)"],
    ),
    (
        "string_input",
        lambda: ns.Linear(3, 2)(np.array([["a", "b", "c"]])),
        errors.DTypeError,
        ["input must hold real numbers", "Received:", "<U1"],
    ),
    (
        "complex_input",
        lambda: ns.Linear(3, 2)(np.ones((1, 3), dtype=complex)),
        errors.DTypeError,
        ["input must hold real numbers", "complex128"],
    ),
    (
        "ragged_input",
        lambda: ns.Linear(3, 2)([[1, 2, 3], [1, 2]]),
        errors.DTypeError,
        ["input must be a numeric array", "ragged", "Received: input of type list"],
    ),
    (
        "nan_input",
        lambda: ns.Linear(3, 2)(np.array([[1.0, np.nan, 2.0]])),
        errors.NonFiniteError,
        ["input holds 1 non-finite", "index (0, 1)", "nan"],
    ),
    (
        "inf_input",
        lambda: net()(np.array([[0.0, 1.0], [np.inf, 2.0]])),
        errors.NonFiniteError,
        ["input holds 1 non-finite", "index (1, 0)", "inf"],
    ),
    # -- backward -----------------------------------------------------------------------------
    (
        "linear_backward_before_forward",
        lambda: ns.Linear(2, 2).backward(np.ones((1, 2))),
        errors.StateError,
        ["Linear.backward was called before forward"],
    ),
    (
        "tanh_backward_before_forward",
        lambda: ns.Tanh().backward(np.ones((1, 2))),
        errors.StateError,
        ["Tanh.backward was called before forward"],
    ),
    (
        "sequential_backward_before_forward",
        lambda: net().backward(np.ones((1, 1))),
        errors.StateError,
        ["Sequential.backward was called before forward"],
    ),
    (
        "loss_backward_before_forward",
        lambda: ns.CrossEntropyLoss().backward(),
        errors.StateError,
        ["CrossEntropyLoss.backward was called before the loss was computed", "loss_fn(pred, target)"],
    ),
    (
        "linear_backward_wrong_shape",
        lambda: forwarded(ns.Linear(3, 2), np.ones((2, 3))).backward(np.ones((2, 3))),
        errors.ShapeError,
        ["grad_out must have shape (2, 2)", "Received: array of shape (2, 3)"],
    ),
    (
        "linear_backward_list",
        lambda: forwarded(ns.Linear(3, 2), np.ones((2, 3))).backward([[1.0, 2.0], [3.0, 4.0]]),
        errors.ShapeError,
        ["grad_out must have shape (2, 2)", "Received:"],
    ),
    (
        "sigmoid_backward_wrong_shape",
        lambda: forwarded(ns.Sigmoid(), np.ones((2, 2))).backward(np.ones((2, 3))),
        errors.ShapeError,
        ["Sigmoid.backward", "(2, 2)", "Received: array of shape (2, 3)"],
    ),
    # -- losses -------------------------------------------------------------------------------
    (
        "mse_shape_mismatch",
        lambda: ns.MSELoss()(np.ones((4, 2)), np.ones((4, 3))),
        errors.ShapeError,
        ["MSELoss", "target must have the shape of pred (4, 2)", "Received: target array of shape (4, 3)"],
    ),
    (
        "l2_transposed_target",
        lambda: ns.L2Loss()(np.ones((2, 3)), np.ones((3, 2))),
        errors.ShapeError,
        ["L2Loss", "(2, 3)", "Received: target array of shape (3, 2)"],
    ),
    (
        "bce_flat_target_for_two_columns",
        lambda: ns.BCELoss()(np.full((4, 2), 0.5), np.ones(4)),
        errors.ShapeError,
        ["BCELoss", "(4, 2)", "Received: target array of shape (4,)"],
    ),
    (
        "ce_label_out_of_range",
        lambda: ns.CrossEntropyLoss()(np.ones((2, 3)), [0, 3]),
        errors.LabelError,
        ["class indices must be in [0, 2]", "3 outputs", "Received labels in [0, 3]"],
    ),
    (
        "ce_negative_label",
        lambda: ns.CrossEntropyLoss()(np.ones((2, 3)), [-1, 0]),
        errors.LabelError,
        ["[0, 2]", "Received labels in [-1, 0]"],
    ),
    (
        "ce_non_integer_label",
        lambda: ns.CrossEntropyLoss()(np.ones((2, 3)), [1.0, 0.5]),
        errors.LabelError,
        ["whole numbers", "(N, C)", "Received: target[1]=0.5"],
    ),
    (
        "ce_wrong_number_of_labels",
        lambda: ns.CrossEntropyLoss()(np.ones((2, 3)), [0, 1, 2]),
        errors.ShapeError,
        ["class-index target must have shape (2,)", "Received: array of shape (3,)"],
    ),
    (
        "ce_pred_not_2d",
        lambda: ns.CrossEntropyLoss()(np.ones(3), [0, 1, 2]),
        errors.ShapeError,
        ["pred of shape (N, C)", "Received: array of shape (3,)"],
    ),
    (
        "ce_negative_probability_target",
        lambda: ns.CrossEntropyLoss()(np.ones((2, 3)), -np.ones((2, 3))),
        errors.LabelError,
        ["probability targets must be >= 0", "Received: min value -1"],
    ),
    (
        "ce_probabilities_above_one",
        lambda: ns.CrossEntropyLoss(from_logits=False)(np.full((2, 3), 2.0), [0, 1]),
        errors.LabelError,
        ["from_logits=False", "[0, 1]", "Received values in [2, 2]"],
    ),
    (
        "bce_target_outside_0_1",
        lambda: ns.BCELoss()(np.full((2, 1), 0.5), [0, 2]),
        errors.LabelError,
        ["targets in [0, 1]", "Received values in [0, 2]", "CrossEntropyLoss"],
    ),
    (
        "bce_with_logits_negative_target",
        lambda: ns.BCEWithLogitsLoss()(np.zeros((2, 1)), [-1, 1]),
        errors.LabelError,
        ["BCEWithLogitsLoss", "targets in [0, 1]", "Received values in [-1, 1]"],
    ),
    (
        "bce_pred_above_one",
        lambda: ns.BCELoss()(np.array([[1.5], [0.5]]), [0, 1]),
        errors.LabelError,
        ["probabilities in [0, 1] as pred", "Received values in [0.5, 1.5]", "BCEWithLogitsLoss"],
    ),
    (
        "bce_pred_below_zero",
        lambda: ns.BCELoss()(np.array([[-0.1], [0.5]]), [0, 1]),
        errors.LabelError,
        ["probabilities in [0, 1] as pred", "Received values in [-0.1, 0.5]"],
    ),
    (
        "nan_target",
        lambda: ns.MSELoss()(np.ones((2, 1)), np.array([np.nan, 1.0])),
        errors.NonFiniteError,
        ["target holds 1 non-finite", "index (0,)"],
    ),
    (
        "inf_pred",
        lambda: ns.BCEWithLogitsLoss()(np.array([[np.inf], [0.0]]), [1, 0]),
        errors.NonFiniteError,
        ["pred holds 1 non-finite", "inf"],
    ),
    (
        "string_target",
        lambda: ns.CrossEntropyLoss()(np.ones((2, 3)), ["a", "b"]),
        errors.DTypeError,
        ["target must hold real numbers", "Received:"],
    ),
    (
        "empty_pred",
        lambda: ns.MSELoss()(np.zeros((0, 1)), np.zeros(0)),
        errors.ShapeError,
        ["MSELoss: pred is empty", "Received: array of shape (0, 1)"],
    ),
    (
        "bad_reduction",
        lambda: ns.MSELoss(reduction="avg"),
        errors.HyperparameterError,
        ["reduction must be one of 'mean', 'sum'", "Received: reduction='avg'"],
    ),
    (
        "reduction_none_unsupported",
        lambda: ns.CrossEntropyLoss(reduction="none"),
        errors.HyperparameterError,
        ["Received: reduction='none'"],
    ),
    # -- optimizers and schedules -------------------------------------------------------------
    (
        "negative_lr",
        lambda: ns.SGD(params(), lr=-1),
        errors.HyperparameterError,
        ["lr must be a finite number >= 0", "Received: lr=-1"],
    ),
    (
        "nan_lr",
        lambda: ns.Adam(params(), lr=float("nan")),
        errors.HyperparameterError,
        ["lr must be a finite number", "Received: lr=nan"],
    ),
    (
        "infinite_lr",
        lambda: ns.RMSprop(params(), lr=float("inf")),
        errors.HyperparameterError,
        ["Received: lr=inf"],
    ),
    (
        "string_lr",
        lambda: ns.SGD(params(), lr="fast"),
        errors.HyperparameterError,
        ["lr must be a number", "Received: lr='fast'"],
    ),
    (
        "negative_momentum",
        lambda: ns.SGD(params(), lr=0.1, momentum=-0.5),
        errors.HyperparameterError,
        ["momentum must be a finite number >= 0", "Received: momentum=-0.5"],
    ),
    (
        "nan_momentum",
        lambda: ns.RMSprop(params(), momentum=float("nan")),
        errors.HyperparameterError,
        ["Received: momentum=nan"],
    ),
    (
        "beta2_equal_one",
        lambda: ns.Adam(params(), betas=(0.9, 1.0)),
        errors.HyperparameterError,
        ["betas[1] must be in [0.0, 1.0)", "Received: betas[1]=1.0"],
    ),
    (
        "betas_not_a_pair",
        lambda: ns.AdamW(params(), betas=0.9),
        errors.HyperparameterError,
        ["betas must be a pair", "Received: betas=0.9"],
    ),
    (
        "negative_beta1",
        lambda: ns.Adam(params(), betas=(-0.1, 0.999)),
        errors.HyperparameterError,
        ["betas[0]", "Received: betas[0]=-0.1"],
    ),
    (
        "rmsprop_alpha_above_one",
        lambda: ns.RMSprop(params(), alpha=1.5),
        errors.HyperparameterError,
        ["alpha must be in [0.0, 1.0]", "Received: alpha=1.5"],
    ),
    (
        "nesterov_without_momentum",
        lambda: ns.SGD(params(), lr=0.1, nesterov=True),
        errors.HyperparameterError,
        ["nesterov=True needs momentum > 0", "Received: momentum=0.0"],
    ),
    (
        "nesterov_with_dampening",
        lambda: ns.SGD(params(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
        errors.HyperparameterError,
        ["dampening = 0", "dampening=0.1"],
    ),
    (
        "empty_parameter_list",
        lambda: ns.SGD([], lr=0.1),
        errors.HyperparameterError,
        ["empty parameter list"],
    ),
    (
        "parameter_list_of_arrays",
        lambda: ns.Adam([np.ones(3)]),
        errors.DTypeError,
        ["params[0] is ndarray, expected a Parameter", "model.parameters()"],
    ),
    (
        "step_size_zero",
        lambda: ns.StepLR(ns.SGD(params(), lr=0.1), step_size=0),
        errors.HyperparameterError,
        ["step_size must be an integer > 0", "Received: step_size=0"],
    ),
    (
        "negative_gamma",
        lambda: ns.ExponentialLR(ns.SGD(params(), lr=0.1), gamma=-1),
        errors.HyperparameterError,
        ["gamma must be a finite number > 0", "Received: gamma=-1"],
    ),
    (
        "milestones_not_a_list",
        lambda: ns.MultiStepLR(ns.SGD(params(), lr=0.1), milestones=3),
        errors.HyperparameterError,
        ["milestones must be a list", "Received: milestones=3"],
    ),
    (
        "scheduler_on_a_string",
        lambda: ns.StepLR("sgd", step_size=1),
        errors.DTypeError,
        ["needs an nnscratch Optimizer", "Received: 'sgd'"],
    ),
    (
        "optimizer_state_of_another_type",
        lambda: ns.Adam(params()).load_state_dict(ns.SGD(params()).state_dict()),
        errors.StateDictError,
        ["optimizer state is for 'SGD'", "Adam"],
    ),
    (
        "optimizer_state_not_a_dict",
        lambda: ns.SGD(params()).load_state_dict(None),
        errors.StateDictError,
        ["optimizer.state_dict()", "Received: NoneType"],
    ),
    # -- state dicts --------------------------------------------------------------------------
    (
        "state_dict_missing_key",
        lambda: net().load_state_dict(without(net().state_dict(), "0.bias")),
        errors.StateDictError,
        ["missing keys ['0.bias']"],
    ),
    (
        "state_dict_extra_key",
        lambda: net().load_state_dict({**net().state_dict(), "9.weight": np.ones(2)}),
        errors.StateDictError,
        ["unexpected keys ['9.weight']"],
    ),
    (
        "state_dict_misshaped",
        lambda: net().load_state_dict({**net().state_dict(), "0.weight": np.ones((2, 2))}),
        errors.StateDictError,
        ["'0.weight' has shape (2, 2), expected (3, 2)"],
    ),
    (
        "state_dict_misshaped_even_when_not_strict",
        lambda: net().load_state_dict({"2.bias": np.ones(5)}, strict=False),
        errors.StateDictError,
        ["'2.bias' has shape (5,), expected (1,)"],
    ),
    (
        "state_dict_string_value",
        lambda: net().load_state_dict({**net().state_dict(), "0.weight": "abc"}),
        errors.StateDictError,
        ["state['0.weight'] must hold real numbers"],
    ),
    (
        "state_dict_not_a_mapping",
        lambda: net().load_state_dict(None),
        errors.StateDictError,
        ["state must be a mapping", "Received: NoneType"],
    ),
    # -- construction -------------------------------------------------------------------------
    (
        "int_layer_dtype",
        lambda: ns.Linear(2, 2, dtype=np.int64),
        errors.DTypeError,
        ["dtype must be float32 or float64", "Received: dtype=int64"],
    ),
    (
        "string_layer_dtype",
        lambda: ns.Linear(2, 2, dtype="banana"),
        errors.DTypeError,
        ["dtype must be float32 or float64", "Received: dtype='banana'"],
    ),
    (
        "float16_layer_dtype",
        lambda: ns.Linear(2, 2, dtype=np.float16),
        errors.DTypeError,
        ["Received: dtype=float16"],
    ),
    (
        "astype_complex",
        lambda: net().astype(np.complex128),
        errors.DTypeError,
        ["dtype must be float32 or float64", "complex128"],
    ),
    (
        "class_not_instance_in_sequential",
        lambda: ns.Sequential(ns.Linear(2, 2), ns.ReLU),
        errors.DTypeError,
        ["argument 1", "Did you forget to call it"],
    ),
    (
        "string_in_sequential",
        lambda: ns.Sequential(ns.Linear(2, 2), "relu"),
        errors.DTypeError,
        ["Sequential takes Module instances", "'relu' of type str"],
    ),
    (
        "string_rng",
        lambda: ns.Linear(2, 2, rng="seed"),
        errors.DTypeError,
        ["rng must be an int seed", "Received: rng='seed'"],
    ),
    (
        "negative_seed",
        lambda: ns.Linear(2, 2, rng=-3),
        errors.DTypeError,
        ["non-negative integer", "Received: rng=-3"],
    ),
    (
        "float_seed",
        lambda: ns.Linear(2, 2, rng=1.5),
        errors.DTypeError,
        ["Received: rng=1.5 of type float"],
    ),
    (
        "zero_in_features",
        lambda: ns.Linear(0, 2),
        errors.HyperparameterError,
        ["in_features must be an integer > 0", "Received: in_features=0"],
    ),
    (
        "float_out_features",
        lambda: ns.Linear(2, 2.5),
        errors.HyperparameterError,
        ["out_features must be an integer", "Received: out_features=2.5"],
    ),
    (
        "unknown_initializer",
        lambda: ns.Linear(2, 2, init="glorot"),
        errors.UnknownNameError,
        ["unknown initializer 'glorot'", "xavier_uniform (or glorot_uniform)", "Received: init='glorot'"],
    ),
    (
        "negative_leaky_slope",
        lambda: ns.LeakyReLU(-0.1),
        errors.HyperparameterError,
        ["negative_slope", "Received: negative_slope=-0.1"],
    ),
    (
        "float_softmax_dim",
        lambda: ns.Softmax(dim=1.0),
        errors.HyperparameterError,
        ["dim must be an integer axis", "Received: dim=1.0"],
    ),
    (
        "from_arrays_1d_weight",
        lambda: ns.Linear.from_arrays(np.ones(3)),
        errors.ShapeError,
        ["weight must be 2-D (out_features, in_features)", "Received: array of shape (3,)"],
    ),
    (
        "activation_not_callable",
        lambda: ns.Activation(1, 2),
        errors.DTypeError,
        ["two callables", "Received: fn=1, derivative=2"],
    ),
    (
        "activation_fn_wrong_shape",
        lambda: ns.Activation(lambda z: z.sum(axis=1), lambda z: z, name="rowsum")(np.ones((2, 3))),
        errors.ShapeError,
        ["Activation 'rowsum'", "fn(z) must return an array of the input's shape (2, 3)", "shape (2,)"],
    ),
    (
        "activation_derivative_wrong_shape",
        lambda: forwarded(
            ns.Activation(lambda z: z, lambda z: z[:, :1], name="id"), np.ones((2, 3))
        ).backward(np.ones((2, 3))),
        errors.ShapeError,
        ["derivative(z) must return an array of the input's shape (2, 3)", "Received: array of shape (2, 1)"],
    ),
    # -- fit, predict, gradcheck --------------------------------------------------------------
    (
        "fit_empty_data",
        lambda: ns.fit(net(), np.zeros((0, 2)), np.zeros(0), loss=ns.BCELoss(), epochs=1),
        errors.DataError,
        ["X is empty", "Received: array of shape (0, 2)"],
    ),
    (
        "fit_length_mismatch",
        lambda: ns.fit(net(), X4, np.zeros(3), loss=ns.BCELoss(), epochs=1),
        errors.ShapeError,
        ["X and y must have the same number of samples", "X array of shape (4, 2)", "y array of shape (3,)"],
    ),
    (
        "fit_wrong_feature_count",
        lambda: ns.fit(net(), np.zeros((4, 5)), Y4, loss=ns.BCELoss(), epochs=1),
        errors.ShapeError,
        ["X of shape (4, 5) does not fit the model", "in_features=2"],
    ),
    (
        "fit_labels_outside_0_1",
        lambda: ns.fit(net(), X4, np.array([0, 1, 2, 1]), loss=ns.BCELoss(), epochs=1),
        errors.LabelError,
        ["targets in [0, 1]", "Received values in [0, 2]"],
    ),
    (
        "fit_negative_epochs",
        lambda: ns.fit(net(), X4, Y4, loss=ns.BCELoss(), epochs=-1),
        errors.HyperparameterError,
        ["epochs must be an integer >= 0", "Received: epochs=-1"],
    ),
    (
        "fit_zero_batch_size",
        lambda: ns.fit(net(), X4, Y4, loss=ns.BCELoss(), epochs=1, batch_size=0),
        errors.HyperparameterError,
        ["batch_size must be an integer > 0", "Received: batch_size=0"],
    ),
    (
        "fit_loss_as_string",
        lambda: ns.fit(net(), X4, Y4, loss="bce", epochs=1),
        errors.DTypeError,
        ["loss must be an nnscratch Loss", "Received: 'bce'"],
    ),
    (
        "fit_unknown_optimizer_name",
        lambda: ns.fit(net(), X4, Y4, loss=ns.BCELoss(), optimizer="lbfgs", epochs=1),
        errors.UnknownNameError,
        ["unknown optimizer 'lbfgs'", "sgd (or gd)", "Received: optimizer='lbfgs'"],
    ),
    (
        "fit_validation_data_not_a_pair",
        lambda: ns.fit(net(), X4, Y4, loss=ns.BCELoss(), epochs=1, validation_data=X4),
        errors.DTypeError,
        ["validation_data must be a pair (X_val, y_val)", "Received: ndarray"],
    ),
    (
        "fit_validation_length_mismatch",
        lambda: ns.fit(net(), X4, Y4, loss=ns.BCELoss(), epochs=1, validation_data=(X4, np.zeros(2))),
        errors.ShapeError,
        ["X_val and y must have the same number of samples"],
    ),
    (
        "fit_nan_in_y",
        lambda: ns.fit(net(), X4, np.array([0.0, 1.0, np.nan, 0.0]), loss=ns.BCELoss(), epochs=1),
        errors.NonFiniteError,
        ["target holds 1 non-finite", "index (2,)"],
    ),
    (
        "fit_bad_seed",
        lambda: ns.fit(net(), X4, Y4, loss=ns.BCELoss(), epochs=1, seed="x"),
        errors.DTypeError,
        ["Received: rng='x'"],
    ),
    (
        "predict_string_threshold",
        lambda: net().predict(X4, threshold="a"),
        errors.HyperparameterError,
        ["threshold must be a number", "Received: threshold='a'"],
    ),
    (
        "gradcheck_nan_input",
        lambda: ns.gradcheck(ns.Tanh(), np.array([[0.0, np.nan]])),
        errors.NonFiniteError,
        ["x holds 1 non-finite"],
    ),
    (
        "gradcheck_loss_without_target",
        lambda: ns.gradcheck(ns.CrossEntropyLoss(), np.ones((2, 3))),
        errors.DTypeError,
        ["target must hold real numbers"],
    ),
]


@pytest.mark.parametrize(("call", "error", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_specific_error(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, errors.NNScratchError)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_there_are_many_bad_input_cases():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


def test_library_errors_are_also_builtin_errors():
    # code written against the built-ins keeps working
    with pytest.raises(ValueError):
        ns.MSELoss()(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(TypeError):
        ns.Linear(2, 2, dtype="banana")
    with pytest.raises(KeyError):
        net().load_state_dict({})
    with pytest.raises(RuntimeError):
        ns.Tanh().backward(np.ones(2))


def test_failed_state_dict_load_changes_nothing():
    model = net()
    before = model.state_dict()
    bad = {k: np.full_like(v, 7.0) for k, v in before.items()}
    bad["2.bias"] = np.ones(3)
    with pytest.raises(errors.StateDictError):
        model.load_state_dict(bad)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_divergence_names_the_epoch_and_suggests_a_smaller_lr(rng):
    X = rng.normal(size=(20, 2)) * 10
    y = (X[:, 0] > 0).astype(float)
    model = ns.Sequential(ns.Linear(2, 8, rng=0), ns.ReLU(), ns.Linear(8, 1, rng=1))
    with pytest.raises(errors.DivergenceError) as info:
        ns.fit(model, X, y, loss=ns.MSELoss(), optimizer=ns.SGD(model.parameters(), lr=1e6), epochs=50)
    message = str(info.value)
    match = re.search(r"diverged at epoch (\d+)", message)
    assert match and 1 <= int(match.group(1)) <= 50
    assert "than lr=1e+06, e.g. lr=1e+05" in message  # one notation for both rates
    assert isinstance(info.value, FloatingPointError)


def test_nan_in_custom_activation_output_is_reported_as_divergence():
    # a user activation that returns NaN must not train silently
    bad = ns.Activation(
        lambda z: np.where(z > 1e9, np.nan, z), lambda z: np.ones_like(z), name="nan_above_1e9"
    )
    model = ns.Sequential(ns.Linear(1, 1, rng=0), bad)
    X = np.array([[1.0], [2.0]])
    with pytest.raises(errors.DivergenceError, match="epoch"):
        ns.fit(model, X, np.array([1e12, 2e12]), loss=ns.MSELoss(), lr=1e3, epochs=20)
