"""The server-rendered pages render, with labels, for the people who use them."""

import re

from django.urls import reverse


def test_the_login_page_has_labelled_inputs(client):
    html = client.get(reverse("login")).content.decode()
    assert '<label for="id_username">' in html and '<label for="id_password">' in html


def test_logging_in_leads_to_the_shop_list(client, personas):
    response = client.post(reverse("login"), {"username": "seller", "password": "seller-pass-123"}, follow=True)
    assert b"Corner Grocery" in response.content and b"Other Market" not in response.content


def test_every_file_and_text_input_has_a_label(personas, processed):
    client = personas.client(personas.seller)
    for url in (reverse("videos:upload", args=[personas.shop.slug]),
                reverse("catalog:products", args=[personas.shop.slug]),
                reverse("videos:detail", args=[processed.pk])):
        html = client.get(url).content.decode()
        for input_id in re.findall(r'<input id="([^"]+)"[^>]*type="(?:file|text)"', html):
            assert f'<label for="{input_id}">' in html, (url, input_id)


def test_the_video_page_links_the_review_pages_and_polls_the_job(personas, processed):
    html = personas.client(personas.seller).get(reverse("videos:detail", args=[processed.pk])).content.decode()
    for name in ("review:timeline", "review:focus", "review:viewer"):
        assert reverse(name, args=[processed.pk]) in html
    assert reverse("videos:job_status", args=[processed.jobs.get().pk]) in html


def test_the_job_status_json_has_stage_progress_and_estimate(personas, video):
    from django.utils import timezone

    from webapp.videos.models import Job

    job = Job.objects.create(video=video, status="running", stage="speech", progress=0.25,
                             started_at=timezone.now() - timezone.timedelta(seconds=30))
    body = personas.client(personas.seller).get(reverse("videos:job_status", args=[job.pk])).json()
    assert (body["status"], body["stage"], body["progress"]) == ("running", "speech", 0.25)
    assert 85 <= body["eta_s"] <= 95


def test_the_catalog_page_shows_thumbnails(personas, catalog):
    html = personas.client(personas.seller).get(reverse("catalog:products", args=[personas.shop.slug])).content.decode()
    assert html.count('<img src="/media/catalog/') == 3 and 'alt="Banana"' in html


def test_a_seller_cancels_a_queued_job_and_re_runs_it(personas, video):
    from webapp.videos.models import Job

    job = Job.objects.create(video=video)
    client = personas.client(personas.seller)
    client.post(reverse("videos:cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "cancelled" and job.message == "cancelled by seller"

    client.post(reverse("videos:rerun", args=[video.pk]))
    assert video.jobs.filter(status="queued").count() == 1


def test_a_rerun_is_refused_while_a_job_is_active(personas, video):
    from webapp.videos.models import Job

    Job.objects.create(video=video)
    response = personas.client(personas.seller).post(f"/api/videos/{video.pk}/rerun/")
    assert response.status_code == 409 and video.jobs.count() == 1


def test_a_forbidden_page_is_styled_and_says_why(personas):
    response = personas.client(personas.reviewer).get(reverse("videos:upload", args=[personas.shop.slug]))
    html = response.content.decode()
    assert response.status_code == 403
    assert "/static/css/app.css" in html and "You cannot do that here" in html
    assert "only the shop&#x27;s sellers and admins upload videos" in html
    assert reverse("accounts:home") in html
