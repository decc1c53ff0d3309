from django.contrib import admin

from .models import LiveSession


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    list_display = ["pk", "title", "shop", "state", "source", "slot", "recorded_s", "followed_s", "reconnects", "created"]
    list_filter = ["state", "source", "shop"]
    readonly_fields = ["stream_key", "slot", "publisher", "publisher_addr", "publisher_seen_at", "first_published_at",
                       "dropped_at", "ended_at", "recorded_s", "followed_s", "now_product", "now_version", "now_changed_at"]
    exclude = ["products"]
