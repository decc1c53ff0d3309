"""The interval API (DRF): one serializer for an interval, one 409 shape, all in the OpenAPI schema.

- ``/api/intervals/`` list (``?video=``), retrieve, create, PATCH (only the fields sent, on top of
  ``version``), DELETE (``?version=``), and the actions ``split``, ``merge`` and ``bulk-accept``
  (``dry_run`` says how many it would change, for the confirmation);
- ``/api/videos/{id}/timeline|curves|evidence/`` and ``export/{csv,json,vtt}/``: what the review
  page draws, and the exports;
- ``/api/corrections/?video=`` the audit log (the history panel).

A stale ``version`` answers 409 ``{"detail", "current"}`` where ``current`` is the interval as it
is now (null when deleted), so a client can re-apply only the person's changed fields. Every write
goes through ``webapp.review.services``; these views parse, authorise and serialise."""

from __future__ import annotations

import gzip

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.gzip import gzip_page
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from webapp import filters
from webapp.catalog.models import Product
from webapp.videos.models import Video

from . import artefacts, services
from .models import Correction, Interval, threshold_of


# --------------------------------------------------------------------------- serializers
def IdField(**kwargs):  # noqa: N802 - a field factory: a database id in PostgreSQL's bigint range
    return serializers.IntegerField(min_value=1, max_value=filters.MAX_ID, **kwargs)


class IntervalSerializer(serializers.ModelSerializer):
    """An interval, as every endpoint returns it."""

    product_id = serializers.CharField(source="product.product_id", read_only=True)
    product_title = serializers.CharField(source="product.title", read_only=True)
    confirmed = serializers.BooleanField(source="is_confirmed", read_only=True,
                                         help_text="Accepted, edited, relabelled, merged or added by a person.")

    class Meta:
        model = Interval
        fields = ["id", "video", "product", "product_id", "product_title", "start_s", "end_s", "score", "evidence",
                  "status", "origin", "confirmed", "version", "job", "created", "updated"]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    current = IntervalSerializer(allow_null=True, help_text="The interval as it is now (null: it was deleted).")


class IntervalPatchSerializer(serializers.Serializer):
    """Only the fields sent are applied; times must be finite."""

    version = serializers.IntegerField(min_value=1, max_value=filters.MAX_ID,
                                       help_text="The version the change is based on; stale -> 409.")
    start_s = serializers.FloatField(required=False, min_value=0)
    end_s = serializers.FloatField(required=False, min_value=0)
    status = serializers.ChoiceField(choices=Interval.Status.choices, required=False)
    product = IdField(required=False, help_text="Product pk (same shop).")
    product_id = serializers.CharField(required=False, max_length=200, help_text="Or the seller's product id.")
    action = serializers.ChoiceField(choices=Correction.Action.choices, required=False,
                                     help_text="Name recorded in the audit log (e.g. set start).")


class IntervalCreateSerializer(serializers.Serializer):
    video = IdField()
    product = IdField(required=False)
    product_id = serializers.CharField(required=False, max_length=200)
    start_s = serializers.FloatField(min_value=0)
    end_s = serializers.FloatField(min_value=0)
    status = serializers.ChoiceField(choices=Interval.Status.choices, default=Interval.Status.ACCEPTED)
    action = serializers.ChoiceField(choices=Correction.Action.choices, default=Correction.Action.CREATE)

    def validate(self, data):
        if "product" not in data and "product_id" not in data:
            raise ValidationError({"product": "name the product: product (pk) or product_id"})
        return data


class SplitSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=filters.MAX_ID)
    at = serializers.FloatField(min_value=0, help_text="Where the interval ends; a new one covers the rest.")


class MergeSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=filters.MAX_ID)
    other = IdField(help_text="The interval to absorb (deleted).")
    other_version = serializers.IntegerField(min_value=1, max_value=filters.MAX_ID)


class BulkAcceptSerializer(serializers.Serializer):
    video = IdField()
    min_score = serializers.FloatField(min_value=0, max_value=1)
    ids = serializers.ListField(child=IdField(), required=False, max_length=100_000,
                                help_text="Only these intervals (e.g. the lanes shown).")
    dry_run = serializers.BooleanField(default=False, help_text="Change nothing; say how many would change.")


class BulkAcceptResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many proposals are (or, with dry_run, would be) accepted.")
    dry_run = serializers.BooleanField()
    intervals = IntervalSerializer(many=True)
    skipped = serializers.ListField(child=serializers.IntegerField(), help_text="Changed elsewhere meanwhile.")


