"""Thin Celery task: a build id in, one call, a failure recorded on the build as a message."""

import logging

from celery import Task, shared_task

from webapp.videos.db import refresh_connection
from webapp.videos.tasks import TRANSIENT_ERRORS

from . import services

log = logging.getLogger(__name__)


class IndexBuildTask(Task):
    """A failed build is marked FAILED with its reason; the shop keeps its current index. A
    transient database or broker error is retried (the build is still RUNNING then: put back)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        build_id = args[0] if args else kwargs.get("build_id")
        if build_id is None:
            return
        refresh_connection()
        log.error("index build %s failed", build_id, exc_info=(type(exc), exc, einfo.tb if einfo else None))
        services.fail(build_id, f"the index could not be built ({type(exc).__name__}: {str(exc)[:300]}); "
                                "the previous index stays in use")


@shared_task(bind=True, base=IndexBuildTask, name=services.BUILD_TASK, acks_late=True,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, max_retries=3)
def build_shop_index(self, build_id: int):
    if self.request.retries:  # a retry after a transient error: the claim was made, take it back
        services.requeue(build_id)
    row = services.build(build_id)
    return row.status if row else None
