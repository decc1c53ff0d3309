"""Learning from reviews, per shop: examples from the review services, views harvested from
reviewed videos, versioned refits, and the memory a run is given. The webapp only stores,
schedules and shows: every crop, vector and fit comes from ``ml.adapt`` (in the tasks).

- ``record_example(interval, user, action)``: called by ``webapp.review.services`` after every
  change a person makes (the one place examples are written), then a harvest of that video is
  scheduled on commit, debounced: one QUEUED ``Harvest`` per video, sent with a countdown of
  ``SHOPFOCUS_LEARN_DELAY_S``, so a review session's many edits make one harvest.
- ``harvest(harvest_id)``: crops of the video's new or changed examples
  (``ml.adapt.harvest_views``), stored as ``LearnedView``; a crop an admin removed is not added
  back. Then, when the shop has ``ml.adapt.MIN_EXAMPLES`` examples new since its last refit, a
  refit is queued.
- ``refit(refit_id)``: ``ml.adapt.refit`` on the shop's examples with each video's full score
  curves (curves.npz of its latest run); stored always, activated only when it improved.
- ``activate`` / ``deactivate``: roll the shop to any fitted version, or back to the packaged model.
- ``shop_memory(shop_id)``: the ``ml.adapt.ShopMemory`` of the shop's active views (each with the
  threshold measured at its harvest) and active refit, with the version string the job records
  (``""``: nothing learned, memory None). Uploads, split jobs and live sessions all get it here."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from webapp.review.models import Interval
from webapp.videos.lifecycle import job_queue

from .models import NO_EFFECT_THRESHOLD, Harvest, LearnedView, Refit, ShopExample

log = logging.getLogger(__name__)

HARVEST_TASK = "webapp.learning.tasks.harvest_video"
REFIT_TASK = "webapp.learning.tasks.refit_shop"
EVIDENCE_KEYS = ("boxes", "shots", "tracklets", "transcript", "screen_text")
CURVES_ARTEFACT = "curves_npz"  # the job's full-resolution curves (videos.artefacts)
REMOVED_NEAR_S = 0.5  # a new crop this close to a removed view of the same product is not added


class LearningError(Exception):
    """What a harvest or a refit cannot do, in words an admin can act on."""


# --------------------------------------------------------------------------- examples
def label_of(iv: Interval) -> str | None:
    """confirmed, rejected, or None (an untouched proposal is no example)."""
    if iv.is_confirmed:
        return ShopExample.Label.CONFIRMED
    if iv.status == Interval.Status.REJECTED:
        return ShopExample.Label.REJECTED
    return None


def record_example(iv: Interval, user, action: str, correction=None) -> ShopExample | None:
    """The interval as it is now becomes (or stops being) its shop's example; a harvest of the
    video is scheduled. ``iv`` must be fresh from the database (version, status, product)."""
    label = label_of(iv)
    if label is None:
        ShopExample.objects.filter(interval_id=iv.pk).delete()
        return None
    video = iv.video
    job_id = iv.job_id
    if job_id is None:  # a person's own interval: read against the video's latest run
        latest = video.latest_succeeded_job
        job_id = latest.pk if latest else None
    user = user if user is not None and getattr(user, "is_authenticated", False) else None
    example, _ = ShopExample.objects.update_or_create(interval_id=iv.pk, defaults=dict(
        shop_id=video.shop_id, product_id=iv.product_id, video_id=video.pk, job_id=job_id, label=label,
        start_s=iv.start_s, end_s=iv.end_s, action=action, correction=correction, user=user,
        interval_version=iv.version))
    schedule_harvest(video.pk)
    return example


# --------------------------------------------------------------------------- scheduling
class _Enqueue:
    """The on_commit callback; one per video per transaction (a bulk accept changes many rows)."""

    def __init__(self, video_id: int):
        self.video_id = video_id

    def __call__(self):
        enqueue_harvest(self.video_id, countdown=settings.SHOPFOCUS_LEARN_DELAY_S)


def schedule_harvest(video_id: int) -> None:
    if not settings.SHOPFOCUS_LEARN_AUTO:
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(isinstance(f, _Enqueue) and f.video_id == video_id
                                    for _, f, *_ in conn.run_on_commit):
        return
    transaction.on_commit(_Enqueue(video_id))


def _send(task: str, row_id: int, countdown: float | None = None) -> None:
    from celery import current_app as app

    try:
        if app.conf.task_always_eager:
            app.tasks[task].apply(args=[row_id])
        else:
            app.send_task(task, args=[row_id], queue=job_queue(), countdown=countdown or None,
                          retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5})
    except Exception as exc:  # the broker is away: the row stays QUEUED; the next review change resends
        log.warning("%s %s: the broker refused the message (%s)", task, row_id, exc)


def enqueue_harvest(video_id: int, user=None, countdown: float | None = None) -> Harvest | None:
    """A QUEUED harvest of the video (the waiting one if there is one), sent to the workers."""
    from webapp.videos.models import Video

    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        return None
    try:
        with transaction.atomic():
            row = Harvest.objects.create(shop_id=video.shop_id, video=video, requested_by=_person(user))
    except IntegrityError:  # one is waiting: it reads the examples as they are when it runs
        return Harvest.objects.filter(video_id=video_id, status=Harvest.Status.QUEUED).first()
    _send(HARVEST_TASK, row.pk, countdown)
    return row


def enqueue_refit(shop_id: int, user=None) -> Refit:
    """A QUEUED refit of the shop (the waiting one if there is one), sent to the workers."""
    try:
        with transaction.atomic():
            row = Refit.objects.create(shop_id=shop_id, requested_by=_person(user))
    except IntegrityError:
        return Refit.objects.filter(shop_id=shop_id, status=Refit.Status.QUEUED).first()
    _send(REFIT_TASK, row.pk)
    return row


def new_examples(shop_id: int) -> int:
    """Examples written since the shop's latest refit that ran (all of them without one)."""
    last = Refit.objects.filter(shop_id=shop_id).exclude(status=Refit.Status.FAILED).order_by("-pk").first()
    qs = ShopExample.objects.filter(shop_id=shop_id)
    return qs.filter(updated__gt=last.created).count() if last else qs.count()