class SplitResultSerializer(serializers.Serializer):
    intervals = IntervalSerializer(many=True)


class MergeResultSerializer(serializers.Serializer):
    interval = IntervalSerializer()
    deleted = serializers.ListField(child=serializers.IntegerField())


class LaneProductSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name", default="", read_only=True)
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "product_id", "title", "description", "category", "thumbnail"]

    def get_thumbnail(self, product) -> str | None:
        images = list(product.images.all()[:1])
        return images[0].image.url if images else None


class TimelineVideoSerializer(serializers.ModelSerializer):
    url = serializers.FileField(source="file", read_only=True, use_url=True)

    class Meta:
        model = Video
        fields = ["id", "title", "duration_s", "fps", "width", "height", "url"]


class TimelineSerializer(serializers.Serializer):
    video = TimelineVideoSerializer()
    can_review = serializers.BooleanField()
    threshold = serializers.FloatField(help_text="The job's calibrated threshold: proposals at or above it are "
                                                 "published by default.")
    products = LaneProductSerializer(many=True, help_text="Every product of the shop's list.")
    intervals = IntervalSerializer(many=True)
    job = serializers.DictField(allow_null=True, help_text="The latest job (as /jobs/{id}/status.json).")


class CorrectionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", default=None, read_only=True)

    class Meta:
        model = Correction
        fields = ["id", "interval", "video", "user", "action", "before", "after", "created"]


CurvesSerializer = inline_serializer("Curves", {
    "times": serializers.ListField(child=serializers.FloatField()),
    "step_s": serializers.FloatField(),
    "fused_pct": serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()),
                                       help_text="product_id -> fused score in integer percent, per time"),
})
EvidenceSerializer = inline_serializer("Evidence", {
    "times": serializers.ListField(child=serializers.FloatField()),
    "modalities": serializers.DictField(help_text="modality -> product_id -> score per time"),
    "transcript": serializers.ListField(child=serializers.ListField(), help_text="[start, end, word]"),
    "screen_text": serializers.ListField(child=serializers.ListField(), help_text="[time, text]"),
    "comments": serializers.ListField(child=serializers.ListField(), help_text="[time, user, text]"),
    "boxes": serializers.ListField(child=serializers.ListField(), help_text="[t, x0, y0, x1, y1, track] in 0..1"),
    "shots": serializers.ListField(),
})
ExportJsonSerializer = inline_serializer("IntervalsExport", {
    "video": serializers.CharField(help_text="The uploaded file's name."),
    "video_title": serializers.CharField(),
    "video_id": serializers.IntegerField(),
    "duration_s": serializers.FloatField(),
    "threshold": serializers.FloatField(),
    "intervals": inline_serializer("ExportedInterval", {
        "product_id": serializers.CharField(), "title": serializers.CharField(),
        "start_s": serializers.FloatField(), "end_s": serializers.FloatField(), "score": serializers.FloatField(),
        "status": serializers.ChoiceField(choices=Interval.Status.choices),
        "origin": serializers.ChoiceField(choices=Interval.Origin.choices), "evidence": serializers.DictField(),
    }, many=True),
    "timings_s": serializers.DictField(child=serializers.FloatField()),
})


# --------------------------------------------------------------------------- schema helpers
def _errors(*codes, ok=None) -> dict:
    text = {400: "Invalid input: the fields at fault, each with a reason.",
            403: "Not allowed: only the shop's reviewers and admins edit intervals.",
            404: "No such object in your shops.",
            409: "The interval changed since your version: `current` is how it is now."}
    out = dict(ok or {})
    for code in codes:
        out[code] = OpenApiResponse(ConflictSerializer if code == 409 else ErrorSerializer, description=text[code])
    return out


def int_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError({name: f"{name} must be a whole number, not {value[:40]!r}"}) from None


class ExportQuerySerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=Interval.Status.choices, required=False,
                                             help_text="Only these statuses (default: the published set, confirmed "
                                                       "intervals plus proposals at or above the job's threshold).")


class CSVRenderer(BaseRenderer):
    media_type, format, charset = "text/csv", "csv", "utf-8"


class VTTRenderer(BaseRenderer):
    media_type, format, charset = "text/vtt", "vtt", "utf-8"


