"""The refits in the API: a shop's members list its versions with their before/after metrics;
its admins roll back to any fitted version or back to the packaged model; nobody else can, and
another shop's versions are not there (404)."""

import pytest

from webapp.learning.models import Refit


def packaged_scorer() -> dict:
    from ml.pipeline import PipelineOptions
    from ml.scoring import Scorer

    return Scorer.load(PipelineOptions()).intervals.to_dict()


@pytest.fixture
def versions(personas):
    scorer = packaged_scorer()
    v1 = Refit.objects.create(shop=personas.shop, status="succeeded", scorer=scorer, improved=True,
                              before={"f1": 0.5}, after={"f1": 0.7}, n_examples=30)
    v2 = Refit.objects.create(shop=personas.shop, status="succeeded", scorer=scorer, improved=True, active=True,
                              before={"f1": 0.7}, after={"f1": 0.75}, n_examples=45)
    unfitted = Refit.objects.create(shop=personas.shop, status="succeeded", message="not enough examples")
    return v1, v2, unfitted


def test_members_list_the_versions_with_their_metrics(personas, versions):
    v1, v2, unfitted = versions
    r = personas.client(personas.seller).get("/api/refits/?shop=corner-grocery")
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [row["version"] for row in rows] == [unfitted.pk, v2.pk, v1.pk]
    assert rows[1]["active"] and rows[1]["before"] == {"f1": 0.7} and rows[1]["after"] == {"f1": 0.75}
    assert "scorer" not in rows[0]  # the model itself stays on the server
    assert personas.client(personas.other_seller).get("/api/refits/").json()["results"] == []


def test_a_shop_admin_rolls_back_and_then_goes_back_to_the_packaged_model(personas, versions):
    v1, v2, _ = versions
    client = personas.client(personas.shop_admin)
    r = client.post(f"/api/refits/{v1.pk}/activate/")
    assert r.status_code == 200 and r.json()["active"]
    assert list(Refit.objects.filter(active=True).values_list("pk", flat=True)) == [v1.pk]

    r = client.post(f"/api/refits/{v1.pk}/deactivate/")
    assert r.status_code == 200 and not r.json()["active"]
    assert not Refit.objects.filter(active=True).exists()


def test_an_unfitted_refit_cannot_be_activated(personas, versions):
    _, v2, unfitted = versions
    r = personas.client(personas.shop_admin).post(f"/api/refits/{unfitted.pk}/activate/")
    assert r.status_code == 409 and "cannot be activated" in r.json()["detail"]
    assert Refit.objects.get(active=True).pk == v2.pk


@pytest.mark.parametrize("who, code", [("seller", 403), ("reviewer", 403), ("other_admin", 404)])
def test_only_the_shops_admins_change_its_model(personas, versions, who, code):
    v1, v2, _ = versions
    r = personas.client(getattr(personas, who)).post(f"/api/refits/{v1.pk}/activate/")
    assert r.status_code == code
    assert Refit.objects.get(active=True).pk == v2.pk


@pytest.mark.parametrize("path", ["/api/refits/abc/activate/", "/api/refits/99999999999999999999/",
                                  "/api/refits/?shop=%00"])
def test_bad_input_is_a_client_error(personas, versions, path):
    client = personas.client(personas.shop_admin)
    r = client.post(path) if path.endswith("activate/") else client.get(path)
    assert 400 <= r.status_code < 500


def test_the_refits_are_in_the_schema(client, db):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    assert {"/api/refits/", "/api/refits/{id}/", "/api/refits/{id}/activate/", "/api/refits/{id}/deactivate/"} <= set(paths)
    assert "409" in paths["/api/refits/{id}/activate/"]["post"]["responses"]
