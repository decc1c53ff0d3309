"""Thin Celery tasks: a harvest or refit id in, one service call, a failure recorded on its row
as a message (the worker carries on; the shop keeps what it had learned before)."""

import logging

from celery import Task, shared_task

from webapp.videos.db import refresh_connection
from webapp.videos.tasks import TRANSIENT_ERRORS

from . import services
from .models import Harvest, Refit

log = logging.getLogger(__name__)


class LearningTask(Task):
    """A failed harvest or refit is marked FAILED with its reason; LearningError is the
    expected kind (a missing video, no run to read), anything else is logged with its trace."""

    model = None
    what = ""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        row_id = args[0] if args else None
        if row_id is None:
            return
        refresh_connection()
        if isinstance(exc, services.LearningError):
            text = str(exc)
        else:
            log.error("%s %s failed", self.what, row_id, exc_info=(type(exc), exc, einfo.tb if einfo else None))
            text = f"the {self.what} failed ({type(exc).__name__}: {str(exc)[:300]})"
        services.fail(self.model, row_id, f"{text}; what the shop learned before stays in use")


class HarvestTask(LearningTask):
    model, what = Harvest, "harvest"


class RefitTask(LearningTask):
    model, what = Refit, "refit"


@shared_task(bind=True, base=HarvestTask, name=services.HARVEST_TASK, acks_late=True,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, max_retries=3)
def harvest_video(self, harvest_id: int):
    if self.request.retries:  # a retry after a transient error: the claim was made, take it back
        services.requeue(Harvest, harvest_id)
    row = services.harvest(harvest_id)
    return row.status if row else None


@shared_task(bind=True, base=RefitTask, name=services.REFIT_TASK, acks_late=True,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, max_retries=3)
def refit_shop(self, refit_id: int):
    if self.request.retries:
        services.requeue(Refit, refit_id)
    row = services.refit(refit_id)
    return row.status if row else None
