"""A worker process loads the pipeline's models once, when it starts (webapp.celery.preload_models),
and every job it runs after that reuses them."""

import pytest

from tests.integration.conftest import assert_succeeded, queue_job, wait_finished, wait_for

pytestmark = pytest.mark.worker


def test_a_warm_worker_loads_each_model_once_and_its_jobs_load_none(redis_broker, start_worker, personas, video):
    worker = start_worker(redis_broker, SHOPFOCUS_PRELOAD_MODELS=1)
    wait_for(lambda: "models preloaded" in worker.output(), 300, what="the worker to preload its models")

    first = wait_finished(queue_job(video), timeout=600)
    second = wait_finished(queue_job(video), timeout=600)

    assert_succeeded(first, worker)
    assert_succeeded(second, worker)
    # the image embedder, the sentence model and Whisper were each loaded once, at start
    line = next(ln for ln in worker.output().splitlines() if "models preloaded" in ln)
    assert "image_embedder x1" in line and "sentence_model x1" in line and "speech:faster-whisper x1" in line
    assert worker.output().count("models preloaded") == 1
    # neither job loaded anything: both ran on the models the process already had
    assert first.timings["model_load"] == 0.0 and second.timings["model_load"] == 0.0
    assert first.worker.split(":")[0] == second.worker.split(":")[0]


def test_a_cold_worker_loads_the_models_in_its_first_job_and_keeps_them(redis_broker, start_worker, personas, video):
    worker = start_worker(redis_broker, SHOPFOCUS_PRELOAD_MODELS=0)

    first = wait_finished(queue_job(video), timeout=600)
    second = wait_finished(queue_job(video), timeout=600)

    assert_succeeded(first, worker)
    assert_succeeded(second, worker)
    assert "models preloaded" not in worker.output()
    assert first.timings["model_load"] > 0.0
    assert second.timings["model_load"] == 0.0
