"""A products.csv value the database cannot hold (too long, a NUL byte) is an input error naming
the line and column; nothing of that upload is imported and the shop's catalog is as before."""

import csv
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests import media

HEADER = ["product_id", "title", "category", "images", "description", "parent_category"]
GOOD = ["BAN", "Banana", "fruit", "Banana__iconic.jpg", "Yellow.", "produce"]


def csv_bytes(*rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, GOOD, *rows])
    return out.getvalue().encode()


def with_value(column, value):
    row = ["OAT", "Oat milk", "drinks", "Banana__iconic.jpg", "", ""]
    row[HEADER.index(column)] = value
    return row


CASES = [
    ("title", "t" * 501, "products.csv line 3: title is 501 characters long; at most 500 are allowed"),
    ("product_id", "P" * 201, "products.csv line 3: product_id is 201 characters long; at most 200 are allowed"),
    ("category", "c" * 201, "products.csv line 3: category is 201 characters long; at most 200 are allowed"),
    ("parent_category", "p" * 201,
     "products.csv line 3: parent_category is 201 characters long; at most 200 are allowed"),
    ("title", "Oat\x00milk", "products.csv line 3: title contains a NUL character (byte 0x00); remove it"),
    ("description", "nul\x00", "products.csv line 3: description contains a NUL character (byte 0x00); remove it"),
    ("product_id", "O\x00AT", "products.csv line 3: product_id contains a NUL character"),
]


def post_catalog(client, shop, data: bytes):
    return client.post(reverse("catalog:products", args=[shop.slug]), {"files": [
        SimpleUploadedFile("products.csv", data, "text/csv"),
        SimpleUploadedFile("Banana__iconic.jpg", media.photo_bytes(), "image/jpeg")]})


def stored_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


@pytest.mark.parametrize("column,value,message", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_value_the_database_cannot_hold_is_a_line_numbered_error(column, value, message, personas, settings):
    from webapp.catalog.models import Category, Product

    response = post_catalog(personas.client(personas.seller), personas.shop, csv_bytes(with_value(column, value)))

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Product.objects.exists() and not Category.objects.exists()
    assert not os.path.exists(os.path.join(settings.MEDIA_ROOT, "catalog"))


def test_the_limits_themselves_are_accepted(personas):
    from webapp.catalog.models import Product

    row = ["P" * 200, "t" * 500, "c" * 200, "Banana__iconic.jpg", "d" * 5000, "p" * 200]
    response = post_catalog(personas.client(personas.seller), personas.shop, csv_bytes(row))
    assert response.status_code == 302
    assert Product.objects.get(product_id="P" * 200).title == "t" * 500


def test_a_bad_reimport_leaves_the_existing_catalog_and_its_images_alone(personas, catalog, settings):
    from webapp.catalog.models import Product

    before = {p.product_id: (p.title, [i.image.name for i in p.images.all()]) for p in catalog}
    files_before = stored_files(settings.MEDIA_ROOT)
    bad = csv_bytes(with_value("title", "x" * 600))

    assert post_catalog(personas.client(personas.seller), personas.shop, bad).status_code == 400

    after = {p.product_id: (p.title, [i.image.name for i in p.images.all()]) for p in Product.objects.all()}
    assert after == before and stored_files(settings.MEDIA_ROOT) == files_before


def test_an_import_that_fails_half_way_stores_nothing_and_removes_its_files(personas, catalog, settings, tmp_path):
    """The second product's image disappears after validation: the first product's new image
    was already stored, and must go again with the rolled-back transaction."""
    from ml.catalog import load_catalog
    from webapp.catalog.models import Product
    from webapp.catalog.services import apply_catalog

    folder = media.write_catalog(tmp_path / "cat")
    loaded = load_catalog(folder)
    files_before = stored_files(settings.MEDIA_ROOT)
    titles_before = sorted(Product.objects.values_list("product_id", "title"))
    os.unlink(loaded.products[1].images[0])

    with pytest.raises(FileNotFoundError):
        apply_catalog(personas.shop, loaded)

    assert sorted(Product.objects.values_list("product_id", "title")) == titles_before
    assert stored_files(settings.MEDIA_ROOT) == files_before
    assert all(os.path.isfile(i.image.path) for p in Product.objects.all() for i in p.images.all())
