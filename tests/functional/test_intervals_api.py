"""Reviewers edit intervals through the API with optimistic locking; every change is audited."""

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
    history = client.get(f"/api/corrections/?video={processed.pk}").json()
    assert [(h["action"], h["user"]) for h in history] == [("reject", "reviewer")]


def test_the_openapi_schema_and_docs_are_served(personas):
    client = personas.client(personas.seller)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/intervals/{id}/" in schema.content
    assert client.get("/api/docs/").status_code == 200
