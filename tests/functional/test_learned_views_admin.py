"""An admin sees a product's learned views on its admin page (thumbnails, where each comes
from) and removes any: unticking "active" on the product page or the "remove" action. A removed
view is not in the shop's next run's memory. Each view's threshold (measured at harvest) is shown
read-only and is the memory's. Another shop's product with the same photos and id shows none of
them."""

from html.parser import HTMLParser

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from tests import media
from webapp.catalog.models import Product
from webapp.learning import services as learning
from webapp.learning.models import LearnedView, ShopExample
from webapp.review import services


class FormFields(HTMLParser):
    """The name -> value pairs a browser would post from the page's form."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.data[a["name"]] = a.get("value", "on")
            else:
                self.data[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.data.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.data[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_of(html: str) -> dict:
    p = FormFields()
    p.feed(html)
    return p.data


def crop_jpeg(photo: str = "Banana__iconic.jpg") -> bytes:
    import io

    with Image.open(media.DATA / photo) as im:
        buf = io.BytesIO()
        im.convert("RGB").resize((64, 48)).save(buf, format="JPEG")
        return buf.getvalue()


def learned_view(example, t: float, positive: bool = True, threshold: float | None = 0.875) -> LearnedView:
    """A stored view as the harvest task writes it (the crop a real photo, a unit vector, the
    threshold measured at harvest; None: a view stored before thresholds were, the default)."""
    v = np.random.default_rng(int(t * 10)).normal(size=1280).astype(np.float32)
    view = LearnedView(shop_id=example.shop_id, product_id=example.product_id, example=example, positive=positive,
                       vector=(v / np.linalg.norm(v)).astype(np.float16).tobytes(), t=t, box=[10, 10, 74, 58],
                       sharpness=120.0, area=0.04, **({} if threshold is None else {"threshold": threshold}))
    view.image.save(f"{example.pk}-{int(t * 1000)}.jpg", ContentFile(crop_jpeg()), save=False)
    view.save()
    return view


@pytest.fixture
def views(personas, processed):
    ban = processed.intervals.get(product__product_id="BAN")
    iv = services.update_interval(ban.pk, personas.reviewer, {"status": "accepted"}, ban.version)
    example = ShopExample.objects.get(interval=iv)
    return [learned_view(example, 0.2), learned_view(example, 0.7)]


@pytest.fixture
def twin_shop(personas, catalog_folder):
    """The second shop imports the very same catalog folder: same photos, same product ids."""
    from webapp.catalog.services import import_catalog_folder

    import_catalog_folder(personas.other_shop, catalog_folder)
    return personas.other_shop


def change_page(client, product):
    return client.get(f"/admin/catalog/product/{product.pk}/change/")


def test_the_product_page_shows_its_learned_views_with_thumbnails(personas, views, admin_client):
    r = change_page(admin_client, views[0].product)
    html = r.content.decode()
    assert r.status_code == 200
    assert "Learned views (from reviewed intervals" in html
    for v in views:
        assert f'src="{v.image.url}"' in html
    assert "Shelf tour 0.0-1.0s (confirmed, accept)" in html  # where each comes from


def test_each_views_threshold_is_shown_read_only_and_goes_into_the_shops_memory(personas, processed, admin_client):
    ban = processed.intervals.get(product__product_id="BAN")
    iv = services.update_interval(ban.pk, personas.reviewer, {"status": "accepted"}, ban.version)
    example = ShopExample.objects.get(interval=iv)
    views = [learned_view(example, 0.2, threshold=0.8125), learned_view(example, 0.7, threshold=0.9375),
             learned_view(example, 0.9, threshold=None)]
    assert LearnedView.objects.get(pk=views[2].pk).threshold == 1.0  # stored without one: no effect

    html = change_page(admin_client, views[0].product).content.decode()
    assert "0.8125" in html and "0.9375" in html
    assert not any(k.endswith("-threshold") for k in form_of(html))  # shown, not editable
    listing = admin_client.get("/admin/learning/learnedview/").content.decode()
    assert "0.8125" in listing and "0.9375" in listing
    detail = admin_client.get(f"/admin/learning/learnedview/{views[1].pk}/change/").content.decode()
    assert "0.9375" in detail and "threshold" not in form_of(detail)

    memory, _ = learning.shop_memory(personas.shop.pk)  # in the order of the rows
    assert memory.thresholds.tolist() == [0.8125, 0.9375, 1.0]
    (_, _, pos_thr), _ = memory.views_for(["BAN", "OAT", "JUI"])
    assert pos_thr.tolist() == [0.8125, 0.9375, 1.0]


def test_unticking_active_on_the_product_page_removes_a_view_from_the_next_run(personas, views, admin_client):
    client = admin_client
    product = views[0].product
    memory, before = learning.shop_memory(personas.shop.pk)
    assert len(memory) == 2 and before

    data = form_of(change_page(client, product).content.decode())
    row = next(k[: -len("-id")] for k, v in data.items() if k.startswith("learned_views") and k.endswith("-id")
               and v == str(views[0].pk))
    data.pop(f"{row}-active")  # untick
    r = client.post(f"/admin/catalog/product/{product.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[-3000:]

    views[0].refresh_from_db()
    assert not views[0].active and LearnedView.objects.get(pk=views[1].pk).active
    assert views[0].removed_by.username == "admin" and views[0].removed_at
    memory, after = learning.shop_memory(personas.shop.pk)
    assert len(memory) == 1 and after != before  # the job records another memory version


def test_the_remove_action_deactivates_and_restore_brings_back(personas, views, admin_client):
    client = admin_client
    r = client.post("/admin/learning/learnedview/", {"action": "remove_views", "_selected_action": [views[1].pk]})
    assert r.status_code == 302
    views[1].refresh_from_db()
    assert (views[1].active, views[1].removed_by.username) == (False, "admin")
    assert learning.shop_memory(personas.shop.pk)[0].positive.tolist() == [True]

    client.post("/admin/learning/learnedview/", {"action": "restore_views", "_selected_action": [views[1].pk]})
    assert LearnedView.objects.get(pk=views[1].pk).active


def test_the_product_list_counts_learned_views_and_negatives(personas, views, processed, admin_client):
    oat = processed.intervals.get(product__product_id="OAT")
    iv = services.update_interval(oat.pk, personas.reviewer, {"status": "rejected"}, oat.version)
    learned_view(ShopExample.objects.get(interval=iv), 1.5, positive=False)
    r = admin_client.get("/admin/catalog/product/?shop__id__exact=%d" % personas.shop.pk)
    html = r.content.decode()
    assert r.status_code == 200
    assert "2 (0)" in html and "0 (1)" in html  # BAN: two views; OAT: one negative


def test_a_shop_with_the_same_photos_and_ids_shows_none_and_learns_nothing(personas, views, twin_shop, admin_client):
    twin_ban = Product.objects.get(shop=twin_shop, product_id="BAN")
    html = change_page(admin_client, twin_ban).content.decode()
    assert not any(v.image.url in html for v in views)
    assert learning.shop_memory(twin_shop.pk) == (None, "")


def test_the_admin_is_for_platform_staff_only(personas, views):
    r = change_page(personas.client(personas.shop_admin), views[0].product)
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
