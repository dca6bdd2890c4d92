"""Model files: round trips for every exported layer, header contents, atomic writes, refusals."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

import nnscratch as ns
import nnscratch.io.container as container
from helpers.durability import record_fsync_and_replace
from helpers.io_files import pack, rewrite, to_bytes, unpack
from nnscratch.base.errors import DTypeError, HyperparameterError, ModelFileError
from nnscratch.engine import layers, names
from nnscratch.io.architecture import layer_types, to_config

RNG = np.random.default_rng(0)


def relu_sin(z):
    return np.maximum(z, 0) + np.sin(z)


def relu_sin_d(z):
    return (z > 0) + np.cos(z)


ns.register_activation("relu_sin_test", relu_sin, relu_sin_d, kinks=(0.0,))

# One example per exported layer type: a builder taking the dtype, and an input shape (or a function
# of the dtype making the input). Layers exported later that are missing here make
# test_every_exported_layer_has_an_example fail.
EXAMPLES = {
    "Linear": (lambda dt: layers.Linear(3, 4, dtype=dt, rng=0), (5, 3)),
    "Sigmoid": (lambda dt: layers.Sigmoid(), (5, 3)),
    "Tanh": (lambda dt: layers.Tanh(), (5, 3)),
    "ReLU": (lambda dt: layers.ReLU(), (5, 3)),
    "LeakyReLU": (lambda dt: layers.LeakyReLU(0.3), (5, 3)),
    "Softmax": (lambda dt: layers.Softmax(dim=0), (5, 3)),
    "Identity": (lambda dt: layers.Identity(), (5, 3)),
    "Activation": (lambda dt: ns.io.registered_activation("relu_sin_test"), (5, 3)),
    "Sequential": (
        lambda dt: layers.Sequential(
            layers.Linear(3, 4, dtype=dt, rng=1),
            layers.Sequential(layers.Tanh(), layers.Linear(4, 2, bias=False, dtype=dt, rng=2)),
            layers.Softmax(),
        ),
        (5, 3),
    ),
    "Conv2d": (lambda dt: layers.Conv2d(2, 3, 3, stride=1, padding=1, dtype=dt, rng=0), (2, 2, 5, 5)),
    "MaxPool2d": (lambda dt: layers.MaxPool2d(2), (2, 2, 4, 4)),
    "AvgPool2d": (lambda dt: layers.AvgPool2d(2), (2, 2, 4, 4)),
    "Flatten": (lambda dt: layers.Flatten(), (2, 2, 3, 3)),
    "Dropout": (lambda dt: layers.Dropout(0.5), (5, 3)),
    "RNN": (lambda dt: layers.RNN(3, 4, dtype=dt, rng=0), (2, 5, 3)),
    "LSTM": (lambda dt: layers.LSTM(3, 4, dtype=dt, rng=0), (2, 5, 3)),
    "GRU": (lambda dt: layers.GRU(3, 4, dtype=dt, rng=0), (2, 5, 3)),
    "BatchNorm1d": (lambda dt: layers.BatchNorm1d(3, dtype=dt), (6, 3)),
    "BatchNorm2d": (lambda dt: layers.BatchNorm2d(2, dtype=dt), (3, 2, 4, 4)),
    "Embedding": (
        lambda dt: layers.Embedding(7, 3, padding_idx=0, dtype=dt, rng=0),
        lambda dt: RNG.integers(0, 7, (4, 5)),
    ),
    "LastTimeStep": (lambda dt: layers.LastTimeStep(), (2, 5, 3)),
    "Features": (lambda dt: layers.Features(["x1", "x2^2", "x1*x3", "sin(x2)", "cos(x3)"], 3), (5, 3)),
    "Reshape": (lambda dt: layers.Reshape((2, 3)), (4, 6)),
    "Unflatten": (lambda dt: layers.Unflatten(1, (2, 3)), (4, 6)),
    "LayerNorm": (lambda dt: layers.LayerNorm((2, 3), eps=1e-6, bias=False, dtype=dt), (4, 2, 3)),
    "GELU": (lambda dt: layers.GELU(approximate="tanh"), (5, 3)),
    "SiLU": (lambda dt: layers.SiLU(), (5, 3)),
    "Residual": (
        lambda dt: layers.Residual(
            layers.Sequential(
                layers.Linear(3, 5, dtype=dt, rng=0), layers.Tanh(), layers.Linear(5, 3, dtype=dt, rng=1)
            )
        ),
        (5, 3),
    ),
    "Parallel": (
        lambda dt: layers.Parallel(
            layers.Linear(2, 3, dtype=dt, rng=0),
            layers.Sequential(layers.Linear(4, 2, dtype=dt, rng=1), layers.Tanh()),
            merge="concat",
            split=[2, 4],
        ),
        (5, 6),
    ),
    "PositionalEmbedding": (lambda dt: layers.PositionalEmbedding(7, 4, dtype=dt, rng=0), (2, 5, 4)),
    "SinusoidalPositionalEncoding": (lambda dt: layers.SinusoidalPositionalEncoding(5), (2, 6, 5)),
    "MultiheadAttention": (lambda dt: layers.MultiheadAttention(4, 2, dtype=dt, rng=0), (2, 5, 4)),
    "TransformerEncoderLayer": (
        lambda dt: layers.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True, dtype=dt, rng=0),
        (2, 5, 4),
    ),
}
EXPORTED = sorted(
    name
    for name in layers.__all__
    if isinstance(getattr(layers, name), type) and issubclass(getattr(layers, name), ns.Module)
)


def same(a, b) -> bool:
    """Bit-identical outputs (arrays, or tuples of arrays for recurrent layers)."""
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def test_every_exported_layer_has_an_example():
    assert set(EXPORTED) <= set(layer_types())  # the loader's allowlist follows the exports
    missing = [name for name in EXPORTED if name not in EXAMPLES]
    assert not missing, f"add a round-trip example for {missing} to EXAMPLES in tests/test_io.py"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", EXPORTED)
def test_round_trip_gives_bit_identical_predictions(name, dtype, tmp_path):
    if name not in EXAMPLES:
        pytest.fail(f"no round-trip example for {name}")
    build, shape = EXAMPLES[name]
    layer = build(dtype)
    x = shape(dtype) if callable(shape) else RNG.normal(size=shape).astype(dtype)
    for model in (layer, ns.Sequential(build(dtype))):
        model.train()
        model.forward(x)  # in train mode: moves running statistics / generators where layers have them
        model.eval()
        expected = model.forward(x)
        path = tmp_path / f"{name}.npz"
        ns.save(model, path)
        loaded = ns.load(path)
        assert type(loaded) is type(model)
        assert not loaded.training
        assert to_config(loaded) == to_config(model)
        assert same(loaded.forward(x), expected)
        original, restored = model.state_dict(), loaded.state_dict()
        assert original.keys() == restored.keys()
        assert all(same(original[k], restored[k]) for k in original)


def test_header_holds_the_documented_fields(tmp_path):
    X = RNG.normal(size=(12, 2))
    y = (X[:, 0] > 0).astype(float)
    model = ns.Sequential(ns.Linear(2, 3, rng=0), ns.Tanh(), ns.Linear(3, 1, rng=1), ns.Sigmoid())
    opt = ns.SGD(model.parameters(), lr=0.5, momentum=0.9)
    history = ns.fit(model, X, y, loss=ns.BCELoss(), optimizer=opt, epochs=5)
    training = {"loss": ns.BCELoss(), "optimizer": opt, "epochs": 5, "batch_size": None}
    path = ns.save(
        model, tmp_path / "m.npz", history, {"author": "me", "n": np.int64(3)},
        metrics={"accuracy": np.float64(0.75)}, training=training, data=(X, y),
    )  # fmt: skip
    assert path == tmp_path / "m.npz"
    loaded, info = ns.load_with_info(path)
    assert info.format_version == ns.io.FORMAT_VERSION == 1
    assert info.library_version == ns.__version__
    assert info.activations == ["tanh", "sigmoid"]
    assert info.dtype == "float64"
    assert info.architecture["type"] == "Sequential"
    assert [n["__module__"]["type"] for n in info.architecture["varargs"]] == [
        "Linear", "Tanh", "Linear", "Sigmoid",
    ]  # fmt: skip
    assert info.architecture["varargs"][0]["__module__"]["args"] == {
        "in_features": 2, "out_features": 3, "bias": True, "dtype": {"__dtype__": "float64"},
    }  # fmt: skip
    assert info.arrays["0.weight"] == {"shape": [3, 2], "dtype": "<f8"}
    assert info.history.to_dict() == history.to_dict()
    assert info.metrics == {"accuracy": 0.75}
    assert info.meta == {"author": "me", "n": 3}
    assert info.training["optimizer"] == {"type": "SGD", **opt.hyperparameters()}
    assert info.training["loss"] == {"type": "BCELoss", "reduction": "mean"}
    assert info.data_fingerprint == ns.io.fingerprint(X, y)
    assert ns.io.fingerprint(X, y)["X"]["sha256"] != ns.io.fingerprint(X + 1e-12, y)["X"]["sha256"]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_the_file_is_a_plain_npz_with_a_json_header(tmp_path):
    model = ns.Sequential(ns.Linear(2, 1, rng=0), ns.Sigmoid())
    ns.save(model, tmp_path / "m.npz", compress=True)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert set(z.files) == {"__header__", "0.weight", "0.bias"}
        assert z["__header__"].dtype == np.uint8
        header = json.loads(z["__header__"].tobytes())
    assert header["format"] == "nnscratch-model"
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())


def test_file_objects_work_both_ways():
    model = ns.Sequential(ns.Linear(2, 2, rng=0), ns.ReLU())
    data = to_bytes(lambda fh: ns.save(model, fh))
    x = RNG.normal(size=(3, 2))
    assert same(ns.load(io.BytesIO(data))(x), model(x))


# -- user-defined activations --------------------------------------------------------------------------
def test_unregistered_python_activation_is_refused_when_saving(tmp_path):
    act = ns.Activation(lambda z: z * 2, lambda z: np.full_like(z, 2.0), name="double")
    with pytest.raises(ModelFileError, match=r"register_activation\('double'"):
        ns.save(ns.Sequential(ns.Linear(2, 2), act), tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_registered_activation_must_be_registered_when_loading(tmp_path, monkeypatch):
    ns.save(ns.Sequential(ns.io.registered_activation("relu_sin_test")), tmp_path / "m.npz")
    monkeypatch.setattr(names, "ACTIVATIONS", {})
    with pytest.raises(ModelFileError, match=r"relu_sin_test.*register_activation"):
        ns.load(tmp_path / "m.npz")


def test_register_activation_checks_its_arguments():
    with pytest.raises(HyperparameterError, match="already registered"):
        ns.register_activation("relu_sin_test", np.tanh, relu_sin_d)
    with pytest.raises(DTypeError, match="two callables"):
        ns.register_activation("x", "tanh", relu_sin_d)
    with pytest.raises(HyperparameterError, match="non-empty"):
        ns.register_activation("", relu_sin, relu_sin_d)
    act = ns.register_activation("relu_sin_test", relu_sin, relu_sin_d)  # same functions: fine
    assert act.fn is relu_sin and act.name == "relu_sin_test"
    with pytest.raises(HyperparameterError, match="no activation is registered"):
        ns.io.registered_activation("nope")


def _symbolic(expr):
    from nnscratch.io.architecture import activation_from_expression

    return activation_from_expression(expr, name="silu")


def test_symbolic_activation_is_stored_as_an_expression_tree(tmp_path):
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    expr = x / (1 + sympy.exp(-x)) + sympy.Rational(1, 3) * x**2
    model = ns.Sequential(ns.Linear(2, 3, rng=0), _symbolic(expr))
    ns.save(model, tmp_path / "m.npz")
    header, _ = unpack((tmp_path / "m.npz").read_bytes())
    node = header["architecture"]["varargs"][1]["__module__"]
    assert node["function"]["expression"]["fn"] == "Add"
    assert "lambda" not in json.dumps(header)
    loaded = ns.load(tmp_path / "m.npz")
    assert loaded[1].expression == expr
    assert loaded[1].name == "silu"
    z = RNG.normal(size=(4, 2))
    assert same(loaded(z), model(z))


def test_formula_activations_are_rebuilt_with_activation_from_expression(tmp_path, monkeypatch):
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    calls = []

    def from_expression(cls, text, name=None):
        """A stand-in for nnscratch.worked's parser (which walks an AST whitelist)."""
        calls.append(text)
        expr = sympy.parse_expr(text, local_dict={"x": x})  # test input only: trusted
        act = cls(sympy.lambdify(x, expr), sympy.lambdify(x, sympy.diff(expr, x)), name=name or text)
        act.expression = text
        return act

    monkeypatch.setattr(ns.Activation, "from_expression", classmethod(from_expression), raising=False)
    act = ns.Activation.from_expression("2*tanh(x)", name="two_tanh")
    model = ns.Sequential(ns.Linear(2, 2, rng=0), act)
    ns.save(model, tmp_path / "m.npz")
    header, _ = unpack((tmp_path / "m.npz").read_bytes())
    assert header["architecture"]["varargs"][1]["__module__"]["function"] == {"formula": "2*tanh(x)"}
    loaded = ns.load(tmp_path / "m.npz")
    assert calls == ["2*tanh(x)", "2*tanh(x)"] and loaded[1].name == "two_tanh"
    z = RNG.normal(size=(3, 2))
    assert same(loaded(z), model(z))


