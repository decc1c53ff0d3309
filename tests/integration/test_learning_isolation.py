"""Isolation (issue 15): two shops with the same product photos and the same product ids. Shop A's
corrections make views, refits and a memory in A only; shop B's next run, by a real Celery worker
on Redis with the real pipeline, is identical to its run before A learned anything. A harvest of a
video whose file is gone fails its own row with a message, and the worker carries on."""

import os

import numpy as np
import pytest
from django.conf import settings

from tests.integration.conftest import assert_succeeded, queue_job, wait_finished, wait_for
from tests.integration.reviewing import review_in_full
from webapp.catalog.services import import_catalog_folder
from webapp.learning import services as learning
from webapp.learning.models import Harvest, LearnedView, Refit, ShopExample
from webapp.review import services as review
from webapp.videos.ingest import create_video_from_path

pytestmark = pytest.mark.worker


def finished(model, row, timeout=300):
    def done():
        row.refresh_from_db()
        return row.status in (model.Status.SUCCEEDED, model.Status.FAILED)

    wait_for(done, timeout, what=f"{row} to finish")
    return row


def outcome(job) -> tuple[list, dict]:
    """What a run gave: its result's intervals and candidates, and its full curves' arrays."""
    result = job.load_artefact("result")
    with np.load(os.path.join(settings.MEDIA_ROOT, job.artefacts["curves_npz"]), allow_pickle=False) as z:
        curves = {k: z[k] for k in z.files}
    return result["intervals"] + result["candidates"], curves


def test_one_shops_corrections_never_change_another_shops_results(
        redis_broker, start_worker, personas, catalog, catalog_folder, tabletop_path):
    import_catalog_folder(personas.other_shop, catalog_folder)  # shop B: the same photos and ids
    a = create_video_from_path(personas.shop, personas.seller, tabletop_path, "A on the table")
    b = create_video_from_path(personas.other_shop, personas.other_seller, tabletop_path, "B on the table")
    worker = start_worker(redis_broker, SHOPFOCUS_LEARN_AUTO=0)

    b_before = wait_finished(queue_job(b), timeout=600)
    assert_succeeded(b_before, worker)
    a_before = wait_finished(queue_job(a), timeout=600)
    assert_succeeded(a_before, worker)

    # shop A's reviewer corrects A's video; its crops are harvested and a refit runs, on the worker
    review_in_full(a, personas.reviewer)
    harvest = finished(Harvest, learning.enqueue_harvest(a.pk, personas.shop_admin))
    assert harvest.status == "succeeded", harvest.message + worker.output()[-3000:]
    refit = finished(Refit, learning.enqueue_refit(personas.shop.pk, personas.shop_admin))
    assert refit.status == "succeeded", refit.message
    # and A's admin puts a stricter model in use (a refit's scorer with a high threshold)
    from ml.pipeline import PipelineOptions
    from ml.scoring import Scorer

    strict = Refit.objects.create(shop=personas.shop, status="succeeded", improved=True,
                                  scorer={**Scorer.load(PipelineOptions()).intervals.to_dict(), "threshold": 0.99})
    learning.activate(strict.pk)
    memory, version = learning.shop_memory(personas.shop.pk)
    assert len(memory) == LearnedView.objects.count() > 0 and memory.scorer["threshold"] == 0.99

    # a harvest of a video whose file is gone fails its own row; the worker goes on
    gone = create_video_from_path(personas.shop, personas.seller, tabletop_path, "Gone")
    _copy_run(a_before, gone)
    review.create_interval(gone, personas.reviewer, "BAN", 0.0, 4.0)
    os.unlink(gone.file.path)
    broken = finished(Harvest, learning.enqueue_harvest(gone.pk))
    assert broken.status == "failed" and "is missing" in broken.message

    a_after = wait_finished(queue_job(a), timeout=600)
    b_after = wait_finished(queue_job(b), timeout=600)
    assert_succeeded(a_after, worker)
    assert_succeeded(b_after, worker)

    # everything learned is shop A's
    for model in (ShopExample, LearnedView, Harvest, Refit):
        assert set(model.objects.values_list("shop_id", flat=True)) == {personas.shop.pk}, model
    # shop B ran exactly as before: no memory, the same intervals, the same curves
    assert b_after.memory_version == "" and "memory" not in b_after.artefacts
    before_iv, before_curves = outcome(b_before)
    after_iv, after_curves = outcome(b_after)
    assert after_iv == before_iv and b_after.threshold == b_before.threshold
    assert before_curves.keys() == after_curves.keys()
    for key, arr in before_curves.items():
        assert np.array_equal(arr, after_curves[key]), key
    # shop A ran with its memory, and it shows
    assert a_after.memory_version == version and a_after.artefacts.get("memory")
    assert a_after.threshold == pytest.approx(0.99) and a_before.threshold != pytest.approx(0.99)


def _copy_run(job, video):
    """A succeeded job of ``video`` with ``job``'s artefacts (the same file was run)."""
    from webapp.videos.models import Job

    return Job.objects.create(video=video, status="succeeded", artefacts=dict(job.artefacts), progress=1.0)
