"""One status model: what counts as confirmed by a person, and the one published set that every
output (viewer card, focus view, clips, the clips ZIP, JSON/CSV/VTT exports) shows by default."""

from __future__ import annotations

import io
import json
import zipfile

from django.test import Client
from django.urls import reverse

from ml.types import Interval as MlInterval
from ml.types import LocalizationResult
from webapp.review import services
from webapp.review.models import Interval


def by_product(video, pid):
    return video.intervals.get(product__product_id=pid)


def test_accepted_edited_relabelled_merged_and_added_intervals_are_confirmed(personas, processed):
    ban, oat = by_product(processed, "BAN"), by_product(processed, "OAT")
    assert not Interval.objects.confirmed().exists()
    services.update_interval(ban.pk, personas.reviewer, {"product_id": "JUI"}, ban.version)  # relabel
    assert Interval.objects.get(pk=ban.pk).status == "edited"
    services.merge_intervals(oat.pk, ban.pk, personas.reviewer, oat.version, 2)  # merge
    merged = Interval.objects.get(pk=oat.pk)
    assert merged.status == "edited" and merged.is_confirmed
    added = services.create_interval(processed, personas.reviewer, "BAN", 2.0, 2.5, status="proposed")
    assert added.is_confirmed  # added by a person
    assert set(Interval.objects.confirmed().values_list("pk", flat=True)) == {merged.pk, added.pk}


def test_a_rejected_interval_is_kept_as_a_negative_and_never_published(personas, processed):
    ban = by_product(processed, "BAN")
    services.update_interval(ban.pk, personas.reviewer, {"status": "rejected"}, ban.version)
    assert Interval.objects.filter(pk=ban.pk, status="rejected").exists()
    assert ban.pk not in {iv.pk for iv in Interval.objects.published(processed)}


def test_a_finished_job_records_the_results_threshold_and_keeps_its_candidates(personas, video):
    from webapp.videos.models import Job

    job = Job.objects.create(video=video, status=Job.Status.SUCCEEDED)
    result = LocalizationResult("shelf.mp4", 3.0, [MlInterval("BAN", 0.0, 1.0, 0.9, {})])
    result.threshold = 0.7
    result.candidates = [MlInterval("OAT", 1.0, 2.0, 0.4, {})]
    assert services.store_machine_intervals(job, result) == 2
    job.refresh_from_db()
    assert job.threshold == 0.7
    assert [iv.product.product_id for iv in Interval.objects.published(video)] == ["BAN"]
    assert video.intervals.filter(product__product_id="OAT", status="proposed").exists()


def test_a_result_without_a_threshold_publishes_from_0_5(personas, video):
    from webapp.videos.models import Job

    job = Job.objects.create(video=video, status=Job.Status.SUCCEEDED, threshold=0.9)
    services.store_machine_intervals(job, LocalizationResult("shelf.mp4", 3.0, []))
    job.refresh_from_db()
    assert job.threshold == 0.5


def _viewer_products(client, video) -> list[str]:
    html = client.get(reverse("review:viewer", args=[video.pk])).content.decode()
    data = json.loads(html.split('id="nv-data" type="application/json">')[1].split("</script>")[0])
    return sorted(data["products"][str(iv["product"])]["product_id"] for iv in data["intervals"])


def test_every_output_shows_the_same_published_set(personas, processed):
    """Threshold 0.8: BAN (0.9) is published, OAT (0.7) only once a person edits it, JUI (added) is."""
    processed.jobs.update(threshold=0.8)
    services.create_interval(processed, personas.reviewer, "JUI", 2.0, 2.9)
    seller = personas.client(personas.seller)
    expected = ["BAN", "JUI"]

    assert _viewer_products(seller, processed) == expected
    focus = seller.get(reverse("review:focus", args=[processed.pk])).content.decode()
    assert [p.product_id for p in processed.shop.products.order_by("product_id")
            if reverse("review:clip", args=[processed.pk, p.pk]) in focus] == expected
    z = zipfile.ZipFile(io.BytesIO(b"".join(seller.get(reverse("review:clips_zip", args=[processed.pk]))
                                            .streaming_content)))
    assert sorted(n.rsplit("-", 1)[1][:-4] for n in z.namelist()) == expected
    exported = json.loads(seller.get(reverse("videos:export", args=[processed.pk, "json"])).content)
    assert sorted(i["product_id"] for i in exported["intervals"]) == expected
    csv_rows = seller.get(reverse("videos:export", args=[processed.pk, "csv"])).content.decode().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in csv_rows) == expected
    vtt = seller.get(reverse("videos:export", args=[processed.pk, "vtt"])).content.decode()
    assert "(BAN)" in vtt and "(JUI)" in vtt and "(OAT)" not in vtt
    # a reviewer's edit publishes OAT everywhere at once
    oat = by_product(processed, "OAT")
    services.update_interval(oat.pk, personas.reviewer, {"end_s": 1.8}, oat.version)
    assert _viewer_products(seller, processed) == ["BAN", "JUI", "OAT"]


def test_the_focus_view_can_show_everything_but_rejected_on_request(personas, processed):
    processed.jobs.update(threshold=0.8)
    html = personas.client(personas.seller).get(
        reverse("review:focus", args=[processed.pk]) + "?status=proposed&status=accepted&status=edited").content.decode()
    oat = by_product(processed, "OAT")
    assert reverse("review:clip", args=[processed.pk, oat.product_id]) in html


def test_the_viewer_by_key_sees_only_the_published_set(personas, processed):
    processed.jobs.update(threshold=0.8)
    focus = personas.client(personas.seller).get(reverse("review:focus", args=[processed.pk])).content.decode()
    import re

    key = re.search(r"\?key=([^\"&<]+)", focus).group(1)
    html = Client().get(reverse("review:viewer", args=[processed.pk]) + f"?key={key}").content.decode()
    data = json.loads(html.split('id="nv-data" type="application/json">')[1].split("</script>")[0])
    assert [iv["product"] for iv in data["intervals"]] == [by_product(processed, "BAN").product_id]
