"""Storing machine intervals, people's edits (optimistic locking + audit log) and exports.

Edits apply only the fields a person changed (``changes``), on top of the version they name: a
stale version raises Conflict with the interval as it is now, so the client can re-apply just
those fields on top of the other person's edit.

Every change a person makes here also rewrites the interval's training example of its shop
(``webapp.learning.services.record_example``: confirmed, rejected = hard negative, or none),
in the same transaction; a deleted interval's example goes with it (CASCADE)."""

from __future__ import annotations

import io
import json

from django.db import transaction

from webapp import csvsafe
from webapp.catalog.models import Product
from webapp.learning.services import record_example

from .models import DEFAULT_THRESHOLD, Correction, Interval


class Conflict(Exception):
    """The interval changed since the client read it; ``current`` is how it is now."""

    def __init__(self, current: Interval | None):
        self.current = current
        super().__init__("this interval was changed by someone else; reload it and apply your change again")


class EditError(ValueError):
    """A change that makes no sense (end before start, unknown product...)."""


# --------------------------------------------------------------------------- machine results
def _overlap_share(a_start, a_end, b_start, b_end) -> float:
    inter = max(0.0, min(a_end, b_end) - max(a_start, b_start))
    shortest = max(1e-9, min(a_end - a_start, b_end - b_start))
    return inter / shortest


@transaction.atomic
def store_machine_intervals(job, result) -> int:
    """Replace the video's untouched machine proposals with ``result.intervals`` (and the
    result's optional ``candidates``, proposals below its threshold), and record the result's
    calibrated ``threshold`` on the job (0.5 when the result has none).

    Intervals a person touched (accepted, rejected, edited, or added) stay, and a new proposal
    that mostly overlaps one of them for the same product is dropped, so re-runs never duplicate.
    Intervals for product ids unknown to the shop are ignored. Returns how many were stored."""
    threshold = getattr(result, "threshold", None)
    job.threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    type(job).objects.filter(pk=job.pk).update(threshold=job.threshold)
    video = job.video
    Interval.objects.filter(video=video).untouched_machine().delete()
    found = list(result.intervals) + list(getattr(result, "candidates", None) or [])
    return add_machine_intervals(job, found, float(result.duration_s or 0) or None)


@transaction.atomic
def add_machine_intervals(job, intervals, duration_s: float | None = None) -> int:
    """Add machine proposals to the job's video without replacing any (a live session's
    intervals, as they close). A proposal that mostly overlaps an interval already there for the
    same product is dropped, so an interval sent twice is stored once. Returns how many were stored."""
    video = job.video
    kept: dict[int, list[tuple[float, float]]] = {}
    for iv in Interval.objects.filter(video=video).only("product_id", "start_s", "end_s"):
        kept.setdefault(iv.product_id, []).append((iv.start_s, iv.end_s))
    ids = {i.product_id for i in intervals}
    products = {p.product_id: p for p in Product.objects.filter(shop=video.shop, product_id__in=ids)}
    duration = video.duration_s or duration_s or None
    new = []
    for i in intervals:
        product = products.get(i.product_id)
        start, end = max(0.0, float(i.start_s)), float(i.end_s)
        if duration:
            end = min(end, duration)
        if product is None or not end > start:
            continue
        if any(_overlap_share(start, end, s, e) >= 0.5 for s, e in kept.get(product.pk, [])):
            continue
        new.append(Interval(video=video, product=product, start_s=start, end_s=end, score=float(i.score),
                            evidence={k: round(float(v), 4) for k, v in (i.evidence or {}).items()},
                            status=Interval.Status.PROPOSED, origin=Interval.Origin.MACHINE, job=job))
    Interval.objects.bulk_create(new)
    return len(new)


# --------------------------------------------------------------------------- people's edits
def _product_for(video, value) -> Product:
    qs = Product.objects.filter(shop_id=video.shop_id)
    product = None
    if isinstance(value, Product):
        product = value if value.shop_id == video.shop_id else None
    elif isinstance(value, int):
        product = qs.filter(pk=value).first()
    elif value not in (None, ""):
        product = qs.filter(product_id=str(value)).first()
    if product is None:
        raise EditError(f"product {value!r} is not in this shop's catalog")
    return product


def _check_times(video, start_s: float, end_s: float) -> None:
    if start_s < 0:
        raise EditError("start_s must be 0 or more")
    if end_s <= start_s:
        raise EditError("end_s must be after start_s")
    if video.duration_s and end_s > video.duration_s + 0.5:
        raise EditError(f"end_s {end_s:.2f} is after the end of the video ({video.duration_s:.2f} s)")


