from django.contrib import admin

from webapp.learning.admin import harvest_now

from .models import Comment, Job, Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["title", "shop", "duration_s", "size_bytes", "uploader", "created"]
    list_filter = ["shop"]
    readonly_fields = ["sha256", "size_bytes", "duration_s", "fps", "width", "height"]
    actions = [harvest_now]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["pk", "video", "status", "stage", "progress", "attempts", "queue", "memory_version",
                    "heartbeat_at", "created"]
    list_filter = ["status", "queue"]


admin.site.register(Comment)
