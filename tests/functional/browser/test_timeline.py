"""A reviewer fixes intervals on the real timeline page in headless Chromium: drag, shortcuts,
undo/redo, typed timecodes, split/merge, add by dragging, relabel, a version conflict, exports."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from webapp.review.models import Correction, Interval
from webapp.review.services import update_interval

pytestmark = pytest.mark.django_db(transaction=True)


def open_timeline(s, video):
    s.page.goto(f"{s.base}/videos/{video.pk}/review/")
    s.page.wait_for_selector("#rv[data-loaded='1']")
    s.page.wait_for_function("window.__rv.perf.first !== null")


def settle(s):
    """Wait until every queued save has answered."""
    s.page.wait_for_function("document.getElementById('rv').dataset.pending === '0'")


def canvas_point(s, product_pk, t, where="bar"):
    """Page coordinates of time ``t`` on the lane of ``product_pk``."""
    box = s.page.locator("#rv-lanes").bounding_box()
    g = s.page.evaluate(f"""(() => {{ const g = window.__rv.geom;
        return {{x: g.t2x({t}), top: g.laneTop({product_pk}), barY: g.barY, barH: g.barH}}; }})()""")
    assert g["top"] >= 0, "lane not on screen"
    y = g["top"] + (g["barY"] + g["barH"] / 2 if where == "bar" else g["barY"] + 2)
    return box["x"] + g["x"], box["y"] + y


def drag(s, a, b, steps=8):
    s.page.mouse.move(*a)
    s.page.mouse.down()
    s.page.mouse.move(*b, steps=steps)
    s.page.mouse.up()


def fresh(iv) -> Interval:
    return Interval.objects.get(pk=iv.pk)


def test_a_reviewer_edits_with_mouse_and_keyboard_and_undoes(world, login):
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    s.shot("01-loaded")
    page = s.page
    products = world.products()
    main = world.main()
    title = main.product.title

    # the confidence slider hides weak proposals; N selects the first interval still shown
    page.locator("#rv-conf").fill("0.3")
    weak = [iv for iv in world.intervals() if iv.status == "proposed" and iv.score < 0.3]
    assert page.evaluate("[...window.__rv.intervals.values()].filter(iv => iv.status==='proposed' && iv.score < 0.3).length") == len(weak)
    first = min((iv for iv in world.intervals() if iv not in weak), key=lambda iv: (iv.start_s, iv.product_id, iv.pk))
    page.locator("#rv-lanes").focus()
    page.keyboard.press("n")
    assert page.evaluate("window.__rv.selected") == first.pk
    expect(page.locator("#rv-sel-title")).to_have_text(first.product.title)
    page.evaluate(f"window.__rv.select({main.pk})")
    expect(page.locator("#rv-sel-title")).to_have_text(title)

    # zoom in with the button, then fit to the interval (F)
    page.click("#rv-zoom-in")
    page.keyboard.press("f")
    view = page.evaluate("[window.__rv.vs, window.__rv.ve]")
    assert view[0] <= main.start_s and view[1] > main.end_s and view[1] - view[0] < 2 * main.duration_s + 1.1

    # drag the end edge 0.8 s to the left
    target_end = main.end_s - 0.8
    drag(s, canvas_point(s, main.product_id, main.end_s - 0.02), canvas_point(s, main.product_id, target_end))
    settle(s)
    iv = fresh(main)
    assert abs(iv.end_s - target_end) < 0.15 and iv.status in ("edited", "accepted") and iv.version == 2
    s.shot("02-dragged-edge")

    # drag the whole bar (0.5 s to the right, or left when at the end of the video)
    shift = 0.5 if iv.end_s + 0.6 < world.video.duration_s else -0.5
    mid = (iv.start_s + iv.end_s) / 2
    drag(s, canvas_point(s, iv.product_id, mid), canvas_point(s, iv.product_id, mid + shift))
    settle(s)
    moved = fresh(main)
    assert abs((moved.start_s - iv.start_s) - shift) < 0.15 and abs(moved.duration_s - iv.duration_s) < 0.01

    # A accepts; Ctrl+Z undoes the accept, then the move; Ctrl+Shift+Z redoes the move
    page.locator("#rv-lanes").focus()
    page.keyboard.press("a")
    settle(s)
    assert fresh(main).status == "accepted"
    page.keyboard.press("Control+z")
    settle(s)
    assert fresh(main).status == moved.status
    page.keyboard.press("Control+z")
    settle(s)
    assert abs(fresh(main).start_s - iv.start_s) < 0.01
    page.keyboard.press("Control+Shift+z")
    settle(s)
    assert abs(fresh(main).start_s - moved.start_s) < 0.01

    # typed timecodes (m:ss.s and plain seconds)
    a, b = round(moved.start_s + 0.3, 1), round(moved.end_s - 0.25, 2)
    page.fill("#rv-start", f"{int(a // 60)}:{a % 60:04.1f}")
    page.press("#rv-start", "Enter")
    settle(s)
    assert fresh(main).start_s == pytest.approx(a)
    page.fill("#rv-end", str(b))
    page.press("#rv-end", "Enter")
    settle(s)
    assert fresh(main).end_s == pytest.approx(b)

    # [ at the playhead, S splits at the playhead, M merges back
    start = round(a + 0.5, 2)
    page.evaluate(f"window.__rv.seek({start})")
    page.locator("#rv-lanes").focus()
    page.keyboard.press("[")
    settle(s)
    assert fresh(main).start_s == pytest.approx(start, abs=0.01)
    cut = round((start + b) / 2, 2)
    page.evaluate(f"window.__rv.seek({cut})")
    page.keyboard.press("s")
    settle(s)
    parts = [p for p in world.intervals(main.product.product_id) if start - 0.01 <= p.start_s <= b]
    assert [(round(p.start_s, 2), round(p.end_s, 2)) for p in parts] == [(start, cut), (cut, b)]
    s.shot("03-split")
    page.evaluate(f"window.__rv.select({parts[0].pk})")
    page.keyboard.press("m")
    settle(s)
    parts = [p for p in world.intervals(main.product.product_id) if start - 0.01 <= p.start_s <= b]
    assert [(round(p.start_s, 2), round(p.end_s, 2)) for p in parts] == [(start, b)]

    # add an interval by dragging on a lane, then relabel it with the picker
    lane_product = next(p for p in products.values() if p.pk in {iv.product_id for iv in world.intervals()})
    other = next(p for p in products.values() if p.pk != lane_product.pk)
    slot = world.free_slot(lane_product, 2.0)
    page.evaluate(f"window.__rv.setView(0, {world.video.duration_s})")
    before = set(Interval.objects.values_list("pk", flat=True))
    drag(s, canvas_point(s, lane_product.pk, slot), canvas_point(s, lane_product.pk, slot + 2.0))
    settle(s)
    new = Interval.objects.exclude(pk__in=before).get()
    assert new.product == lane_product and new.origin == "person"
    assert abs(new.start_s - slot) < 0.2 and abs(new.end_s - slot - 2.0) < 0.2
    page.click("#rv-relabel")
    page.keyboard.type(other.title[:5].lower())
    expect(page.locator("#rv-picker-list [role=option]").first).to_have_text(f"{other.title} ({other.product_id})")
    s.shot("04-relabel-picker")
    page.keyboard.press("Enter")
    settle(s)
    assert fresh(new).product == other
    assert Correction.objects.filter(interval=new, action="relabel").exists()

    # R rejects, Delete deletes, and undo brings it back (as a new row)
    page.locator("#rv-lanes").focus()
    page.keyboard.press("r")
    settle(s)
    assert fresh(new).status == "rejected"
    page.keyboard.press("Delete")
    settle(s)
    assert not Interval.objects.filter(pk=new.pk).exists()
    page.keyboard.press("Control+z")
    settle(s)
    back = Interval.objects.exclude(pk__in=before).get()
    assert back.product == other and back.status == "rejected"

    # bulk accept above the slider, after a confirmation that says how many it changes
    page.locator("#rv-conf").fill("0.5")
    to_accept = [iv_ for iv_ in world.intervals() if iv_.status == "proposed" and iv_.score >= 0.5]
    page.click("#rv-bulk")
    expect(page.locator("#rv-bulk-confirm")).to_contain_text(f"changes {len(to_accept)} interval")
    page.click("#rv-bulk-yes")
    settle(s)
    for iv_ in world.intervals():
        if iv_.origin == "machine" and iv_.score >= 0.5:
            assert iv_.status != "proposed", iv_

    # history panel lists the corrections
    page.click("#tab-history")
    expect(page.locator("#rv-history li").first).to_be_visible()
    history = page.locator("#rv-history").inner_text()
    for action in ("split", "merge", "relabel", "delete", "accept"):
        assert action in history
    s.shot("05-history")

    # evidence panel at the playhead: modality bars (and boxes over the video when there are any)
    page.click("#tab-evidence")
    page.evaluate(f"window.__rv.seek({(main.start_s + main.end_s) / 2})")
    expect(page.locator("#ev-modalities .ev-product").first).to_be_visible()
    page.wait_for_timeout(400)
    s.shot("06-evidence")

    # help dialog
    page.locator("#rv-lanes").focus()
    page.keyboard.press("?")
    expect(page.locator("#rv-help")).to_be_visible()
    s.shot("07-help")
    page.keyboard.press("Escape")
    expect(page.locator("#rv-help")).to_be_hidden()

    # exports carry the edits
    with page.expect_download() as dl:
        page.click("a[data-export=json]")
    exported = json.loads(open(dl.value.path(), encoding="utf-8").read())
    assert {"video", "duration_s", "intervals", "timings_s"} <= set(exported)
    assert any(i["product_id"] == main.product.product_id and i["start_s"] == start and i["end_s"] == b
               for i in exported["intervals"])
    with page.expect_download() as dl:
        page.click("a[data-export=csv]")
    assert open(dl.value.path(), encoding="utf-8").readline().startswith("product_id,title,start_s,end_s")
    with page.expect_download() as dl:
        page.click("a[data-export=vtt]")
    assert open(dl.value.path(), encoding="utf-8").read().startswith("WEBVTT")


def test_live_job_progress_updates_and_loads_the_new_intervals(world, login):
    from django.utils import timezone

    from webapp.videos.models import Job

    job = Job.objects.create(video=world.video, status=Job.Status.RUNNING, stage="vision", progress=0.4,
                             started_at=timezone.now() - timezone.timedelta(seconds=20), heartbeat_at=timezone.now())
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    box = s.page.locator("#rv-job")
    expect(box).to_be_visible()
    expect(box).to_contain_text("vision")
    expect(box).to_contain_text("40%")
    expect(box).to_contain_text("left")
    s.shot("01-running")
    Job.objects.filter(pk=job.pk).update(stage="speech", progress=0.8)
    expect(box).to_contain_text("80%")
    expect(box).to_contain_text("speech")
    n = len(world.intervals())
    Interval.objects.create(video=world.video, product=world.main().product, start_s=0.2, end_s=0.4, score=0.5)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, stage="done", progress=1.0)
    expect(box).to_be_hidden()
    s.page.wait_for_function(f"window.__rv.intervals.size === {n + 1}")


def test_a_concurrent_edit_shows_a_conflict_and_nothing_is_lost(world, login, django_user_model):
    from webapp.accounts.models import Membership, Role

    other = django_user_model.objects.create_user("second_reviewer", password="second_reviewer-pass-123")
    Membership.objects.create(user=other, shop=world.shop, role=Role.REVIEWER)
    s = login(world.personas.reviewer)
    s2 = login(other)
    open_timeline(s, world.video)
    iv = world.main()
    s.page.evaluate(f"window.__rv.select({iv.pk})")

    # the second reviewer rejects it through the API while the first still shows version 1
    r = s2.context.request.patch(f"{s2.base}/api/intervals/{iv.pk}/",
                                 data=json.dumps({"version": iv.version, "status": "rejected"}),
                                 headers={"Content-Type": "application/json", "X-CSRFToken": s2.csrf(),
                                          "Referer": s2.base + "/"})
    assert r.status == 200, r.text()

    # the first sets the end at the playhead: 409, a dialog shows both sides
    end = round(iv.end_s - 0.6, 2)
    s.page.evaluate(f"window.__rv.seek({end})")
    s.page.locator("#rv-lanes").focus()
    s.page.keyboard.press("]")
    dialog = s.page.locator("#rv-conflict")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Someone else changed this interval")
    expect(dialog).to_contain_text("rejected")
    s.shot("01-conflict")
    s.page.click("#rv-conflict-mine")
    settle(s)
    now = fresh(iv)
    assert now.end_s == pytest.approx(end, abs=0.01)  # mine
    assert now.status == "rejected"  # theirs kept
    assert now.version == 3

    # another stale edit; this time the reviewer keeps theirs
    theirs = round(iv.start_s + 0.2, 2)
    update_interval(iv.pk, other, {"start_s": theirs}, now.version)
    s.page.evaluate(f"window.__rv.seek({round(iv.start_s + 0.5, 2)})")
    s.page.keyboard.press("[")
    expect(dialog).to_be_visible()
    s.page.click("#rv-conflict-theirs")
    settle(s)
    assert fresh(iv).start_s == theirs
    assert s.page.evaluate(f"window.__rv.intervals.get({iv.pk}).start_s") == theirs
    s.shot("02-after-conflict")


def test_keyboard_only_review_and_accessible_labels(world, login):
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    page = s.page
    # every form control and button has an accessible name
    unnamed = page.evaluate("""[...document.querySelectorAll('#rv button, #rv input, #rv select, #rv canvas[tabindex]')]
        .filter(el => !el.closest('[hidden]') && !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim() || el.title))
        .map(el => el.id || el.outerHTML.slice(0, 60))""")
    assert unnamed == []
    # from the page top, Tab reaches the lanes; then only keys: next, accept, next, reject
    page.keyboard.press("Tab")
    for _ in range(60):
        if page.evaluate("document.activeElement.id") == "rv-lanes":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "rv-lanes"
    page.keyboard.press("n")
    first = page.evaluate("window.__rv.selected")
    page.keyboard.press("a")
    page.keyboard.press("n")
    second = page.evaluate("window.__rv.selected")
    page.keyboard.press("r")
    settle(s)
    assert Interval.objects.get(pk=first).status == "accepted"
    assert Interval.objects.get(pk=second).status == "rejected"
    expect(page.locator("#rv-live")).to_contain_text("Selected")
    # space plays, K pauses
    page.keyboard.press(" ")
    page.wait_for_timeout(400)
    page.keyboard.press("k")
    assert page.evaluate("document.getElementById('rv-video').paused")
    # O loops inside the selected interval: playing past its end jumps back to its start
    main = world.main()
    page.evaluate(f"window.__rv.select({main.pk})")
    page.keyboard.press("o")
    assert page.locator("#rv-loop").is_checked()
    page.evaluate(f"window.__rv.seek({main.end_s - 0.3})")
    page.keyboard.press("l")
    page.wait_for_function(f"document.getElementById('rv-video').currentTime < {main.end_s - 0.35}", timeout=5000)
    t = page.evaluate("document.getElementById('rv-video').currentTime")
    page.keyboard.press("k")
    assert main.start_s - 0.01 <= t < main.end_s
    s.shot("keyboard")