@pytest.mark.skipif(not hasattr(ns.Activation, "from_expression"), reason="needs nnscratch.worked")
def test_real_formula_activation_round_trip(tmp_path):
    pytest.importorskip("sympy")
    model = ns.Sequential(ns.Linear(2, 3, rng=0), ns.Activation.from_expression("relu(x) + sin(x)"))
    ns.save(model, tmp_path / "m.npz")
    z = RNG.normal(size=(5, 2))
    assert same(ns.load(tmp_path / "m.npz")(z), model(z))


@pytest.mark.parametrize(
    "formula", ["__import__('os').system('touch /tmp/nnscratch-pwned')", "x" * 20000, 3, "", "x +"]
)
def test_hostile_formulas_are_refused(tmp_path, formula):
    model = ns.Sequential(ns.Activation(np.tanh, lambda z: 1 - np.tanh(z) ** 2, name="t"))
    model[0].expression = "tanh(x)"
    data = to_bytes(lambda fh: ns.save(model, fh))

    def evil(h):
        h["architecture"]["varargs"][0]["__module__"]["function"] = {"formula": formula}

    with pytest.raises(ModelFileError):
        ns.load(io.BytesIO(rewrite(data, evil)))
    assert not os.path.exists("/tmp/nnscratch-pwned")


