"""A split job's machinery in this process (no worker): planning into parts, claiming a part,
the join sent once by the last part, a failing part, attempts that reuse finished parts, the
reaper and waiting parts. The parts run the real pipeline on a 3 s video cut in two."""

import os

import pytest
from django.utils import timezone

from webapp.segments import services
from webapp.segments.models import JobSegment, SegmentPlan
from webapp.segments.tasks import run_segment
from webapp.videos import lifecycle
from webapp.videos.models import Job
from webapp.videos.tasks import process_video

SPLIT = {"segment_s": 1.5, "segment_context_s": 1.0}  # 3 s -> parts 0-2 s and 2-3 s


@pytest.fixture
def split_job(video):
    return Job.objects.create(video=video, options=dict(SPLIT), queue="cpu")


def _dispatched(job):
    process_video.apply(args=[job.pk])  # claims, plans, sends the parts (to the in-memory broker)
    job.refresh_from_db()
    return job


def _rows(job):
    return list(JobSegment.objects.filter(job=job).order_by("index"))


def test_a_video_not_longer_than_one_part_runs_as_one_job(video):
    job = Job.objects.create(video=video, options={"segment_s": 600})
    process_video.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    assert not JobSegment.objects.filter(job=job).exists()


def test_a_long_video_is_planned_into_parts_that_wait_for_workers(split_job):
    job = _dispatched(split_job)

    assert job.status == "running" and job.stage == "0 of 2 parts done, 2 waiting"
    assert [(r.keep_start_s, r.keep_end_s, r.start_s, r.end_s, r.status, r.attempt) for r in _rows(job)] == [
        (0.0, 2.0, 0.0, 3.0, "queued", 1), (2.0, 3.0, 1.0, 3.0, "queued", 1)]
    assert os.path.isfile(os.path.join(services.work_dir(job.pk), "catalog", "products.csv"))
    assert SegmentPlan.objects.get(job=job).attempt == 1


def test_a_part_is_claimed_once_and_never_for_another_attempt(split_job):
    job = _dispatched(split_job)
    assert services.claim(job.pk, 2, 0) is None  # a message of an attempt that does not exist
    assert services.claim(job.pk, 1, 0).status == "running"
    assert services.claim(job.pk, 1, 0) is None  # a second delivery while the first is alive


def test_the_parts_then_the_join_give_the_job_its_result_once(split_job, monkeypatch):
    job = _dispatched(split_job)
    joins = []
    monkeypatch.setattr(services, "_send", lambda name, args, queue, countdown=None: joins.append((name, args)))

    assert services.run(job.pk, 1, 0, "w1") == "done"
    assert joins == []
    assert services.run(job.pk, 1, 1, "w2") == "done"
    assert joins == [(services.JOIN_TASK, [job.pk, 1])]  # sent by the part that completed the set
    assert services.maybe_join(job.pk, 1) is False  # never twice

    assert services.join(job.pk, 1) == "finished"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress == 1.0, job.message
    assert job.timings["segments"] == 2.0 and job.timings["segment_work"] > 0
    assert {"result", "curves", "tracklets", "boxes", "transcript"} <= set(job.artefacts)
    assert job.video.load_artefact("result")["duration_s"] == pytest.approx(3.0)
    assert not os.path.exists(services.work_dir(job.pk))  # the parts' folders are gone
    assert services.join(job.pk, 1) == "stood down"


def test_a_part_that_fails_fails_its_job_with_a_message_naming_the_part(split_job):
    job = _dispatched(split_job)
    os.remove(os.path.join(services.work_dir(job.pk), "catalog", "products.csv"))  # lost from shared storage

    run_segment.apply(args=[job.pk, 1, 1])

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.message == "part 2 of 2 (0:02-0:03) could not be processed: catalog: catalog folder has no products.csv"
    assert [r.status for r in _rows(job)] == ["queued", "failed"]
    assert services.claim(job.pk, 1, 0) is None  # the other part stands down


def test_a_new_attempt_reuses_the_parts_already_done_and_supersedes_the_old_messages(split_job):
    job = _dispatched(split_job)
    assert services.run(job.pk, 1, 0, "w1") == "done"
    finished = _rows(job)[0].finished_at

    lifecycle.requeue(job.pk, "the worker stopped; trying again")  # what the reaper does
    job = _dispatched(job)

    assert job.attempts == 2 and job.stage == "1 of 2 parts done, 1 waiting"
    rows = _rows(job)
    assert [(r.status, r.attempt) for r in rows] == [("done", 2), ("queued", 2)]
    assert rows[0].finished_at == finished
    assert run_segment.apply(args=[job.pk, 1, 1]).get() == "stood down"  # the first attempt's message


def test_cancelling_a_split_job_stops_its_parts(split_job):
    job = _dispatched(split_job)
    lifecycle.cancel(job.pk, "seller")
    assert services.run(job.pk, 1, 0) == "stood down"
    assert services.join(job.pk, 1) == "stood down"


def test_a_job_whose_parts_wait_for_a_worker_is_not_reaped_and_lost_parts_are_sent_again(split_job, settings, monkeypatch):
    job = _dispatched(split_job)
    long_ago = timezone.now() - timezone.timedelta(hours=2)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    JobSegment.objects.filter(job=job).update(sent_at=long_ago)
    sent = []
    monkeypatch.setattr(services, "_send", lambda name, args, queue, countdown=None: sent.append(args))

    assert lifecycle.reap() == {"requeued": 0, "failed": 0, "resent": 0}
    assert services.resend_waiting() == 2 and sent == [[job.pk, 1, 0], [job.pk, 1, 1]]
    assert services.resend_waiting() == 0  # sent_at moved on

    JobSegment.objects.filter(job=job).update(status="done")  # nothing waits any more: a stale job is stale
    assert lifecycle.reap()["requeued"] == 1


def test_the_work_folders_of_finished_jobs_are_swept(split_job):
    job = _dispatched(split_job)
    assert services.sweep() == 0
    lifecycle.cancel(job.pk)
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timezone.timedelta(hours=2))
    assert services.sweep() == 1 and not os.path.exists(services.work_dir(job.pk))


def test_the_job_status_json_lists_the_parts(split_job, personas):
    job = _dispatched(split_job)
    body = personas.client(personas.seller).get(f"/jobs/{job.pk}/status.json").json()
    assert [(s["index"], s["span"], s["status"], s["label"]) for s in body["segments"]] == [
        (0, "0:00-0:02", "queued", "Waiting for a worker"), (1, "0:02-0:03", "queued", "Waiting for a worker")]
