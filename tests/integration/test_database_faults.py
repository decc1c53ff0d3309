"""The database drops the worker's connections in the middle of a job (a failover, a restart,
``pg_terminate_backend``): the job carries on on new connections, in the task, in the heartbeat
thread and in the failure paths, and never fails with "internal error"."""

import os
import time

import pytest
from django.db import connection

from tests.integration.conftest import assert_succeeded, queue_job, running_in_a_stage, wait_finished, wait_for
from webapp.videos.models import Job

pytestmark = [pytest.mark.worker, pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="terminates PostgreSQL backends (CI runs it on PostgreSQL)")]


def terminate_other_connections() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cur.fetchone()[0]


def test_terminating_the_workers_connections_mid_job_lets_the_job_carry_on(
        redis_broker, start_worker, personas, long_video):
    worker = start_worker(redis_broker)
    job = queue_job(long_video)
    wait_for(running_in_a_stage(job), 300, what="the job to be in the middle of the pipeline")

    assert terminate_other_connections() >= 1  # the task's and the heartbeat thread's
    time.sleep(2.5)  # a heartbeat (every 1 s in tests) and progress reports meet the dead connections
    beat = Job.objects.get(pk=job.pk).heartbeat_at
    wait_for(lambda: Job.objects.get(pk=job.pk).heartbeat_at != beat or Job.objects.get(pk=job.pk).is_finished,
             30, what="a heartbeat on a new connection")
    terminate_other_connections()  # and once more, later in the job

    job = wait_finished(job, timeout=600)
    assert_succeeded(job, worker)
    assert "internal error" not in job.message and job.attempts == 1
    assert "database connection lost" in worker.output()
