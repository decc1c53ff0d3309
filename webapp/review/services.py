"""Storing machine intervals, people's edits (optimistic locking + audit log) and exports."""

from __future__ import annotations

import io
import json

from django.db import transaction

from webapp import csvsafe
from webapp.catalog.models import Product

from .models import Correction, Interval


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
    """Replace the video's untouched machine proposals with ``result.intervals``.

    Intervals a person touched (accepted, rejected, edited, or added) stay, and a new proposal
    that mostly overlaps one of them for the same product is dropped, so re-runs never duplicate.
    Intervals for product ids unknown to the shop are ignored. Returns how many were stored."""
    video = job.video
    Interval.objects.filter(video=video).untouched_machine().delete()
    kept: dict[int, list[tuple[float, float]]] = {}
    for iv in Interval.objects.filter(video=video).only("product_id", "start_s", "end_s"):
        kept.setdefault(iv.product_id, []).append((iv.start_s, iv.end_s))
    ids = {i.product_id for i in result.intervals}
    products = {p.product_id: p for p in Product.objects.filter(shop=video.shop, product_id__in=ids)}
    duration = video.duration_s or float(result.duration_s or 0) or None
    new = []
    for i in result.intervals:
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
    Correction.objects.create(interval=iv, video=iv.video, user=_user(user), action=action,
                              before=before, after=iv.snapshot())
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
    Correction.objects.create(interval=iv, video=video, user=_user(user), action=action,
                              before=None, after=iv.snapshot())
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


# --------------------------------------------------------------------------- exports
def exported_intervals(video, statuses=None):
    """Everything but rejected intervals by default, in time order."""
    qs = Interval.objects.filter(video=video).select_related("product")
    if statuses:
        qs = qs.filter(status__in=statuses)
    else:
        qs = qs.exclude(status=Interval.Status.REJECTED)
    return list(qs.order_by("start_s", "end_s", "pk"))


def export_json(video, statuses=None) -> dict:
    """The CLI's result.json schema."""
    job = video.latest_succeeded_job
    return {"video": video.original_name or video.file.name.rsplit("/", 1)[-1],
            "duration_s": round(video.duration_s, 3),
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


def export_vtt(video, statuses=None) -> str:
    """WebVTT chapters: one cue per interval, titled with the product."""
    lines = ["WEBVTT", "Kind: chapters", ""]
    for n, iv in enumerate(exported_intervals(video, statuses), start=1):
        title = f"{iv.product.title} ({iv.product.product_id})".replace("-->", "->")
        lines += [f"{n}", f"{_vtt_time(iv.start_s)} --> {_vtt_time(iv.end_s)}", title, ""]
    return "\n".join(lines)


EXPORTS = {
    "csv": (export_csv, "text/csv; charset=utf-8"),
    "json": (lambda v, s=None: json.dumps(export_json(v, s), indent=1), "application/json"),
    "vtt": (export_vtt, "text/vtt; charset=utf-8"),
}