class ReviewErrors:
    """Maps the services' exceptions onto the API's shapes: Conflict 409, EditError 400."""

    def handle_exception(self, exc):
        if isinstance(exc, services.Conflict):
            current = IntervalSerializer(exc.current).data if exc.current is not None else None
            return Response({"detail": str(exc), "current": current}, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, services.EditError):
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        # The export's CSV/VTT renderers render text only: errors and OPTIONS answers are JSON.
        if isinstance(response, Response) and isinstance(response.data, (dict, list)) \
                and not isinstance(getattr(request, "accepted_renderer", None), JSONRenderer):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    def require_reviewer(self, shop):
        if not shop.can_review(self.request.user):
            raise PermissionDenied("only reviewers and admins of this shop edit intervals")


def _valid(serializer_class, data) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return dict(s.validated_data)


# --------------------------------------------------------------------------- intervals
class IntervalViewSet(ReviewErrors, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reviewers and admins edit; sellers read."""

    serializer_class = IntervalSerializer
    filterset_class = filters.IntervalFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return Interval.objects.visible_to(self.request.user).select_related("product", "video__shop")

    @extend_schema(responses=_errors(400, 403, ok={200: IntervalSerializer(many=True)}))
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=_errors(403, 404, ok={200: IntervalSerializer}))
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    def _editable(self) -> Interval:
        iv = self.get_object()
        self.require_reviewer(iv.video.shop)
        return iv

    @extend_schema(request=IntervalPatchSerializer, responses=_errors(400, 403, 404, 409, ok={200: IntervalSerializer}),
                   description="Applies only the fields sent, if `version` is current. Moving or relabelling a "
                               "proposal makes it `edited`. Every change is recorded as a correction.")
    def partial_update(self, request, pk=None):
        iv = self._editable()
        changes = _valid(IntervalPatchSerializer, request.data)
        version = changes.pop("version")
        return Response(IntervalSerializer(services.update_interval(iv.pk, request.user, changes, version)).data)

    @extend_schema(request=IntervalCreateSerializer, responses=_errors(400, 403, 404, ok={201: IntervalSerializer}),
                   description="A person adds an interval (origin person, accepted unless told otherwise).")
    def create(self, request):
        d = _valid(IntervalCreateSerializer, request.data)
        video = get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=d["video"])
        self.require_reviewer(video.shop)
        iv = services.create_interval(video, request.user, d.get("product", d.get("product_id")),
                                      d["start_s"], d["end_s"], d["status"], d["action"])
        return Response(IntervalSerializer(iv).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("version", int, required=True)],
                   responses=_errors(400, 403, 404, 409, ok={204: None}))
    def destroy(self, request, pk=None):
        iv = self._editable()
        version = int_param(request, "version")
        if version is None:
            raise ValidationError({"version": "say which version you delete: ?version="})
        services.delete_interval(iv.pk, request.user, version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=SplitSerializer, responses=_errors(400, 403, 404, 409, ok={200: SplitResultSerializer}))
    @action(detail=True, methods=["post"])
    def split(self, request, pk=None):
        """This interval ends at ``at``; a new one (same product, score and evidence) covers the rest."""
        iv = self._editable()
        d = _valid(SplitSerializer, request.data)
        first, second = services.split_interval(iv.pk, request.user, d["at"], d["version"])
        return Response({"intervals": IntervalSerializer([first, second], many=True).data})

    @extend_schema(request=MergeSerializer, responses=_errors(400, 403, 404, 409, ok={200: MergeResultSerializer}))
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """This interval grows to cover ``other``, which is deleted."""
        iv = self._editable()
        d = _valid(MergeSerializer, request.data)
        get_object_or_404(self.get_queryset(), pk=d["other"])
        merged = services.merge_intervals(iv.pk, d["other"], request.user, d["version"], d["other_version"])
        return Response({"interval": IntervalSerializer(merged).data, "deleted": [d["other"]]})

    @extend_schema(request=BulkAcceptSerializer, responses=_errors(400, 403, 404, ok={200: BulkAcceptResultSerializer}),
                   description="Accept the video's proposals scoring at least `min_score` (optionally only `ids`), "
                               "each at its own version. `dry_run` changes nothing and says how many it would.")
    @action(detail=False, methods=["post"], url_path="bulk-accept")
    def bulk_accept(self, request):
        d = _valid(BulkAcceptSerializer, request.data)
        video = get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=d["video"])
        self.require_reviewer(video.shop)
        if d["dry_run"]:
            qs = services.proposals_to_accept(video, d["min_score"], d.get("ids"))
            return Response({"count": qs.count(), "dry_run": True, "intervals": [], "skipped": []})
        accepted, skipped = services.bulk_accept(video, request.user, d["min_score"], d.get("ids"))
        return Response({"count": len(accepted), "dry_run": False,
                         "intervals": IntervalSerializer(accepted, many=True).data, "skipped": skipped})


# --------------------------------------------------------------------------- per video
class VideoReviewViewSet(ReviewErrors, viewsets.GenericViewSet):
    """What the review page reads for one video, and the exports."""

    serializer_class = TimelineSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return Video.objects.visible_to(self.request.user).select_related("shop")

    @extend_schema(responses=_errors(403, 404, ok={200: TimelineSerializer}))
    @action(detail=True, methods=["get"])
    @method_decorator(gzip_page)  # 1,000 intervals and 300 products: about a tenth of the bytes
    def timeline(self, request, pk=None):
        """What the timeline draws first: video, every product, intervals, threshold, latest job."""
        video = self.get_object()
        job = video.latest_job
        products = (Product.objects.filter(shop_id=video.shop_id).select_related("category")
                    .prefetch_related("images").order_by("product_id"))
        ivs = Interval.objects.filter(video=video).select_related("product").order_by("start_s", "end_s", "pk")
        return Response({
            "video": TimelineVideoSerializer(video, context={"request": request}).data,  # url: absolute
            "can_review": video.shop.can_review(request.user),
            "threshold": threshold_of(video),
            "products": LaneProductSerializer(products, many=True).data,
            "intervals": IntervalSerializer(ivs, many=True).data,
            "job": job.to_dict() if job else None,
        })

    @extend_schema(responses=_errors(403, 404, ok={200: CurvesSerializer}))
    @action(detail=True, methods=["get"])
    def curves(self, request, pk=None):
        """The fused score curves as integer percent, pre-compressed and cached per job."""
        video = self.get_object()
        path = artefacts.compact_curves_path(video)
        if path is None:
            return Response({"times": [], "step_s": 0, "fused_pct": {}})
        with open(path, "rb") as f:
            body = f.read()
        if "gzip" in request.headers.get("accept-encoding", ""):
            resp = HttpResponse(body, content_type="application/json")
            resp["Content-Encoding"] = "gzip"
        else:
            resp = HttpResponse(gzip.decompress(body), content_type="application/json")
        resp["Vary"] = "Accept-Encoding"
        resp["Cache-Control"] = "private, max-age=60"
        return resp

    @extend_schema(responses=_errors(403, 404, ok={200: EvidenceSerializer}))
    @action(detail=True, methods=["get"])
    @method_decorator(gzip_page)
    def evidence(self, request, pk=None):
        """Modality curves, transcript, screen text, comments and tracklet boxes."""
        return Response(artefacts.evidence(self.get_object()))

    @extend_schema(parameters=[ExportQuerySerializer], responses=_errors(400, 403, 404, ok={
        (200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): ExportJsonSerializer,
        (200, "text/vtt"): OpenApiTypes.STR}),
        description="CSV, JSON (the CLI's result.json schema plus status, origin and title) or WebVTT "
                    "chapters (never overlapping) of the published intervals.")
    @action(detail=True, methods=["get"], url_path=r"export/(?P<fmt>csv|json|vtt)",
            renderer_classes=[JSONRenderer, CSVRenderer, VTTRenderer])
    def export(self, request, pk=None, fmt=None):
        video = self.get_object()
        query = _valid(ExportQuerySerializer, request.query_params)
        return services.export_response(video, fmt, sorted(query.get("status", ())))


class CorrectionViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log, newest first: what the history panel lists."""

    serializer_class = CorrectionSerializer
    filterset_class = filters.CorrectionFilter

    @extend_schema(responses=_errors(400, 403, ok={200: CorrectionSerializer(many=True)}),
                   description="Newest first, paginated (`limit`, at most 1000, and `offset`).")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=_errors(403, 404, ok={200: CorrectionSerializer}))
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    def get_queryset(self):
        return (Correction.objects.filter(video__in=Video.objects.visible_to(self.request.user))
                .select_related("user").order_by("-created", "-pk"))



def register(router) -> None:
    """The review surface on the platform's router (webapp/api.py)."""
    router.register("intervals", IntervalViewSet, basename="interval")
    router.register("videos", VideoReviewViewSet, basename="video-review")
    router.register("corrections", CorrectionViewSet, basename="correction")
