"""The page's side of issue #19's bugs, in headless system Chromium (same launch as the e2e test).

Each test names the bug it pins; every page also checks that no script error happened (the page
records them in ``window.__pg.errors``) and that the CSP blocked nothing.
"""

from __future__ import annotations

import itertools

import pytest

from helpers.playground import CHROMIUM, count_step_requests

pytest.importorskip("flask")
pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium: run `make browser` (Debian's chromium)"),
]
HEAVY = {"#n_samples": "5000", "#hidden": "32,32,32,32,32,32", "#batch_size": "10"}


@pytest.fixture()
def page(browser, server_url):
    p = browser.new_page(viewport={"width": 1280, "height": 1100})
    console: list[str] = []
    p.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    p.goto(server_url)
    p.wait_for_function("() => window.__pg && window.__pg.data !== null", timeout=20_000)
    yield p
    assert p.evaluate("window.__pg.errors") == []
    assert not [m for m in console if "Content Security Policy" in m]
    p.close()


def apply(page, fields: dict[str, str], selects: dict[str, str] | None = None) -> None:
    for sel, value in fields.items():
        page.fill(sel, value)
    page.dispatch_event("#hidden", "change")
    for sel, value in (selects or {}).items():
        page.select_option(sel, value)
    generation = page.evaluate("window.__pg.generation")
    page.click("#apply")
    page.wait_for_function(
        f"() => window.__pg.generation > {generation} || document.getElementById('message').textContent",
        timeout=30_000,
    )


def message(page) -> str:
    return page.inner_text("#message")


def test_bug1_identity_output_on_three_spiral_classes_draws_three_outputs(page):
    apply(page, {"#n_classes": "3"}, {"#dataset": "spirals", "#output": "identity"})
    assert message(page) == ""
    assert page.locator("#network .node").count() == 2 + 4 + 4 + 3
    page.click("#step")
    page.wait_for_function("() => window.__pg.data.epoch === 1", timeout=20_000)


def test_bug2_a_failed_apply_leaves_the_page_and_network_as_they_were(page):
    page.click("#step")
    page.wait_for_function("() => window.__pg.data.epoch === 1", timeout=20_000)
    nodes = page.locator("#network .node").count()
    apply(page, {"#n_classes": "6", "#n_samples": "8"}, {"#dataset": "gaussians"})
    assert "cannot split the data" in message(page)
    assert page.locator("#network .node").count() == nodes
    page.click("#step")
    page.wait_for_function("() => window.__pg.data.epoch === 2", timeout=20_000)
    assert page.evaluate("window.__pg.curves.train_loss.length") == 3  # the same curve goes on


def test_bug3_a_forgotten_session_is_recreated_with_the_current_settings(page, live_server):
    apply(page, {"#hidden": "3"})
    store = live_server.app.extensions["nnscratch_sessions"]
    store._sessions.clear()  # as after a restart or an eviction
    page.click("#step")
    page.wait_for_function("() => document.getElementById('notice').textContent.length > 0", timeout=20_000)
    assert "new session was started with the same settings" in page.inner_text("#notice")
    page.wait_for_function("() => window.__pg.data.epoch === 1", timeout=20_000)  # stepped in the new one
    assert page.evaluate("window.__pg.data.layers") == [2, 3, 1]
    assert len(store) == 1


def test_bug4_a_200k_epoch_history_arrives_incrementally_and_draws(page, live_server):
    store = live_server.app.extensions["nnscratch_sessions"]
    ((session, _),) = store._sessions.values()
    with session.lock:
        session.curves["train_loss"].extend(0.5 + 0.1 * (i % 7) for i in range(250_000))
        session.curves["test_loss"].extend([0.6] * 250_000)
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body())) if r.url.endswith("/api/step") else None)
    page.click("#step")  # the page has 1 point: the server sends the 250k it lacks, once
    page.wait_for_function("() => window.__pg.data.epoch === 1", timeout=20_000)
    page.click("#step")
    page.wait_for_function("() => window.__pg.data.epoch === 2", timeout=20_000)
    assert page.evaluate("window.__pg.curves.train_loss.length") == 250_003
    assert sizes[0] > 1_000_000 and sizes[1] < 100_000
    assert message(page) == ""


