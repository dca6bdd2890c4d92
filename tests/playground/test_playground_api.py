"""The playground's JSON API through Flask's test client (no browser), and the server-side bugs
of issue #19 (each test names the bug it pins)."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("flask")

from helpers.playground import BASE, Tab, assert_reproduced
from nnscratch.playground.datasets import MAX_UPLOAD_BYTES
from nnscratch.playground.server import create_app


@pytest.fixture()
def app():
    return create_app("127.0.0.1", 8765)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def tab(client):
    return Tab(client)


def post(tab, path, payload=None):
    return tab.post(path, payload)


def test_config_step_and_reset_restore_the_same_initial_weights(tab):
    first = post(tab, "/api/config", {"dataset": "xor", "hidden": [5], "activations": ["tanh"]}).get_json()
    assert first["epoch"] == 0 and first["layers"] == [2, 5, 1]
    for _ in range(3):
        after = post(tab, "/api/step", {"epochs": 2}).get_json()
    assert after["epoch"] == 6
    assert after["weights"] != first["weights"]
    again = post(tab, "/api/reset", {}).get_json()
    assert again["epoch"] == 0 and again["weights"] == first["weights"]


def test_training_xor_reaches_95_percent_test_accuracy(tab):
    post(tab, "/api/config", {"dataset": "xor", "hidden": [8, 8], "activations": ["tanh", "tanh"]})
    data = post(tab, "/api/step", {"epochs": 60}).get_json()
    assert data["test_acc"] >= 0.95


def test_multiclass_softmax_and_per_neuron_maps(tab):
    data = post(
        tab,
        "/api/config",
        {"dataset": "xor", "hidden": [3, 2], "activations": ["relu", "sigmoid"], "output": "softmax"},
    ).get_json()
    assert data["output"] == "softmax" and data["layers"][-1] == 2
    assert [len(m) for m in data["neurons"]] == [3, 2]
    assert len(data["boundary"]) == data["grid"] ** 2


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"lr": -1}, "lr must be a number in (0, 10]. Received: lr=-1"),
        ({"hidden": [4], "activations": ["tanh", "relu"]}, "one activation per hidden layer"),
        ({"hidden": [1000], "activations": ["tanh"]}, "hidden[0] must be a whole number in [1, 32]"),
        ({"activations": ["mish", "tanh"]}, "unknown activation 'mish'"),
        ({"dataset": "mnist"}, "dataset must be one of"),
        ({"wings": 3}, "unknown setting"),
        ({"n_samples": "many"}, "n_samples must be a whole number in [8, 5000]. Received: n_samples='many'"),
        ({"batch_size": 0}, "batch_size must be a whole number in [1, 5000]"),
    ],
)
def test_absurd_settings_get_a_message_not_a_crash(tab, settings, fragment):
    res = post(tab, "/api/config", {"dataset": "xor", **settings})
    assert res.status_code == 400
    assert fragment in res.get_json()["error"]
    assert post(tab, "/api/step", {"epochs": 1}).status_code == 200  # the server is still alive


def test_divergence_is_reported_with_the_epoch(tab):
    post(
        tab,
        "/api/config",
        {
            "dataset": "xor",
            "hidden": [16, 16],
            "activations": ["identity", "identity"],
            "output": "identity",
            "lr": 10,
        },
    )
    data = post(tab, "/api/step", {"epochs": 50}).get_json()
    assert data["diverged"] and "epoch" in data["diverged"] and "learning rate" in data["diverged"]


def test_tabs_have_separate_sessions(client):
    a, b = Tab(client), Tab(client)
    assert a.sid != b.sid
    a.post("/api/step", {"epochs": 3})
    assert b.post("/api/step", {"epochs": 1}).get_json()["epoch"] == 1
    assert a.post("/api/step", {"epochs": 1}).get_json()["epoch"] == 4
    no_id = client.post("/api/step", json={"epochs": 1}, headers={"Origin": BASE}, base_url=BASE)
    assert no_id.status_code == 410 and no_id.get_json()["gone"]


def test_upload_csv_good_broken_and_huge(tab):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    rows = "\n".join(f"{a},{b},{int(a + b > 0)}" for a, b in X)
    ok = tab.upload(("x0,x1,label\n" + rows).encode())
    assert ok.status_code == 200 and ok.get_json()["config"]["dataset"] == "upload"
    assert "as a number" in tab.upload(b"1,2,0\n1,x,1\n").get_json()["error"]
    assert "columns" in tab.upload(b"1,2,0\n1,2\n").get_json()["error"]
    assert "single class" in tab.upload(b"1,2,0\n3,4,0\n" * 4).get_json()["error"]  # from_csv says it
    assert "UTF-8" in tab.upload(b"\xff\xfe\x00garbage").get_json()["error"]
    # a pre-encoded multipart body (Werkzeug's builder would spool a big file to disk and leak it)
    boundary = "xyzzy"
    payload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'.encode()
        + b"1,2,0\n" * (MAX_UPLOAD_BYTES // 6 + 20_000)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    huge = tab.client.post(
        "/api/upload",
        data=payload,
        headers=tab.headers(),
        base_url=BASE,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert huge.status_code == 413 and "too large" in huge.get_json()["error"]


def test_page_and_static_files_are_served(tab):
    assert b"nnscratch playground" in tab.get("/").data
    for module in ("app.js", "api.js", "draw.js", "form.js", "style.css"):
        assert tab.get(f"/static/{module}").status_code == 200
    assert tab.get("/static/secret.py").status_code == 404


@pytest.mark.parametrize(
    "settings",
    [
        {"dataset": "moons", "hidden": [4, 3], "activations": ["tanh", "relu"], "batch_size": 16},
        {
            "dataset": "spirals",
            "n_classes": 3,
            "hidden": [6],
            "activations": ["tanh"],
            "optimizer": "adam",
            "lr": 0.02,
            "l2": 0.001,
            "batch_size": 500,
        },
    ],
)
def test_exported_experiment_file_reproduces_the_session_bit_for_bit(tab, tmp_path, settings):
    post(tab, "/api/config", {"n_samples": 200, **settings})
    post(tab, "/api/step", {"epochs": 4})
    (tmp_path / "playground.toml").write_bytes(tab.get("/api/export/experiment").data)
    assert_reproduced(tab, tmp_path)


def test_exported_upload_experiment_reads_the_exported_data(tab, tmp_path):
    import nnscratch as ns
    from nnscratch.cli import main

    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 2))
    rows = "\n".join(f"{a},{b},{int(a * b > 0)}" for a, b in X)
    assert tab.upload(("x0,x1,label\n" + rows).encode()).status_code == 200
    post(tab, "/api/step", {"epochs": 2})
    (tmp_path / "playground.toml").write_bytes(tab.get("/api/export/experiment").data)
    (tmp_path / "playground_data.csv").write_bytes(tab.get("/api/export/data").data)
    ours = ns.load(io.BytesIO(tab.get("/api/export/model").data))
    with pytest.raises(SystemExit):
        main(
            [
                "train",
                str(tmp_path / "playground.toml"),
                "--out",
                str(tmp_path / "run"),
                "--quiet",
                "--no-figures",
            ]
        )
    theirs = ns.load(tmp_path / "run" / "model.npz")
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, theirs.state_dict()[key])


# -- the bugs of issue #19 -------------------------------------------------------------------------
def test_bug1_identity_output_on_three_classes_reports_the_three_units_it_has(tab):
    data = tab.post("/api/config", {"dataset": "spirals", "n_classes": 3, "output": "identity"}).get_json()
    assert data["layers"][-1] == 3 == len(data["weights"][-1]["weight"])
    assert data["boundary_kind"] == "classes"
    assert {v // 100 for v in data["boundary"]} <= {0, 1, 2}
    assert tab.post("/api/explain", {"layer": 2, "kind": "bias", "i": 2}).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.post("/api/config", {"dataset": "gaussians", "n_classes": 6, "n_samples": 8}),
        lambda t: t.upload(b"x0,x1,label\n0.1,0.2,0\n0.3,0.4,1\n"),
        lambda t: t.upload(
            b"x0,x1,label\n"
            + b"".join(b"0.%d,0.2,%d\n" % (i, c) for i, c in enumerate([0, 0, 0, 1, 2, 3, 4, 5]))
        ),
    ],
    ids=["gaussians-6-classes-8-points", "two-row-upload", "upload-too-small-to-split"],
)
def test_bug2_a_failed_apply_or_upload_leaves_the_session_as_it_was(tab, change):
    tab.post("/api/config", {"dataset": "moons", "hidden": [3], "activations": ["relu"]})
    before = tab.post("/api/step", {"epochs": 3}).get_json()
    data_before = tab.get("/api/export/data").data
    res = change(tab)
    assert res.status_code == 400 and res.get_json()["error"]
    state = tab.get("/api/state").get_json()
    assert state["config"]["dataset"] == "moons" and state["layers"] == before["layers"] == [2, 3, 1]
    assert state["weights"] == before["weights"] and state["epoch"] == 3
    assert state["boundary"] == before["boundary"]
    assert tab.get("/api/export/data").data == data_before  # the old data with the old model
    after = tab.post("/api/step", {"epochs": 1, "have": 4}).get_json()
    assert after["epoch"] == 4 and after["curves"]["start"] == 4 and len(after["curves"]["train_loss"]) == 1


def test_bug3_many_new_sessions_never_evict_a_live_tab(client):
    live = Tab(client)
    live.post("/api/config", {"hidden": [3], "activations": ["tanh"]})
    refused = 0
    for _ in range(70):
        res = client.post("/api/session", json={}, headers={"Origin": BASE}, base_url=BASE)
        refused += res.status_code == 503
    assert refused == 70 - 63  # 64 slots, one held by the live tab
    assert live.post("/api/step", {"epochs": 1}).get_json()["layers"] == [2, 3, 1]


def test_bug3_an_evicted_session_is_410_gone_not_a_fresh_network(app, client):
    store = app.extensions["nnscratch_sessions"]
    store.max_sessions, store.live_seconds = 2, 0.0  # every tab counts as idle
    old = Tab(client)
    Tab(client), Tab(client)
    res = old.post("/api/step", {"epochs": 1})
    assert res.status_code == 410 and res.get_json()["gone"]
    assert "does not know this tab's session" in res.get_json()["error"]


def test_bug4_steps_send_only_new_loss_points_at_the_same_speed(tab):
    import time

    tab.post("/api/config", {"n_samples": 100, "hidden": [2], "activations": ["tanh"]})
    first = tab.post("/api/step", {"epochs": 1, "have": 1})
    small = len(first.data)

    def timed_step(have):
        start = time.perf_counter()
        res = tab.post("/api/step", {"epochs": 1, "have": have})
        return time.perf_counter() - start, res

    fast = min(timed_step(2 + k)[0] for k in range(5))
    s = next(iter(tab.client.application.extensions["nnscratch_sessions"]._sessions.values()))[0]
    s.curves["train_loss"].extend([0.5] * 200_000)  # as after 200k epochs
    s.curves["test_loss"].extend([0.5] * 200_000)
    n = len(s.curves["train_loss"])
    runs = [timed_step(n + k) for k in range(5)]
    for k, (_, res) in enumerate(runs):
        data = res.get_json()
        assert data["curves"]["start"] == n + k and len(data["curves"]["train_loss"]) == 1
        assert len(res.data) < small + 200  # no history resent
    assert min(t for t, _ in runs) < 3 * fast + 0.05
    whole = tab.post("/api/step", {"epochs": 1, "have": 0}).get_json()  # a page that lost count
    assert whole["curves"]["start"] == 0 and len(whole["curves"]["train_loss"]) == n + 6


def test_bug9_an_epoch_0_experiment_export_is_refused_not_written_as_1_epoch(tab):
    res = tab.get("/api/export/experiment")
    assert res.status_code == 400 and "has not trained yet (epoch 0)" in res.get_json()["error"]
    tab.post("/api/step", {"epochs": 2})
    assert b"epochs = 2" in tab.get("/api/export/experiment").data


@pytest.mark.parametrize(
    ("hidden", "fragment"),
    [
        ([4.5], "hidden[0] must be a whole number in [1, 32]. Received: hidden[0]=4.5"),
        (["abc"], "hidden[0]='abc'"),
    ],
)
def test_bug9_fractional_or_text_units_are_refused_with_the_field_named(tab, hidden, fragment):
    res = tab.post("/api/config", {"hidden": hidden, "activations": ["tanh"]})
    assert res.status_code == 400 and fragment in res.get_json()["error"]
    assert "int()" not in res.get_json()["error"]