class Counter(ns.Module):
    """A layer with 0-d buffers (like BatchNorm's num_batches_tracked)."""

    _buffer_names = ("count", "scale")

    def __init__(self) -> None:
        super().__init__()
        self.count = np.array(0, dtype=np.int64)
        self.scale = np.array(1.5)

    def forward(self, x):
        if self.training:
            self.count += 1
        return x * self.scale


def test_zero_dimensional_buffers_keep_their_shape(tmp_path, monkeypatch):
    monkeypatch.setattr(names, "EXTRA_LAYERS", {"Counter": Counter})
    model = ns.Sequential(Counter())
    model.train()
    model.forward(np.ones((2, 2)))
    ns.save(model, tmp_path / "m.npz")
    loaded = ns.load(tmp_path / "m.npz")
    assert loaded[0].count.shape == () and int(loaded[0].count) == 1 and loaded[0].scale.shape == ()


@pytest.mark.parametrize(
    "tree",
    [
        {"fn": "__import__", "args": [{"symbol": "os"}]},
        {"fn": "Pow", "args": [{"int": 10}, {"fn": "Pow", "args": [{"int": 10}, {"int": 10}]}]},
        {"fn": "Pow", "args": [{"int": 10}, {"int": 1000}]},
        {"symbol": "x; import os"},
        {"int": 10**12},
        {"float": "nan"},
        {"rational": [1, 0]},
        {"fn": "Add", "args": "x"},
        ["not", "a", "node"],
    ],
)
def test_hostile_expressions_are_refused(tmp_path, tree):
    sympy = pytest.importorskip("sympy")
    model = ns.Sequential(_symbolic(sympy.tanh(sympy.Symbol("x"))))
    data = to_bytes(lambda fh: ns.save(model, fh))

    def evil(h):
        h["architecture"]["varargs"][0]["__module__"]["function"]["expression"] = tree

    with pytest.raises(ModelFileError, match="expression"):
        ns.load(io.BytesIO(rewrite(data, evil)))


