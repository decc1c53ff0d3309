"""The catalog folder and comments file contracts, and the errors a seller sees."""

import os
import shutil

import pytest

from ml.catalog import load_catalog, write_catalog
from ml.comments import load_comments
from ml.errors import InputError

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "catalog")


def test_it_loads_the_contract_folder_with_optional_columns():
    catalog = load_catalog(DATA)
    assert catalog.ids == ["gs_34", "gs_06", "gs_45"]
    juice = catalog.products[0]
    assert juice.title == "Tropicana Apple Juice" and juice.category == "bottles"
    assert juice.parent_category == "drinks" and "pulp" in juice.description
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in juice.images)
    assert catalog.categories()["other_produce"] == "produce"


def test_written_catalog_loads_back_identically(tmp_path):
    folder = tmp_path / "cat"
    shutil.copytree(DATA, folder)
    catalog = load_catalog(str(folder))
    os.remove(folder / "products.csv")
    write_catalog(catalog, str(folder))
    assert load_catalog(str(folder)).products == catalog.products


def _catalog(tmp_path, csv_text: str | bytes, image_bytes: bytes | None = None):
    folder = tmp_path / "cat"
    shutil.copytree(DATA, folder)
    if image_bytes is not None:
        (folder / "images" / "gs_34_iconic.jpg").write_bytes(image_bytes)
    data = csv_text.encode("utf-8") if isinstance(csv_text, str) else csv_text
    (folder / "products.csv").write_bytes(data)
    return str(folder)


HEADER = "product_id,title,category,images\n"
GOOD_ROW = "gs_34,Tropicana Apple Juice,bottles,images/gs_34_iconic.jpg\n"


@pytest.mark.parametrize("csv_text,image_bytes,message", [
    ("product_id,title,images\n" + GOOD_ROW, None, "missing column(s) category"),
    (HEADER + GOOD_ROW + GOOD_ROW, None, "duplicate product_id 'gs_34' (first on line 2)"),
    ("product_id,title,category,images\ngs_34,Caf\xe9 latte,bottles,images/gs_34_iconic.jpg\n".encode("latin-1"),
     None, "is not UTF-8 text"),
    (HEADER, None, "catalog is empty"),
    ("", None, "is empty: expected a header line"),
    (HEADER + "gs_34,Juice,bottles,images/missing.jpg\n", None, "image not found"),
    (HEADER + GOOD_ROW, b"this is not a jpeg", "cannot be read"),
    (HEADER + "gs_34,Juice,bottles,../../etc/passwd\n", None, "must be relative and inside the folder"),
    (HEADER + "gs_34,Juice,bottles,/etc/passwd\n", None, "must be relative and inside the folder"),
    (HEADER + "gs_34,,bottles,images/gs_34_iconic.jpg\n", None, "has an empty title"),
    (HEADER + "gs_34,Juice,bottles,\n", None, "has no images"),
    (HEADER + ",Juice,bottles,images/gs_34_iconic.jpg\n", None, "product_id is empty"),
], ids=["missing-column", "duplicate-id", "latin1", "no-rows", "empty-file", "missing-image",
        "unreadable-image", "dotdot-path", "absolute-path", "empty-title", "no-images", "empty-id"])
def test_bad_catalog_gets_one_clear_line(tmp_path, csv_text, image_bytes, message):
    folder = _catalog(tmp_path, csv_text, image_bytes)
    with pytest.raises(InputError) as err:
        load_catalog(folder)
    text = str(err.value)
    assert message in text
    assert "products.csv" in text or "cat" in text  # says where
    assert "\n" not in text


def test_a_folder_without_products_csv_is_named(tmp_path):
    with pytest.raises(InputError, match="has no products.csv"):
        load_catalog(str(tmp_path))


def test_comments_are_sorted_by_time_and_empty_texts_dropped(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("time_s,user,text\n12.5,ann,how much is the blue one?\n3,bob,hi\n4,eve,\n")
    events = load_comments(str(path))
    assert list(events.t) == [3.0, 12.5]
    assert events.text == ["hi", "how much is the blue one?"]
    assert events.source == "comments"


@pytest.mark.parametrize("row,message", [
    ("abc,ann,hello", "time_s 'abc' is not a number of seconds"),
    ("-3,ann,hello", "must be a finite number >= 0"),
    ("nan,ann,hello", "must be a finite number >= 0"),
    ("500,ann,hello", "is after the end of the video"),
])
def test_bad_comment_times_name_the_line(tmp_path, row, message):
    path = tmp_path / "c.csv"
    path.write_text("time_s,user,text\n1,ann,ok\n" + row + "\n")
    with pytest.raises(InputError) as err:
        load_comments(str(path), duration_s=60.0)
    assert message in str(err.value) and "line 3" in str(err.value)
