from django.contrib import admin

from .models import EmbedSite, ViewerKey


@admin.register(ViewerKey)
class ViewerKeyAdmin(admin.ModelAdmin):
    list_display = ["video", "created", "created_by", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    readonly_fields = ["video", "key", "created", "created_by"]


@admin.register(EmbedSite)
class EmbedSiteAdmin(admin.ModelAdmin):
    list_display = ["origin", "shop"]
    list_filter = ["shop"]