# -- custom layers ---------------------------------------------------------------------------------------
class Scale(ns.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class Hidden(ns.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self._f = factor

    def _config(self):
        return {"factor": self._f}

    def forward(self, x):
        return x * self._f


def test_custom_layers_need_registration_and_same_named_attributes(tmp_path, monkeypatch):
    monkeypatch.setattr(names, "EXTRA_LAYERS", {})
    with pytest.raises(ModelFileError, match="register_layer"):
        ns.save(ns.Sequential(Scale(2.0)), tmp_path / "m.npz")
    ns.io.register_layer(Scale)
    ns.io.register_layer(Hidden)
    model = ns.Sequential(Scale(2.0), Hidden(3.0))
    ns.save(model, tmp_path / "m.npz")
    loaded = ns.load(tmp_path / "m.npz")
    assert loaded[0].factor == 2.0 and loaded[1]._f == 3.0
    bad = Scale(2.0)
    del bad.factor
    with pytest.raises(ModelFileError, match=r"self\.factor.*_config"):
        ns.save(ns.Sequential(bad), tmp_path / "m.npz")
    with pytest.raises(DTypeError):
        ns.io.register_layer(int)


def test_save_rejects_bad_arguments(tmp_path):
    model = ns.Sequential(ns.Linear(2, 1))
    with pytest.raises(DTypeError, match="Module"):
        ns.save("model", tmp_path / "m.npz")
    with pytest.raises(DTypeError, match="JSON"):
        ns.save(model, tmp_path / "m.npz", meta={"x": object()})
    with pytest.raises(DTypeError, match="meta must be a dict"):
        ns.save(model, tmp_path / "m.npz", meta=[1])
    with pytest.raises(DTypeError, match="history"):
        ns.save(model, tmp_path / "m.npz", history=[1.0])
    assert not list(tmp_path.iterdir())


# -- atomic writes -----------------------------------------------------------------------------------------
def test_a_crash_mid_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    old = ns.Sequential(ns.Linear(2, 2, rng=0))
    ns.save(old, path)
    before = path.read_bytes()

    def crash(fh, arrays, compress):
        fh.write(b"PK\x03\x04 half a zip")
        fh.flush()
        raise OSError("disk full")

    monkeypatch.setattr(container, "_write_npz", crash)
    with pytest.raises(OSError, match="disk full"):
        ns.save(ns.Sequential(ns.Linear(2, 2, rng=1)), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]  # the temporary file was removed
    assert same(ns.load(path).state_dict()["0.weight"], old.state_dict()["0.weight"])

    def interrupted(fh, arrays, compress):
        fh.write(b"PK")
        raise KeyboardInterrupt

    monkeypatch.setattr(container, "_write_npz", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ns.save(ns.Sequential(ns.Linear(2, 2, rng=1)), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]


def test_save_fsyncs_the_file_and_its_directory_before_and_after_the_rename(tmp_path, monkeypatch):
    events = record_fsync_and_replace(monkeypatch)
    ns.save(ns.Sequential(ns.Linear(2, 2)), tmp_path / "m.npz")
    kinds = [e[0] for e in events]
    assert kinds == ["fsync", "replace", "fsync"]
    assert events[0][1].name.endswith(".tmp") and events[0][1].parent == tmp_path.resolve()
    assert events[2][1] == tmp_path.resolve()


# -- refusals ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def valid() -> bytes:
    model = ns.Sequential(ns.Linear(3, 4, rng=0), ns.Tanh(), ns.Linear(4, 2, rng=1), ns.LeakyReLU(0.1))
    return to_bytes(lambda fh: ns.save(model, fh, history={"epoch": [1], "loss": [0.5]}))


def load_bytes(data: bytes):
    return ns.load(io.BytesIO(data))


def _set(key, value):
    def mutate(h):
        h[key] = value

    return mutate


def _first_layer(mutate):
    def inner(h):
        mutate(h["architecture"]["varargs"][0]["__module__"])

    return inner


def _nested(depth):
    node = {"type": "Identity"}
    for _ in range(depth):
        node = {"type": "Sequential", "varargs": [{"__module__": node}]}
    return node


HEADER_CASES = {
    "future version": (_set("format_version", 2), "newer nnscratch"),
    "version zero": (_set("format_version", 0), "positive integer"),
    "version as text": (_set("format_version", "1"), "positive integer"),
    "other format": (_set("format", "pytorch"), "not an 'nnscratch-model' file"),
    "checkpoint format": (_set("format", "nnscratch-checkpoint"), "load_checkpoint"),
    "unknown field": (_set("exec", "import os"), "unknown fields"),
    "no library version": (_set("library_version", 1), "library_version"),
    "unknown layer": (_first_layer(lambda n: n.update(type="EvilLayer")), "unknown layer type 'EvilLayer'"),
    "base Module": (_first_layer(lambda n: n.update(type="Module")), "unknown layer type"),
    "extra argument": (_first_layer(lambda n: n["args"].update(evil=1)), "takes no argument"),
    "bad argument": (_first_layer(lambda n: n["args"].update(in_features="three")), "cannot be built"),
    "huge layer": (_first_layer(lambda n: n["args"].update(in_features=10**9)), "refusing to allocate"),
    "odd value": (_first_layer(lambda n: n["args"].update(bias={"__eval__": "1"})), "unsupported argument"),
    "bad dtype arg": (_first_layer(lambda n: n["args"].update(dtype={"__dtype__": "object"})), "unsupported"),
    "architecture list": (_set("architecture", []), "architecture is invalid"),
    "manifest": (lambda h: h["arrays"]["0.weight"].update(shape=[1]), "manifest"),
    "dtype field": (_set("dtype", "float32"), "header dtype"),
    "activations": (_set("activations", ["relu"]), "activation names"),
    "history shape": (_set("history", {"epoch": [1, 2], "loss": [0.1]}), "history"),
    "history text": (_set("history", {"epoch": [1], "loss": ["x"]}), "history"),
    "meta list": (_set("meta", [1]), "must be an object"),
    "deep nesting": (_set("architecture", _nested(100)), "nested more than"),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_bad_headers_are_refused(valid, case):
    mutate, message = HEADER_CASES[case]
    with pytest.raises(ModelFileError, match=message):
        load_bytes(rewrite(valid, mutate))


def test_size_arguments_are_bounded_by_the_arrays_in_the_file():
    from nnscratch.io.architecture import BuildLimits, from_config

    limits = BuildLimits.from_shapes([(4, 3), (4,)])
    assert limits.max_int == 1024 and limits.max_product == 2**20
    assert BuildLimits.from_shapes([(5000, 300)]).max_int == 5000
    node = {"type": "Linear", "args": {"in_features": 1000, "out_features": 1000}}
    from_config(node, limits)  # within bounds
    with pytest.raises(ModelFileError, match="would allocate more"):
        from_config(node, BuildLimits(max_int=1000, max_product=999_999))


class Boom:
    """Unpickling this would run code: the loader must never get that far."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/nnscratch-pwned",))


ARRAY_CASES = {
    "missing": (lambda a: a.pop("0.bias"), "missing \\['0.bias'\\]"),
    "extra": (lambda a: a.update(extra=np.zeros(2)), "unexpected \\['extra'\\]"),
    "misshaped": (lambda a: a.update({"0.bias": np.zeros(5)}), "has shape \\(5,\\)"),
    "float32": (lambda a: a.update({"0.bias": a["0.bias"].astype(np.float32)}), "has dtype float32"),
    "big endian": (lambda a: a.update({"0.bias": a["0.bias"].astype(">f8")}), "has dtype >f8"),
    "ints": (lambda a: a.update({"0.bias": np.arange(4)}), "dtype int64"),
    "object": (lambda a: a.update({"0.bias": np.array([Boom()] * 4, dtype=object)}), "object"),
    "strings": (lambda a: a.update({"0.bias": np.array(["a", "b", "c", "d"])}), "dtype <U1"),
    "complex": (lambda a: a.update({"0.bias": np.zeros(4, complex)}), "complex128"),
    "structured": (lambda a: a.update({"0.bias": np.zeros(4, "f8,f8")}), "only plain numeric"),
    "nan": (lambda a: a["0.bias"].__setitem__(0, np.nan), "NaN or infinite"),
    "inf": (lambda a: a["2.weight"].__setitem__((0, 0), np.inf), "NaN or infinite"),
}


@pytest.mark.parametrize("case", sorted(ARRAY_CASES))
def test_bad_arrays_are_refused(valid, case):
    mutate, message = ARRAY_CASES[case]
    if os.path.exists("/tmp/nnscratch-pwned"):
        os.unlink("/tmp/nnscratch-pwned")
    with pytest.raises(ModelFileError, match=message):
        load_bytes(rewrite(valid, arrays_fn=mutate))
    assert not os.path.exists("/tmp/nnscratch-pwned")


def test_header_problems_are_refused(valid):
    _, arrays = unpack(valid)
    cases = {
        "not JSON": pack(None, arrays, raw_header=np.frombuffer(b"{not json", np.uint8)),
        "not UTF-8": pack(None, arrays, raw_header=np.frombuffer(b'{"a": "\xff"}', np.uint8)),
        "JSON list": pack([1, 2], arrays),
        "float header": pack(None, arrays, raw_header=np.zeros(4)),
        "2-D header": pack(None, arrays, raw_header=np.zeros((2, 2), np.uint8)),
        "deeply nested JSON": pack(None, arrays, raw_header=np.frombuffer(b"[" * 100000, np.uint8)),
    }
    for name, data in cases.items():
        with pytest.raises(ModelFileError):
            load_bytes(data)
        assert name


def test_damaged_containers_are_refused(valid, tmp_path):
    _, arrays = unpack(valid)
    plain = io.BytesIO()
    np.savez(plain, **arrays)
    with pytest.raises(ModelFileError, match="no '__header__' member"):
        load_bytes(plain.getvalue())
    for cut in (0, 1, 10, 100, len(valid) // 2, len(valid) - 1):
        with pytest.raises(ModelFileError):
            load_bytes(valid[:cut])
    with pytest.raises(ModelFileError):
        load_bytes(np.random.default_rng(1).bytes(500))
    # A member that is not an array (e.g. a script smuggled into the zip).
    buf = io.BytesIO(valid)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("run_me.py", "import os")
    with pytest.raises(ModelFileError, match=r"not a \.npy array"):
        load_bytes(buf.getvalue())
    # A flipped data byte is caught by the zip's CRC-32.
    damaged = bytearray(valid)
    at = valid.index(b"0.weight.npy") + 200
    damaged[at] ^= 0xFF
    with pytest.raises(ModelFileError):
        load_bytes(bytes(damaged))
    with pytest.raises(FileNotFoundError):
        ns.load(tmp_path / "missing.npz")


def test_duplicate_members_are_refused(valid):
    buf = io.BytesIO(valid)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("0.bias.npy", b"x")
    with pytest.raises(ModelFileError, match="duplicate"):
        load_bytes(buf.getvalue())


def test_the_untouched_file_loads(valid):
    model = load_bytes(valid)
    assert isinstance(model, ns.Sequential) and len(model) == 4


def _forge_sizes(data: bytes, member: str, compressed: int, uncompressed: int) -> bytes:
    """Rewrite the sizes the zip directory claims for ``member`` (a plain, non-zip64 zip)."""
    import struct

    out = bytearray(data)
    at = out.index(b"PK\x01\x02")  # the first central-directory entry
    while True:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46 : at + 46 + name_len].decode() == member:
            struct.pack_into("<II", out, at + 20, compressed, uncompressed)
            return bytes(out)
        at = out.index(b"PK\x01\x02", at + 4)


def test_size_claims_are_checked_against_the_bytes_in_the_file(valid):
    header, arrays = unpack(valid)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        members = {"__header__": np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays}
        for key, arr in members.items():
            member = io.BytesIO()
            np.save(member, arr)
            zf.writestr(f"{key}.npy", member.getvalue())
    plain = buf.getvalue()
    assert load_bytes(plain) is not None  # a deflated zip written by another tool is fine
    with pytest.raises(ModelFileError, match="claims"):
        load_bytes(_forge_sizes(plain, "0.weight.npy", 10**9, 10**9))
    with pytest.raises(ModelFileError, match="claims"):
        load_bytes(_forge_sizes(plain, "0.weight.npy", 100, 10**9))


def test_an_optimizer_with_parameter_groups_is_recorded_with_each_groups_values(tmp_path):
    model = ns.Sequential(ns.Linear(2, 3, rng=0), ns.Tanh(), ns.Linear(3, 1, rng=1))
    named = list(model.named_parameters())
    opt = ns.Adam(
        [
            {"params": [p for n, p in named if n.endswith("weight")]},
            {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0},
        ],
        lr=0.01,
        weight_decay=0.1,
    )
    ns.save(model, tmp_path / "m.npz", training={"optimizer": opt})
    recorded = ns.load_with_info(tmp_path / "m.npz")[1].training["optimizer"]
    assert recorded["type"] == "Adam" and recorded["weight_decay"] == 0.1
    assert [g["weight_decay"] for g in recorded["param_groups"]] == [0.1, 0.0]
    assert recorded["param_groups"][1]["betas"] == [0.9, 0.999]