def maybe_refit(shop_id: int) -> Refit | None:
    """Queue a refit once the shop has ``ml.adapt.MIN_EXAMPLES`` new examples."""
    from ml.adapt import MIN_EXAMPLES

    if not settings.SHOPFOCUS_LEARN_AUTO or new_examples(shop_id) < MIN_EXAMPLES:
        return None
    if Refit.objects.filter(shop_id=shop_id, status__in=(Refit.Status.QUEUED, Refit.Status.RUNNING)).exists():
        return None
    return enqueue_refit(shop_id)


def _person(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --------------------------------------------------------------------------- claiming
def _claim(model, row_id: int):
    n = model.objects.filter(pk=row_id, status=model.Status.QUEUED).update(
        status=model.Status.RUNNING, started_at=timezone.now())
    return model.objects.select_related("shop").get(pk=row_id) if n else None


def requeue(model, row_id: int) -> None:
    model.objects.filter(pk=row_id, status=model.Status.RUNNING).update(status=model.Status.QUEUED)


def fail(model, row_id: int, message: str) -> None:
    model.objects.filter(pk=row_id).exclude(status=model.Status.SUCCEEDED).update(
        status=model.Status.FAILED, message=message[:2000], finished_at=timezone.now())


# --------------------------------------------------------------------------- harvesting
def evidence_job(video):
    """The video's latest succeeded job with stored boxes (what crops are cut from)."""
    for job in video.jobs.filter(status="succeeded").order_by("-finished_at", "-pk"):
        if "boxes" in (job.artefacts or {}):
            return job
    return None


def _evidence(job):
    from ml.types import Evidence

    data = {k: job.load_artefact(k) for k in EVIDENCE_KEYS}
    return Evidence.from_json({k: v for k, v in data.items() if v is not None})


def _jpeg(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _owner(view, examples: list[ShopExample]) -> ShopExample | None:
    """The example a crop comes from: the one its ``source`` names, inside whose times it lies
    (same product and sign) — never a crop from outside the example."""
    by_interval = {e.interval_id: e for e in examples}
    named = by_interval.get((getattr(view, "source", None) or {}).get("interval"))
    for e in [named] if named is not None else examples:
        if (e.product.product_id == view.product_id and e.positive == bool(view.positive)
                and e.start_s - 1e-6 <= view.t <= e.end_s + 1e-6):
            return e
    return None


def harvest(harvest_id: int) -> Harvest | None:
    """Run one claimed harvest; None when someone else has it. Raises LearningError (the task
    records it on the row) when the video or its run cannot be read."""
    from ml.adapt import harvest_views

    from webapp.catalog.services import export_catalog_folder
    from webapp.search.services import embedder
    from webapp.videos.options import pipeline_options

    row = _claim(Harvest, harvest_id)
    if row is None:
        return None
    video = row.video
    examples = list(ShopExample.objects.filter(video=video).to_harvest().select_related("product"))
    if not examples:
        return _finish(row, 0, 0, "no new or changed reviewed interval")
    job = evidence_job(video)
    if job is None:
        raise LearningError("this video has no finished run with boxes to cut crops from: run it first")
    if not video.file or not os.path.isfile(video.file.path):
        raise LearningError(f"the file of video {video.title!r} is missing: crops cannot be cut from it")
    from ml.catalog import load_catalog
    from ml.errors import InputError

    with tempfile.TemporaryDirectory(prefix=f"shopfocus-harvest{row.pk}-") as workdir:
        try:
            catalog = load_catalog(export_catalog_folder(video.shop, os.path.join(workdir, "catalog")))
            options = pipeline_options(job)  # the frames are decoded again as the run decoded them
            views = harvest_views(video.file.path, _evidence(job), catalog, [e.to_ml() for e in examples],
                                  per_interval=settings.SHOPFOCUS_LEARN_VIEWS_PER_INTERVAL, embedder=embedder(),
                                  fps=options.fps, max_side=options.max_side)
        except InputError as e:  # a broken file, an unreadable catalog: said with names, not paths
            text = str(e).replace(video.file.path, f"video {video.title!r}")
            raise LearningError(re.sub(r"(?:/[^/\s:]+)+/([^/\s:]+)", r"\1", text)) from e
    n = _store_views(row, examples, views)
    out = _finish(row, len(examples), n, f"{n} view(s) from {len(examples)} reviewed interval(s)")
    maybe_refit(row.shop_id)
    return out


@transaction.atomic
def _store_views(row: Harvest, examples: list[ShopExample], views) -> int:
    """Replace the examples' active views with ``views``; removed ones stay removed (and a new
    crop next to one is not added back)."""
    ids = [e.pk for e in examples]
    stale = LearnedView.objects.filter(example_id__in=ids, active=True)
    files = [v.image.name for v in stale.only("image") if v.image]
    stale.delete()
    transaction.on_commit(lambda: [LearnedView.image.field.storage.delete(name) for name in files])
    removed: dict[tuple[int, bool], list[float]] = {}
    for product_id, positive, t in LearnedView.objects.filter(
            shop_id=row.shop_id, example__video_id=row.video_id, active=False).values_list("product_id", "positive", "t"):
        removed.setdefault((product_id, positive), []).append(t)
    stored = 0
    for view in views:
        example = _owner(view, examples)
        if example is None:
            continue
        if any(abs(t - view.t) < REMOVED_NEAR_S for t in removed.get((example.product_id, example.positive), [])):
            continue
        lv = LearnedView(shop_id=row.shop_id, product_id=example.product_id, example=example, harvest=row,
                         positive=example.positive, vector=np.asarray(view.vector, np.float16).tobytes(),
                         dtype="float16", t=float(view.t), box=[round(float(x), 1) for x in view.box],
                         sharpness=float(view.sharpness), area=float(view.area),
                         threshold=float(getattr(view, "threshold", NO_EFFECT_THRESHOLD)))
        if view.image is not None:
            lv.image.save(f"{example.pk}-{int(round(view.t * 1000))}.jpg", ContentFile(_jpeg(view.image)), save=False)
        lv.save()
        stored += 1
    for e in examples:
        ShopExample.objects.filter(pk=e.pk, interval_version=e.interval_version).update(
            harvested_version=e.interval_version)
    return stored


def _finish(row, n_examples: int, n_views: int, message: str):
    Harvest.objects.filter(pk=row.pk).update(status=Harvest.Status.SUCCEEDED, n_examples=n_examples,
                                             n_views=n_views, message=message, finished_at=timezone.now())
    return Harvest.objects.get(pk=row.pk)


def remove_views(views, user=None) -> int:
    """Deactivate learned views (an admin's removal): the next run does not use them."""
    return views.filter(active=True).update(active=False, removed_by=_person(user), removed_at=timezone.now())


def restore_views(views) -> int:
    return views.filter(active=False).update(active=True, removed_by=None, removed_at=None)


# --------------------------------------------------------------------------- refitting
def curves_of(job):
    """The job's full-resolution ScoreCurves (its curves.npz), or None without one."""
    rel = (job.artefacts or {}).get(CURVES_ARTEFACT)
    path = os.path.join(settings.MEDIA_ROOT, rel) if rel else None
    if not path or not os.path.isfile(path):
        return None
    from ml.pipeline import load_score_curves

    return load_score_curves(path)


def training_runs(shop_id: int) -> tuple[list, int]:
    """[(ScoreCurves, [Example])] per reviewed video with stored curves, and how many examples."""
    by_video: dict[int, list[ShopExample]] = {}
    for e in ShopExample.objects.filter(shop_id=shop_id).select_related("product", "user", "video"):
        by_video.setdefault(e.video_id, []).append(e)
    runs, n = [], 0
    for examples in by_video.values():
        video = examples[0].video
        curves = None
        for job in video.jobs.filter(status="succeeded").order_by("-finished_at", "-pk"):
            curves = curves_of(job)
            if curves is not None:
                break
        if curves is None:
            continue
        runs.append((curves, [e.to_ml() for e in examples]))
        n += len(examples)
    return runs, n


def refit(refit_id: int) -> Refit | None:
    """Run one claimed refit; the result is stored whatever it is and activated only when it
    improved on the held-back corrections."""
    from ml.adapt import refit as fit

    row = _claim(Refit, refit_id)
    if row is None:
        return None
    base = Refit.objects.filter(shop_id=row.shop_id, active=True).first()
    runs, n = training_runs(row.shop_id)
    if not runs:
        raise LearningError("the shop has no reviewed video with stored score curves yet")
    from webapp.videos.options import default_pipeline_options

    result = fit(runs, base=base.scorer if base else None, options=default_pipeline_options())
    fields = dict(scorer=result.scorer, before=result.before, after=result.after, improved=bool(result.improved),
                  n_examples=n, n_videos=len(runs), n_train=result.n_train, n_held=result.n_held, base=base,
                  status=Refit.Status.SUCCEEDED, finished_at=timezone.now())
    if result.scorer is None:
        fields["message"] = "not enough examples to fit: kept the model in use"
    elif not result.improved:
        fields["message"] = "did not improve on the held-back corrections: stored, not activated"
    Refit.objects.filter(pk=row.pk).update(**fields)
    if result.scorer is not None and result.improved:
        activate(row.pk)
        Refit.objects.filter(pk=row.pk).update(message="improved on the held-back corrections: activated")
    return Refit.objects.get(pk=row.pk)


class CannotActivate(Exception):
    pass


@transaction.atomic
def activate(refit_id: int) -> Refit:
    """Make this fitted version the shop's (rolling back or forward); the others go inactive."""
    row = Refit.objects.select_for_update().get(pk=refit_id)
    if not row.can_activate:
        raise CannotActivate(f"refit v{row.pk} has no fitted model ({row.status}): it cannot be activated")
    Refit.objects.filter(shop_id=row.shop_id, active=True).exclude(pk=row.pk).update(active=False)
    Refit.objects.filter(pk=row.pk).update(active=True, activated_at=timezone.now())
    row.refresh_from_db()
    return row


@transaction.atomic
def deactivate(shop_id: int) -> int:
    """Back to the packaged model: no refit of the shop is active."""
    return Refit.objects.filter(shop_id=shop_id, active=True).update(active=False)


# --------------------------------------------------------------------------- a run's memory
def shop_memory(shop_id: int):
    """(ShopMemory or None, version). The version names the active refit and a digest of the
    active views (a view's threshold is fixed when it is stored), so a job records exactly which
    memory it ran with; (None, "") when the shop
    has learned nothing (the pipeline then runs exactly as without memory)."""
    rows = list(LearnedView.objects.filter(shop_id=shop_id).in_use().select_related("product")
                .order_by("pk"))
    active = Refit.objects.filter(shop_id=shop_id, active=True).first()
    if not rows and active is None:
        return None, ""
    from ml.adapt import ShopMemory, View

    views = [View(product_id=r.product.product_id, positive=r.positive, t=r.t, box=tuple(r.box or (0, 0, 0, 0)),
                  vector=r.vector_array(), sharpness=r.sharpness, area=r.area, threshold=r.threshold) for r in rows]
    digest = hashlib.sha1(",".join(f"{r.pk}" for r in rows).encode()).hexdigest()[:10]
    version = f"refit-{active.pk if active else 'packaged'}+views-{len(rows)}-{digest}"
    return ShopMemory.from_views(views, scorer=active.scorer if active else None, version=version), version


def summary(shop_id: int) -> dict:
    """What the shop has learned, for the admin and the API."""
    active = Refit.objects.filter(shop_id=shop_id, active=True).first()
    views = LearnedView.objects.filter(shop_id=shop_id)
    return {"examples": ShopExample.objects.filter(shop_id=shop_id).count(),
            "rejected": ShopExample.objects.filter(shop_id=shop_id, label=ShopExample.Label.REJECTED).count(),
            "views": views.in_use().filter(positive=True).count(),
            "negatives": views.in_use().filter(positive=False).count(),
            "removed": views.filter(active=False).count(),
            "active_refit": active.pk if active else None,
            "new_examples": new_examples(shop_id)}
