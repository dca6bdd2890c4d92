"""TOML problem files: valid ones build the right network; bad ones give clear, located errors."""

import textwrap
from pathlib import Path

import numpy as np
import pytest

import nnscratch as ns
from nnscratch.worked import explain_problem, load_problem
from nnscratch.worked.problem import parse_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "explain"

GOOD = textwrap.dedent(
    """
    title = "tiny"
    layout = "out_in"
    sizes = [2, 2, 1]
    x = [1, 0]
    y = 1
    loss = "bce"

    [[layers]]
    weight = [[0.6, -0.4], [-0.3, 0.7]]
    bias = [0.1, -0.2]
    activation = "tanh"

    [[layers]]
    weight = [[0.9, -0.8]]
    bias = [0.05]
    activation = "sigmoid"

    [optimizer]
    lr = 0.5
    """
)


def _parse(text: str):
    return parse_problem(textwrap.dedent(text), "p.toml")


def _edit(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def test_good_file_builds_the_network_the_data_and_the_optimizer():
    p = _parse(GOOD)
    assert [type(m).__name__ for m in p.model.layers] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    np.testing.assert_array_equal(p.model.layers[0].weight.data, [[0.6, -0.4], [-0.3, 0.7]])
    assert isinstance(p.loss, ns.BCELoss)
    ex = p.explain()
    assert ex.title == "tiny" and ex.decimals == 4 and ex.trace.optimizer.lr == 0.5


def test_in_out_layout_is_transposed_into_the_engine():
    text = _edit('layout = "out_in"', 'layout = "in_out"')
    text = text.replace("[[0.9, -0.8]]", "[[0.9], [-0.8]]")
    p = _parse(text)
    np.testing.assert_array_equal(p.model.layers[0].weight.data, [[0.6, -0.3], [-0.4, 0.7]])
    np.testing.assert_array_equal(p.model.layers[2].weight.data, [[0.9, -0.8]])


def test_activation_forms_and_loss_tables():
    text = _edit('activation = "tanh"', 'activation = {name = "leaky_relu", negative_slope = 0.2}')
    assert _parse(text).model.layers[1].negative_slope == 0.2
    text = _edit('activation = "tanh"', 'activation = {expression = "x^2 + sin(x)"}')
    assert _parse(text).model.layers[1].expression == "x^2 + sin(x)"
    text = _edit('activation = "tanh"', 'activation = "relu(x) + sin(x)"')
    assert _parse(text).model.layers[1].expression == "relu(x) + sin(x)"
    text = _edit('activation = "sigmoid"', 'activation = "identity"').replace(
        'loss = "bce"', 'loss = {name = "bce_with_logits", reduction = "sum"}'
    )
    p = _parse(text)
    assert len(p.model.layers) == 3 and isinstance(p.loss, ns.BCEWithLogitsLoss) and p.loss.reduction == "sum"


def test_cross_entropy_after_softmax_takes_probabilities():
    p = load_problem(EXAMPLES / "seed003_relu_sin.toml")
    assert isinstance(p.loss, ns.CrossEntropyLoss) and not p.loss.from_logits


def test_optimizer_options():
    text = GOOD.replace("[optimizer]\nlr = 0.5", '[optimizer]\nname = "sgd"\nlr = 0.5\nmomentum = 0.9')
    assert "Momentum buffer" in _parse(text).explain().to_text()
    text = GOOD.replace("[optimizer]\nlr = 0.5", '[optimizer]\nname = "adam"\nlr = 0.01\nbetas = [0.8, 0.99]')
    assert "Adam first moment" in _parse(text).explain().to_text()


def test_description_goes_into_the_header():
    ex = explain_problem(EXAMPLES / "seed002_q1.toml")
    assert "chosen by us" in ex.to_markdown()


BAD = [
    # (edit, message fragments)
    (
        ("weight = [[0.9, -0.8]]", "weight = [[0.9, -0.8, 0.1]]"),
        ["layers[1].weight", "expected shape (1, 2)", "Received: shape (1, 3)"],
    ),
    (
        ("weight = [[0.9, -0.8]]", "weight = [[0.9], [-0.8]]"),
        ["layers[1].weight", 'did you mean layout = "in_out"'],
    ),
    (
        ("weight = [[0.6, -0.4], [-0.3, 0.7]]", "weight = [[0.6, -0.4], [-0.3]]"),
        ["layers[0].weight", "different lengths"],
    ),
    (("bias = [0.05]", "bias = [0.05, 1]"), ["layers[1].bias", "expected 1 values"]),
    (('activation = "tanh"', 'activation = "tanhh"'), ["layers[0].activation", "unknown activation 'tanhh'"]),
    (
        ('activation = "tanh"', 'activation = "relu(x) + foo(x)"'),
        ["layers[0].activation", "unknown function 'foo'", "at position 11"],
    ),
    (('activation = "tanh"', 'activation = "relu(x"'), ["layers[0].activation", "invalid syntax"]),
    (('activation = "tanh"', 'activation = {name = "tanh", expression = "x"}'), ["exactly one of"]),
    (
        ('activation = "tanh"', 'activation = {name = "tanh", negative_slope = 0.1}'),
        ["negative_slope only applies"],
    ),
    (("y = 1\n", ""), ["y: missing (the target)"]),
    (("x = [1, 0]\n", ""), ["x: missing (the input)"]),
    (("x = [1, 0]", "x = [1, 0, 1]"), ["x: expected 2 values"]),
    (("x = [1, 0]", 'x = ["a", 0]'), ["x: expected a number"]),
    (("sizes = [2, 2, 1]", "sizes = [2, 2, 2, 1]"), ["describes 3 layer(s)", "2 [[layers]]"]),
    (("sizes = [2, 2, 1]", "sizes = [2, 0, 1]"), ["sizes", "positive"]),
    (('loss = "bce"', 'loss = "hinge"'), ["loss: unknown loss 'hinge'"]),
    (('loss = "bce"', 'loss = {name = "bce", from_logits = true}'), ["from_logits only applies"]),
    (('loss = "bce"', 'loss = "bce_with_logits"'), ["applies the sigmoid itself"]),
    (('loss = "bce"', 'loss = {name = "bce", reduction = "avg"}'), ["loss.reduction"]),
    (('layout = "out_in"', 'layout = "rows"'), ["layout"]),
    (('title = "tiny"', 'title = "tiny"\ndecimal = 3'), ["unknown key 'decimal'"]),
    (("bias = [0.05]", "bias = [0.05]\nweights = 1"), ["layers[1]: unknown key 'weights'"]),
    (("lr = 0.5", "lr = -0.5"), ["optimizer.lr"]),
    (("lr = 0.5", "lr = 0.5\nbetas = [0.9, 0.99]"), ["optimizer: optimizer 'sgd' does not accept betas"]),
    (("lr = 0.5", 'lr = 0.5\nname = "lbfgs"'), ["unknown optimizer 'lbfgs'"]),
    (("lr = 0.5", "lr = 0.5\nmomentum = -1"), ["optimizer", "momentum"]),
    (("y = 1", "y = 3"), ["x / y / loss do not fit together", "targets in [0, 1]"]),
    (("y = 1", "y = [1, 0]"), ["x / y / loss do not fit together"]),
    (("sizes = [2, 2, 1]", "sizes = [2, 2, 1"), ["invalid TOML", "line"]),
]


@pytest.mark.parametrize(("edit", "fragments"), BAD, ids=[b[1][0][:40] for b in BAD])
def test_bad_problem_files_give_located_errors(edit, fragments):
    text = _edit(*edit)
    with pytest.raises(ns.ConfigError) as info:
        _parse(text).explain()
    message = str(info.value)
    assert message.startswith("p.toml") or "p.toml" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ns.ConfigError, match="not found"):
        load_problem(tmp_path / "nope.toml")
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ns.ConfigError, match="cannot read"):
        load_problem(bad)


def test_softmax_with_from_logits_true_is_refused():
    text = textwrap.dedent(
        """
        sizes = [2, 2]
        x = [1, 2]
        y = [1, 0]
        loss = {name = "cross_entropy", from_logits = true}
        [[layers]]
        weight = [[1, 0], [0, 1]]
        activation = "softmax"
        """
    )
    with pytest.raises(ns.ConfigError, match="softmax twice"):
        _parse(text)
    with pytest.raises(ns.ConfigError, match="needs a softmax"):
        _parse(text.replace('activation = "softmax"', 'activation = "tanh"').replace("true", "false"))
