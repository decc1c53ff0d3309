"""What reviewers complained about, fixed on the real timeline page: the conflict dialog keeps
the other person's edit, lanes for products the model missed, bulk accept asks first, the
confidence slider starts at the job's threshold and says what it means, lane titles have
tooltips, and the timeline is usable on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from webapp.catalog.models import Product
from webapp.review.models import Interval

from .test_timeline import canvas_point, drag, fresh, open_timeline, settle

pytestmark = pytest.mark.django_db(transaction=True)


def second_reviewer(world, django_user_model):
    from webapp.accounts.models import Membership, Role

    other = django_user_model.objects.create_user("second_reviewer", password="second_reviewer-pass-123")
    Membership.objects.create(user=other, shop=world.shop, role=Role.REVIEWER)
    return other


def test_applying_my_change_on_top_of_theirs_keeps_their_end(world, login, django_user_model):
    """A sets the end; B, on an older copy, changes only the start: A's end survives."""
    iv = world.main()
    a_end, b_start = round(iv.end_s - 0.6, 1), round(iv.start_s + 0.5, 1)
    a, b = login(world.personas.reviewer), login(second_reviewer(world, django_user_model))
    for s in (a, b):
        open_timeline(s, world.video)
        s.page.evaluate(f"window.__rv.select({iv.pk})")
    a.page.fill("#rv-end", str(a_end))
    a.page.press("#rv-end", "Enter")
    settle(a)
    assert fresh(iv).end_s == pytest.approx(a_end)

    b.page.fill("#rv-start", str(b_start))  # B still shows the old end
    b.page.press("#rv-start", "Enter")
    dialog = b.page.locator("#rv-conflict")
    expect(dialog).to_be_visible()
    end_row = dialog.locator("tr[data-field=end_s]")
    expect(end_row.locator("td").nth(0)).to_have_text(f"0:{a_end:04.1f}")
    expect(end_row.locator("td").nth(1)).to_have_text(f"0:{a_end:04.1f}")  # applying mine keeps theirs
    expect(dialog.locator("tr[data-field=start_s] td").nth(1)).to_contain_text("your change")
    b.shot("01-conflict")
    b.page.click("#rv-conflict-mine")
    settle(b)
    now = fresh(iv)
    assert now.start_s == pytest.approx(b_start) and now.end_s == pytest.approx(a_end)
    assert b.page.evaluate(f"window.__rv.intervals.get({iv.pk}).end_s") == pytest.approx(a_end)


def test_a_product_the_model_missed_is_found_by_the_filter_and_gets_a_lane(world, login):
    missed = Product.objects.create(shop=world.shop, product_id="zz_missed", title="Pomegranate seeds")
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    page = s.page
    assert missed.pk not in page.evaluate("window.__rv.lanes")
    # the filter searches every product of the list, with "only products with intervals" ticked
    page.fill("#rv-filter", "pomegr")
    page.wait_for_function(f"window.__rv.lanes.length === 1 && window.__rv.lanes[0] === {missed.pk}")
    expect(page.locator("#rv-lane-hint")).to_contain_text("no interval yet")
    page.fill("#rv-filter", "no such thing")
    page.wait_for_function("window.__rv.lanes.length === 0")
    expect(page.locator("#rv-lane-hint")).to_contain_text("No product of this list")
    expect(page.locator("#rv-lane-hint")).to_contain_text("no such thing")
    s.shot("01-no-match-hint")
    page.fill("#rv-filter", "")
    page.wait_for_function(f"!window.__rv.lanes.includes({missed.pk})")
    # "add a product lane", then drag on it to add the interval
    page.select_option("#rv-add-lane", str(missed.pk))
    page.wait_for_function(f"window.__rv.lanes.includes({missed.pk})")
    page.evaluate(f"window.__rv.setView(0, {world.video.duration_s})")
    page.evaluate(f"document.getElementById('rv-lanes-wrap').scrollTop = window.__rv.lanes.indexOf({missed.pk}) * 46")
    page.wait_for_timeout(100)
    drag(s, canvas_point(s, missed.pk, 4.0), canvas_point(s, missed.pk, 7.0))
    settle(s)
    added = Interval.objects.get(product=missed)
    assert added.origin == "person" and added.status == "accepted" and abs(added.start_s - 4.0) < 0.3
    s.shot("02-added-lane")


def test_bulk_accept_at_zero_asks_first_and_cancel_changes_nothing(world, login):
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    proposals = [iv for iv in world.intervals() if iv.status == "proposed"]
    s.page.locator("#rv-conf").fill("0")
    s.page.click("#rv-bulk")
    dialog = s.page.locator("#rv-bulk-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"accept {len(proposals)} proposal")
    expect(dialog).to_contain_text(f"changes {len(proposals)} interval")
    s.shot("01-confirm")
    s.page.click("#rv-bulk-no")
    expect(dialog).to_be_hidden()
    assert [iv.status for iv in world.intervals()] == ["proposed"] * len(proposals)


def test_the_confidence_slider_starts_at_the_threshold_and_says_what_it_means(world, login):
    world.video.jobs.update(threshold=0.6)
    above = [iv.score for iv in world.intervals() if iv.origin == "machine" and iv.score >= 0.6]
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    expect(s.page.locator("#rv-conf")).to_have_value("0.6")
    meaning = s.page.locator("#rv-conf-meaning")
    expect(meaning).to_contain_text(f"About {round(sum(above) / len(above) * 10)} in 10 of the {len(above)}")
    expect(meaning).to_contain_text("threshold")
    s.page.locator("#rv-conf").fill("1")
    expect(meaning).to_contain_text("No machine interval scores 1.00 or more")


def test_a_lane_header_shows_the_whole_title_as_a_tooltip(world, login):
    long_title = "Organic Fair-Trade Extra Ripe Cavendish Bananas, family bunch of twelve"
    iv = world.main()
    Product.objects.filter(pk=iv.product_id).update(title=long_title)
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    box = s.page.locator("#rv-lanes").bounding_box()
    top = s.page.evaluate(f"window.__rv.geom.laneTop({iv.product_id})")
    s.page.mouse.move(box["x"] + 60, box["y"] + top + 20)
    expect(s.page.locator("#rv-lanes")).to_have_attribute("title", f"{long_title} ({iv.product.product_id})")


def test_the_timeline_is_usable_on_a_phone(world, login):
    s = login(world.personas.reviewer)
    s.page.set_viewport_size({"width": 390, "height": 844})
    open_timeline(s, world.video)
    page = s.page
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width} px)"
    lanes = page.locator("#rv-lanes").bounding_box()
    bars = lanes["width"] - page.evaluate("window.__rv.geom.headW")
    assert bars >= 250, f"only {bars:.0f} px of timeline"
    product = world.main().product
    page.evaluate(f"window.__rv.setView(0, {world.video.duration_s})")
    page.locator("#rv-lanes").scroll_into_view_if_needed()
    slot = world.free_slot(product, 4.0) + 1.0  # 0.5 s is 4 px here: keep clear of the edges
    before = set(Interval.objects.values_list("pk", flat=True))
    drag(s, canvas_point(s, product.pk, slot), canvas_point(s, product.pk, slot + 2.0))
    settle(s)
    new = Interval.objects.exclude(pk__in=before).get()
    assert new.product == product and abs(new.end_s - new.start_s - 2.0) < 0.5
    s.shot("01-phone")
