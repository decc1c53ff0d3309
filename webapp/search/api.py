"""Box search (DRF): ``POST /api/videos/{id}/box-search/`` with the time and a box drawn on the
video answers the shop's nearest products, for a product the stream's list missed.

The video must be one of the user's shops' (another shop's answers 404); the box is in 0..1 of
the frame (x0, y0, x1, y1); 409 while the shop has no index yet (the build is started then)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ml.errors import InputError
from webapp.review.api import LaneProductSerializer
from webapp.videos.models import Video

from . import services


class BoxSearchSerializer(serializers.Serializer):
    t = serializers.FloatField(min_value=0, help_text="Time in the video, seconds.")
    box = serializers.ListField(child=serializers.FloatField(min_value=0, max_value=1), min_length=4, max_length=4,
                                help_text="x0, y0, x1, y1 as fractions of the frame's width and height.")
    k = serializers.IntegerField(min_value=1, max_value=50, default=10, help_text="How many products.")

    def validate_box(self, box):
        x0, y0, x1, y1 = box
        if not (x0 < x1 and y0 < y1):
            raise serializers.ValidationError("the box must be x0, y0, x1, y1 with x0 < x1 and y0 < y1")
        return box

    def validate(self, data):
        duration = self.context["video"].duration_s
        if duration and data["t"] > duration:
            raise serializers.ValidationError({"t": f"the video lasts {duration:.2f}s; t={data['t']:.2f} is past its end"})
        return data


class BoxMatchSerializer(LaneProductSerializer):
    score = serializers.FloatField(help_text="Cosine between the box and the product's closest photo.")

    class Meta(LaneProductSerializer.Meta):
        fields = LaneProductSerializer.Meta.fields + ["score"]


class IndexInfoSerializer(serializers.Serializer):
    version = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField(required=False, help_text="flat (exact) or ivf (approximate)")
    n_products = serializers.IntegerField(required=False)
    building = serializers.BooleanField(required=False)
    latest_build = serializers.CharField(required=False, allow_null=True)


class BoxSearchResultSerializer(serializers.Serializer):
    results = BoxMatchSerializer(many=True, help_text="Nearest first.")
    index = IndexInfoSerializer()
    timings = serializers.DictField(child=serializers.FloatField(), help_text="decode_ms, embed_ms, search_ms")


class NotReadySerializer(serializers.Serializer):
    detail = serializers.CharField()
    index = IndexInfoSerializer()


class VideoSearchViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"
    serializer_class = BoxSearchSerializer

    def get_queryset(self):
        return Video.objects.visible_to(self.request.user).select_related("shop")

    @extend_schema(request=BoxSearchSerializer, responses={
        200: BoxSearchResultSerializer,
        400: OpenApiResponse(description="A bad time or box, a box under 8x8 pixels, or a frame that cannot be decoded."),
        409: OpenApiResponse(NotReadySerializer, description="The shop's product index is not built yet (it is "
                                                             "being built: try again shortly)."),
    }, description="The shop's products nearest to what a box on the video shows at time `t` (the frame is "
                   "decoded, the box's crop embedded like catalog photos, the shop's product index queried).")
    @action(detail=True, methods=["post"], url_path="box-search")
    def box_search(self, request, pk=None):
        video = get_object_or_404(self.get_queryset(), pk=pk)
        s = BoxSearchSerializer(data=request.data, context={"video": video})
        s.is_valid(raise_exception=True)
        d = s.validated_data
        try:
            matches, info = services.nearest_products(video, d["t"], tuple(d["box"]), d["k"])
        except services.IndexNotReady:
            state = services.index_state(video.shop_id)
            return Response({"detail": "the shop's product index is being built; try again in a moment"
                             if state["building"] else "the shop has no product index yet: add products with "
                             "images to its catalog", "index": state}, status=status.HTTP_409_CONFLICT)
        except InputError as e:
            return Response({"detail": str(e)}, status=status.HTTP_400_BAD_REQUEST)
        results = []
        for product, score in matches:
            row = LaneProductSerializer(product).data
            row["score"] = round(score, 4)
            results.append(row)
        return Response({"results": results, "timings": info.pop("timings"), "index": info})


def register(router) -> None:
    router.register("videos", VideoSearchViewSet, basename="video-search")
