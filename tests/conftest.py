"""Personas and small real media.

Personas: the first shop's seller, reviewer and admin; the second shop's seller and admin; and
platform staff (Django staff, member of no shop).

Every test gets its own MEDIA_ROOT and an in-memory Celery broker, so nothing reaches var/."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests import media


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast personas


@pytest.fixture(autouse=True)
def _no_index_builds(settings):
    """Catalog changes schedule a product index build (webapp.search); only its tests want one."""
    settings.SHOPFOCUS_INDEX_AUTOBUILD = False


@pytest.fixture(autouse=True)
def _no_learning(settings):
    """Review changes schedule a harvest of the video (webapp.learning); only its tests want one."""
    settings.SHOPFOCUS_LEARN_AUTO = False


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The API's rate-limit counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _memory_broker():
    from webapp.celery import app

    use_broker(app, "memory://")
    yield


def use_broker(app, url: str, transport_options: dict | None = None) -> None:
    """Point the producer side of the Celery app at another broker (drops cached pools)."""
    import os

    from kombu import pools

    # Celery's ``conf.broker_url`` prefers the CELERY_BROKER_URL environment variable (CI sets
    # it to Redis db 0) over anything assigned: without this, tasks would go there.
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options or {}
    pools.reset()  # kombu keeps producer pools per connection, globally
    app._pool = None
    app.amqp._producer_pool = None


@dataclass
class Personas:
    shop: object
    other_shop: object
    seller: object
    other_seller: object
    reviewer: object
    shop_admin: object  # admin of the first shop
    other_admin: object  # admin of the second shop: no power over the first
    staff: object  # Django staff: every shop

    def client(self, user) -> Client:
        c = Client()
        c.force_login(user)
        return c


@pytest.fixture
def personas(db, django_user_model):
    from webapp.accounts.models import Membership, Role, Shop

    shop = Shop.objects.create(name="Corner Grocery", slug="corner-grocery")
    other = Shop.objects.create(name="Other Market", slug="other-market")

    def user(name, shop_, role):
        u = django_user_model.objects.create_user(name, password=f"{name}-pass-123")
        Membership.objects.create(user=u, shop=shop_, role=role)
        return u

    staff = django_user_model.objects.create_user("staff", password="staff-pass-123", is_staff=True)
    return Personas(shop=shop, other_shop=other, seller=user("seller", shop, Role.SELLER),
                    other_seller=user("other_seller", other, Role.SELLER),
                    reviewer=user("reviewer", shop, Role.REVIEWER),
                    shop_admin=user("shop_admin", shop, Role.ADMIN),
                    other_admin=user("other_admin", other, Role.ADMIN), staff=staff)


# --------------------------------------------------------------------------- media
@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media-src")


@pytest.fixture(scope="session")
def video_path(media_dir):
    return media.make_video(media_dir / "shelf.mp4")


@pytest.fixture(scope="session")
def video_bytes(video_path):
    with open(video_path, "rb") as f:
        return f.read()


@pytest.fixture(scope="session")
def catalog_folder(media_dir):
    return media.write_catalog(media_dir / "catalog")


@pytest.fixture
def video_upload(video_bytes):
    return SimpleUploadedFile("shelf.mp4", video_bytes, content_type="video/mp4")


@pytest.fixture
def catalog(personas, catalog_folder):
    """The first shop's catalog imported (3 products)."""
    from webapp.catalog.services import import_catalog_folder

    import_catalog_folder(personas.shop, catalog_folder)
    return personas.shop.products.all()


@pytest.fixture
def video(personas, catalog, video_path):
    """A stored video of the first shop (no job)."""
    from webapp.videos.ingest import create_video_from_path

    return create_video_from_path(personas.shop, personas.seller, video_path, "Shelf tour")
