"""Reviewers edit intervals through the API with optimistic locking; every change is audited."""

import pytest

from webapp.review.models import Correction, Interval


def patch(client, interval, **body):
    return client.patch(f"/api/intervals/{interval.pk}/", body, content_type="application/json")


def test_a_reviewer_moves_an_interval_and_it_becomes_edited(personas, processed):
    interval = processed.intervals.get(product__product_id="BAN")
    response = patch(personas.client(personas.reviewer), interval, version=1, start_s=0.2, end_s=1.4)

    assert response.status_code == 200
    assert response.json()["status"] == "edited" and response.json()["version"] == 2
    correction = Correction.objects.get(interval=interval)
    assert correction.user == personas.reviewer and correction.action == "update"
    assert correction.before["start_s"] == 0.0 and correction.after["start_s"] == 0.2


def test_a_stale_version_gets_409_with_the_current_interval(personas, processed):
    interval = processed.intervals.get(product__product_id="BAN")
    client = personas.client(personas.reviewer)
    assert patch(client, interval, version=1, status="accepted").status_code == 200

    response = patch(client, interval, version=1, status="rejected")

    assert response.status_code == 409
    assert response.json()["current"]["status"] == "accepted" and response.json()["current"]["version"] == 2
    assert Interval.objects.get(pk=interval.pk).status == "accepted"


def test_accepting_is_recorded_as_an_accept(personas, processed):
    interval = processed.intervals.get(product__product_id="OAT")
    patch(personas.client(personas.reviewer), interval, version=1, status="accepted")
    assert Correction.objects.get(interval=interval).action == "accept"


def test_relabelling_to_a_product_of_the_shop_works_and_to_another_shops_fails(personas, processed):
    interval = processed.intervals.get(product__product_id="BAN")
    client = personas.client(personas.reviewer)

    assert patch(client, interval, version=1, product_id="JUI").json()["product_id"] == "JUI"
    bad = patch(client, interval, version=2, product_id="NOPE")
    assert bad.status_code == 400 and "not in this shop's catalog" in bad.json()["detail"]


def test_an_interval_cannot_end_before_it_starts(personas, processed):
    interval = processed.intervals.first()
    response = patch(personas.client(personas.reviewer), interval, version=1, start_s=2.0, end_s=1.0)
    assert response.status_code == 400 and "end_s must be after start_s" in response.json()["detail"]


