"""The job machinery without a worker process: claim, progress, cancel, failure, reaper, re-run."""

import pytest
from django.utils import timezone

from ml.types import Interval as MlInterval
from ml.types import LocalizationResult
from webapp.review.models import Interval
from webapp.review.services import store_machine_intervals, update_interval
from webapp.videos import lifecycle
from webapp.videos.ingest import create_video_from_path
from webapp.videos.runner import ProgressReporter, finish_job
from webapp.videos.models import Comment, Job
from webapp.videos.tasks import process_video


@pytest.fixture
def job(video):
    return Job.objects.create(video=video)


@pytest.fixture
def fake(settings):
    def use(name):
        settings.SHOPFOCUS_LOCALIZE = f"tests.integration.fake_pipelines.{name}"
    return use


def test_a_job_is_claimed_only_once(job):
    assert lifecycle.claim(job.pk, "w1").status == "running"
    assert lifecycle.claim(job.pk, "w2") is None
    job.refresh_from_db()
    assert (job.worker, job.attempts) == ("w1", 1)


def test_a_cancelled_job_is_never_claimed(job):
    lifecycle.cancel(job.pk)
    assert lifecycle.claim(job.pk) is None


def test_the_task_runs_the_real_pipeline_on_the_exported_catalog_and_comments(job):
    Comment.objects.create(video=job.video, time_s=1.0, user="ann", text="oat milk please")

    process_video.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress == 1.0, job.message
    assert {"decode", "visual", "text", "fusion", "total"} <= set(job.timings)
    result = job.video.load_artefact("result")
    found = result["intervals"] + result["candidates"]  # both are stored: candidates below the threshold
    assert {i["product_id"] for i in found} <= {"BAN", "OAT", "JUI"} and result["threshold"] == 0.5
    stored = sorted(job.video.intervals.values_list("product__product_id", "origin", "status"))
    assert stored == sorted((i["product_id"], "machine", "proposed") for i in found)


def test_the_ui_artefacts_are_stored_beside_the_media(job, personas):
    process_video.apply(args=[job.pk])

    client = personas.client(personas.seller)
    curves = client.get(f"/api/videos/{job.video_id}/artefacts/curves/").json()
    assert sorted(curves["product_ids"]) == ["BAN", "JUI", "OAT"] and len(curves["fused"]["BAN"]) == 3
    assert set(curves["modalities"]) == {"visual", "speech", "comments"}
    assert client.get(f"/api/videos/{job.video_id}/artefacts/transcript/").json() == []  # a silent video
    tracklets = client.get(f"/api/videos/{job.video_id}/artefacts/tracklets/").json()
    assert tracklets and "embeddings" not in tracklets[0]
    assert client.get(f"/api/videos/{job.video_id}/artefacts/result/").json()["duration_s"] == 3.0


