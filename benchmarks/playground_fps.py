"""Playground responsiveness: visual updates (frames drawn) per second in headless Chromium.

Starts the playground (waitress, a free port), opens the page with Playwright on system Chromium
with a link that holds the settings (a 2-8-8-1 network on 500 XOR points), plays for SECONDS and
counts the answers the page drew (``window.__pg.frames``), one epoch each. Needs the `playground`
and `dev` extras and the system Chromium (`make browser`):

    PYTHONPATH=src .venv/bin/python benchmarks/playground_fps.py          # 10 s
    PYTHONPATH=src .venv/bin/python benchmarks/playground_fps.py 20 5000  # seconds, points

Target: 40 updates/s or more. The tests never assert a speed; this script measures it.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time

from playwright.sync_api import sync_playwright
from waitress import wasyncore

from nnscratch.playground.server import create_app, make_server

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def measure(seconds: float = 10.0, points: int = 500) -> dict[str, float]:
    app = create_app("127.0.0.1", 0)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}/#dataset=xor&n_samples={points}&hidden=8,8&batch_size=10"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(url)
            page.wait_for_function(
                "() => window.__pg && window.__pg.data && window.__pg.data.layers.length === 4"
            )
            frames0, epoch0 = page.evaluate("[window.__pg.frames, window.__pg.data.epoch]")
            page.click("#play")
            start = time.perf_counter()
            time.sleep(seconds)
            frames, epoch, errors = page.evaluate(
                "[window.__pg.frames, window.__pg.data.epoch, window.__pg.errors]"
            )
            elapsed = time.perf_counter() - start
            page.click("#play")
            browser.close()
    finally:
        server.task_dispatcher.shutdown()
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)
    if errors:
        raise SystemExit(f"the page reported errors: {errors}")
    return {
        "seconds": elapsed,
        "frames": frames - frames0,
        "epochs": epoch - epoch0,
        "updates_per_second": (frames - frames0) / elapsed,
    }


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    points = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    r = measure(seconds, points)
    print(
        f"2-8-8-1 on {points} xor points: {r['frames']} frames, {r['epochs']} epochs in {r['seconds']:.1f} s "
        f"-> {r['updates_per_second']:.1f} visual updates/s (target >= 40)"
    )


if __name__ == "__main__":
    main()
