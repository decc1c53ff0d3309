"""The timeline with a 2-hour video, 300 products and 1,000 intervals: it must load and stay
responsive. Render times are measured in the browser (performance.now()) and written to
test-artifacts/timeline-perf.json and the test output; no wall-clock limit is asserted."""

from __future__ import annotations

import json

import pytest

from . import data

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_two_hour_video_with_300_products_and_1000_intervals(world, login, artifacts):
    big = data.add_big_catalog(world, n_products=300, n_intervals=1000, duration_s=7200.0)
    s = login(world.personas.reviewer)
    page = s.page
    page.goto(f"{s.base}/videos/{big.pk}/review/")
    page.wait_for_selector("#rv[data-loaded='1']")
    page.wait_for_function("window.__rv.perf.first !== null")
    page.wait_for_selector("#rv[data-curves='1']")
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    load = page.evaluate("""(() => { const nav = performance.getEntriesByType('navigation')[0];
        const res = name => performance.getEntriesByType('resource').find(r => r.name.endsWith(name)) || {};
        const data = res('/timeline/'), curves = res('/curves/');
        return {first_draw_ms: window.__rv.perf.first, timeline_json_ms: data.duration,
                timeline_json_bytes: data.transferSize, curves_json_ms: curves.duration,
                curves_loaded_ms: curves.responseEnd, curves_json_bytes: curves.transferSize,
                dom_content_loaded_ms: nav.domContentLoadedEventEnd,
                lanes: window.__rv.lanes.length, intervals: window.__rv.intervals.size}; })()""")
    assert load["lanes"] == 300 and load["intervals"] == 1000
    timings = page.evaluate("""(() => {
        const S = window.__rv, wrap = document.getElementById('rv-lanes-wrap'), out = {};
        function measure(name, n, step) {
            const ts = [];
            for (let i = 0; i < n; i++) { step(i); const t0 = performance.now(); S.draw(); ts.push(performance.now() - t0); }
            ts.sort((a, b) => a - b);
            out[name] = {n: n, mean_ms: ts.reduce((a, b) => a + b, 0) / n, p95_ms: ts[Math.floor(n * 0.95)], max_ms: ts[n - 1]};
        }
        measure('whole_video', 30, () => S.setView(0, 7200));
        measure('zoom_levels', 60, i => { const span = 7200 / Math.pow(1.15, i % 30); S.setView(3600 - span / 2, 3600 + span / 2); });
        measure('pan_10min_view', 60, i => S.setView(i * 100, i * 100 + 600));
        measure('scroll_lanes', 60, i => { wrap.scrollTop = (i * 211) % (300 * 46); });
        measure('playhead_move', 120, i => { S.t = i * 60; });
        return out; })()""")
    # a real user action through the event path: wheel zoom on the ruler, then a frame
    ruler = page.locator("#rv-ruler").bounding_box()
    page.mouse.move(ruler["x"] + ruler["width"] / 2, ruler["y"] + 25)
    t0 = page.evaluate("performance.now()")
    for _ in range(10):
        page.mouse.wheel(0, -120)
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    timings["ten_wheel_zooms_wall_ms"] = page.evaluate("performance.now()") - t0
    assert page.evaluate("window.__rv.ve - window.__rv.vs") < 7200
    page.evaluate("window.__rv.setView(1800, 2400); document.getElementById('rv-lanes-wrap').scrollTop = 0")
    page.wait_for_timeout(200)
    s.shot("01-two-hours-300-products")
    report = {"load": load, "draw": timings, "perf": page.evaluate("window.__rv.perf")}
    (artifacts / "timeline-perf.json").write_text(json.dumps(report, indent=1))
    print("\nTIMELINE PERF", json.dumps(report, indent=1))
