"""Query-string filters of the API's list endpoints (django-filter).

Every parameter is validated by a Django form field before it reaches the database, so
``?video=abc``, ``?video=1.1`` or ``?shop=%00`` answer 400 with the parameter named
(``{"video": ["Enter a whole number."]}``) instead of a ValueError (500). drf-spectacular reads
these filtersets into the OpenAPI schema, with their types."""

from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from webapp.catalog.models import Product
from webapp.learning.models import Refit
from webapp.review.models import Correction, Interval
from webapp.videos.models import Job, Video

MAX_ID = 2**63 - 1  # PostgreSQL bigint: a larger id is a client error, not a DataError


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A database id: a whole number in the bigint range."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "string", "pattern": "^[-a-zA-Z0-9_]*$", "maxLength": 80})  # empty: no filter
class SlugFilter(django_filters.CharFilter):
    field_class = forms.SlugField  # letters, digits, - and _ only (so no NUL or control bytes)


class ShopFilterSet(django_filters.FilterSet):
    shop = SlugFilter(field_name="shop__slug", max_length=80, help_text="Only this shop's objects (its slug).")


class ProductFilter(ShopFilterSet):
    class Meta:
        model = Product
        fields = ["shop"]


class VideoFilter(ShopFilterSet):
    class Meta:
        model = Video
        fields = ["shop"]


class RefitFilter(ShopFilterSet):
    class Meta:
        model = Refit
        fields = ["shop"]


class VideoObjectsFilter(django_filters.FilterSet):
    video = IdFilter(field_name="video_id", help_text="Only this video's objects (its id).")


class JobFilter(VideoObjectsFilter):
    class Meta:
        model = Job
        fields = ["video"]


class IntervalFilter(VideoObjectsFilter):
    class Meta:
        model = Interval
        fields = ["video"]


class CorrectionFilter(VideoObjectsFilter):
    class Meta:
        model = Correction
        fields = ["video"]
