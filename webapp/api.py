"""REST API (DRF, session auth + CSRF). Querysets are always limited to the user's shops, so
another shop's objects answer 404. Interval updates carry ``version``; a stale one gets 409 with
the current interval."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from webapp import filters
from webapp.accounts.models import Shop
from webapp.catalog.models import Product
from webapp.review import services as review_services
from webapp.review.models import Correction, Interval
from webapp.videos import lifecycle
from webapp.videos.models import Comment, Job, Video


# --------------------------------------------------------------------------- serializers
class ShopSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Shop
        fields = ["id", "name", "slug", "role"]

    def get_role(self, shop) -> str | None:
        return shop.role_of(self.context["request"].user)


class ProductSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name", default="", read_only=True)
    parent_category = serializers.CharField(source="category.parent.name", default="", read_only=True)
    images = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "shop", "product_id", "title", "description", "category", "parent_category", "images"]

    def get_images(self, product) -> list[str]:
        return [img.image.url for img in product.images.all()]


class JobSerializer(serializers.ModelSerializer):
    elapsed_s = serializers.FloatField(read_only=True, allow_null=True)
    eta_s = serializers.FloatField(read_only=True, allow_null=True)
    artefacts = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "video", "status", "stage", "progress", "message", "timings", "attempts", "queue",
                  "worker", "options", "created", "started_at", "finished_at", "heartbeat_at", "elapsed_s", "eta_s",
                  "artefacts"]

    def get_artefacts(self, job) -> list[str]:
        return sorted(job.artefacts)


class VideoSerializer(serializers.ModelSerializer):
    url = serializers.FileField(source="file", read_only=True)
    latest_job = serializers.SerializerMethodField()
    duplicates = serializers.SerializerMethodField(help_text="Other videos of the shop with the same file (SHA-256).")

    class Meta:
        model = Video
        fields = ["id", "shop", "title", "url", "original_name", "duration_s", "fps", "width", "height",
                  "size_bytes", "sha256", "duplicates", "uploader", "created", "latest_job"]

    def get_duplicates(self, video) -> list[int]:
        return list(video.duplicates().values_list("pk", flat=True))

    def get_latest_job(self, video) -> dict | None:
        job = video.latest_job
        return JobSerializer(job).data if job else None


class CommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Comment
        fields = ["id", "time_s", "user", "text"]


class IntervalSerializer(serializers.ModelSerializer):
    product_id = serializers.CharField(source="product.product_id", read_only=True)
    product_title = serializers.CharField(source="product.title", read_only=True)

    class Meta:
        model = Interval
        fields = ["id", "video", "product", "product_id", "product_title", "start_s", "end_s", "score", "evidence",
                  "status", "origin", "version", "job", "created", "updated"]
        read_only_fields = ["score", "evidence", "origin", "version", "job", "created", "updated"]


class IntervalUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version the change is based on; stale -> 409.")
    start_s = serializers.FloatField(required=False)
    end_s = serializers.FloatField(required=False)
    status = serializers.ChoiceField(choices=Interval.Status.choices, required=False)
    product = serializers.IntegerField(required=False, help_text="Product pk (same shop).")
    product_id = serializers.CharField(required=False, help_text="Or the seller's product_id.")
    action = serializers.ChoiceField(choices=Correction.Action.choices, required=False,
                                     help_text="Name recorded in the audit log (e.g. split, merge).")


class IntervalCreateSerializer(serializers.Serializer):
    video = serializers.IntegerField()
    product = serializers.IntegerField(required=False)
    product_id = serializers.CharField(required=False)
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    status = serializers.ChoiceField(choices=Interval.Status.choices, default=Interval.Status.ACCEPTED)
    action = serializers.ChoiceField(choices=Correction.Action.choices, default=Correction.Action.CREATE)


class CorrectionSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", default=None, read_only=True)

    class Meta:
        model = Correction
        fields = ["id", "interval", "video", "user", "action", "before", "after", "created"]


class ExportQuerySerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=Interval.Status.choices, required=False,
                                             help_text="Only these statuses (default: all but rejected).")


class VersionQuerySerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version the deletion is based on; stale -> 409.")


# --------------------------------------------------------------------------- viewsets
class ShopViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ShopSerializer

    def get_queryset(self):
        return Shop.objects.visible_to(self.request.user)


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = filters.ProductFilter

    def get_queryset(self):
        return Product.objects.visible_to(self.request.user).select_related("category__parent").prefetch_related("images")


class VideoViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = VideoSerializer
    filterset_class = filters.VideoFilter

    def get_queryset(self):
        return Video.objects.visible_to(self.request.user).select_related("shop")

    @extend_schema(request=None, responses={201: JobSerializer, 409: JobSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        """Queue a new job; machine proposals are replaced, people's edits are kept."""
        video = self.get_object()
        if not (video.shop.can_upload(request.user) or video.shop.can_review(request.user)):
            raise PermissionDenied("sellers, reviewers and admins of the shop can re-run")
        try:
            job = lifecycle.start(video, request.user)
        except lifecycle.JobAlreadyActive as e:
            return Response(JobSerializer(e.job).data, status=status.HTTP_409_CONFLICT)
        except lifecycle.BrokerUnavailable as e:  # the job is kept and starts when the queue is back
            return Response(JobSerializer(Job.objects.get(pk=e.job_id)).data, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=CommentSerializer(many=True))
    @action(detail=True, methods=["get"])
    def comments(self, request, pk=None):
        return Response(CommentSerializer(self.get_object().comments.all(), many=True).data)

    @extend_schema(responses={200: dict},
                   description="A JSON artefact of the latest succeeded job: result, curves, or a key of "
                               "the pipeline's extras (transcript, screen_text, tracklets...).")
    @action(detail=True, methods=["get"], url_path=r"artefacts/(?P<name>[A-Za-z0-9_-]+)")
    def artefact(self, request, pk=None, name=None):
        data = self.get_object().load_artefact(name)
        if data is None:
            raise Http404
        return Response(data)

    @extend_schema(responses={(200, "text/plain"): str}, parameters=[ExportQuerySerializer])
    @action(detail=True, methods=["get"], url_path=r"export/(?P<fmt>csv|json|vtt)")
    def export(self, request, pk=None, fmt=None):
        """CSV, JSON (the CLI's result.json schema) or WebVTT chapters."""
        video = self.get_object()
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        render_fn, ctype = review_services.EXPORTS[fmt]
        resp = HttpResponse(render_fn(video, sorted(query.validated_data.get("status", ())) or None),
                            content_type=ctype)
        resp["Content-Disposition"] = f'attachment; filename="video-{video.pk}.intervals.{fmt}"'
        return resp


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = JobSerializer
    filterset_class = filters.JobFilter

    def get_queryset(self):
        return Job.objects.visible_to(self.request.user)

    @extend_schema(request=None, responses={200: JobSerializer, 409: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self.get_object()
        if not (job.video.shop.can_upload(request.user) or job.video.shop.can_review(request.user)):
            raise PermissionDenied
        ok = lifecycle.cancel(job.pk, getattr(request.user, "username", ""))
        job.refresh_from_db()
        return Response(JobSerializer(job).data, status=status.HTTP_200_OK if ok else status.HTTP_409_CONFLICT)


class IntervalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reviewers and admins edit; sellers read."""

    serializer_class = IntervalSerializer
    filterset_class = filters.IntervalFilter

    def get_queryset(self):
        return Interval.objects.visible_to(self.request.user).select_related("product")

    def _require_reviewer(self, shop):
        if not shop.can_review(self.request.user):
            raise PermissionDenied("only reviewers and admins of this shop edit intervals")

    @extend_schema(request=IntervalUpdateSerializer,
                   responses={200: IntervalSerializer, 409: IntervalSerializer, 400: dict})
    def partial_update(self, request, pk=None):
        interval = self.get_object()
        self._require_reviewer(interval.video.shop)
        data = IntervalUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        version = changes.pop("version")
        try:
            interval = review_services.update_interval(interval.pk, request.user, changes, version)
        except review_services.Conflict as e:
            return self._conflict(e)
        except review_services.EditError as e:
            raise ValidationError({"detail": str(e)})
        return Response(IntervalSerializer(interval).data)

    @extend_schema(request=IntervalCreateSerializer, responses={201: IntervalSerializer})
    def create(self, request):
        data = IntervalCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        video = get_object_or_404(Video.objects.visible_to(request.user), pk=d["video"])
        self._require_reviewer(video.shop)
        try:
            interval = review_services.create_interval(video, request.user, d.get("product", d.get("product_id")),
                                                       d["start_s"], d["end_s"], d["status"], d["action"])
        except review_services.EditError as e:
            raise ValidationError({"detail": str(e)})
        return Response(IntervalSerializer(interval).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[VersionQuerySerializer], responses={204: None, 409: IntervalSerializer})
    def destroy(self, request, pk=None):
        interval = self.get_object()
        self._require_reviewer(interval.video.shop)
        query = VersionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            review_services.delete_interval(interval.pk, request.user, query.validated_data["version"])
        except review_services.Conflict as e:
            return self._conflict(e)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _conflict(self, e):
        body = {"detail": str(e), "current": IntervalSerializer(e.current).data if e.current else None}
        return Response(body, status=status.HTTP_409_CONFLICT)


class CorrectionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CorrectionSerializer
    filterset_class = filters.CorrectionFilter

    def get_queryset(self):
        return Correction.objects.filter(video__in=Video.objects.visible_to(self.request.user)).select_related("user")


router = routers.DefaultRouter()
router.register("shops", ShopViewSet, basename="shop")
router.register("products", ProductViewSet, basename="product")
router.register("videos", VideoViewSet, basename="video")
router.register("jobs", JobViewSet, basename="job")
router.register("intervals", IntervalViewSet, basename="interval")
router.register("corrections", CorrectionViewSet, basename="correction")


def _api_auth_by_drf(patterns):
    """The API answers 403 JSON itself instead of LoginRequiredMiddleware's redirect."""
    for p in patterns:
        if hasattr(p, "callback") and p.callback is not None:
            p.callback = login_not_required(p.callback)
        elif hasattr(p, "url_patterns"):
            _api_auth_by_drf(p.url_patterns)
    return patterns


api_urlpatterns = _api_auth_by_drf(router.urls)