@transaction.atomic
def update_interval(interval_id: int, user, changes: dict, version: int) -> Interval:
    """Apply ``changes`` (start_s, end_s, status, product / product_id) if ``version`` is current.

    Raises Conflict (with the current interval) when it is stale, EditError when the change is
    invalid. Moving or relabelling a proposal makes it ``edited``. Writes a Correction."""
    iv = Interval.objects.select_for_update().select_related("product", "video").filter(pk=interval_id).first()
    if iv is None:
        raise Conflict(None)
    if version is None or int(version) != iv.version:
        raise Conflict(iv)
    before = iv.snapshot()
    action = Correction.Action.UPDATE
    moved = relabelled = False
    if "product" in changes or "product_id" in changes:
        product = _product_for(iv.video, changes.get("product", changes.get("product_id")))
        relabelled = product.pk != iv.product_id
        iv.product = product
    start = float(changes.get("start_s", iv.start_s))
    end = float(changes.get("end_s", iv.end_s))
    _check_times(iv.video, start, end)
    moved = (start, end) != (iv.start_s, iv.end_s)
    iv.start_s, iv.end_s = start, end
    if "status" in changes:
        status = changes["status"]
        if status not in Interval.Status.values:
            raise EditError(f"status must be one of {', '.join(Interval.Status.values)}")
        iv.status = status
        if not (moved or relabelled):
            action = {Interval.Status.ACCEPTED: Correction.Action.ACCEPT,
                      Interval.Status.REJECTED: Correction.Action.REJECT}.get(status, Correction.Action.UPDATE)
    elif (moved or relabelled) and iv.status == Interval.Status.PROPOSED:
        iv.status = Interval.Status.EDITED
    if relabelled and not moved and "status" not in changes:
        action = Correction.Action.RELABEL
    if "action" in changes and changes["action"] in Correction.Action.values:
        action = changes["action"]  # the client's own name for the change (split, merge...)
    n = Interval.objects.filter(pk=iv.pk, version=iv.version).update(
        product=iv.product, start_s=iv.start_s, end_s=iv.end_s, status=iv.status, version=iv.version + 1)
    if not n:
        raise Conflict(Interval.objects.filter(pk=iv.pk).first())
    iv.refresh_from_db()
    correction = Correction.objects.create(interval=iv, video=iv.video, user=_user(user), action=action,
                                           before=before, after=iv.snapshot())
    record_example(iv, user, action, correction)
    return iv


