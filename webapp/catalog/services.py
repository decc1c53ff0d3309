"""Catalog import (ZIP of the contract folder, or products.csv + images) and export (the contract
folder the pipeline reads). Every problem a seller can fix raises ``ml.errors.InputError`` with
one line; temporary paths never appear in it."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from ml.catalog import load_catalog, read_csv_text, write_catalog
from ml.errors import InputError
from ml.types import Catalog as MlCatalog
from ml.types import Product as MlProduct

from .models import Category, Product, ProductImage

BIG_ENTRY_BYTES = 1024 * 1024  # entries smaller than this are never called ZIP bombs
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    images: int = 0

    def __str__(self):
        return f"{self.created} product(s) added, {self.updated} updated, {self.images} image(s) stored"


def _fmt(n: int) -> str:
    from webapp.videos.uploads import format_bytes

    return format_bytes(n)


def _scrub(err: InputError, tmp: str) -> InputError:
    """The same error with the temporary folder removed from the paths it names."""
    text = str(err).replace(tmp.rstrip("/") + "/", "").replace(tmp, "catalog")
    return InputError(text)


def safe_extract_zip(zip_path: str, dest: str, *, display_name: str = "catalog.zip") -> None:
    """Extract ``zip_path`` into ``dest`` refusing anything that could escape or explode.

    Checks every entry before writing a byte: absolute paths, ``..`` components, symbolic links,
    the number of entries, the total expanded size, and per-entry expansion ratio (ZIP bombs).
    While extracting it counts the bytes actually written, since headers can lie."""
    max_files = settings.SHOPFOCUS_CATALOG_MAX_FILES
    max_bytes = settings.SHOPFOCUS_CATALOG_MAX_BYTES
    max_ratio = settings.SHOPFOCUS_CATALOG_MAX_RATIO
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError):
        raise InputError("is not a valid ZIP file", path=display_name) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_files:
            raise InputError(f"has {len(infos)} entries; at most {max_files} files are allowed", path=display_name)
        total = 0
        for info in infos:
            name = info.filename
            norm = name.replace("\\", "/")
            if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
                raise InputError(f"contains an absolute path ({name!r}); paths must be relative to the folder",
                                 path=display_name)
            if ".." in norm.split("/"):
                raise InputError(f"contains a path that leaves the folder ({name!r})", path=display_name)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InputError(f"contains a symbolic link ({name!r}); links are not allowed", path=display_name)
            total += info.file_size
            if info.file_size > BIG_ENTRY_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
                ratio = info.file_size / max(info.compress_size, 1)
                raise InputError(f"entry {name!r} expands {ratio:.0f}x ({_fmt(info.file_size)}); refusing a "
                                 f"possible ZIP bomb (limit {max_ratio}x)", path=display_name)
        if total > max_bytes:
            raise InputError(f"would expand to {_fmt(total)}; the limit is {_fmt(max_bytes)}", path=display_name)
        written = 0
        real_dest = os.path.realpath(dest)
        for info in infos:
            parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
            if not parts or info.is_dir():
                continue
            target = os.path.join(real_dest, *parts)
            if not os.path.realpath(target).startswith(real_dest + os.sep):
                raise InputError(f"contains a path that leaves the folder ({info.filename!r})", path=display_name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            raise InputError(f"expands past the limit of {_fmt(max_bytes)}", path=display_name)
                        out.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                raise InputError(f"entry {info.filename!r} is corrupt ({e})", path=display_name) from None


def _catalog_root(folder: str) -> str:
    """The folder holding products.csv: the ZIP's top level or its single top folder."""
    if os.path.isfile(os.path.join(folder, "products.csv")):
        return folder
    subdirs = [d for d in os.listdir(folder)
               if os.path.isdir(os.path.join(folder, d)) and not d.startswith(("__MACOSX", "."))]
    if len(subdirs) == 1 and os.path.isfile(os.path.join(folder, subdirs[0], "products.csv")):
        return os.path.join(folder, subdirs[0])
    raise InputError("has no products.csv at its top level (or inside a single top folder)", path="catalog.zip")


