"""Playground responsiveness: visual updates per second in headless Chromium.

Plays a 2-8-8-1 network on 500 XOR points (one epoch per update, as the page does) for 10 s and
prints the rate. Needs the `playground` and `dev` extras and the system Chromium (`make browser`):

    PYTHONPATH=src python benchmarks/bench_playground.py
"""

from __future__ import annotations

import logging
import shutil
import threading
import time

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from nnscratch.playground.server import create_app

SECONDS = 10.0


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(url)
            page.wait_for_function("window.__pg && window.__pg.data !== null")
            page.select_option("#dataset", "xor")
            page.fill("#n_samples", "500")
            page.fill("#hidden", "8,8")
            page.dispatch_event("#hidden", "change")
            page.click("#apply")
            page.wait_for_function("window.__pg.data.layers.length === 4 && window.__pg.data.epoch === 0")
            start_epoch = page.evaluate("window.__pg.data.epoch")
            page.click("#play")
            start = time.perf_counter()
            time.sleep(SECONDS)
            epochs = page.evaluate("window.__pg.data.epoch") - start_epoch
            elapsed = time.perf_counter() - start
            page.click("#play")
            accuracy = page.evaluate("window.__pg.data.test_acc")
            browser.close()
    finally:
        server.shutdown()
    print(
        f"{epochs / elapsed:.1f} visual updates/s over {elapsed:.1f} s (2-8-8-1, 500 points, one epoch "
        f"per update); test accuracy {accuracy:.3f}"
    )


if __name__ == "__main__":
    main()
