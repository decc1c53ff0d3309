"""Bad query parameters on the API answer 400 naming the parameter, never 500."""

import pytest

BAD = [
    ("/api/jobs/", "video", "abc"), ("/api/jobs/", "video", "1.1"), ("/api/jobs/", "video", "0"),
    ("/api/jobs/", "video", "99999999999999999999"), ("/api/intervals/", "video", "abc"),
    ("/api/intervals/", "video", "1.1"), ("/api/intervals/", "video", "%00"), ("/api/corrections/", "video", "1e3"),
    ("/api/products/", "shop", "%00"), ("/api/products/", "shop", "a b"), ("/api/videos/", "shop", "%00"),
    ("/api/videos/", "shop", "x" * 81),
]


@pytest.mark.parametrize("url,param,value", BAD)
def test_a_bad_filter_value_is_a_400_naming_the_parameter(url, param, value, personas, processed):
    response = personas.client(personas.seller).get(f"{url}?{param}={value}")
    assert response.status_code == 400
    assert list(response.json()) == [param]


def test_good_filter_values_still_filter(personas, processed):
    client = personas.client(personas.seller)
    assert len(client.get(f"/api/intervals/?video={processed.pk}").json()["results"]) == 2
    assert client.get(f"/api/intervals/?video={processed.pk + 1000}").json()["results"] == []
    assert len(client.get("/api/products/?shop=corner-grocery").json()["results"]) == 3
    assert client.get("/api/videos/?shop=other-market").json()["results"] == []


@pytest.mark.parametrize("value", ["%00", "bogus", "accepted%00"])
def test_an_export_with_a_bad_status_is_a_400_naming_it(value, personas, processed):
    response = personas.client(personas.seller).get(f"/api/videos/{processed.pk}/export/csv/?status={value}")
    assert response.status_code == 400 and list(response.json()) == ["status"]


def test_the_export_page_ignores_a_status_it_does_not_know(personas, processed):
    response = personas.client(personas.seller).get(f"/videos/{processed.pk}/export.csv?status=%00")
    assert response.status_code == 200 and response.content.decode().count("\n") == 3


@pytest.mark.parametrize("value", ["", "abc", "1.5", "%00"])
def test_deleting_with_a_bad_version_is_a_400_naming_it(value, personas, processed):
    interval = processed.intervals.first()
    response = personas.client(personas.reviewer).delete(f"/api/intervals/{interval.pk}/?version={value}")
    assert response.status_code == 400 and list(response.json()) == ["version"]
    assert processed.intervals.filter(pk=interval.pk).exists()


@pytest.mark.parametrize("path", ["/api/videos/abc/", "/api/videos/99999999999999999999/", "/api/jobs/1.1/",
                                  "/api/intervals/%00/"])
def test_a_bad_id_in_the_path_is_a_404(path, personas, processed):
    assert personas.client(personas.seller).get(path).status_code == 404
