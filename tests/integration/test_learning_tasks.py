"""Learning from reviews without a worker process (the tasks run in this process, on the real
pipeline and real media): a job keeps its full-resolution curves; a harvest cuts, embeds and
stores crops of the reviewed intervals with their thresholds; a removed view stays removed; the
next job runs with the shop's memory (each view with its harvest's threshold) and records its
version, and so does a live session (the same memory when its job is taken up again); refits
are versioned, rolled back and deactivated; a refit that does not improve is stored but not
activated; a harvest of a missing or broken video fails its own row with a message."""

import os

import numpy as np
import pytest
from django.db import IntegrityError, transaction

from ml.adapt import MIN_EXAMPLES, MIN_THRESHOLD, ShopMemory
from tests.integration.reviewing import review_in_full
from webapp.learning import services as learning
from webapp.learning.models import Harvest, LearnedView, Refit, ShopExample
from webapp.review import services as review
from webapp.segments import tasks as segment_tasks  # noqa: F401  (registers the part and join tasks)
from webapp.videos.ingest import create_video_from_path
from webapp.videos.models import Job
from webapp.videos.tasks import process_video



@pytest.fixture
def eager():
    from webapp.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def run(video) -> Job:
    job = Job.objects.create(video=video)
    process_video.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    return job


@pytest.fixture
def tabletop(personas, catalog, tabletop_path):
    video = create_video_from_path(personas.shop, personas.seller, tabletop_path, "Tabletop")
    run(video)
    return video


def test_a_job_keeps_its_full_resolution_curves_and_records_no_memory_when_nothing_was_learned(personas, tabletop):
    job = tabletop.latest_succeeded_job
    assert job.memory_version == "" and "memory" not in job.artefacts
    curves = learning.curves_of(job)
    assert curves.product_ids == ["BAN", "JUI", "OAT"] or sorted(curves.product_ids) == ["BAN", "JUI", "OAT"]
    assert curves.fused.shape == (len(curves.times), 3) and curves.step_s == pytest.approx(1.0)
    assert len(curves.times) == len(job.load_artefact("curves")["times"])  # short: nothing pooled
    # the .npz is no JSON artefact: the API answers 404, never 500
    r = personas.client(personas.seller).get(f"/api/videos/{tabletop.pk}/artefacts/curves_npz/")
    assert r.status_code == 404


def test_a_harvest_stores_crops_of_confirmed_and_rejected_intervals(personas, tabletop, eager):
    review_in_full(tabletop, personas.reviewer)
    row = learning.enqueue_harvest(tabletop.pk, personas.staff)
    row.refresh_from_db()
    assert row.status == "succeeded", row.message
    views = list(LearnedView.objects.filter(shop=personas.shop).select_related("example", "product"))
    n = ShopExample.objects.count()
    assert views and row.n_views == len(views) and row.n_examples == n and n >= 9
    assert {v.positive for v in views} == {True, False}  # crops of confirmed and of rejected intervals
    for v in views:
        e = v.example
        assert e.video_id == tabletop.pk and v.product_id == e.product_id and v.positive == e.positive
        assert e.start_s <= v.t <= e.end_s
        assert os.path.isfile(v.image.path) and v.image.size > 0
        assert np.linalg.norm(v.vector_array()) == pytest.approx(1.0, abs=1e-2)
        assert MIN_THRESHOLD <= v.threshold <= 1.0 + 1e-6  # measured at harvest (View.threshold)
    assert all(e.harvested_version == e.interval_version for e in ShopExample.objects.all())
    # a second harvest has nothing new to read
    again = learning.enqueue_harvest(tabletop.pk)
    again.refresh_from_db()
    assert (again.status, again.n_views) == ("succeeded", 0) and LearnedView.objects.count() == len(views)


