"""The seller's focus view (moments, clip downloads) and the viewer's embeddable "now showing"."""

from __future__ import annotations

import zipfile

import pytest
from playwright.sync_api import expect

from webapp.review.models import Interval
from webapp.review.pages import clip_name
from webapp.review.services import update_interval

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_seller_sees_moments_and_downloads_clips(world, login):
    s = login(world.personas.seller)
    page = s.page
    page.goto(f"{s.base}/videos/{world.video.pk}/focus/")
    shown = list(Interval.objects.published(world.video))
    expect(page.locator(".fv-moment")).to_have_count(len(shown))
    main = world.main()
    expect(page.get_by_role("heading", name=main.product.title)).to_be_visible()
    page.wait_for_function("[...document.querySelectorAll('.fv-product-head img')].every(i => i.complete)")
    s.shot("01-focus")

    # a moment plays the video from its start
    first = world.intervals(main.product.product_id)[0]
    page.get_by_role("button", name=f"Play {main.product.title} from").first.click()
    page.wait_for_function(f"document.getElementById('fv-video').currentTime >= {first.start_s - 0.05}")

    with page.expect_download() as dl:
        page.get_by_role("link", name=f"Download highlight clip of {main.product.title}").click()
    assert dl.value.suggested_filename.endswith(f"{main.product.product_id}.mp4")
    import av

    with av.open(dl.value.path()) as c:
        kept = [iv for iv in shown if iv.product_id == main.product_id]
        expected = sum(iv.duration_s for iv in kept)
        assert abs(float(c.duration) / 1e6 - expected) < 0.6 * len(kept)  # keyframe-aligned cuts
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download all clips (ZIP)").click()
    names = zipfile.ZipFile(dl.value.path()).namelist()
    assert sorted(names) == sorted({clip_name(iv.product) for iv in shown})
    assert clip_name(main.product) in names and main.product.title.split()[0] in clip_name(main.product)


def test_the_viewer_embed_shows_the_product_being_presented_now(world, login):
    main = world.main()
    update_interval(main.pk, world.personas.reviewer, {"status": "accepted"}, main.version)
    world.video.jobs.update(threshold=0.999)  # only the accepted interval is published
    seller = login(world.personas.seller)
    seller.page.goto(f"{seller.base}/videos/{world.video.pk}/focus/")
    url = seller.page.locator("#embed-code").input_value().split('src="')[1].split('"')[0]

    viewer = login(None)  # anonymous: the signed link is enough
    page = viewer.page
    page.goto(url)
    expect(page.get_by_role("heading", name="Now showing")).to_be_visible()
    page.wait_for_function("document.getElementById('nv-video').readyState >= 1")
    page.evaluate(f"document.getElementById('nv-video').currentTime = {(main.start_s + main.end_s) / 2}")
    expect(page.locator(".nv-card")).to_have_count(1)
    expect(page.locator(".nv-card h2")).to_have_text(main.product.title)
    page.wait_for_function("document.querySelector('.nv-card img').complete")
    page.wait_for_timeout(300)
    viewer.shot("01-now-showing")
    # where no published interval covers the time, the card says nothing is shown (after the
    # start: at 0 s the viewer invites to play)
    published = list(Interval.objects.published(world.video))
    away = next(t / 10 for t in range(1, int(world.video.duration_s * 10))
                if not any(iv.start_s <= t / 10 < iv.end_s for iv in published))
    page.evaluate(f"document.getElementById('nv-video').currentTime = {away}")
    expect(page.locator(".nv-card")).to_have_count(0)
    expect(page.locator("#nv-empty")).to_contain_text("No product")

    # the page can be framed by another site
    page.set_content(f'<iframe id="f" src="{url}" width="900" height="500"></iframe>')
    frame = page.frame_locator("#f")
    expect(frame.get_by_role("heading", name="Now showing")).to_be_visible()
