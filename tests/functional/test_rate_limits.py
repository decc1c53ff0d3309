"""Guessing passwords locks the login; fast API clients are throttled, per user and per address."""

import datetime

import pytest
from django.urls import reverse


def login(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def test_forty_wrong_passwords_lock_the_login_even_for_the_right_password(client, personas, lockout):
    statuses = [login(client, "seller", f"guess-{i}").status_code for i in range(40)]
    assert statuses[:2] == [200, 200] and set(statuses[2:]) == {429}  # the 3rd failure locks
    response = login(client, "seller", "seller-pass-123")
    assert response.status_code == 429 and b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_the_lock_is_for_that_user_from_that_address_only(client, personas, lockout):
    for i in range(3):
        login(client, "seller", f"guess-{i}")
    assert login(client, "reviewer", "reviewer-pass-123").status_code == 302
    assert login(client, "seller", "seller-pass-123", REMOTE_ADDR="10.0.0.7").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, personas, lockout):
    from axes.models import AccessAttempt

    for i in range(3):
        login(client, "seller", f"guess-{i}")
    assert login(client, "seller", "seller-pass-123").status_code == 429
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - lockout.AXES_COOLOFF_TIME
                                 - datetime.timedelta(seconds=1))
    assert login(client, "seller", "seller-pass-123").status_code == 302


def test_the_django_admin_login_is_locked_too(client, personas, lockout):
    url = reverse("admin:login")
    statuses = [client.post(url, {"username": "staff", "password": f"guess-{i}"}).status_code for i in range(4)]
    assert statuses[-1] == 429


def test_a_forged_forwarded_for_header_does_not_dodge_the_lock(client, personas, lockout):
    statuses = [login(client, "seller", f"guess-{i}", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
                for i in range(4)]
    assert statuses[-1] == 429


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "5/minute"}}


def test_a_fast_user_is_throttled_with_retry_after(personas, low_rates):
    client = personas.client(personas.seller)
    responses = [client.get("/api/videos/") for _ in range(7)]
    assert [r.status_code for r in responses] == [200] * 5 + [429] * 2
    assert int(responses[-1]["Retry-After"]) > 0 and "throttled" in responses[-1].json()["detail"]


def test_one_users_limit_does_not_slow_another(personas, low_rates):
    client = personas.client(personas.seller)
    for _ in range(6):
        client.get("/api/videos/")
    assert personas.client(personas.reviewer).get("/api/videos/").status_code == 200


def test_anonymous_clients_are_throttled_per_address_and_forged_headers_do_not_help(client, low_rates):
    statuses = [client.get("/api/schema/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert client.get("/api/schema/", REMOTE_ADDR="10.0.0.9").status_code == 200


@pytest.mark.parametrize("password", ["password1", "12345678901", "short", "sellers1"])
def test_weak_passwords_are_refused_where_passwords_are_set(password, personas):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password(password, personas.seller)
