"""Fixtures of the playground's browser tests: the real server (waitress, on a free port) and
headless system Chromium through Playwright."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from helpers.playground import CHROMIUM, LAUNCH_ARGS, stop_server


@pytest.fixture()
def live_server():
    """A playground on a free port: ``.url`` and ``.app`` (its session store is in ``app.extensions``)."""
    pytest.importorskip("waitress")
    from nnscratch.playground.server import create_app, make_server

    app = create_app("127.0.0.1", 0)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.effective_port}/", app=app)
    stop_server(server, thread)


@pytest.fixture()
def server_url(live_server):
    return live_server.url


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no system Chromium: run `make browser` (Debian's chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()
