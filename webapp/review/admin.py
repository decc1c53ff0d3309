from django.contrib import admin

from .models import Correction, Interval


@admin.register(Interval)
class IntervalAdmin(admin.ModelAdmin):
    list_display = ["video", "product", "start_s", "end_s", "score", "status", "origin", "version"]
    list_filter = ["status", "origin"]


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    list_display = ["video", "interval", "user", "action", "created"]
    list_filter = ["action"]