def test_a_reviewer_adds_and_deletes_an_interval(personas, processed):
    client = personas.client(personas.reviewer)
    created = client.post("/api/intervals/", {"video": processed.pk, "product_id": "JUI", "start_s": 2.0,
                                              "end_s": 2.9}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["origin"] == "person" and body["status"] == "accepted"

    assert client.delete(f"/api/intervals/{body['id']}/?version=1").status_code == 204
    assert [c.action for c in Correction.objects.order_by("pk")] == ["create", "delete"]


def test_deleting_with_a_stale_version_gets_409(personas, processed):
    interval = processed.intervals.first()
    response = personas.client(personas.reviewer).delete(f"/api/intervals/{interval.pk}/?version=7")
    assert response.status_code == 409 and Interval.objects.filter(pk=interval.pk).exists()


def test_the_history_of_corrections_is_listed_per_video(personas, processed):
    interval = processed.intervals.first()
    client = personas.client(personas.reviewer)
    patch(client, interval, version=1, status="rejected")
    history = client.get(f"/api/corrections/?video={processed.pk}").json()["results"]
    assert [(h["action"], h["user"]) for h in history] == [("reject", "reviewer")]


def test_the_openapi_schema_and_docs_are_served(personas):
    client = personas.client(personas.seller)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/intervals/{id}/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_a_patch_applies_only_the_fields_sent_so_a_stale_client_reapplies_just_its_change(personas, processed):
    """A sets the end; B, on the old copy, changes only the start: 409 with A's interval, and B's
    retry on the current version keeps A's end."""
    interval = processed.intervals.get(product__product_id="OAT")
    client = personas.client(personas.reviewer)
    assert patch(client, interval, version=1, end_s=1.6).status_code == 200
    stale = patch(client, interval, version=1, start_s=1.2)
    assert stale.status_code == 409 and stale.json()["current"]["end_s"] == 1.6
    retry = patch(client, interval, version=stale.json()["current"]["version"], start_s=1.2)
    assert retry.status_code == 200
    assert (retry.json()["start_s"], retry.json()["end_s"]) == (1.2, 1.6)


@pytest.mark.parametrize("raw", ['{"version": 1, "start_s": NaN}', '{"version": 1, "end_s": Infinity}',
                                 '{"version": 1, "end_s": -Infinity}'])
def test_times_that_are_not_finite_get_400(personas, processed, raw):
    interval = processed.intervals.first()
    response = personas.client(personas.reviewer).patch(f"/api/intervals/{interval.pk}/", raw,
                                                        content_type="application/json")
    assert response.status_code == 400 and Interval.objects.get(pk=interval.pk).version == 1


def test_bulk_accept_dry_run_says_how_many_it_would_change_and_changes_nothing(personas, processed):
    client = personas.client(personas.reviewer)
    body = {"video": processed.pk, "min_score": 0.0, "dry_run": True}
    dry = client.post("/api/intervals/bulk-accept/", body, content_type="application/json")
    assert dry.status_code == 200 and dry.json()["count"] == 2 and dry.json()["dry_run"] is True
    assert not processed.intervals.exclude(status="proposed").exists()
    done = client.post("/api/intervals/bulk-accept/", dict(body, dry_run=False, min_score=0.8),
                       content_type="application/json").json()
    assert done["count"] == 1 and [i["product_id"] for i in done["intervals"]] == ["BAN"]


def test_a_seller_cannot_bulk_accept(personas, processed):
    response = personas.client(personas.seller).post("/api/intervals/bulk-accept/", {"video": processed.pk,
                                                      "min_score": 0}, content_type="application/json")
    assert response.status_code == 403 and not processed.intervals.exclude(status="proposed").exists()


def test_split_and_merge_are_actions_of_the_interval_api(personas, processed):
    client = personas.client(personas.reviewer)
    interval = processed.intervals.get(product__product_id="BAN")
    halves = client.post(f"/api/intervals/{interval.pk}/split/", {"version": 1, "at": 0.5},
                         content_type="application/json").json()["intervals"]
    assert [(h["start_s"], h["end_s"], h["status"]) for h in halves] == [(0.0, 0.5, "edited"), (0.5, 1.0, "edited")]
    stale = client.post(f"/api/intervals/{halves[0]['id']}/merge/", {"version": 1, "other": halves[1]["id"],
                        "other_version": halves[1]["version"]}, content_type="application/json")
    assert stale.status_code == 409 and stale.json()["current"]["id"] == halves[0]["id"]
    merged = client.post(f"/api/intervals/{halves[0]['id']}/merge/", {"version": halves[0]["version"],
                         "other": halves[1]["id"], "other_version": halves[1]["version"]},
                         content_type="application/json")
    assert merged.status_code == 200 and (merged.json()["interval"]["start_s"], merged.json()["interval"]["end_s"]) == (
        0.0, 1.0)


def test_the_hand_written_review_api_is_gone(personas, processed):
    client = personas.client(personas.reviewer)
    assert client.get(f"/api/review/videos/{processed.pk}/timeline.json").status_code == 404


def test_the_whole_interval_api_is_in_the_openapi_schema_with_its_errors_and_formats(personas):
    import yaml

    schema = yaml.safe_load(personas.client(personas.seller).get("/api/schema/").content)
    paths = schema["paths"]
    for path in ("/api/intervals/", "/api/intervals/{id}/", "/api/intervals/{id}/split/",
                 "/api/intervals/{id}/merge/", "/api/intervals/bulk-accept/", "/api/videos/{id}/timeline/",
                 "/api/videos/{id}/curves/", "/api/videos/{id}/evidence/", "/api/videos/{id}/export/{fmt}/",
                 "/api/corrections/"):
        assert path in paths, path
    patch_op = paths["/api/intervals/{id}/"]["patch"]["responses"]
    assert {"200", "400", "403", "404", "409"} <= set(patch_op)
    assert patch_op["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Conflict")
    export_types = set(paths["/api/videos/{id}/export/{fmt}/"]["get"]["responses"]["200"]["content"])
    assert export_types == {"text/csv", "application/json", "text/vtt"}
    assert not [p for p in paths if p.startswith("/api/review/")]


@pytest.mark.parametrize("body", [{"other": 2**70, "version": 1, "other_version": 1},
                                  {"other": 0, "version": 1, "other_version": 1}])
def test_an_id_out_of_range_is_a_400_not_a_database_error(personas, processed, body):
    interval = processed.intervals.first()
    response = personas.client(personas.reviewer).post(f"/api/intervals/{interval.pk}/merge/", body,
                                                       content_type="application/json")
    assert response.status_code == 400 and "other" in response.json()


def test_a_huge_interval_id_in_the_path_is_a_404(personas, processed):
    assert personas.client(personas.reviewer).get(f"/api/intervals/{2**70}/").status_code == 404
