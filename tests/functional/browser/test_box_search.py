"""A reviewer finds a product the machine missed by drawing a box on the video: the shop's
nearest products come back from the shop's index, "Add lane" puts the chosen one on the
timeline, and dragging on that lane adds its interval."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from webapp.review.models import Interval
from webapp.search import services
from webapp.search.models import IndexBuild

from .test_timeline import drag, open_timeline, settle

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reviewer_draws_a_box_gets_the_nearest_products_and_adds_a_lane(world, login):
    products = world.products()
    juice = products["gs_34"]  # Tropicana, shown from 3 s to 11 s
    Interval.objects.filter(video=world.video, product=juice).delete()  # the machine missed it
    assert services.build(IndexBuild.objects.create(shop=world.shop).pk).published

    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    page = s.page
    assert juice.pk not in page.evaluate("window.__rv.lanes")
    page.evaluate("window.__rv.seek(6.0)")
    page.wait_for_function("Math.abs(document.getElementById('rv-video').currentTime - 6.0) < 0.05")

    page.click("#rv-box-btn")
    expect(page.locator("#rv-draw")).to_be_visible()
    expect(page.locator("#rv-box-btn")).to_have_attribute("aria-pressed", "true")
    # the picture inside the player (object-fit: contain), then a box around the product in its middle
    p = page.evaluate("""(() => { const l = document.getElementById('rv-draw').getBoundingClientRect(),
        v = document.getElementById('rv-video'), k = Math.min(l.width / v.videoWidth, l.height / v.videoHeight);
        return {x: l.left + (l.width - v.videoWidth * k) / 2, y: l.top + (l.height - v.videoHeight * k) / 2,
                w: v.videoWidth * k, h: v.videoHeight * k}; })()""")
    drag(s, (p["x"] + 0.25 * p["w"], p["y"] + 0.1 * p["h"]), (p["x"] + 0.75 * p["w"], p["y"] + 0.9 * p["h"]))

    page.wait_for_selector("#panel-find[data-state='done']", timeout=60_000)
    expect(page.locator("#tab-find")).to_have_attribute("aria-selected", "true")
    items = page.locator("#rv-find-results li")
    expect(items).to_have_count(len(products))
    assert items.first.get_attribute("data-product") == str(juice.pk)  # the nearest is the product boxed
    expect(page.locator("#rv-find-hint")).to_contain_text(f"{len(products)} nearest products")
    s.shot("01-results")

    items.first.get_by_role("button", name=f"Add a lane for {juice.title}").click()
    page.wait_for_function(f"window.__rv.lanes.indexOf({juice.pk}) >= 0")
    expect(page.locator("#rv-live")).to_contain_text("Added a lane for " + juice.title)
    expect(items.first.locator(".rv-find-add")).to_have_text("Show lane")
    s.shot("02-lane")

    # the new lane takes an interval like any other: drag on it
    box = page.locator("#rv-lanes").bounding_box()
    g = page.evaluate(f"""(() => {{ const g = window.__rv.geom;
        return {{a: g.t2x(4.0), b: g.t2x(9.0), top: g.laneTop({juice.pk}), barY: g.barY}}; }})()""")
    y = box["y"] + g["top"] + g["barY"] + 2
    drag(s, (box["x"] + g["a"], y), (box["x"] + g["b"], y))
    settle(s)
    added = Interval.objects.get(video=world.video, product=juice)
    assert added.origin == "person" and 3.5 <= added.start_s <= 4.5 and 8.5 <= added.end_s <= 9.5


def test_a_box_search_without_an_index_says_it_is_being_built(world, login):
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    page = s.page
    page.evaluate("window.__rv.seek(6.0)")
    page.click("#rv-box-btn")
    b = page.locator("#rv-draw").bounding_box()
    drag(s, (b["x"] + 0.3 * b["width"], b["y"] + 0.2 * b["height"]), (b["x"] + 0.7 * b["width"], b["y"] + 0.8 * b["height"]))
    page.wait_for_selector("#panel-find[data-state='error']", timeout=30_000)
    expect(page.locator("#rv-find-hint")).to_contain_text("being built")
    expect(page.locator("#rv-draw")).to_be_hidden()