def _user(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


@transaction.atomic
def create_interval(video, user, product, start_s: float, end_s: float,
                    status: str = Interval.Status.ACCEPTED, action: str = Correction.Action.CREATE) -> Interval:
    """A person adds an interval (origin person; accepted unless told otherwise)."""
    product = _product_for(video, product)
    start_s, end_s = float(start_s), float(end_s)
    _check_times(video, start_s, end_s)
    if status not in Interval.Status.values:
        raise EditError(f"status must be one of {', '.join(Interval.Status.values)}")
    iv = Interval.objects.create(video=video, product=product, start_s=start_s, end_s=end_s, score=1.0,
                                 status=status, origin=Interval.Origin.PERSON)
    correction = Correction.objects.create(interval=iv, video=video, user=_user(user), action=action,
                                           before=None, after=iv.snapshot())
    record_example(iv, user, action, correction)
    return iv


@transaction.atomic
def delete_interval(interval_id: int, user, version: int) -> None:
    iv = Interval.objects.select_for_update().select_related("product", "video").filter(pk=interval_id).first()
    if iv is None:
        raise Conflict(None)
    if version is None or int(version) != iv.version:
        raise Conflict(iv)
    Correction.objects.create(interval=None, video=iv.video, user=_user(user), action=Correction.Action.DELETE,
                              before=iv.snapshot(), after=None)
    iv.delete()


@transaction.atomic
def split_interval(interval_id: int, user, at: float, version: int) -> tuple[Interval, Interval]:
    """The interval ends at ``at``; a new one of the same product covers the rest. Both halves
    keep the machine's score and evidence and count as reviewed (a proposal becomes edited)."""
    iv = Interval.objects.select_related("video", "product").get(pk=interval_id)
    if not iv.start_s + 0.05 < at < iv.end_s - 0.05:
        raise EditError("the split point must be inside the interval")
    end = iv.end_s
    status = Interval.Status.EDITED if iv.status == Interval.Status.PROPOSED else iv.status
    first = update_interval(iv.pk, user, {"end_s": at, "action": Correction.Action.SPLIT}, version)
    second = create_interval(iv.video, user, iv.product, at, end, status=status, action=Correction.Action.SPLIT)
    Interval.objects.filter(pk=second.pk).update(score=iv.score, evidence=iv.evidence, origin=iv.origin, job=iv.job)
    second.refresh_from_db()
    record_example(second, user, Correction.Action.SPLIT, second.corrections.first())  # now of the machine's job
    return first, second


@transaction.atomic
def merge_intervals(interval_id: int, other_id: int, user, version: int, other_version: int) -> Interval:
    """The interval grows to cover ``other`` (same video), which is deleted. A merged proposal
    counts as reviewed (edited)."""
    iv = Interval.objects.select_related("video").get(pk=interval_id)
    other = Interval.objects.filter(pk=other_id).first()
    if other is None or other.video_id != iv.video_id or other.pk == iv.pk:
        raise EditError("merge needs another interval of the same video")
    changes = {"start_s": min(iv.start_s, other.start_s), "end_s": max(iv.end_s, other.end_s),
               "action": Correction.Action.MERGE}
    if iv.status == Interval.Status.PROPOSED:
        changes["status"] = Interval.Status.EDITED
    delete_interval(other.pk, user, other_version)
    return update_interval(iv.pk, user, changes, version)


def proposals_to_accept(video, min_score: float, ids=None):
    """The proposals a bulk accept at ``min_score`` changes (optionally only ``ids``)."""
    qs = Interval.objects.filter(video=video, status=Interval.Status.PROPOSED, score__gte=min_score)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.order_by("start_s", "pk")


def bulk_accept(video, user, min_score: float, ids=None) -> tuple[list[Interval], list[int]]:
    """Accept every proposal scoring at least ``min_score``, each at its own version, so one that
    someone else changed meanwhile is skipped (and returned), never overwritten."""
    accepted, skipped = [], []
    for iv in list(proposals_to_accept(video, min_score, ids)):
        try:
            accepted.append(update_interval(iv.pk, user, {"status": Interval.Status.ACCEPTED}, iv.version))
        except Conflict:
            skipped.append(iv.pk)
    return accepted, skipped


# --------------------------------------------------------------------------- exports
def exported_intervals(video, statuses=None):
    """The published set (confirmed + proposals at or above the threshold) unless ``statuses``."""
    return list(Interval.objects.published(video, statuses))


def export_json(video, statuses=None) -> dict:
    """The CLI's result.json schema, plus the video's title and id, the threshold, and per
    interval its status, origin and product title."""
    from .models import threshold_of

    job = video.latest_succeeded_job
    return {"video": video.original_name or video.file.name.rsplit("/", 1)[-1],
            "video_title": video.title, "video_id": video.pk,
            "duration_s": round(video.duration_s, 3),
            "threshold": threshold_of(video),
            "intervals": [iv.to_result_dict() for iv in exported_intervals(video, statuses)],
            "timings_s": job.timings if job else {}}


def export_csv(video, statuses=None) -> str:
    out = io.StringIO()
    w = csvsafe.writer(out)  # titles are the seller's text: no spreadsheet formulas
    w.writerow(["product_id", "title", "start_s", "end_s", "score", "status", "origin"])
    for iv in exported_intervals(video, statuses):
        w.writerow([iv.product.product_id, iv.product.title, f"{iv.start_s:.3f}", f"{iv.end_s:.3f}",
                    f"{iv.score:.4f}", iv.status, iv.origin])
    return out.getvalue()


def _vtt_time(t: float) -> str:
    ms = int(round(max(0.0, t) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def chapters(intervals) -> list[tuple[float, float, list]]:
    """Non-overlapping chapters ``(start, end, intervals shown)``: the timeline is cut at every
    interval boundary, and neighbouring pieces showing the same products are joined, so two
    products shown at once make one chapter naming both instead of two overlapping cues."""
    cuts = sorted({t for iv in intervals for t in (iv.start_s, iv.end_s)})
    out: list[tuple[float, float, list]] = []
    for a, b in zip(cuts, cuts[1:]):
        on = [iv for iv in intervals if iv.start_s <= a and iv.end_s >= b]
        if not on:
            continue
        names = sorted({iv.product_id for iv in on})
        if out and out[-1][1] == a and sorted({iv.product_id for iv in out[-1][2]}) == names:
            out[-1] = (out[-1][0], b, out[-1][2])
        else:
            out.append((a, b, sorted(on, key=lambda iv: (iv.start_s, iv.product.product_id))))
    return out


def export_vtt(video, statuses=None) -> str:
    """WebVTT chapters (never overlapping, see ``chapters``), titled with the products shown,
    each cue's id saying the product ids, statuses and origins it comes from."""
    lines = ["WEBVTT", "Kind: chapters", ""]
    for n, (a, b, on) in enumerate(chapters(exported_intervals(video, statuses)), start=1):
        seen, parts, ids = set(), [], []
        for iv in on:
            if iv.product_id in seen:
                continue
            seen.add(iv.product_id)
            parts.append(f"{iv.product.title} ({iv.product.product_id})")
            ids.append(f"{iv.product.product_id} {iv.status} {iv.origin}")
        title = " + ".join(parts).replace("-->", "->")
        lines += [f"{n} " + "; ".join(ids), f"{_vtt_time(a)} --> {_vtt_time(b)}", title, ""]
    return "\n".join(lines)


def export_response(video, fmt: str, statuses=None):
    """The download of one export (``fmt`` csv, json or vtt), named after the video's title.
    ``statuses``: only those (Interval.Status values); none: the published set."""
    from django.http import Http404, HttpResponse
    from django.utils.text import slugify

    if fmt not in EXPORTS:
        raise Http404("exports are csv, json or vtt")
    render_fn, ctype = EXPORTS[fmt]
    resp = HttpResponse(render_fn(video, statuses or None), content_type=ctype)
    base = slugify(video.title) or f"video-{video.pk}"
    resp["Content-Disposition"] = f'attachment; filename="{base}.intervals.{fmt}"'
    return resp


EXPORTS = {
    "csv": (export_csv, "text/csv; charset=utf-8"),
    "json": (lambda v, s=None: json.dumps(export_json(v, s), indent=1), "application/json"),
    "vtt": (export_vtt, "text/vtt; charset=utf-8"),
}
