from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "webapp.segments"
    label = "segments"
    verbose_name = "job segments"
