"""Catalog folder contract: ``products.csv`` (product_id,title,category,images[,description,
parent_category]) with ``images`` a ``;``-separated list of paths relative to the folder.

``load_catalog`` validates everything a seller can get wrong and raises ``InputError`` with the
file, row and field; ``check_images=True`` also opens every image.
"""

from __future__ import annotations

import csv
import io
import os

from PIL import Image, UnidentifiedImageError

from .errors import InputError
from .types import Catalog, Product

REQUIRED_COLUMNS = ("product_id", "title", "category", "images")
OPTIONAL_COLUMNS = ("description", "parent_category")
MAX_PRODUCTS = 100_000


def read_csv_text(path: str) -> str:
    """The file's text as UTF-8 (a BOM is allowed); anything else is an InputError."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                         "save it as UTF-8 CSV", path=path) from None


def _reader(text: str, path: str, required: tuple[str, ...]) -> csv.DictReader:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InputError("is empty: expected a header line " + ",".join(required), path=path)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; header is {','.join(header)}",
                         path=path)
    reader.fieldnames = header
    return reader


def check_image(path: str, where: str) -> None:
    if not os.path.isfile(path):
        raise InputError(f"image not found: {path}", path=where)
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:  # verify() does not decode pixels; load() does
            im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InputError(f"image {os.path.basename(path)} cannot be read ({e})", path=where) from None


def load_catalog(folder: str, *, check_images: bool = True) -> Catalog:
    folder = os.path.abspath(folder)
    csv_path = os.path.join(folder, "products.csv")
    if not os.path.isdir(folder):
        raise InputError("catalog folder not found", path=folder)
    if not os.path.isfile(csv_path):
        raise InputError("catalog folder has no products.csv", path=folder)
    reader = _reader(read_csv_text(csv_path), csv_path, REQUIRED_COLUMNS)
    products: list[Product] = []
    seen: dict[str, int] = {}
    for row_no, row in enumerate(reader, start=2):
        where = f"{csv_path} line {row_no}"
        if None in row:
            raise InputError("has more fields than the header", path=where)
        pid = (row.get("product_id") or "").strip()
        title = (row.get("title") or "").strip()
        if not pid:
            raise InputError("product_id is empty", path=where)
        if pid in seen:
            raise InputError(f"duplicate product_id {pid!r} (first on line {seen[pid]})", path=where)
        seen[pid] = row_no
        if not title:
            raise InputError(f"product {pid!r} has an empty title", path=where)
        images = []
        for rel in (row.get("images") or "").split(";"):
            rel = rel.strip()
            if not rel:
                continue
            if os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
                raise InputError(f"image path {rel!r} must be relative and inside the folder", path=where)
            full = os.path.join(folder, rel)
            if check_images:
                check_image(full, where)
            images.append(full)
        if not images:
            raise InputError(f"product {pid!r} has no images", path=where)
        products.append(Product(pid, title, (row.get("category") or "").strip() or "other",
                                tuple(images), (row.get("description") or "").strip(),
                                (row.get("parent_category") or "").strip()))
        if len(products) > MAX_PRODUCTS:
            raise InputError(f"more than {MAX_PRODUCTS} products", path=csv_path)
    if not products:
        raise InputError("catalog is empty: products.csv has no product rows", path=csv_path)
    return Catalog(products, folder)


def write_catalog(catalog: Catalog, folder: str) -> str:
    """Write ``products.csv`` for products whose images already lie under ``folder``."""
    path = os.path.join(folder, "products.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        for p in catalog.products:
            rel = ";".join(os.path.relpath(i, folder) for i in p.images)
            w.writerow([p.product_id, p.title, p.category, rel, p.description, p.parent_category])
    return path