def test_bug5_wide_numbers_keep_the_layout_at_1280px(page):
    right = page.locator("#right").bounding_box()
    stats = page.locator("#stats").bounding_box()
    shown = page.evaluate(
        """async () => {
            const { formatNumber } = await import('/static/draw.js');
            return [formatNumber(2.2577958801013023e+276), formatNumber(1, true), formatNumber(0.12345)];
        }"""
    )
    assert shown == ["2.258e+276", "100.0%", "0.1235"]
    page.evaluate(
        """() => {
            for (const id of ['train_acc', 'test_acc']) document.getElementById(id).textContent = '100.0%';
            const wide = { train_loss: '2.258e+276', test_loss: '2.258e+276' };
            for (const id in wide) document.getElementById(id).textContent = wide[id];
            document.getElementById('epoch').textContent = '1234567';
            document.getElementById('ups').textContent = '120';
        }"""
    )
    assert page.locator("#right").bounding_box() == right  # the boundary column stays beside the network
    assert page.locator("#stats").bounding_box() == stats


def test_bug6_neuron_tiles_do_not_overlap_with_32_units(page):
    apply(page, {"#hidden": "32,12"})
    assert message(page) == ""
    boxes = page.evaluate(
        """() => Array.from(document.querySelectorAll('#network .node rect')).map((r) => {
            const b = r.getBoundingClientRect(); return [r.parentNode.id, b.top, b.bottom, b.left];
        })"""
    )
    by_layer: dict[str, list] = {}
    for node, top, bottom, _left in boxes:
        by_layer.setdefault(node.split("-")[1], []).append((top, bottom))
    assert len(by_layer["1"]) == 32
    for tiles in by_layer.values():
        tiles.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(tiles))


def test_bug7_pause_then_play_during_a_request_keeps_one_loop(page):
    apply(page, HEAVY)  # about 0.4 s per step: time to pause and play within one request
    count_step_requests(page)
    page.click("#play")
    page.wait_for_function("() => window.__inflight === 1", timeout=20_000)
    page.click("#play")  # pause
    page.click("#play")  # play again while the first request is still out
    page.wait_for_function("() => window.__pg.data.epoch >= 3", timeout=60_000)
    page.click("#play")
    assert page.evaluate("window.__maxInflight") == 1


def test_bug8_the_worked_computation_goes_away_with_the_old_network(page):
    hint = page.inner_text("#explain-text")
    for action in ("#reset", "#apply"):
        page.click("#w-0-0-0", force=True)
        page.wait_for_selector("#explain-text mark", timeout=20_000)
        generation = page.evaluate("window.__pg.generation")
        page.click(action)
        page.wait_for_function(f"() => window.__pg.generation > {generation}", timeout=20_000)
        assert page.inner_text("#explain-text") == hint
        assert page.locator("#network .selected").count() == 0


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        (
            "#hidden",
            "4.5",
            "hidden units: each layer needs a whole number of units (1 to 32), comma separated. "
            'Received: "4.5"',
        ),
        ("#hidden", "abc", 'Received: "abc"'),
        ("#lr", "", "lr: enter a number"),
        ("#seed", "1.5", "seed: enter a whole number"),
        ("#n_samples", "1e400", "points: enter a number"),
    ],
)
def test_bug9_bad_entries_get_a_message_naming_the_field(page, field, value, fragment):
    page.fill(field, value)
    page.dispatch_event("#hidden", "change")
    page.click("#apply")
    page.wait_for_function("() => document.getElementById('message').textContent.length > 0", timeout=20_000)
    assert fragment in message(page)
    assert "int()" not in message(page) and "Received: 0.0" not in message(page)


def test_bug9_unapplied_settings_are_marked_and_epoch_0_export_explains(page):
    assert page.inner_text("#changed") == ""
    page.fill("#lr", "0.3")
    page.dispatch_event("#lr", "input")
    assert page.inner_text("#changed") == "settings changed: press apply"
    assert "changed" in page.get_attribute("#apply", "class")
    page.fill("#lr", "0.1")
    page.dispatch_event("#lr", "input")
    assert page.inner_text("#changed") == ""
    page.fill("#lr", "0.3")
    apply(page, {})
    assert page.inner_text("#changed") == ""
    page.click("#export-experiment")
    page.wait_for_function("() => document.getElementById('message').textContent.length > 0", timeout=20_000)
    assert "has not trained yet (epoch 0)" in message(page)