def _stage_loose_files(files, dest: str) -> None:
    """products.csv + images uploaded together (no folders): images are matched by file name."""
    csv_file = next((f for f in files if os.path.basename(f.name).lower() == "products.csv"), None)
    if csv_file is None:
        raise InputError("no products.csv among the uploaded files; upload a ZIP of the catalog folder "
                         "or products.csv together with its images")
    names = set()
    for f in files:
        base = os.path.basename(f.name)
        if f is csv_file or not base or base.startswith("."):
            continue
        names.add(base)
        with open(os.path.join(dest, base), "wb") as out:
            for chunk in f.chunks():
                out.write(chunk)
    raw_path = os.path.join(dest, ".products.upload.csv")
    with open(raw_path, "wb") as out:
        for chunk in csv_file.chunks():
            out.write(chunk)
    try:
        text = read_csv_text(raw_path)
    except InputError:
        raise InputError("products.csv is not UTF-8 text; save it as UTF-8 CSV") from None
    rows = list(csv.reader(io.StringIO(text)))
    if rows and "images" in [h.strip() for h in rows[0]]:
        col = [h.strip() for h in rows[0]].index("images")
        for row in rows[1:]:
            if col < len(row):
                row[col] = ";".join(os.path.basename(p.strip()) if os.path.basename(p.strip()) in names else p
                                    for p in row[col].split(";"))
    with open(os.path.join(dest, "products.csv"), "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    os.unlink(raw_path)


# The database's limits on what products.csv may hold (the model's max_length), by CSV column.
_DB_LIMITS = {
    "product_id": Product._meta.get_field("product_id").max_length,
    "title": Product._meta.get_field("title").max_length,
    "category": Category._meta.get_field("name").max_length,
    "parent_category": Category._meta.get_field("name").max_length,
    "description": None,
}


def check_fits_database(catalog: MlCatalog, csv_name: str = "products.csv") -> None:
    """Raise InputError, naming the line and column, for a value the database cannot store:
    longer than its column allows, or holding a NUL character (PostgreSQL text cannot).

    ``load_catalog`` keeps one product per row in order, so product n is on line n + 2 (as in
    its own messages)."""
    for line, p in enumerate(catalog.products, start=2):
        where = f"{csv_name} line {line}"
        for column, limit in _DB_LIMITS.items():
            value = getattr(p, column) or ""
            if "\x00" in value:
                raise InputError(f"{column} contains a NUL character (byte 0x00); remove it", path=where)
            if limit is not None and len(value) > limit:
                raise InputError(f"{column} is {len(value)} characters long; at most {limit} are allowed",
                                 path=where)


def validate_catalog_upload(files, workdir: str) -> MlCatalog:
    """Stage the uploaded files in ``workdir`` and load them with the pipeline's own validator."""
    files = list(files)
    if not files:
        raise InputError("no file uploaded: choose a ZIP of the catalog folder, or products.csv and its images")
    staged = os.path.join(workdir, "upload")
    os.makedirs(staged)
    try:
        if len(files) == 1 and files[0].name.lower().endswith(".zip"):
            f = files[0]
            zip_path = getattr(f, "temporary_file_path", lambda: None)()
            if zip_path is None:
                zip_path = os.path.join(workdir, "catalog.zip")
                with open(zip_path, "wb") as out:
                    for chunk in f.chunks():
                        out.write(chunk)
            safe_extract_zip(zip_path, staged, display_name=os.path.basename(f.name))
            root = _catalog_root(staged)
        else:
            _stage_loose_files(files, staged)
            root = staged
        return load_catalog(root, check_images=True)
    except InputError as e:
        raise _scrub(e, staged) from None


def apply_catalog(shop, catalog: MlCatalog) -> ImportSummary:
    """Create or update the shop's products from a validated catalog; images are replaced.

    All or nothing: one transaction; replaced image files are deleted only once it commits, and
    the files it stored are deleted again if it fails."""
    check_fits_database(catalog)
    stored: list[str] = []
    try:
        with transaction.atomic():
            summary = _apply(shop, catalog, stored)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return summary


def _apply(shop, catalog: MlCatalog, stored: list[str]) -> ImportSummary:
    summary = ImportSummary()
    categories: dict[str, Category] = {}

    def category(name: str, parent_name: str = "") -> Category:
        key = name
        if key not in categories:
            categories[key], _ = Category.objects.get_or_create(shop=shop, name=name)
        cat = categories[key]
        if parent_name and parent_name != name:
            parent = category(parent_name)
            if cat.parent_id != parent.pk:
                cat.parent = parent
                cat.save(update_fields=["parent"])
        return cat

    for p in catalog.products:
        product, created = Product.objects.update_or_create(
            shop=shop, product_id=p.product_id,
            defaults={"title": p.title, "description": p.description,
                      "category": category(p.category, p.parent_category)},
        )
        if created:
            summary.created += 1
        else:
            summary.updated += 1
            for old in product.images.all():
                transaction.on_commit(lambda name=old.image.name: default_storage.delete(name))
                old.delete()
        for position, path in enumerate(p.images):
            with open(path, "rb") as f:
                img = ProductImage(product=product, position=position)
                img.image.save(f"{position}{os.path.splitext(path)[1].lower()}", File(f), save=False)
                stored.append(img.image.name)
                img.save()
            summary.images += 1
    return summary


def import_catalog(shop, files) -> ImportSummary:
    with tempfile.TemporaryDirectory(prefix="shopfocus-catalog-") as workdir:
        catalog = validate_catalog_upload(files, workdir)
        return apply_catalog(shop, catalog)


def import_catalog_folder(shop, folder: str) -> ImportSummary:
    """Import a contract folder already on disk (the demo command uses it)."""
    return apply_catalog(shop, load_catalog(folder, check_images=True))


def export_catalog_folder(shop, dest_dir: str, products=None) -> str:
    """Write the shop's catalog (or only ``products``, a queryset of it: a live session's list)
    as the contract folder (products.csv + images/) for the pipeline.

    Products without images are left out (the contract needs at least one). Returns ``dest_dir``.
    Raises InputError when the shop has no product with an image."""
    os.makedirs(dest_dir, exist_ok=True)
    qs = Product.objects.filter(shop=shop) if products is None else products.filter(shop=shop)
    qs = qs.select_related("category__parent").prefetch_related("images")
    products = []
    for n, product in enumerate(qs):
        paths = []
        for i, img in enumerate(product.images.all()):
            ext = os.path.splitext(img.image.name)[1].lower() or ".jpg"
            rel_dir = os.path.join(dest_dir, "images", str(n))
            os.makedirs(rel_dir, exist_ok=True)
            target = os.path.join(rel_dir, f"{i}{ext}")
            with img.image.open("rb") as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
            paths.append(target)
        if not paths:
            continue
        cat = product.category
        products.append(MlProduct(product.product_id, product.title, cat.name if cat else "other", tuple(paths),
                                  product.description, cat.parent.name if cat and cat.parent_id else ""))
    if not products:
        raise InputError(f"shop {shop.name!r} has no products with images yet: upload a catalog, then run the job again")
    write_catalog(MlCatalog(products, dest_dir), dest_dir)
    return dest_dir
