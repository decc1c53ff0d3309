"""Exports: CSV, JSON (the CLI's result.json schema plus status, origin and titles), WebVTT
chapters that never overlap; all of the published set by default."""

import json

from django.urls import reverse

from webapp.review.models import Interval


def export(personas, video, fmt, query=""):
    return personas.client(personas.seller).get(reverse("videos:export", args=[video.pk, fmt]) + query)


def test_json_export_follows_the_cli_schema_and_says_status_origin_title_and_the_video(personas, processed):
    body = json.loads(export(personas, processed, "json").content)
    assert {"video", "duration_s", "intervals", "timings_s"} <= set(body)
    assert body["video"] == "shelf.mp4" and body["video_title"] == "Shelf tour" and body["threshold"] == 0.5
    assert body["intervals"][0] == {"product_id": "BAN", "title": "Banana", "start_s": 0.0, "end_s": 1.0, "score": 0.9,
                                    "status": "proposed", "origin": "machine", "evidence": {"visual": 0.8}}


def test_csv_export_has_one_row_per_interval_with_title_status_and_origin(personas, processed):
    text = personas.client(personas.seller).get(f"/api/videos/{processed.pk}/export/csv/").content.decode()
    lines = text.strip().splitlines()
    assert lines[0] == "product_id,title,start_s,end_s,score,status,origin"
    assert lines[1].startswith("BAN,Banana,0.000,1.000,0.9000,proposed,machine")
    assert len(lines) == 3


def test_the_download_is_named_after_the_video(personas, processed):
    assert 'filename="shelf-tour.intervals.csv"' in export(personas, processed, "csv")["Content-Disposition"]


def test_vtt_export_is_webvtt_chapters(personas, processed):
    response = export(personas, processed, "vtt")
    assert response["Content-Type"].startswith("text/vtt")
    text = response.content.decode()
    assert text.startswith("WEBVTT\nKind: chapters\n\n1 BAN proposed machine\n00:00:00.000 --> 00:00:01.000\nBanana (BAN)")


def test_vtt_chapters_never_overlap_when_two_products_are_shown_at_once(personas, processed):
    processed.intervals.filter(product__product_id="OAT").update(start_s=0.5, end_s=2.0)
    cues = [line for line in export(personas, processed, "vtt").content.decode().splitlines() if "-->" in line]
    assert cues == ["00:00:00.000 --> 00:00:00.500", "00:00:00.500 --> 00:00:01.000", "00:00:01.000 --> 00:00:02.000"]
    text = export(personas, processed, "vtt").content.decode()
    assert "Banana (BAN) + Oatly Oat Milk (OAT)" in text


def test_rejected_intervals_are_not_exported(personas, processed):
    processed.intervals.filter(product__product_id="BAN").update(status="rejected")
    body = personas.client(personas.seller).get(f"/api/videos/{processed.pk}/export/json/").json()
    assert [i["product_id"] for i in body["intervals"]] == ["OAT"]


def test_proposals_below_the_jobs_threshold_are_left_out_until_a_person_confirms_them(personas, processed):
    processed.jobs.update(threshold=0.8)
    assert [i["product_id"] for i in json.loads(export(personas, processed, "json").content)["intervals"]] == ["BAN"]
    processed.intervals.filter(product__product_id="OAT").update(status=Interval.Status.EDITED)
    assert [i["product_id"] for i in json.loads(export(personas, processed, "json").content)["intervals"]] == [
        "BAN", "OAT"]


def test_exports_can_be_limited_to_accepted_intervals(personas, processed):
    processed.intervals.filter(product__product_id="OAT").update(status="accepted")
    body = personas.client(personas.seller).get(f"/api/videos/{processed.pk}/export/json/?status=accepted").json()
    assert [i["product_id"] for i in body["intervals"]] == ["OAT"]


def test_an_unknown_status_filter_gets_400_naming_it(personas, processed):
    response = personas.client(personas.seller).get(f"/api/videos/{processed.pk}/export/json/?status=maybe")
    assert response.status_code == 400 and "maybe" in response.json()["status"][0]
