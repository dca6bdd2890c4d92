"""Playground test helpers: a tab for API tests (Flask's test client speaking as the page does:
own Host and Origin, a server-issued session id) and the browser launch of the e2e tests."""

from __future__ import annotations

import io
import shutil
from typing import Any

BASE = "http://127.0.0.1:8765"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Tab:
    """One browser tab: a session asked from the server, its id sent with every request."""

    def __init__(self, client: Any, config: dict[str, Any] | None = None) -> None:
        self.client = client
        res = client.post(
            "/api/session", json={"config": config or {}}, base_url=BASE, headers={"Origin": BASE}
        )
        assert res.status_code == 200, res.get_json()
        self.first = res.get_json()
        self.sid = self.first["session"]

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-Session": self.sid, "Origin": BASE, **extra}

    def post(self, path: str, payload: Any = None, **kw: Any) -> Any:
        return self.client.post(path, json=payload, headers=self.headers(), base_url=BASE, **kw)

    def post_raw(self, path: str, raw: bytes) -> Any:
        return self.client.post(
            path, data=raw, content_type="application/json", headers=self.headers(), base_url=BASE
        )

    def get(self, path: str) -> Any:
        return self.client.get(path, headers={"X-Session": self.sid}, base_url=BASE)

    def upload(self, content: bytes, name: str = "data.csv") -> Any:
        return self.client.post(
            "/api/upload",
            data={"file": (io.BytesIO(content), name)},
            headers=self.headers(),
            base_url=BASE,
            content_type="multipart/form-data",
        )


def stop_server(server: Any, thread: Any) -> None:
    """Stop a waitress ``server`` whose ``run()`` loop is in ``thread``. Its sockets are closed by
    the loop itself (a trigger thunk): closing them from this thread races the loop's select(),
    which then fails with EBADF in the server thread."""
    from waitress import wasyncore

    server.task_dispatcher.shutdown()
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout=10)


def assert_reproduced(tab: Any, tmp_path: Any) -> None:
    """``nnscratch train`` of the session's exported ``tmp_path/playground.toml`` gives the exported
    model, weight for weight."""
    import numpy as np
    import pytest

    import nnscratch as ns
    from nnscratch.cli import main

    ours = ns.load(io.BytesIO(tab.get("/api/export/model").data))
    with pytest.raises(SystemExit) as done:
        experiment, out = str(tmp_path / "playground.toml"), str(tmp_path / "run")
        main(["train", experiment, "--out", out, "--quiet", "--no-figures"])
    assert done.value.code in (0, None)
    theirs = ns.load(tmp_path / "run" / "model.npz")
    a, b = ours.state_dict(), theirs.state_dict()
    assert a.keys() == b.keys() and a
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


#: Wraps the page's fetch so that ``window.__inflight`` counts the /api/step requests under way and
#: ``window.__maxInflight`` the most there ever were at once (the page must never run two loops).
COUNT_STEP_REQUESTS = """() => {
    const original = window.fetch; window.__inflight = 0; window.__maxInflight = 0;
    window.fetch = async (...args) => {
        const step = String(args[0]).includes('/api/step');
        if (step) window.__inflight += 1;
        window.__maxInflight = Math.max(window.__maxInflight, window.__inflight);
        try { return await original(...args); } finally { if (step) window.__inflight -= 1; }
    };
}"""


def count_step_requests(page: Any) -> None:
    """Install :data:`COUNT_STEP_REQUESTS` in a Playwright page."""
    page.evaluate(COUNT_STEP_REQUESTS)
