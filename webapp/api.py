"""REST API (DRF, session auth + CSRF). Querysets are always limited to the user's shops, so
another shop's objects answer 404. The interval surface (edits with ``version``, 409 with the
current interval, timeline reads, exports, corrections) lives in ``webapp.review.api``."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from webapp import filters
from webapp.accounts.models import Shop
from webapp.catalog.models import Product
from webapp.learning import api as learning_api
from webapp.review import api as review_api
from webapp.search import api as search_api
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
                  "worker", "options", "memory_version", "created", "started_at", "finished_at", "heartbeat_at",
                  "elapsed_s", "eta_s", "artefacts"]

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


# --------------------------------------------------------------------------- viewsets
class ShopViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ShopSerializer

    def get_queryset(self):
        return Shop.objects.visible_to(self.request.user).order_by("name", "pk")


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = filters.ProductFilter

    def get_queryset(self):
        return (Product.objects.visible_to(self.request.user).select_related("category__parent")
                .prefetch_related("images").order_by("product_id", "pk"))


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

    @extend_schema(responses=CommentSerializer(many=True), description="The video's comments by time, paginated "
                   "like every list (a live stream gathers thousands).")
    @action(detail=True, methods=["get"])
    def comments(self, request, pk=None):
        page = self.paginate_queryset(self.get_object().comments.order_by("time_s", "pk"))
        return self.get_paginated_response(CommentSerializer(page, many=True).data)

    @extend_schema(responses={200: dict},
                   description="A JSON artefact of the latest succeeded job: result, curves, or a key of "
                               "the pipeline's evidence (boxes, shots, tracklets, transcript, screen_text).")
    @action(detail=True, methods=["get"], url_path=r"artefacts/(?P<name>[A-Za-z0-9_-]+)")
    def artefact(self, request, pk=None, name=None):
        data = self.get_object().load_artefact(name)
        if data is None:
            raise Http404
        return Response(data)


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


router = routers.DefaultRouter()
router.register("shops", ShopViewSet, basename="shop")
router.register("products", ProductViewSet, basename="product")
router.register("videos", VideoViewSet, basename="video")
router.register("jobs", JobViewSet, basename="job")
review_api.register(router)  # intervals, per-video review reads and exports, corrections
search_api.register(router)  # box search over the shop's product index
learning_api.register(router)  # a shop's refits: versions, rollback, back to the packaged model


def _api_auth_by_drf(patterns):
    """The API answers 403 JSON itself instead of LoginRequiredMiddleware's redirect."""
    for p in patterns:
        if hasattr(p, "callback") and p.callback is not None:
            p.callback = login_not_required(p.callback)
        elif hasattr(p, "url_patterns"):
            _api_auth_by_drf(p.url_patterns)
    return patterns


api_urlpatterns = _api_auth_by_drf(router.urls)
