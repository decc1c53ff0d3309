"""The broker goes away: Redis restarts (losing what was queued) or is down during an upload.
No job is ever stranded: the reaper (the worker's beat schedule) sends again what the broker lost
or never got, and an upload while it is down is kept and answered with a clear 503."""

import pytest
from django.urls import reverse

from tests.integration.conftest import assert_succeeded, queue_job, wait_finished
from webapp.videos.lifecycle import WAITING_FOR_BROKER
from webapp.videos.models import Job, Video

pytestmark = pytest.mark.worker

FAST_REAPER = {"SHOPFOCUS_REAP_EVERY_S": 1, "SHOPFOCUS_QUEUED_TIMEOUT_S": 2}


def test_a_job_queued_when_redis_restarts_is_sent_again_by_the_reaper_and_completes(
        own_redis, start_worker, personas, video):
    job = queue_job(video)  # no worker is up yet (a deploy, say): the message waits in Redis
    assert own_redis.queue_length("cpu") == 1

    own_redis.kill()
    own_redis.start()  # no persistence: the queued message is gone
    assert own_redis.queue_length("cpu") == 0
    worker = start_worker(own_redis.url, beat=True, **FAST_REAPER)

    job = wait_finished(job, timeout=600)
    assert_succeeded(job, worker)
    assert job.attempts == 1 and "sent again" in worker.output()


def upload(personas, video_upload, **headers):
    client = personas.client(personas.seller)
    return client.post(reverse("videos:upload", args=[personas.shop.slug]), {"file": video_upload},
                       headers=headers)


def test_an_upload_while_the_broker_is_down_gets_a_503_json_keeps_the_video_and_runs_once_it_is_back(
        own_redis, start_worker, personas, catalog, video_upload):
    own_redis.kill()

    response = upload(personas, video_upload, x_requested_with="XMLHttpRequest")

    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    body = response.json()
    assert "the job queue cannot be reached right now" in body["error"]
    assert "no need to upload it again" in body["error"]
    job = Job.objects.get(video_id=body["id"])
    assert (job.status, job.message, job.enqueued_at) == ("queued", WAITING_FOR_BROKER, None)

    own_redis.start()
    worker = start_worker(own_redis.url, beat=True, **FAST_REAPER)
    job = wait_finished(job, timeout=600)
    assert_succeeded(job, worker)
    assert job.attempts == 1 and job.message != WAITING_FOR_BROKER


def test_a_browser_upload_while_the_broker_is_down_gets_a_503_page_and_the_video_is_kept(
        own_redis, transactional_db, personas, catalog, video_upload):
    own_redis.kill()

    response = upload(personas, video_upload)

    assert response.status_code == 503 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    video = Video.objects.get()
    assert "Saved; processing will start later" in page and f"video #{video.pk}" in page
    assert video.jobs.get().message == WAITING_FOR_BROKER


def test_a_rerun_through_the_api_while_the_broker_is_down_answers_503_and_keeps_the_job(
        own_redis, transactional_db, personas, video):
    own_redis.kill()

    response = personas.client(personas.seller).post(f"/api/videos/{video.pk}/rerun/")

    assert response.status_code == 503
    job = video.jobs.get()
    assert response.json()["id"] == job.pk and (job.status, job.message) == ("queued", WAITING_FOR_BROKER)
