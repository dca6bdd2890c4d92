"""The playground's TensorFlow-Playground features through its API (issue #19 item 3): regression
sets, input features, L1/L2, the hand edit of one weight, and their export."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("flask")

from helpers.playground import Tab, assert_reproduced
from nnscratch.playground.server import create_app

ALL_FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]


@pytest.fixture()
def app():
    return create_app("127.0.0.1", 8765)


@pytest.fixture()
def tab(app):
    return Tab(app.test_client())


def session_of(app):
    ((s, _),) = app.extensions["nnscratch_sessions"]._sessions.values()
    return s


# -- regression ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset", ["plane", "multi_gaussian"])
def test_regression_sets_train_with_mse_and_report_loss_only(tab, dataset):
    first = tab.post("/api/config", {"dataset": dataset, "n_samples": 200}).get_json()
    assert first["task"] == "regression" and first["output"] == "identity"
    assert first["boundary_kind"] == "regression" and first["layers"][-1] == 1
    assert first["train_acc"] is None and first["test_acc"] is None
    ys = first["points"]["train_y"]
    assert any(y != int(y) for y in ys)  # continuous targets, not class indices
    assert first["value_range"] == pytest.approx(
        max(abs(y) for y in ys + first["points"]["test_y"]), abs=1e-4
    )
    assert len(first["boundary"]) == first["grid"] ** 2
    later = tab.post("/api/step", {"epochs": 30}).get_json()
    assert later["train_loss"] < first["train_loss"]
    assert later["boundary"] != first["boundary"]


def test_the_plane_is_fitted_and_its_boundary_is_the_output_in_hundredths(tab, app):
    tab.post("/api/config", {"dataset": "plane", "hidden": [], "activations": [], "noise": 0, "lr": 0.01})
    data = tab.post("/api/step", {"epochs": 200}).get_json()
    assert data["train_loss"] < 1e-3
    s = session_of(app)
    out = s.model.forward(np.array([[data["bounds"][0], data["bounds"][3]]]))[0, 0]
    assert data["boundary"][0] == round(out * 100)  # row 0, column 0 is the top-left corner


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_a_regression_refuses_a_class_output(tab, output):
    res = tab.post("/api/config", {"dataset": "plane", "output": output})
    assert res.status_code == 400 and "needs the identity output" in res.get_json()["error"]


def test_a_regression_csv_uploads_trains_and_exports(tab, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 2))
    rows = "\n".join(f"{a},{b},{a * b + 0.5:.6f}" for a, b in X)
    res = tab.upload(("x0,x1,y\n" + rows).encode())
    assert res.status_code == 200, res.get_json()
    data = res.get_json()
    assert data["task"] == "regression" and data["output"] == "identity"
    tab.post("/api/step", {"epochs": 3})
    csv = tab.get("/api/export/data").data.decode()
    assert csv.splitlines()[1].split(",")[2] != str(int(float(csv.splitlines()[1].split(",")[2])))
    (tmp_path / "playground.toml").write_bytes(tab.get("/api/export/experiment").data)
    (tmp_path / "playground_data.csv").write_text(csv)
    assert_reproduced(tab, tmp_path)


# -- input features, L1 --------------------------------------------------------------------------
def test_features_are_an_input_layer_with_one_picture_each(tab):
    data = tab.post("/api/config", {"features": ["sin(x2)", "x1*x2", "x1"]}).get_json()
    assert data["features"] == ["x1", "x1*x2", "sin(x2)"]  # canonical order
    assert data["layers"][0] == 3 and len(data["weights"][0]["weight"][0]) == 3
    assert len(data["inputs"]) == 3 and all(len(m) == data["neuron_grid"] ** 2 for m in data["inputs"])
    assert [len(m) for m in data["neurons"]] == [4, 4]  # hidden layers only
    assert tab.post("/api/explain", {"layer": 0, "i": 0, "j": 2}).status_code == 200
    explained = tab.post("/api/explain", {"layer": 0, "i": 0, "j": 2}).get_json()["text"]
    assert "input features: x1 = " in explained


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"features": []}, "features must name at least one input"),
        ({"features": ["x1", "x1"]}, "each once"),
        ({"features": ["x3"]}, "features[0] must be one of"),
        ({"features": ["cos(x1)"]}, "features[0] must be one of"),
        ({"features": "x1"}, "features must be a list"),
        ({"features": [1]}, "features[0] must be one of"),
        ({"features": [*ALL_FEATURES, "x1"]}, "features must be a list of at most 7"),
        ({"l1": -0.1}, "l1 must be a number in [0, 10]"),
        ({"l1": "0.1"}, "l1 must be a number"),
        ({"dataset": "planes"}, "dataset must be one of"),
    ],
)
def test_feature_and_l1_settings_are_checked(tab, settings, fragment):
    res = tab.post("/api/config", settings)
    assert res.status_code == 400 and fragment in res.get_json()["error"], res.get_json()


def test_l1_drives_weights_to_exactly_zero_more_than_l2(tab, app):
    zeros = {}
    for key in ("l1", "l2"):
        tab.post("/api/config", {"dataset": "linear", "features": ALL_FEATURES, key: 0.05, "seed": 1})
        tab.post("/api/step", {"epochs": 40})
        W = session_of(app).linears()[0].weight.data
        zeros[key] = int(np.sum(np.abs(W) < 1e-3))
    assert zeros["l1"] > zeros["l2"]


@pytest.mark.parametrize(
    "settings",
    [
        {"dataset": "plane", "features": ALL_FEATURES, "l1": 0.001, "hidden": [3], "activations": ["tanh"]},
        {"dataset": "multi_gaussian", "noise": 0.2, "l2": 0.01, "optimizer": "adam", "lr": 0.01},
        {"dataset": "circles", "features": ["x1^2", "x2^2"], "l1": 0.01, "l2": 0.001, "batch_size": 7},
    ],
)
def test_exported_features_regression_and_l1_reproduce_bit_for_bit(tab, tmp_path, settings):
    assert tab.post("/api/config", {"n_samples": 150, **settings}).status_code == 200
    tab.post("/api/step", {"epochs": 5})
    text = tab.get("/api/export/experiment").data.decode()
    if "features" in settings:
        assert "features = [" in text
    if "l1" in settings:
        assert f"l1 = {settings['l1']}" in text
    if "l2" in settings:
        assert f"weight_decay = {settings['l2']}" in text
    (tmp_path / "playground.toml").write_text(text)
    assert_reproduced(tab, tmp_path)


# -- editing one weight --------------------------------------------------------------------------
def test_setting_a_weight_changes_it_the_loss_and_the_boundary(tab, app):
    before = tab.post("/api/step", {"epochs": 2}).get_json()
    res = tab.post("/api/weight", {"layer": 0, "kind": "weight", "i": 1, "j": 0, "value": -3.25})
    assert res.status_code == 200, res.get_json()
    after = res.get_json()
    assert after["weights"][0]["weight"][1][0] == -3.25
    assert session_of(app).linears()[0].weight.data[1, 0] == -3.25
    assert after["boundary"] != before["boundary"] and after["edited"]
    assert after["train_loss"] != before["train_loss"] and after["epoch"] == 2
    assert after["curves"]["start"] == 2 and after["curves"]["train_loss"] == [after["train_loss"]]
    bias = tab.post("/api/weight", {"layer": 2, "kind": "bias", "i": 0, "value": 0.5}).get_json()
    assert bias["weights"][2]["bias"] == [0.5]
    res = tab.get("/api/export/experiment")
    assert res.status_code == 400 and "set by hand" in res.get_json()["error"]
    assert tab.get("/api/export/model").status_code == 200
    assert not tab.post("/api/reset", {}).get_json()["edited"]
    assert tab.post("/api/step", {"epochs": 1}).status_code == 200
    assert tab.get("/api/export/experiment").status_code == 200


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        ({"value": float("nan")}, "numbers must be finite"),
        ({"value": 1e400}, "value must be a number in [-100, 100]"),
        ({"value": 101}, "value must be a number in [-100, 100]"),
        ({"value": "1"}, "value must be a number"),
        ({}, "value must be a number"),
        ({"layer": 3, "value": 1}, "layer must be a whole number in [0, 2]"),
        ({"layer": -1, "value": 1}, "layer must be a whole number in [0, 2]"),
        ({"i": 4, "value": 1}, "i must be a whole number in [0, 3]"),
        ({"j": 2, "value": 1}, "j must be a whole number in [0, 1]"),
        ({"layer": 2, "i": 1, "value": 1}, "i must be a whole number in [0, 0]"),
        ({"kind": "gain", "value": 1}, "kind must be 'weight' or 'bias'"),
        ({"i": 0.5, "value": 1}, "i must be a whole number"),
    ],
)
def test_a_bad_weight_edit_is_refused_and_changes_nothing(tab, edit, fragment):
    import json

    before = tab.post("/api/step", {"epochs": 1}).get_json()
    raw = json.dumps({"layer": 0, "kind": "weight", "i": 0, "j": 0, **edit}).replace("Infinity", "1e400")
    res = tab.post_raw("/api/weight", raw.encode())
    assert res.status_code == 400 and fragment in res.get_json()["error"], res.get_json()
    state = tab.get("/api/state").get_json()
    assert state["weights"] == before["weights"] and not state["edited"]
    assert state["train_loss"] == before["train_loss"]
