"""Exports: CSV, JSON in the CLI's result.json schema, WebVTT chapters; rejected ones left out."""

import json

from django.urls import reverse


def test_json_export_follows_the_cli_result_schema(personas, processed):
    body = json.loads(personas.client(personas.seller).get(reverse("videos:export", args=[processed.pk, "json"])).content)
    assert set(body) == {"video", "duration_s", "intervals", "timings_s"}
    assert body["intervals"][0] == {"product_id": "BAN", "start_s": 0.0, "end_s": 1.0, "score": 0.9,
                                    "evidence": {"visual": 0.8}}


def test_csv_export_has_one_row_per_interval(personas, processed):
    text = personas.client(personas.seller).get(f"/api/videos/{processed.pk}/export/csv/").content.decode()
    lines = text.strip().splitlines()
    assert lines[0] == "product_id,title,start_s,end_s,score,status,origin"
    assert lines[1].startswith("BAN,Banana,0.000,1.000,0.9000,proposed,machine")
    assert len(lines) == 3


def test_vtt_export_is_webvtt_chapters(personas, processed):
    response = personas.client(personas.seller).get(reverse("videos:export", args=[processed.pk, "vtt"]))
    assert response["Content-Type"].startswith("text/vtt")
    assert response.content.decode().startswith("WEBVTT\nKind: chapters\n\n1\n00:00:00.000 --> 00:00:01.000\nBanana (BAN)")


def test_rejected_intervals_are_not_exported(personas, processed):
    processed.intervals.filter(product__product_id="BAN").update(status="rejected")
    body = personas.client(personas.seller).get(f"/api/videos/{processed.pk}/export/json/").json()
    assert [i["product_id"] for i in body["intervals"]] == ["OAT"]


def test_exports_can_be_limited_to_accepted_intervals(personas, processed):
    processed.intervals.filter(product__product_id="OAT").update(status="accepted")
    body = personas.client(personas.seller).get(f"/api/videos/{processed.pk}/export/json/?status=accepted").json()
    assert [i["product_id"] for i in body["intervals"]] == ["OAT"]
