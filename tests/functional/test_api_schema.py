"""The OpenAPI schema lists every API operation with the answers it really gives, and the
answers Django gives itself under /api/ (no such URL, an id that is not an id) are JSON too."""

import pytest
import yaml


@pytest.fixture
def schema(client, db):
    return yaml.safe_load(client.get("/api/schema/").content)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "patch", "put", "delete"):
                yield path, method, op


def test_every_operation_documents_auth_throttling_and_its_errors(schema):
    ops = list(operations(schema))
    assert len(ops) >= 25
    for path, method, op in ops:
        codes = set(op["responses"])
        assert {"401", "403", "429"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if "requestBody" in op:
            assert {"400", "413", "415"} <= codes, (method, path)
        if "400" in codes:
            assert op["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ValidationError"}


def test_the_review_surface_and_its_media_types_are_in_the_schema(schema):
    paths = schema["paths"]
    for path in ("/api/intervals/{id}/split/", "/api/intervals/{id}/merge/", "/api/intervals/bulk-accept/",
                 "/api/videos/{id}/timeline/", "/api/videos/{id}/curves/", "/api/videos/{id}/evidence/"):
        assert path in paths, path
    export = paths["/api/videos/{id}/export/{fmt}/"]["get"]["responses"]["200"]["content"]
    assert {"text/csv", "text/vtt", "application/json"} <= set(export)
    assert "409" in paths["/api/intervals/{id}/"]["patch"]["responses"]


@pytest.mark.parametrize("path", ["/api/no-such-thing/", "/api/videos/0.5/timeline/", "/api/intervals/1.5/split/",
                                  "/api/videos/1/export/xls/"])
def test_a_url_the_api_does_not_have_is_a_json_404(path, personas):
    response = personas.client(personas.seller).get(path)
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_pages_keep_the_html_404(personas):
    response = personas.client(personas.seller).get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("how", [{"HTTP_ACCEPT": "text/csv"}, {"QUERY_STRING": "format=csv"}])
def test_an_export_error_is_json_even_when_csv_was_asked_for(how, personas, processed):
    client = personas.client(personas.other_seller)
    response = client.get(f"/api/videos/{processed.pk}/export/csv/", **how)
    assert response.status_code == 404 and response.json()["detail"]
    response = personas.client(personas.seller).options(f"/api/videos/{processed.pk}/export/csv/", **how)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
