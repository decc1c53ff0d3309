"""Every list endpoint of the API is paginated: ``?limit=`` (default 100, at most 1000) and
``?offset=``, answered as ``{"count", "next", "previous", "results"}`` (DRF's
LimitOffsetPagination, documented in the OpenAPI schema by drf-spectacular).

A shop's catalog can hold a million products: a list without a bound would build every row.
``limit`` keeps the meaning the corrections list gave it before pagination ("at most this
many"), and a limit or offset that is not a whole number is a 400 naming it, not a silent
default."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31 - 1


class Pagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def _whole(self, request, name: str, low: int, high: int) -> int | None:
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return None
        if not (raw.isascii() and raw.isdigit()):
            raise ValidationError({name: f"{name} must be a whole number, not {raw[:40]!r}"})
        value = int(raw)
        if value < low:
            raise ValidationError({name: f"{name} must be at least {low}"})
        return min(value, high)

    def get_limit(self, request):
        value = self._whole(request, self.limit_query_param, 1, 10**9)
        return self.default_limit if value is None else min(value, self.max_limit)

    def get_offset(self, request):
        return self._whole(request, self.offset_query_param, 0, MAX_OFFSET) or 0