def test_a_video_damaged_after_upload_fails_its_job_with_the_message_a_seller_can_act_on(job):
    path = job.video.file.path
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:  # the disk copy lost its second half
        f.write(data[: len(data) // 2])

    process_video.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.status == "failed"
    assert "truncated" in job.message or "corrupt" in job.message, job.message
    assert job.message.startswith("video 'Shelf tour': "), job.message
    assert "/tmp" not in job.message and job.video.intervals.count() == 0


def test_a_shop_without_products_fails_with_a_clear_message(personas, video_path):
    video = create_video_from_path(personas.other_shop, personas.other_seller, video_path)
    job = Job.objects.create(video=video)
    process_video.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == "failed" and "has no products with images yet: upload a catalog" in job.message


def test_cancelling_a_running_job_stops_the_pipeline_at_its_next_progress_report(job, fake):
    fake("cancel_during_vision")
    process_video.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == "cancelled" and job.message == "cancelled by seller"
    assert not Interval.objects.exists()


def test_progress_is_written_at_most_once_a_second_per_stage(job):
    lifecycle.claim(job.pk)
    report = ProgressReporter(job.pk, min_interval_s=60)
    report("decode", 0.1)
    report("decode", 0.2)  # throttled
    job.refresh_from_db()
    assert (job.stage, job.progress) == ("decode", 0.1)
    report("speech", 0.3)  # a new stage is always written
    job.refresh_from_db()
    assert (job.stage, job.progress) == ("speech", 0.3)


def stale(job, attempts):
    old = timezone.now() - timezone.timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(status="running", stage="speech", attempts=attempts, heartbeat_at=old,
                                         started_at=old)


def test_the_reaper_queues_again_a_job_whose_worker_stopped(job, settings):
    settings.SHOPFOCUS_JOB_MAX_ATTEMPTS = 2
    stale(job, attempts=1)
    assert lifecycle.reap() == {"requeued": 1, "failed": 0, "resent": 0}
    job.refresh_from_db()
    assert job.status == "queued"
    assert job.message == "the worker processing this video stopped during speech; trying again (attempt 2 of 2)"


def test_the_reaper_fails_a_job_out_of_attempts_with_a_message(job, settings):
    settings.SHOPFOCUS_JOB_MAX_ATTEMPTS = 2
    stale(job, attempts=2)
    assert lifecycle.reap() == {"requeued": 0, "failed": 1, "resent": 0}
    job.refresh_from_db()
    assert job.status == "failed" and job.message.startswith("the worker processing this video stopped")


def test_the_reaper_leaves_jobs_with_a_fresh_heartbeat_alone(job):
    lifecycle.claim(job.pk)
    assert lifecycle.reap() == {"requeued": 0, "failed": 0, "resent": 0}


def test_the_reaper_command_reports_what_it_did(job, capsys):
    from django.core.management import call_command

    stale(job, attempts=9)
    call_command("reap_stale_jobs")
    assert "0 job(s) queued again, 1 failed, 0 sent again" in capsys.readouterr().out


def result(*intervals):
    return LocalizationResult("v.mp4", 3.0, [MlInterval(*i) for i in intervals])


def test_a_rerun_replaces_machine_proposals_keeps_edits_and_never_duplicates(job, personas):
    store_machine_intervals(job, result(("BAN", 0.0, 1.0, 0.9), ("OAT", 1.0, 2.0, 0.7), ("JUI", 2.0, 3.0, 0.6)))
    ban, oat, _ = job.video.intervals.order_by("start_s")
    update_interval(ban.pk, personas.reviewer, {"status": "accepted"}, ban.version)
    update_interval(oat.pk, personas.reviewer, {"start_s": 1.2}, oat.version)

    rerun = Job.objects.create(video=job.video)
    store_machine_intervals(rerun, result(("BAN", 0.0, 1.1, 0.95), ("OAT", 1.0, 2.0, 0.8), ("JUI", 2.1, 2.9, 0.5)))

    rows = sorted(job.video.intervals.values_list("product__product_id", "status", "start_s"))
    assert rows == [("BAN", "accepted", 0.0), ("JUI", "proposed", 2.1), ("OAT", "edited", 1.2)]
    assert job.video.intervals.get(product__product_id="JUI").job == rerun


def test_storing_the_same_result_twice_does_not_duplicate(job):
    r = result(("BAN", 0.0, 1.0, 0.9))
    store_machine_intervals(job, r)
    store_machine_intervals(job, r)
    assert job.video.intervals.count() == 1


def test_a_job_cancelled_while_finishing_stores_nothing(job):
    lifecycle.claim(job.pk)
    lifecycle.cancel(job.pk)
    assert finish_job(job.pk, result(("BAN", 0.0, 1.0, 0.9))) is False
    assert not job.video.intervals.exists()


def test_the_reaper_sends_again_a_queued_job_the_broker_lost_and_leaves_fresh_ones_alone(job, settings):
    settings.SHOPFOCUS_QUEUED_TIMEOUT_S = 60
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(created=now - timezone.timedelta(hours=1),
                                         enqueued_at=now - timezone.timedelta(seconds=30))
    assert lifecycle.reap()["resent"] == 0  # sent 30 s ago: still waiting its turn

    Job.objects.filter(pk=job.pk).update(enqueued_at=now - timezone.timedelta(minutes=5))
    assert lifecycle.reap()["resent"] == 1
    job.refresh_from_db()
    assert job.status == "queued" and job.enqueued_at > now - timezone.timedelta(seconds=5)
    assert lifecycle.reap()["resent"] == 0  # once per timeout, not once per round

