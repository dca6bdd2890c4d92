"""The playground is safe by default: who may call it, what it answers with, what it accepts.

Found by a tester (issue #19): a DNS-rebinding page ran the whole app, no CSP/framing headers,
guessable client-made session ids, unbounded CPU per request, uploads and numbers that broke
every later step, and 500s with Python exception names.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.playground import BASE, Tab, stop_server

pytest.importorskip("flask")

from nnscratch.playground import security, session
from nnscratch.playground.datasets import MAX_UPLOAD_ROWS
from nnscratch.playground.fields import MAX_JSON_DEPTH, json_depth
from nnscratch.playground.server import create_app, make_server
from nnscratch.playground.session import PlaygroundConfig, Session

pytest.importorskip("waitress")


@pytest.fixture()
def client():
    return create_app("127.0.0.1", 8765).test_client()


@pytest.fixture()
def tab(client):
    return Tab(client)


# -- who may call ---------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["evil.test:8765", "evil.test", "127.0.0.1:9999", "127.0.0.2:8765", ""])
def test_a_foreign_host_header_is_refused(tab, host):
    """DNS rebinding: evil.test resolving to 127.0.0.1 still sends Host: evil.test."""
    for res in (
        tab.client.get("/", headers={"Host": host}),
        tab.client.get("/api/state", headers={"Host": host, "X-Session": tab.sid}),
        tab.client.post(
            "/api/step", json={}, headers={"Host": host, "Origin": f"http://{host}", "X-Session": tab.sid}
        ),
    ):
        assert res.status_code == 403
        assert "answers only to" in res.get_json()["error"]
    assert tab.post("/api/step", {"epochs": 1}).get_json()["epoch"] == 1  # nothing ran for them


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST:8765"])
def test_the_loopback_names_with_the_port_are_served(client, host):
    res = client.get("/", headers={"Host": host})
    assert res.status_code == 200 and b"nnscratch playground" in res.data


def test_the_host_given_to_bind_is_served_and_a_wildcard_adds_nothing():
    assert "192.168.1.5:8000" in security.allowed_hosts("192.168.1.5", 8000)
    assert "[fe80::1]:8000" in security.allowed_hosts("fe80::1", 8000)
    assert security.allowed_hosts("0.0.0.0", 8000) == security.allowed_hosts("127.0.0.1", 8000)
    assert "localhost" in security.allowed_hosts("127.0.0.1", 80)  # browsers omit :80
    app = create_app("192.168.1.5", 8000)
    assert app.test_client().get("/", headers={"Host": "192.168.1.5:8000"}).status_code == 200


@pytest.mark.parametrize(
    "origin", ["http://evil.test", "http://127.0.0.1:9999", "https://127.0.0.1:8765", "null", None]
)
def test_a_cross_origin_or_origin_less_post_is_refused(tab, origin):
    headers = {"X-Session": tab.sid} | ({"Origin": origin} if origin else {})
    for path, payload in (
        ("/api/step", {"epochs": 5}),
        ("/api/config", {"hidden": [9]}),
        ("/api/session", {}),
    ):
        res = tab.client.post(path, json=payload, headers=headers, base_url=BASE)
        assert res.status_code == 403 and "cross-origin" in res.get_json()["error"]
    assert tab.post("/api/step", {"epochs": 1}).get_json()["epoch"] == 1  # the session was not touched


def test_every_answer_carries_the_security_headers(tab):
    for res in (tab.get("/"), tab.get("/static/app.js"), tab.post("/api/step", {}), tab.get("/api/state")):
        csp = res.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert res.headers["X-Frame-Options"] == "DENY"
        assert res.headers["X-Content-Type-Options"] == "nosniff"
        assert res.headers["Referrer-Policy"] == "no-referrer"
    assert b'<script type="module" src="/static/app.js">' in tab.get("/").data
    assert b"<script>" not in tab.get("/").data  # nothing inline for the CSP to block


def test_session_ids_are_the_servers_random_tokens_and_unknown_ones_are_gone(client):
    tabs = [Tab(client) for _ in range(3)]
    assert len({t.sid for t in tabs}) == 3 and all(len(t.sid) >= 32 for t in tabs)
    invented = client.post(
        "/api/step", json={"epochs": 1}, headers={"X-Session": "tab-a", "Origin": BASE}, base_url=BASE
    )
    assert invented.status_code == 410 and invented.get_json()["gone"]
    assert "does not know this tab's session" in invented.get_json()["error"]
    assert len(client.application.extensions["nnscratch_sessions"]) == 3  # an invented id made nothing


# -- bounded work ---------------------------------------------------------------------------------
def test_a_request_trains_within_its_cpu_budget(tab):
    """200 epochs of 5000 points x 6x32 were about 75 s of CPU in one request."""
    big = {"n_samples": 5000, "hidden": [32] * 6, "activations": ["tanh"] * 6, "batch_size": 10}
    assert tab.post("/api/config", big).status_code == 200
    start = time.perf_counter()
    data = tab.post("/api/step", {"epochs": 1000}).get_json()
    assert data["epochs_done"] == data["epoch"] == 1 == data["epoch_budget"]
    assert time.perf_counter() - start < 10
    small = tab.post("/api/config", {"n_samples": 200, "hidden": [4], "activations": ["tanh"]}).get_json()
    assert small["epoch_budget"] >= 200  # a small network may take many epochs per request


def test_training_stops_at_the_deadline_and_when_asked(monkeypatch):
    s = Session(PlaygroundConfig(n_samples=200, hidden=[4], activations=["tanh"]))
    assert s.step(50, stop=lambda: True) == 1  # the client went away after the first epoch
    monkeypatch.setattr(session, "STEP_SECONDS", 0.0)
    assert s.step(50) == 1 and s.epoch == 2


def test_training_stops_when_the_client_disconnects(monkeypatch):
    """Through waitress: a step request whose connection is closed stops after the epoch it is in."""
    monkeypatch.setattr(session, "STEP_SECONDS", 60.0)
    monkeypatch.setattr(session, "WORK_PER_STEP", 1e12)
    app = create_app("127.0.0.1", 0)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        config = PlaygroundConfig(n_samples=2000, hidden=[32, 32], activations=["tanh", "tanh"])
        sid = app.extensions["nnscratch_sessions"].add(Session(config))
        body = json.dumps({"epochs": 1000}).encode()
        head = (
            f"POST /api/step HTTP/1.1\r\nHost: 127.0.0.1:{server.effective_port}\r\nOrigin: {base}\r\n"
            f"X-Session: {sid}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.effective_port)) as sock:
            sock.sendall(head.encode() + body)
            time.sleep(1.0)  # it is training now
        live = app.extensions["nnscratch_sessions"].get(sid)
        time.sleep(1.5)
        with live.lock:  # free again once the abandoned request stopped
            assert 1 <= live.epoch < 1000
    finally:
        stop_server(server, thread)


# -- every field checked --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"n_samples": 1e400}', "n_samples must be a whole number in [8, 5000]. Received: n_samples=inf"),
        (b'{"hidden": [1e400], "activations": ["tanh"]}', "hidden[0] must be a whole number in [1, 32]"),
        (b'{"seed": 1e400}', "seed must be a whole number in [0, 4294967295]"),
        (b'{"batch_size": -Infinity}', "numbers must be finite: JSON -Infinity is not accepted"),
        (b'{"lr": NaN}', "numbers must be finite: JSON NaN is not accepted"),
        (b'{"hidden": "44"}', "hidden must be a list of at most 6 entries. Received: hidden='44'"),
        (b'{"hidden": [4.5, 4]}', "hidden[0] must be a whole number in [1, 32]. Received: hidden[0]=4.5"),
        (b'{"hidden": ["abc", 4]}', "hidden[0] must be a whole number in [1, 32]. Received: hidden[0]='abc'"),
        (b'{"lr": null}', "lr must be a number in (0, 10]. Received: lr=None"),
        (b'{"lr": 0}', "lr must be a number in (0, 10]. Received: lr=0"),
        (b'{"noise": true}', "noise must be a number in [0, 2]. Received: noise=True"),
        (b'{"momentum": 1e308}', "momentum must be a number in [0, 0.999]"),
        (b'{"n_samples": 1' + b"0" * 5000 + b"}", "a number is far too long"),
        (b'{"test_fraction": 123456789012345678901234567890}', "test_fraction must be a number in [0, 0.9]"),
        (b"[" * 200_000 + b"]" * 200_000, "too large"),
        (b'{"hidden": ' + b"[" * 40 + b"]" * 40 + b"}", f"nested more than {MAX_JSON_DEPTH} levels"),
        (b'{"hidden": [4,', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
    ],
)
def test_every_bad_number_is_a_400_naming_the_field(tab, raw, fragment):
    res = tab.post_raw("/api/config", raw)
    assert res.status_code == 400, res.get_json()
    message = res.get_json()["error"]
    assert fragment in message
    assert "Error" not in message and "Traceback" not in message  # no Python exception names
    assert tab.post("/api/step", {"epochs": 1}).status_code == 200


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"epochs": 1e400}, "epochs must be a whole number"),
        ({"epochs": 0}, "epochs must be a whole number in [1, 1000]"),
        ({"epochs": "5"}, "epochs must be a whole number"),
        ({"epochs": 1, "have": -1}, "have must be a whole number"),
    ],
)
def test_step_fields_are_checked(tab, payload, fragment):
    raw = json.dumps(payload).encode().replace(b"Infinity", b"1e400")
    res = tab.post_raw("/api/step", raw)
    assert res.status_code == 400 and fragment in res.get_json()["error"]


def test_json_depth_skips_brackets_inside_strings():
    assert json_depth(b'{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_depth(b'{"a": "\\"[[["}') == 1


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
FIELDS = [
    "n_samples",
    "noise",
    "test_fraction",
    "n_classes",
    "hidden",
    "lr",
    "momentum",
    "l2",
    "batch_size",
    "seed",
    "features",
    "l1",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(FIELDS), value=JSONISH)
def test_any_value_of_any_field_is_accepted_or_a_400_never_a_500(tab, key, value):
    raw = json.dumps({key: value}).encode().replace(b"-Infinity", b"-1e400").replace(b"Infinity", b"1e400")
    res = tab.post_raw("/api/config", raw.replace(b"NaN", b"null"))
    assert res.status_code in (200, 400), res.get_json()
    if res.status_code == 400:
        assert key in res.get_json()["error"] or "activation" in res.get_json()["error"]
    else:
        assert json.loads(res.data)  # strict JSON: no Infinity, no NaN


# -- uploads --------------------------------------------------------------------------------------
@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_upload_rows_are_limited_under_any_line_ending(tab, ending):
    rows = ending.join(b"0.1,0.2,%d" % (i % 2) for i in range(MAX_UPLOAD_ROWS + 10))
    res = tab.upload(rows)
    assert res.status_code == 400 and f"more than {MAX_UPLOAD_ROWS} rows" in res.get_json()["error"]
    ok = tab.upload(ending.join(b"0.%d,0.%d,%d" % (i, i % 7, i % 2) for i in range(40)))
    assert (
        ok.status_code == 200
        and len(ok.get_json()["points"]["train"]) + len(ok.get_json()["points"]["test"]) == 40
    )


@pytest.mark.parametrize("value", [b"1e304", b"-1e305", b"1e400", b"inf", b"nan", b"2e6"])
def test_upload_values_must_be_finite_and_in_range(tab, value):
    rows = b"\n".join(b"0.%d,0.5,%d" % (i, i % 2) for i in range(20)) + b"\n" + value + b",0.5,1\n"
    res = tab.upload(rows)
    assert res.status_code == 400, res.get_json()
    assert any(words in res.get_json()["error"] for words in ("finite", "as a number", "missing value"))
    state = tab.get("/api/state").get_json()
    assert state["config"]["dataset"] == "xor" and json.loads(tab.get("/api/state").data)
