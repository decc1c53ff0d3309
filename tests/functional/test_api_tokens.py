"""API clients authenticate with a token a user makes (and revokes) on the API tokens page."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse


def make_token(client, name="my script"):
    response = client.post(reverse("accounts:api_tokens"), {"op": "create", "name": name})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    return re.search(r'<code id="new-token">([0-9a-f]+)</code>', response.content.decode()).group(1)


def api(token, **extra):
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token}", **extra)


def test_a_token_made_on_the_page_works_like_its_user_without_a_session_or_csrf(personas, processed):
    token = make_token(personas.client(personas.reviewer))
    client = api(token)
    assert [v["id"] for v in client.get("/api/videos/").json()["results"]] == [processed.pk]
    interval = processed.intervals.first()
    response = client.patch(f"/api/intervals/{interval.pk}/", {"version": interval.version, "status": "accepted"},
                            content_type="application/json")
    assert response.status_code == 200 and "sessionid" not in response.cookies


def test_a_token_has_its_users_shops_only(personas, processed):
    client = api(make_token(personas.client(personas.other_seller)))
    assert client.get("/api/videos/").json()["results"] == []
    assert client.get(f"/api/videos/{processed.pk}/").status_code == 404


def test_a_token_is_stored_only_as_a_digest_and_shown_once(personas):
    from webapp.accounts.models import ApiToken

    page = personas.client(personas.seller)
    token = make_token(page, "OBS on the studio PC")
    row = ApiToken.objects.get(user=personas.seller)
    assert row.name == "OBS on the studio PC" and token not in (row.digest, row.token_key)
    listing = page.get(reverse("accounts:api_tokens")).content.decode()
    assert "OBS on the studio PC" in listing and token not in listing and row.token_key in listing


def test_a_revoked_token_stops_working(personas):
    page = personas.client(personas.seller)
    token = make_token(page)
    assert api(token).get("/api/videos/").status_code == 200
    from webapp.accounts.models import ApiToken

    digest = ApiToken.objects.get(user=personas.seller).digest
    assert page.post(reverse("accounts:api_tokens"), {"op": "revoke", "token": digest}).status_code == 302
    assert api(token).get("/api/videos/").status_code == 401


def test_nobody_revokes_someone_elses_token(personas):
    from webapp.accounts.models import ApiToken

    token = make_token(personas.client(personas.seller))
    digest = ApiToken.objects.get(user=personas.seller).digest
    response = personas.client(personas.reviewer).post(reverse("accounts:api_tokens"), {"op": "revoke", "token": digest})
    assert response.status_code == 400 and api(token).get("/api/videos/").status_code == 200


def test_an_expired_token_or_an_inactive_user_is_refused(personas):
    from webapp.accounts.models import ApiToken

    token = make_token(personas.client(personas.seller))
    assert ApiToken.objects.get().expiry > datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=89)
    personas.seller.is_active = False
    personas.seller.save()
    assert api(token).get("/api/videos/").status_code == 401
    personas.seller.is_active = True
    personas.seller.save()
    ApiToken.objects.update(expiry=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1))
    assert api(token).get("/api/videos/").status_code == 401
    assert not ApiToken.objects.exists()  # knox deletes an expired token when it is presented


@pytest.mark.parametrize("header", ["Token nope", "Token " + "0" * 64, "Token", "Token a b"])
def test_a_wrong_token_is_a_401(header, db):
    assert Client(HTTP_AUTHORIZATION=header).get("/api/videos/").status_code == 401


@pytest.mark.parametrize("name,message", [("", "give the token a name"), ("x" * 101, "too long")])
def test_a_token_needs_a_short_name(name, message, personas):
    response = personas.client(personas.seller).post(reverse("accounts:api_tokens"), {"op": "create", "name": name})
    assert response.status_code == 400 and message in response.content.decode()


def test_a_user_has_a_bounded_number_of_tokens(personas, settings):
    settings.SHOPFOCUS_API_TOKENS_PER_USER = 2
    page = personas.client(personas.seller)
    make_token(page, "a"), make_token(page, "b")
    response = page.post(reverse("accounts:api_tokens"), {"op": "create", "name": "c"})
    assert response.status_code == 400 and "already have 2 tokens" in response.content.decode()
