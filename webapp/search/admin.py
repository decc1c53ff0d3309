from django.contrib import admin

from .models import IndexBuild


@admin.register(IndexBuild)
class IndexBuildAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "status", "kind", "n_products", "n_vectors", "index_bytes", "published", "created")
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in IndexBuild._meta.fields]
