"""Every review action makes the interval its shop's training example (webapp.learning): one
example per interval, rewritten when the interval changes again, with who, when, which action,
video, interval and job; a rejected interval is a hard negative; a deleted one is no example."""

import pytest
from django.db import transaction

from webapp.learning.models import Harvest, ShopExample
from webapp.review import services


def by_product(video, pid):
    return video.intervals.get(product__product_id=pid)


def example_of(iv):
    return ShopExample.objects.select_related("product", "correction").get(interval_id=iv.pk)


@pytest.mark.parametrize("changes, action, label", [
    ({"status": "accepted"}, "accept", "confirmed"),
    ({"status": "rejected"}, "reject", "rejected"),
    ({"start_s": 0.2, "end_s": 0.9}, "update", "confirmed"),
    ({"product_id": "JUI"}, "relabel", "confirmed"),
])
def test_each_review_action_makes_one_example_with_its_provenance(personas, processed, changes, action, label):
    ban = by_product(processed, "BAN")
    iv = services.update_interval(ban.pk, personas.reviewer, changes, ban.version)

    e = example_of(iv)
    assert (e.label, e.action, e.shop_id, e.video_id, e.job_id, e.user) == (
        label, action, personas.shop.pk, processed.pk, ban.job_id, personas.reviewer)
    assert (e.product.product_id, e.start_s, e.end_s, e.interval_version) == (
        iv.product.product_id, iv.start_s, iv.end_s, iv.version)
    assert e.correction.action == action and e.correction.interval_id == iv.pk
    src = e.to_ml().source
    assert src["video"] == processed.pk and src["interval"] == iv.pk and src["user"] == "reviewer"
    assert src["action"] == action and src["at"]
    assert e.to_ml().label == (1 if label == "confirmed" else 0)


def test_an_interval_changed_again_keeps_one_example_which_follows_it(personas, processed):
    ban = by_product(processed, "BAN")
    iv = services.update_interval(ban.pk, personas.reviewer, {"status": "accepted"}, ban.version)
    iv = services.update_interval(iv.pk, personas.shop_admin, {"status": "rejected"}, iv.version)

    assert ShopExample.objects.filter(interval_id=iv.pk).count() == 1
    e = example_of(iv)
    assert (e.label, e.action, e.user, e.interval_version) == ("rejected", "reject", personas.shop_admin, iv.version)
    # back to an untouched proposal: no longer an example
    services.update_interval(iv.pk, personas.reviewer, {"status": "proposed"}, iv.version)
    assert not ShopExample.objects.filter(interval_id=iv.pk).exists()


def test_added_split_and_merged_intervals_are_confirmed_examples_and_a_deleted_one_goes(personas, processed):
    added = services.create_interval(processed, personas.reviewer, "JUI", 2.0, 2.8)
    assert (example_of(added).label, example_of(added).action, example_of(added).job_id) == (
        "confirmed", "create", processed.latest_succeeded_job.pk)

    oat = by_product(processed, "OAT")
    first, second = services.split_interval(oat.pk, personas.reviewer, 1.5, oat.version)
    assert {example_of(first).action, example_of(second).action} == {"split"}
    assert (example_of(second).start_s, example_of(second).end_s, example_of(second).job_id) == (1.5, 2.0, oat.job_id)

    first.refresh_from_db()
    second.refresh_from_db()
    merged = services.merge_intervals(first.pk, second.pk, personas.reviewer, first.version, second.version)
    assert (example_of(merged).action, example_of(merged).start_s, example_of(merged).end_s) == ("merge", 1.0, 2.0)
    assert not ShopExample.objects.filter(interval_id=second.pk).exists()  # merged away

    services.delete_interval(added.pk, personas.reviewer, added.version)
    assert not ShopExample.objects.filter(interval_id=added.pk).exists()
    assert ShopExample.objects.filter(shop=personas.shop).count() == 1  # the merged one


def test_a_bulk_accept_makes_an_example_per_interval_and_queues_one_harvest(
        personas, processed, settings, django_capture_on_commit_callbacks):
    settings.SHOPFOCUS_LEARN_AUTO = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        accepted, skipped = services.bulk_accept(processed, personas.reviewer, 0.0)
    assert len(callbacks) == 1  # one harvest scheduled for the whole transaction
    assert len(accepted) == 2 and not skipped
    assert ShopExample.objects.filter(video=processed, label="confirmed").count() == 2
    # on commit, one queued harvest of the video (a burst of edits is one harvest)
    assert list(Harvest.objects.filter(video=processed).values_list("status", flat=True)) == ["queued"]
    ban = by_product(processed, "BAN")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_interval(ban.pk, personas.reviewer, {"start_s": 0.1}, ban.version)
    assert Harvest.objects.filter(video=processed).count() == 1  # the waiting one reads this change too


def test_an_edit_through_the_api_makes_the_example(personas, processed):
    ban = by_product(processed, "BAN")
    r = personas.client(personas.reviewer).patch(f"/api/intervals/{ban.pk}/", {"status": "rejected", "version": ban.version},
                                                 content_type="application/json")
    assert r.status_code == 200, r.content
    assert example_of(ban).label == "rejected" and example_of(ban).user == personas.reviewer


def test_machine_proposals_are_no_examples(personas, processed):
    assert processed.intervals.count() == 2 and not ShopExample.objects.exists()


def test_the_review_page_says_what_the_shop_learned(personas, processed):
    ban = by_product(processed, "BAN")
    services.update_interval(ban.pk, personas.reviewer, {"status": "accepted"}, ban.version)
    html = personas.client(personas.reviewer).get(f"/videos/{processed.pk}/review/").content.decode()
    assert "1 example from this video" in html and "0 learned views and 0 negatives" in html
    assert "the packaged model" in html