def test_a_removed_view_stays_removed_when_its_interval_is_harvested_again(
        personas, tabletop, eager, django_capture_on_commit_callbacks):
    review_in_full(tabletop, personas.reviewer)
    learning.enqueue_harvest(tabletop.pk)
    removed = LearnedView.objects.filter(positive=True).first()
    learning.remove_views(LearnedView.objects.filter(pk=removed.pk), personas.staff)
    iv = removed.example.interval
    review.update_interval(iv.pk, personas.reviewer, {"end_s": iv.end_s - 0.2}, iv.version)  # changed again
    old = {v.pk: v.image.path for v in LearnedView.objects.filter(example=removed.example, active=True)}

    with django_capture_on_commit_callbacks(execute=True):
        learning.enqueue_harvest(tabletop.pk)

    removed.refresh_from_db()
    assert not removed.active and os.path.isfile(removed.image.path)  # kept, removed
    again = LearnedView.objects.filter(example=removed.example, active=True)
    assert not any(abs(v.t - removed.t) < learning.REMOVED_NEAR_S for v in again)
    assert not LearnedView.objects.filter(pk__in=old).exists()  # the stale crops went, files too
    assert not any(os.path.exists(path) for path in old.values())


def test_the_next_job_runs_with_the_shops_memory_and_records_its_version(personas, tabletop, eager, settings):
    review_in_full(tabletop, personas.reviewer)
    learning.enqueue_harvest(tabletop.pk)
    memory, version = learning.shop_memory(personas.shop.pk)
    assert version.startswith("refit-packaged+views-") and len(memory) == LearnedView.objects.count()

    job = run(tabletop)

    assert job.memory_version == version
    stored = ShopMemory.load(os.path.join(settings.MEDIA_ROOT, job.artefacts["memory"]))
    assert stored.version == version and len(stored) == len(memory) and stored.scorer is None
    # each view counts past the threshold measured at its harvest, stored and handed back
    thresholds = list(LearnedView.objects.in_use().order_by("pk").values_list("threshold", flat=True))
    assert stored.thresholds.tolist() == pytest.approx(thresholds, abs=1e-6)
    assert stored.thresholds.min() >= MIN_THRESHOLD and stored.thresholds.min() < 1.0


def test_a_long_video_split_into_parts_gives_every_part_and_the_join_the_same_memory(
        personas, tabletop, eager, settings):
    review_in_full(tabletop, personas.reviewer)
    learning.enqueue_harvest(tabletop.pk)
    memory, version = learning.shop_memory(personas.shop.pk)

    job = Job.objects.create(video=tabletop, options={"segment_s": 6.0, "segment_context_s": 1.0}, queue="cpu")
    process_video.apply(args=[job.pk])  # eager: the parts, then the join, in this process

    job.refresh_from_db()
    assert job.status == "succeeded" and job.timings["segments"] == 2.0, job.message
    assert job.memory_version == version
    assert len(ShopMemory.load(os.path.join(settings.MEDIA_ROOT, job.artefacts["memory"]))) == len(memory)


def packaged_scorer() -> dict:
    from ml.pipeline import PipelineOptions
    from ml.scoring import Scorer

    return Scorer.load(PipelineOptions()).intervals.to_dict()


def fitted(shop, **fields) -> Refit:
    return Refit.objects.create(shop=shop, status="succeeded", scorer=packaged_scorer(),
                                before={"f1": 0.5}, after={"f1": 0.6}, improved=True, **fields)


def test_refits_are_versions_one_active_at_a_time_rolled_back_and_deactivated(personas):
    v1, v2 = fitted(personas.shop), fitted(personas.shop)
    learning.activate(v2.pk)
    assert learning.shop_memory(personas.shop.pk)[1] == f"refit-{v2.pk}+views-0-{learning.shop_memory(personas.shop.pk)[1].rsplit('-', 1)[1]}"

    learning.activate(v1.pk)  # roll back
    assert list(Refit.objects.filter(active=True).values_list("pk", flat=True)) == [v1.pk]
    assert learning.shop_memory(personas.shop.pk)[0].scorer == v1.scorer

    assert learning.deactivate(personas.shop.pk) == 1  # back to the packaged model
    assert not Refit.objects.filter(active=True).exists()
    assert learning.shop_memory(personas.shop.pk) == (None, "")

    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds it too
        Refit.objects.filter(pk__in=[v1.pk, v2.pk]).update(active=True)


