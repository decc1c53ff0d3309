"""The permission matrix: who sees and changes the first shop's objects, by page and by API.

Outsiders (the second shop's seller and admin) get 404; the shop's own members get the pages;
platform staff (Django staff) see every shop. A shop admin's power ends at its own shop."""

import os

import pytest
from django.urls import reverse


def first_shop_urls(video, job, interval):
    return {
        "shop page": reverse("accounts:shop", args=[video.shop.slug]),
        "catalog page": reverse("catalog:products", args=[video.shop.slug]),
        "video list page": reverse("videos:list", args=[video.shop.slug]),
        "upload page": reverse("videos:upload", args=[video.shop.slug]),
        "video page": reverse("videos:detail", args=[video.pk]),
        "job status": reverse("videos:job_status", args=[job.pk]),
        "review page": reverse("review:timeline", args=[video.pk]),
        "focus page": reverse("review:focus", args=[video.pk]),
        "csv export page": reverse("videos:export", args=[video.pk, "csv"]),
        "json export page": reverse("videos:export", args=[video.pk, "json"]),
        "vtt export page": reverse("videos:export", args=[video.pk, "vtt"]),
        "video file": video.file.url,
        "api video": f"/api/videos/{video.pk}/",
        "api job": f"/api/jobs/{job.pk}/",
        "api interval": f"/api/intervals/{interval.pk}/",
        "api csv export": f"/api/videos/{video.pk}/export/csv/",
        "api json export": f"/api/videos/{video.pk}/export/json/",
        "api vtt export": f"/api/videos/{video.pk}/export/vtt/",
        "api comments": f"/api/videos/{video.pk}/comments/",
        "api artefact": f"/api/videos/{video.pk}/artefacts/result/",
    }


URL_NAMES = ["shop page", "catalog page", "video list page", "upload page", "video page", "job status",
             "review page", "focus page", "csv export page", "json export page", "vtt export page", "video file",
             "api video", "api job", "api interval", "api csv export", "api json export", "api vtt export",
             "api comments", "api artefact"]


@pytest.fixture
def objects(processed):
    job = processed.jobs.get()
    return processed, job, processed.intervals.first()


OUTSIDERS = ["other_seller", "other_admin"]
READABLE = [n for n in URL_NAMES if n not in ("api artefact",)]  # the fixture job stored no artefact


@pytest.mark.parametrize("persona", OUTSIDERS)
@pytest.mark.parametrize("name", URL_NAMES)
def test_a_second_shops_seller_or_admin_gets_404(name, persona, personas, objects):
    url = first_shop_urls(*objects)[name]
    assert personas.client(getattr(personas, persona)).get(url).status_code == 404


@pytest.mark.parametrize("persona", ["seller", "reviewer", "shop_admin"])
@pytest.mark.parametrize("name", READABLE)
def test_the_shops_own_members_get_the_page(name, persona, personas, objects):
    url = first_shop_urls(*objects)[name]
    expected = 403 if (persona, name) == ("reviewer", "upload page") else 200  # reviewers do not upload
    assert personas.client(getattr(personas, persona)).get(url).status_code == expected


@pytest.mark.parametrize("name", READABLE)
def test_platform_staff_see_every_shop(name, personas, objects):
    url = first_shop_urls(*objects)[name]
    assert personas.client(personas.staff).get(url).status_code == 200


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_a_second_shops_seller_or_admin_cannot_edit_cancel_or_rerun(persona, personas, objects):
    video, job, interval = objects
    client = personas.client(getattr(personas, persona))
    assert client.patch(f"/api/intervals/{interval.pk}/", {"version": 1, "status": "accepted"},
                        content_type="application/json").status_code == 404
    assert client.post(f"/api/jobs/{job.pk}/cancel/").status_code == 404
    assert client.post(f"/api/videos/{video.pk}/rerun/").status_code == 404
    assert client.post(reverse("videos:rerun", args=[video.pk])).status_code == 404
    assert client.post(reverse("videos:cancel", args=[job.pk])).status_code == 404


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_lists_only_show_the_users_shops(persona, personas, objects):
    client = personas.client(getattr(personas, persona))
    for url in ("/api/videos/", "/api/jobs/", "/api/intervals/", "/api/products/", "/api/corrections/"):
        assert client.get(url).json()["results"] == [], url
    assert [s["slug"] for s in client.get("/api/shops/").json()["results"]] == ["other-market"]


def test_platform_staff_list_every_shop_as_admin(personas, objects):
    shops = personas.client(personas.staff).get("/api/shops/").json()["results"]
    assert [(s["slug"], s["role"]) for s in shops] == [("corner-grocery", "admin"), ("other-market", "admin")]


@pytest.mark.parametrize("persona", ["reviewer", "shop_admin", "staff"])
def test_reviewers_the_shops_admin_and_staff_edit_intervals(persona, personas, objects):
    _, _, interval = objects
    body = {"version": interval.version, "status": "accepted"}
    assert personas.client(getattr(personas, persona)).patch(f"/api/intervals/{interval.pk}/", body,
                                                             content_type="application/json").status_code == 200


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_a_second_shops_seller_or_admin_cannot_change_the_catalog(persona, personas, objects, catalog_folder):
    client = personas.client(getattr(personas, persona))
    with open(os.path.join(catalog_folder, "products.csv"), "rb") as f:
        response = client.post(reverse("catalog:products", args=["corner-grocery"]), {"files": [f]})
    assert response.status_code == 404


def test_a_seller_reads_intervals_but_only_reviewers_edit_them(personas, objects):
    _, _, interval = objects
    body = {"version": interval.version, "status": "accepted"}
    assert personas.client(personas.seller).patch(f"/api/intervals/{interval.pk}/", body,
                                                  content_type="application/json").status_code == 403
    assert personas.client(personas.reviewer).patch(f"/api/intervals/{interval.pk}/", body,
                                                    content_type="application/json").status_code == 200


def test_a_shop_admin_is_not_platform_staff(personas):
    from webapp.accounts.models import is_platform_staff

    assert not is_platform_staff(personas.shop_admin) and not is_platform_staff(personas.other_admin)
    assert is_platform_staff(personas.staff)
    assert personas.shop.role_of(personas.other_admin) is None
    assert not personas.shop.can_review(personas.other_admin) and not personas.shop.can_upload(personas.other_admin)


def test_pages_require_login_and_the_api_answers_401_asking_for_a_token(client, objects):
    video, _, _ = objects
    response = client.get(reverse("videos:detail", args=[video.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.get(f"/api/videos/{video.pk}/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
