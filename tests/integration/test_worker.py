"""Jobs run by a real ``celery -A webapp worker`` process: on Redis with the real pipeline, on
the embedded filesystem broker, and after the worker is killed in the middle of a job."""

import pytest
from django.utils import timezone

from tests.integration.conftest import assert_succeeded, queue_job, running_in_a_stage, wait_finished, wait_for
from webapp.videos import lifecycle

pytestmark = pytest.mark.worker


def test_a_worker_on_redis_runs_the_real_pipeline_end_to_end(redis_broker, start_worker, personas, video):
    worker = start_worker(redis_broker)

    job = wait_finished(queue_job(video), timeout=900)

    assert_succeeded(job, worker)
    assert job.progress == 1.0 and job.attempts == 1 and job.timings["total"] > 0
    assert {"result", "curves", "transcript"} <= set(job.artefacts)
    assert video.load_artefact("result")["duration_s"] == pytest.approx(3.0)
    # Whatever the pipeline found is stored as machine proposals of this job, for known products.
    assert all(iv.job_id == job.pk and iv.origin == "machine" for iv in video.intervals.all())
    result = video.load_artefact("result")  # the output and the candidates below its threshold
    assert video.intervals.count() == len([i for i in result["intervals"] + result["candidates"]
                                           if i["product_id"] in {"BAN", "OAT", "JUI"}])


def test_the_embedded_filesystem_broker_needs_no_server(start_worker, personas, video, tmp_path):
    from tests.conftest import use_broker
    from webapp.celery import app

    broker_dir = tmp_path / "broker"
    for sub in ("queue", "processed", "control"):
        (broker_dir / sub).mkdir(parents=True)
    use_broker(app, "filesystem://", {"data_folder_in": str(broker_dir / "queue"),
                                      "data_folder_out": str(broker_dir / "queue"),
                                      "processed_folder": str(broker_dir / "processed"),
                                      "control_folder": str(broker_dir / "control")})
    try:
        worker = start_worker(None, SHOPFOCUS_BROKER_DIR=broker_dir)
        job = wait_finished(queue_job(video), timeout=600)
    finally:
        use_broker(app, "memory://")

    assert_succeeded(job, worker)
    assert job.progress == 1.0 and "result" in job.artefacts


def test_killing_the_worker_mid_job_retries_that_job_and_other_jobs_still_complete(
        redis_broker, start_worker, personas, video, long_video):
    env = {"SHOPFOCUS_JOB_MAX_ATTEMPTS": 2}
    first = start_worker(redis_broker, **env)
    killed = queue_job(long_video)
    other = queue_job(video)
    wait_for(running_in_a_stage(killed), 300, what="the first job to be in the middle of the pipeline")

    first.kill()
    killed.refresh_from_db()
    assert killed.status == "running"  # nobody knows yet
    stale_after = killed.heartbeat_at + timezone.timedelta(seconds=5 + 0.5)  # the workers' timeout is 5 s
    wait_for(lambda: timezone.now() > stale_after, 30, what="the heartbeat to go stale")
    # The new worker reaps at startup (the beat schedule does it in production); it runs both jobs.
    start_worker(redis_broker, **env)
    wait_finished(other, timeout=600)
    wait_finished(killed, timeout=600)

    assert other.status == "succeeded", other.message
    assert killed.status == "succeeded" and killed.attempts == 2, killed.message
    result = long_video.load_artefact("result")
    assert long_video.intervals.filter(origin="machine").count() == len(
        [i for i in result["intervals"] + result["candidates"] if i["product_id"] in {"BAN", "OAT", "JUI"}])


def test_a_job_out_of_attempts_is_failed_with_a_message_after_the_worker_dies(
        redis_broker, start_worker, personas, long_video, settings):
    settings.SHOPFOCUS_JOB_MAX_ATTEMPTS, settings.SHOPFOCUS_HEARTBEAT_TIMEOUT_S = 1, 5  # this process reaps
    worker = start_worker(redis_broker, SHOPFOCUS_JOB_MAX_ATTEMPTS=1)
    job = queue_job(long_video)
    wait_for(running_in_a_stage(job), 300, what="the job to be in the middle of the pipeline")

    worker.kill()
    wait_for(lambda: lifecycle.reap()["failed"], 30, what="the reaper to notice")

    job.refresh_from_db()
    assert job.status == "failed"
    assert job.message.startswith("the worker processing this video stopped during ")
    assert "1 time(s)" in job.message
