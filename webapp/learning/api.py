"""What a shop learned, in the API (DRF): its refits, each a version with its metrics on the
held-back corrections, and the rollback.

- ``GET /api/refits/?shop=<slug>``: the versions, newest first (members of the shop);
- ``POST /api/refits/{id}/activate/``: the shop's runs use this version from their next job on
  (rolling back or forward; 409 when it has no fitted model);
- ``POST /api/refits/{id}/deactivate/``: back to the packaged model (nothing active).
Both actions are for the shop's admins; every change goes through ``webapp.learning.services``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from webapp import filters

from . import services
from .models import Refit


class RefitSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="pk", read_only=True)
    shop = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Refit
        fields = ["id", "version", "shop", "status", "message", "active", "improved", "before", "after",
                  "n_examples", "n_videos", "n_train", "n_held", "base", "created", "started_at", "finished_at",
                  "activated_at"]
        read_only_fields = fields


class RefitErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    refit = RefitSerializer()


class RefitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RefitSerializer
    filterset_class = filters.RefitFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return Refit.objects.visible_to(self.request.user).select_related("shop").order_by("-pk")

    def _manageable(self, request):
        row = self.get_object()
        if not row.shop.can_manage(request.user):
            raise PermissionDenied("only the shop's admins change which model its runs use")
        return row

    @extend_schema(request=None, responses={200: RefitSerializer, 409: OpenApiResponse(
        RefitErrorSerializer, description="This refit has no fitted model (it failed, or had too few examples).")},
        description="The shop's next runs use this version (a rollback when it is older than the active one).")
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        row = self._manageable(request)
        try:
            row = services.activate(row.pk)
        except services.CannotActivate as e:
            return Response({"detail": str(e), "refit": RefitSerializer(row).data}, status=status.HTTP_409_CONFLICT)
        return Response(RefitSerializer(row).data)

    @extend_schema(request=None, responses={200: RefitSerializer},
                   description="Back to the packaged model: no refit of the shop is active.")
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        row = self._manageable(request)
        services.deactivate(row.shop_id)
        row.refresh_from_db()
        return Response(RefitSerializer(row).data)


def register(router) -> None:
    router.register("refits", RefitViewSet, basename="refit")
