"""The page's TensorFlow-Playground features (issue #19 items 3 and 4) in headless system Chromium:
regression plots, feature toggles, L1/L2, view toggles, +/- buttons, weight hover and edit, the
state in the URL, axes and legend, keyboard use and the pipelined play loop."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from helpers.playground import CHROMIUM, count_step_requests

pytest.importorskip("flask")
pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium: run `make browser` (Debian's chromium)"),
]
READY = "() => window.__pg && window.__pg.data !== null"


def open_page(browser, url, console):
    p = browser.new_page(viewport={"width": 1280, "height": 1100})
    p.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    p.goto(url)
    p.wait_for_function(READY, timeout=20_000)
    return p


@pytest.fixture()
def opened(browser, server_url):
    """``opened(hash)``: the page at the server's URL with that hash; checked for script and CSP
    errors when the test ends."""
    pages, console = [], []

    def go(hash_: str = ""):
        p = open_page(browser, server_url + hash_, console)
        pages.append(p)
        return p

    yield go
    for p in pages:
        assert p.evaluate("window.__pg.errors") == []
        p.close()
    assert not [m for m in console if "Content Security Policy" in m]


@pytest.fixture()
def page(opened):
    return opened()


def applied(page, action) -> None:
    """Run ``action`` (a click...) and wait for the new network it applies (or a message)."""
    generation = page.evaluate("window.__pg.generation")
    action()
    page.wait_for_function(
        f"() => window.__pg.generation > {generation} || document.getElementById('message').textContent",
        timeout=30_000,
    )


def step(page) -> None:
    epoch = page.evaluate("window.__pg.data.epoch")
    page.click("#step")
    page.wait_for_function(f"() => window.__pg.data.epoch === {epoch + 1}", timeout=20_000)


def pixel(page, canvas: str, x: int, y: int) -> list[int]:
    return page.evaluate(
        f"() => Array.from(document.getElementById('{canvas}').getContext('2d')"
        f".getImageData({x}, {y}, 1, 1).data)"
    )


def test_a_regression_set_draws_a_diverging_heatmap_and_loss_only_stats(page):
    assert page.locator("#train_acc").is_visible()
    page.select_option("#dataset", "multi_gaussian")
    applied(page, lambda: page.click("#apply"))
    assert page.inner_text("#message") == ""
    data = page.evaluate("window.__pg.data")
    assert data["task"] == "regression" and data["boundary_kind"] == "regression"
    assert page.inner_text("#plot-title") == "Output (regression)"
    assert not page.locator("#train_acc").is_visible()  # no accuracy for a regression
    assert page.locator("#train_loss").is_visible()
    step(page)
    # the heatmap's colours come from the diverging scale: orange where the output < 0, blue > 0
    colours = page.evaluate(
        """async () => {
            const { diverging } = await import('/static/plot.js');
            return [diverging(-1), diverging(0), diverging(1), diverging(-5)];
        }"""
    )
    assert colours[0] == [245, 147, 34] and colours[2] == [8, 119, 189] and colours[3] == colours[0]
    assert min(colours[1]) > 230
    corner = pixel(page, "boundary", 40, 8)  # top-left cell of the plotted square
    value = page.evaluate("window.__pg.data.boundary[0]")
    assert corner[3] > 0 and ((corner[2] > corner[0]) == (value > 0) or value == 0)


def test_feature_toggles_build_the_input_layer_and_reach_the_export(page):
    page.check("#features input[value='x1^2']")
    page.check("#features input[value='sin(x2)']")
    page.uncheck("#features input[value='x2']")
    applied(page, lambda: page.click("#apply"))
    assert page.evaluate("window.__pg.data.features") == ["x1", "x1^2", "sin(x2)"]
    assert page.locator("#network [id^='n-0-']").count() == 3
    names = page.evaluate(
        "Array.from(document.querySelectorAll('#network .feature-name')).map((t) => t.textContent)"
    )
    assert names == ["x₁", "x₁²", "sin x₂"]
    painted = "document.getElementById('map-0-1').getContext('2d').getImageData(0, 0, 20, 20).data"
    assert page.evaluate(f"() => {painted}.some((v) => v > 0)")  # the x₁² picture is drawn
    step(page)
    with page.expect_download() as dl:
        page.click("#export-experiment")
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert 'features = ["x1", "x1^2", "sin(x2)"]' in text
    for box in page.locator("#features input.feature").all():
        box.uncheck()
    page.click("#apply")
    page.wait_for_function("() => document.getElementById('message').textContent.length > 0")
    assert "tick at least one input feature" in page.inner_text("#message")


@pytest.mark.parametrize(("reg", "key"), [("l1", "l1"), ("l2", "weight_decay")])
def test_l1_or_l2_with_a_rate_is_applied_and_exported(page, reg, key):
    page.select_option("#reg", reg)
    page.fill("#reg_rate", "0.003")
    applied(page, lambda: page.click("#apply"))
    config = page.evaluate("window.__pg.applied")
    assert config[reg] == 0.003 and config["l1" if reg == "l2" else "l2"] == 0
    step(page)
    with page.expect_download() as dl:
        page.click("#export-experiment")
    assert f"{key} = 0.003" in Path(dl.value.path()).read_text(encoding="utf-8")


def test_show_test_data_and_discretize_redraw_without_a_request(page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
    before = page.evaluate("document.getElementById('boundary').toDataURL()")
    page.uncheck("#show_test")
    no_test = page.evaluate("document.getElementById('boundary').toDataURL()")
    assert no_test != before
    page.check("#show_test")
    assert page.evaluate("document.getElementById('boundary').toDataURL()") == before
    page.check("#discretize")
    discrete = page.evaluate("document.getElementById('boundary').toDataURL()")
    assert discrete != before
    assert "discretize=1" in page.evaluate("location.hash")
    # discretized: the plotted square has one opacity (a solid colour per class), points aside
    opacity = """() => {
        const ctx = document.getElementById('boundary').getContext('2d'), seen = [];
        for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) {
            seen.push(ctx.getImageData(45 + 15 * i, 12 + 15 * j, 1, 1).data[3]);
        }
        return seen;
    }"""
    solid = page.evaluate(opacity)
    page.uncheck("#discretize")
    graded = page.evaluate(opacity)
    assert solid.count(170) > 0.6 * len(solid) > graded.count(170)
    assert requests == []
    assert page.evaluate("location.hash").endswith("show_test=1&discretize=0")


def test_regenerate_draws_new_data_with_a_new_seed(page):
    seed, points = page.evaluate("[window.__pg.applied.seed, window.__pg.points.train]")
    applied(page, lambda: page.click("#regenerate"))
    new_seed, new_points = page.evaluate("[window.__pg.applied.seed, window.__pg.points.train]")
    assert new_seed != seed and new_points != points
    assert page.input_value("#seed") == str(new_seed)


def test_plus_minus_buttons_change_layers_and_units(page):
    applied(page, lambda: page.click("#add-layer"))
    assert page.evaluate("window.__pg.data.layers") == [2, 4, 4, 4, 1]
    applied(page, lambda: page.click("#units-1-add"))
    assert page.evaluate("window.__pg.data.layers") == [2, 4, 5, 4, 1]
    applied(page, lambda: page.click("#units-0-remove"))
    assert page.evaluate("window.__pg.data.layers") == [2, 3, 5, 4, 1]
    assert page.input_value("#hidden") == "3,5,4"
    for _ in range(3):
        applied(page, lambda: page.click("#remove-layer"))
    assert page.evaluate("window.__pg.data.layers") == [2, 1]
    for _ in range(7):  # six at most: the seventh press changes nothing
        page.click("#add-layer")
    page.wait_for_function("() => window.__pg.data.layers.length === 8", timeout=30_000)
    assert page.locator("#add-layer").is_enabled()
    page.fill("#hidden", "31")
    page.dispatch_event("#hidden", "change")
    applied(page, lambda: page.click("#apply"))
    applied(page, lambda: page.click("#units-0-add"))
    assert page.evaluate("window.__pg.data.layers") == [2, 32, 1]
    assert page.locator("#units-0-add").is_disabled()
    # 32 tiles stay clickable: the last one opens its worked computation
    page.locator("#n-1-31").scroll_into_view_if_needed()
    page.click("#n-1-31")
    page.wait_for_selector("#explain-text mark", timeout=20_000)
    assert "b⁽1⁾[31]" in page.inner_text("#explain-text")


def test_hovering_an_edge_shows_its_weight_and_clicking_edits_it(page):
    step(page)
    w = page.evaluate("window.__pg.data.weights[0].weight[1][0]")
    page.hover("#w-0-1-0", force=True)  # a horizontal line: Playwright sees no height
    assert page.inner_text("#hover-info") == f"W⁽1⁾[1,0] = {w}"
    assert page.text_content("#w-0-1-0 title") == f"W⁽1⁾[1,0] = {w}"
    boundary = page.evaluate("window.__pg.data.boundary")
    page.click("#w-0-1-0", force=True)
    page.wait_for_selector("#explain-text mark", timeout=20_000)
    assert page.is_visible("#weight-edit") and page.input_value("#weight-value") == str(w)
    page.fill("#weight-value", "-2.5")
    page.click("#weight-set")
    page.wait_for_function("() => window.__pg.data.weights[0].weight[1][0] === -2.5", timeout=20_000)
    assert page.evaluate("window.__pg.data.boundary") != boundary
    page.wait_for_function(
        "() => document.getElementById('explain-text').textContent.includes('= -2.5000')", timeout=20_000
    )
    assert page.get_attribute("#w-0-1-0", "data-value") == "-2.5"
    page.fill("#weight-value", "1000")
    page.press("#weight-value", "Enter")
    page.wait_for_function("() => document.getElementById('message').textContent.length > 0", timeout=20_000)
    assert "value must be a number in [-100, 100]" in page.inner_text("#message")
    assert page.evaluate("window.__pg.data.weights[0].weight[1][0]") == -2.5


def test_the_url_holds_the_settings_and_restores_them(opened):
    first = opened()
    first.select_option("#dataset", "circles")
    first.fill("#hidden", "6,3")
    first.dispatch_event("#hidden", "change")
    first.select_option("#act-list select >> nth=1", "relu")
    first.check("#features input[value='x1*x2']")
    first.select_option("#reg", "l1")
    first.fill("#reg_rate", "0.01")
    first.fill("#lr", "0.05")
    applied(first, lambda: first.click("#apply"))
    first.check("#discretize")
    link = first.evaluate("location.hash")
    again = opened(link)
    config = again.evaluate("window.__pg.applied")
    assert config["dataset"] == "circles" and config["hidden"] == [6, 3]
    assert config["activations"] == ["tanh", "relu"] and config["lr"] == 0.05 and config["l1"] == 0.01
    assert config["features"] == ["x1", "x2", "x1*x2"]
    assert again.is_checked("#discretize") and again.inner_text("#notice") == ""
    assert again.evaluate("window.__pg.data.layers") == [3, 6, 3, 1]


@pytest.mark.parametrize(
    ("hash_", "ignored"),
    [
        ("#lr=-4&hidden=4,4,4&dataset=moons", ["lr=-4"]),
        (
            "#hidden=99&dataset=nope&features=x1,x9&discretize=yes",
            ["hidden=99", "dataset=nope", "features=x1,x9"],
        ),
        ("#activations=tanh&hidden=abc&zzz=1&n_samples=1e400", ["activations=tanh", "hidden=abc", "zzz=1"]),
        (
            "#" + quote("lr=<script>alert(1)</script>&seed=-1&noise=NaN"),
            ["lr=<script>", "seed=-1", "noise=NaN"],
        ),
        ("#%E0%A4%A&=&&&dataset=upload", ["dataset=upload"]),
    ],
)
def test_bad_url_values_are_left_out_with_a_notice_never_a_crash(opened, hash_, ignored):
    page = opened(hash_)
    notice = page.inner_text("#notice")
    for entry in ignored:
        assert entry in notice, notice
    assert page.inner_text("#message") == ""
    assert page.evaluate("window.__pg.data.epoch") == 0
    assert json.dumps(page.evaluate("window.__pg.applied"))  # a session with usable settings
    if "moons" in hash_:
        assert page.evaluate("window.__pg.applied.dataset") == "moons"
        assert page.evaluate("window.__pg.applied.hidden") == [4, 4, 4]


def test_settings_the_server_refuses_fall_back_to_the_defaults(opened):
    # 8 points, 6 classes: each value is fine alone, together they cannot be split
    page = opened("#dataset=gaussians&n_classes=6&n_samples=8")
    assert "were refused" in page.inner_text("#notice") and "cannot split" in page.inner_text("#notice")
    assert page.evaluate("window.__pg.applied.dataset") == "xor"


def test_the_plot_has_axes_with_ticks_and_a_legend(page):
    ticks = page.evaluate(
        """async () => {
            const { niceTicks } = await import('/static/plot.js');
            return [niceTicks(-1.2, 1.2), niceTicks(-6.6, 6.6), niceTicks(0, 0.05)];
        }"""
    )
    assert ticks[0] == [-1, -0.5, 0, 0.5, 1]
    assert ticks[1] == [-6, -4, -2, 0, 2, 4, 6]
    assert ticks[2][0] == 0 and ticks[2][-1] == pytest.approx(0.05)
    # tick marks are drawn left of and below the plotted square: dark pixels in the margins
    left_margin = [pixel(page, "boundary", 35, y)[3] for y in range(6, 322)]
    assert any(a > 0 for a in left_margin)
    legend_mid = pixel(page, "legend", 38 + 316 - 2, 8)
    assert legend_mid[3] > 0 and legend_mid[2] > legend_mid[0]  # blue end: class 1
    page.select_option("#dataset", "spirals")
    page.fill("#n_classes", "3")
    applied(page, lambda: page.click("#apply"))
    assert pixel(page, "legend", 38 + 2 * 316 // 3 + 3, 8)[:3] == [60, 170, 80]  # class 2's swatch


def test_the_layout_does_not_jump_when_messages_and_settings_change(page):
    boxes = {sel: page.locator(sel).bounding_box() for sel in ("#netbox", "#boundary", "#stats", "#curves")}
    page.hover("#w-0-0-0", force=True)
    page.fill("#lr", "-1")
    page.click("#apply")
    page.wait_for_function("() => document.getElementById('message').textContent.length > 0")
    page.evaluate("() => { document.getElementById('notice').textContent = 'a notice'; }")
    page.fill("#lr", "0.1")
    page.select_option("#dataset", "plane")
    page.fill("#hidden", "32,32")
    page.dispatch_event("#hidden", "change")
    applied(page, lambda: page.click("#apply"))
    assert {sel: page.locator(sel).bounding_box() for sel in boxes} == boxes


def test_controls_are_keyboard_reachable_and_labelled(page):
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, button')).filter((e) => {
            if (e.getAttribute('aria-label')) return false;
            if (e.closest('label')) return false;
            return !(e.textContent || '').trim();
        }).map((e) => e.id || e.outerHTML)"""
    )
    assert unlabelled == []
    for icon in ("#add-layer", "#remove-layer", "#units-0-add", "#units-0-remove"):
        assert page.get_attribute(icon, "aria-label")
    # Tab from the first control walks the controls in page order and reaches play
    page.focus("#dataset")
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id"))
    assert seen.index("play") < seen.index("step")
    assert "add-layer" in seen and "reg" in seen
    # Enter on a focused button, Space on another, Enter on a focused edge and neuron
    page.focus("#step")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__pg.data.epoch === 1", timeout=20_000)
    page.focus("#step")
    page.keyboard.press(" ")
    page.wait_for_function("() => window.__pg.data.epoch === 2", timeout=20_000)
    page.focus("#w-0-0-1")
    assert page.inner_text("#hover-info").startswith("W⁽1⁾[0,1] = ")
    page.keyboard.press("Enter")
    page.wait_for_selector("#explain-text mark", timeout=20_000)
    assert "W⁽1⁾[0,1]" in page.inner_text("#explain-text")
    page.focus("#n-2-0")
    page.keyboard.press(" ")
    page.wait_for_function(
        "() => document.getElementById('explain-text').textContent.includes('b⁽2⁾[0]')", timeout=20_000
    )


def test_play_keeps_one_request_in_flight_and_sends_the_next_before_drawing(page):
    """Item 4: while the page draws an answer the next request is already out, but never two."""
    page.fill("#n_samples", "500")
    page.fill("#hidden", "8,8")
    page.dispatch_event("#hidden", "change")
    applied(page, lambda: page.click("#apply"))
    count_step_requests(page)
    page.click("#play")
    page.wait_for_function("() => window.__pg.data.epoch >= 15", timeout=60_000)
    page.click("#play")
    page.wait_for_function("() => window.__inflight === 0 && !window.__pg.looping", timeout=20_000)
    assert page.evaluate("window.__maxInflight") == 1
    # most answers were drawn while the next request was already out (the pipelining)
    assert page.evaluate("window.__pg.drawnWhileTraining") >= page.evaluate("window.__pg.data.epoch") // 2
    epoch = page.evaluate("window.__pg.data.epoch")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pg.data.epoch") == epoch  # paused: nothing more arrives
    # the answers are drawn in order with no epoch missing from the curve
    assert page.evaluate("window.__pg.curves.train_loss.length") == epoch + 1
