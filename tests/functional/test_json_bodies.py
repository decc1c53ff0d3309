"""Hostile JSON bodies on the API (non-finite times, deep nesting, huge bodies) get a 4xx that
says what is wrong, and change nothing."""

import pytest


def send(client, method, url, raw, ctype="application/json"):
    return getattr(client, method)(url, data=raw, content_type=ctype)


@pytest.fixture
def interval(processed):
    return processed.intervals.order_by("start_s").first()


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", '"NaN"', '"Infinity"', '"-inf"', "1e999"])
def test_a_time_that_is_not_a_finite_number_is_a_400(value, personas, interval):
    raw = f'{{"version": {interval.version}, "start_s": {value}}}'
    response = send(personas.client(personas.reviewer), "patch", f"/api/intervals/{interval.pk}/", raw)
    assert response.status_code == 400, response.content
    assert "start_s" in response.json() or "JSON" in response.json()["detail"]
    interval.refresh_from_db()
    assert interval.start_s == 0.0 and interval.version == 1


@pytest.mark.parametrize("value", ["NaN", '"Infinity"'])
def test_creating_an_interval_with_a_non_finite_end_is_a_400(value, personas, processed):
    raw = f'{{"video": {processed.pk}, "product_id": "BAN", "start_s": 1, "end_s": {value}}}'
    response = send(personas.client(personas.reviewer), "post", "/api/intervals/", raw)
    assert response.status_code == 400
    assert processed.intervals.count() == 2


@pytest.mark.parametrize("raw", ["[" * 100_000, '{"version": ' + "[" * 100_000 + "]" * 100_000 + "}",
                                 '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_deeply_nested_json_is_a_400(raw, personas, interval):
    response = send(personas.client(personas.reviewer), "patch", f"/api/intervals/{interval.pk}/", raw)
    assert response.status_code == 400
    assert "deeper than 32 levels" in response.json()["detail"]


def test_brackets_inside_strings_do_not_count_as_nesting(personas, processed):
    raw = f'{{"video": {processed.pk}, "product_id": "{"[" * 100}", "start_s": 1, "end_s": 2}}'
    response = send(personas.client(personas.reviewer), "post", "/api/intervals/", raw)
    assert response.status_code == 400 and "not in this shop's catalog" in response.json()["detail"]


def test_a_body_over_the_size_limit_is_a_413(personas, interval, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    raw = f'{{"version": {interval.version}, "status": "accepted", "pad": "{"x" * 20_000}"}}'
    response = send(personas.client(personas.reviewer), "patch", f"/api/intervals/{interval.pk}/", raw)
    assert response.status_code == 413 and "larger than 10000 bytes" in response.json()["detail"]
    interval.refresh_from_db()
    assert interval.status == "proposed"


def test_a_body_in_a_charset_that_is_not_text_is_a_400(personas, interval):
    raw = f'{{"version": {interval.version}, "status": "accepted"}}'
    response = send(personas.client(personas.reviewer), "patch", f"/api/intervals/{interval.pk}/", raw,
                    "application/json; charset=bz2_codec")
    assert response.status_code == 400 and "charset" in response.json()["detail"]


def test_a_body_that_is_not_valid_utf8_is_a_400(personas, interval):
    raw = f'{{"version": {interval.version}, "status": "'.encode() + b"\xff\xfe" + b'"}'
    response = send(personas.client(personas.reviewer), "patch", f"/api/intervals/{interval.pk}/", raw)
    assert response.status_code == 400 and "not utf-8 text" in response.json()["detail"]


def test_a_body_that_is_not_json_is_a_400_and_form_bodies_are_not_accepted(personas, interval):
    client = personas.client(personas.reviewer)
    assert send(client, "patch", f"/api/intervals/{interval.pk}/", "{version: 1").status_code == 400
    response = send(client, "patch", f"/api/intervals/{interval.pk}/", "version=1&status=accepted",
                    "application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_a_good_json_edit_still_works(personas, interval):
    raw = f'{{"version": {interval.version}, "start_s": 0.25}}'
    response = send(personas.client(personas.reviewer), "patch", f"/api/intervals/{interval.pk}/", raw)
    assert response.status_code == 200 and response.json()["start_s"] == 0.25


WRITES = [  # (method, url template, body with {value} where a number goes)
    ("post", "/api/intervals/{iv}/split/", '{{"version": 1, "at": {value}}}'),
    ("post", "/api/intervals/bulk-accept/", '{{"video": {video}, "min_score": {value}}}'),
    ("post", "/api/intervals/", '{{"video": {video}, "product_id": "BAN", "start_s": {value}, "end_s": 2}}'),
    ("patch", "/api/intervals/{iv}/", '{{"version": 1, "end_s": {value}}}'),
]


@pytest.mark.parametrize("method,url,body", WRITES, ids=[w[1] for w in WRITES])
@pytest.mark.parametrize("value", ["NaN", "-Infinity", '"Infinity"', "[" * 50_000])
def test_every_interval_write_refuses_non_finite_numbers_and_deep_nesting(method, url, body, value, personas,
                                                                         interval, processed):
    before = sorted(processed.intervals.values_list("pk", "start_s", "end_s", "status", "version"))
    raw = body.format(value=value, video=processed.pk)
    response = send(personas.client(personas.reviewer), method, url.format(iv=interval.pk), raw)
    assert response.status_code == 400, response.content[:300]
    assert sorted(processed.intervals.values_list("pk", "start_s", "end_s", "status", "version")) == before