def test_an_unfitted_or_failed_refit_cannot_be_activated(personas):
    failed = Refit.objects.create(shop=personas.shop, status="failed", message="boom")
    with pytest.raises(learning.CannotActivate):
        learning.activate(failed.pk)
    assert not Refit.objects.filter(active=True).exists()


def test_the_admin_rolls_back_and_deactivates(personas, admin_client):
    v1, v2 = fitted(personas.shop), fitted(personas.shop)
    learning.activate(v2.pk)
    html = admin_client.get("/admin/learning/refit/").content.decode()
    assert "0.500" in html and "0.600" in html  # F1 before / after

    admin_client.post("/admin/learning/refit/", {"action": "activate", "_selected_action": [v1.pk]})
    assert Refit.objects.get(active=True).pk == v1.pk
    admin_client.post("/admin/learning/refit/", {"action": "deactivate", "_selected_action": [v1.pk]})
    assert not Refit.objects.filter(active=True).exists()


def test_a_refit_with_too_few_examples_is_stored_and_the_model_in_use_stays(personas, tabletop, eager):
    review_in_full(tabletop, personas.reviewer)
    n = ShopExample.objects.count()
    assert n < MIN_EXAMPLES
    row = learning.enqueue_refit(personas.shop.pk)
    row.refresh_from_db()
    assert (row.status, row.scorer, row.active, row.n_examples, row.n_videos) == ("succeeded", None, False, n, 1)
    assert "not enough examples" in row.message


def test_a_refit_that_does_not_improve_is_stored_but_not_activated(personas, catalog, tabletop_path, eager):
    # three reviewed runs of which the packaged model already gets every interval right: a
    # refit cannot beat it on the held-back one, so it is kept as a version, not made active
    videos = [create_video_from_path(personas.shop, personas.seller, tabletop_path, f"Tabletop {i}") for i in range(3)]
    for v in videos:
        run(v)
        review_in_full(v, personas.reviewer)
    assert ShopExample.objects.count() >= MIN_EXAMPLES

    row = learning.enqueue_refit(personas.shop.pk, personas.staff)

    row.refresh_from_db()
    assert row.status == "succeeded", row.message
    assert (row.n_examples, row.n_videos, row.improved, row.active) == (ShopExample.objects.count(), 3, False, False)
    assert row.scorer is not None and row.before["f1"] == pytest.approx(1.0) and "f1" in row.after
    assert "did not improve" in row.message
    assert learning.shop_memory(personas.shop.pk)[0] is None or learning.shop_memory(personas.shop.pk)[0].scorer is None


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_a_harvest_of_a_missing_or_broken_video_fails_with_a_message(personas, tabletop, eager, damage):
    review_in_full(tabletop, personas.reviewer)
    if damage == "missing":
        os.unlink(tabletop.file.path)
    else:
        with open(tabletop.file.path, "wb") as f:
            f.write(b"this is no video" * 100)

    row = learning.enqueue_harvest(tabletop.pk)

    row.refresh_from_db()
    assert row.status == "failed" and "what the shop learned before stays in use" in row.message
    assert "Traceback" not in row.message and str(tabletop.file.path) not in row.message
    assert ("is missing" if damage == "missing" else "video 'Tabletop': not a video file") in row.message
    assert not LearnedView.objects.exists()
    assert Harvest.objects.filter(video=tabletop).count() == 1


def hls_of(video_path: str, folder) -> None:
    """The video as the RTMP server leaves a stream: index.m3u8 and MPEG-TS fragments."""
    import subprocess

    os.makedirs(folder, exist_ok=True)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", video_path, "-c", "copy", "-f", "hls",
                    "-hls_time", "2", "-hls_list_size", "0", os.path.join(folder, "index.m3u8")], check=True)
    old = os.path.getmtime(os.path.join(folder, "index.m3u8")) - 10
    os.utime(os.path.join(folder, "index.m3u8"), (old, old))  # the server wrote its last fragment a while ago


