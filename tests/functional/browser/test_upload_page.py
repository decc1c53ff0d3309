"""The upload page in Chromium: the file goes up resumably (tus-js-client against /api/uploads/)
in several pieces, then the form is posted and the seller lands on the video's page; the same
file again shows the duplicate warning there."""

import os
import re

from webapp.videos.models import Upload, Video


def test_a_seller_uploads_a_video_resumably_and_is_warned_when_it_is_uploaded_again(
        personas, catalog, live_server, login, browser_video_path, settings):
    settings.SHOPFOCUS_UPLOAD_CHUNK_BYTES = 64 * 1024  # several PATCH requests even for the small test video
    seller = login(personas.seller)
    p = seller.page
    patches = []
    p.on("request", lambda r: patches.append(r) if r.method == "PATCH" else None)

    for title in ("Tuesday haul", "Tuesday haul, again"):
        p.goto(seller.base + f"/shops/{personas.shop.slug}/videos/upload/")
        p.fill("#id_title", title)
        p.set_input_files("#id_file", str(browser_video_path))
        p.click("#upload-form button[type=submit]")
        p.wait_for_url(re.compile(r"/videos/\d+/$"), timeout=60_000)

    first, second = Video.objects.filter(title__startswith="Tuesday haul").order_by("pk")
    assert p.url.endswith(f"/videos/{second.pk}/")
    assert f"This file was uploaded before, as 'Tuesday haul' (video #{first.pk})" in p.inner_text("main")
    assert len(patches) >= 4 and not Upload.objects.exists()
    assert first.sha256 == second.sha256 and first.size_bytes == os.path.getsize(browser_video_path)
    seller.shot("duplicate-warning")