def test_a_live_session_runs_with_the_shops_memory_and_records_its_version(
        transactional_db, personas, catalog, tabletop_path, settings, tmp_path):
    """The live worker (in this process) follows a finished stream of the tabletop clip with the
    shop's memory, as an uploaded video's job runs: memory_version and the memory artefact."""
    from django.db import connection

    from webapp.live import services as live
    from webapp.live.models import LiveSession
    from webapp.live.worker import run_live_session

    video = create_video_from_path(personas.shop, personas.seller, tabletop_path, "Tabletop")
    run(video)
    review_in_full(video, personas.reviewer)
    learning.harvest(learning.enqueue_harvest(video.pk).pk)  # not eager: the session's job must wait for us
    memory, version = learning.shop_memory(personas.shop.pk)
    assert memory is not None and len(memory)

    settings.SHOPFOCUS_LIVE_DIR = tmp_path / "live"
    settings.SHOPFOCUS_LIVE_WARM_UP = False
    session = live.start_session(personas.shop, personas.seller, "Tabletop live", list(catalog))
    hls_of(tabletop_path, session.fragments_dir())
    live.mark(session.pk, LiveSession.State.ENDING, "the stream ended")  # all of it is there
    try:
        run_live_session(session.job_id)
    finally:
        connection.close()

    session.refresh_from_db()
    job = Job.objects.get(pk=session.job_id)
    assert (session.state, job.status) == ("ended", "succeeded"), f"{session.message} {job.message}"
    assert job.memory_version == version
    stored = ShopMemory.load(os.path.join(settings.MEDIA_ROOT, job.artefacts["memory"]))
    assert stored.version == version and len(stored) == len(memory)
    assert stored.thresholds.tolist() == pytest.approx(memory.thresholds.tolist())
    assert session.video.intervals.exists()


def test_a_live_job_taken_up_again_keeps_the_memory_it_started_with(personas, catalog, tabletop, eager, settings,
                                                                     tmp_path):
    """A live worker that dies is replaced by one that resumes the follower: it goes on with the
    memory the session started with, not with what the shop learned meanwhile."""
    from webapp.live import services as live
    from webapp.live.worker import LiveRun

    review_in_full(tabletop, personas.reviewer)
    learning.enqueue_harvest(tabletop.pk)
    settings.SHOPFOCUS_LIVE_DIR = tmp_path / "live"
    session = live.start_session(personas.shop, personas.seller, "Morning show", list(catalog))
    job = Job.objects.get(pk=session.job_id)
    first = LiveRun(job, session)._shop_memory()
    _, version = learning.shop_memory(personas.shop.pk)
    assert Job.objects.get(pk=job.pk).memory_version == version == first.version

    learning.remove_views(LearnedView.objects.filter(pk=LearnedView.objects.first().pk))  # learned meanwhile
    assert learning.shop_memory(personas.shop.pk)[1] != version
    Job.objects.filter(pk=job.pk).update(memory_version="")
    again = LiveRun(Job.objects.get(pk=job.pk), session)._shop_memory()
    assert again.version == version and len(again) == len(first)
    assert again.thresholds.tolist() == first.thresholds.tolist()
    assert Job.objects.get(pk=job.pk).memory_version == version


def test_a_live_session_of_a_shop_that_learned_nothing_runs_without_memory(personas, catalog, settings, tmp_path):
    from webapp.live import services as live
    from webapp.live.worker import LiveRun

    settings.SHOPFOCUS_LIVE_DIR = tmp_path / "live"
    session = live.start_session(personas.shop, personas.seller, "Morning show", list(catalog))
    job = Job.objects.get(pk=session.job_id)
    assert LiveRun(job, session)._shop_memory() is None and LiveRun(job, session)._shop_memory() is None
    assert Job.objects.get(pk=job.pk).memory_version == ""
