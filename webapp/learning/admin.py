"""The admin's view of what each shop learned: a product's learned views (an inline on the
product page, with thumbnails and each view's threshold, read-only; untick "active" or use the
"remove" action to stop a view being used), the examples, the harvests, and the refits with
their before/after metrics and the "activate" (roll back or forward to this version) and "back
to the packaged model" actions."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from . import services
from .models import Harvest, LearnedView, Refit, ShopExample


def thumbnail(view: LearnedView, size: int = 72):
    if not view.image:
        return "-"
    return format_html('<img src="{}" alt="learned view at {}s" style="max-height:{}px;max-width:{}px">',
                       view.image.url, f"{view.t:.1f}", size, size * 2)


class LearnedViewInline(admin.TabularInline):
    """On the product page: every crop learned for the product. Untick "active" to remove one
    (kept, so it is not harvested again); "delete" drops the row altogether."""

    model = LearnedView
    fk_name = "product"
    extra = 0
    fields = ["crop", "positive", "t", "source", "threshold", "sharpness", "area", "active", "removed_by", "created"]
    readonly_fields = ["crop", "positive", "t", "source", "threshold", "sharpness", "area", "removed_by", "created"]
    ordering = ["-active", "-created"]
    verbose_name = "learned view"
    verbose_name_plural = "learned views (from reviewed intervals; untick active to stop using one)"

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("example__video", "removed_by")

    @admin.display(description="crop")
    def crop(self, view):
        return thumbnail(view)

    @admin.display(description="from")
    def source(self, view):
        e = view.example
        return f"{e.video.title} {e.start_s:.1f}-{e.end_s:.1f}s ({e.label}, {e.action})"


def note_removals(request, formset) -> None:
    """Views (un)ticked in the product page's inline: who removed them and when."""
    for f in formset.forms:
        view = f.instance
        if isinstance(view, LearnedView) and "active" in getattr(f, "changed_data", ()):
            view.removed_by, view.removed_at = (None, None) if view.active else (request.user, timezone.now())


@admin.action(description="Remove: stop using the selected views (next run on)")
def remove_views(modeladmin, request, queryset):
    n = services.remove_views(queryset, request.user)
    modeladmin.message_user(request, f"{n} view(s) removed; the shop's next run does not use them")


@admin.action(description="Restore the selected views")
def restore_views(modeladmin, request, queryset):
    n = services.restore_views(queryset)
    modeladmin.message_user(request, f"{n} view(s) restored")


@admin.register(LearnedView)
class LearnedViewAdmin(admin.ModelAdmin):
    list_display = ["pk", "crop", "product", "shop", "positive", "t", "threshold", "sharpness", "area", "active",
                    "created"]
    list_filter = ["shop", "positive", "active"]
    search_fields = ["product__product_id", "product__title"]
    actions = [remove_views, restore_views]
    readonly_fields = ["crop", "shop", "product", "example", "harvest", "positive", "image", "dtype", "t", "box",
                       "threshold", "sharpness", "area", "removed_by", "removed_at", "created"]
    exclude = ["vector"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="crop")
    def crop(self, view):
        return thumbnail(view, 48)

    def save_model(self, request, obj, form, change):
        if change and "active" in form.changed_data:
            obj.removed_by, obj.removed_at = (None, None) if obj.active else (request.user, timezone.now())
        super().save_model(request, obj, form, change)


@admin.register(ShopExample)
class ShopExampleAdmin(admin.ModelAdmin):
    list_display = ["pk", "shop", "product", "video", "label", "start_s", "end_s", "action", "user", "updated"]
    list_filter = ["shop", "label", "action"]
    readonly_fields = [f.name for f in ShopExample._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Harvest)
class HarvestAdmin(admin.ModelAdmin):
    list_display = ["pk", "shop", "video", "status", "n_examples", "n_views", "message", "created", "finished_at"]
    list_filter = ["status", "shop"]
    readonly_fields = [f.name for f in Harvest._meta.fields]

    def has_add_permission(self, request):
        return False


def _metric(d: dict, key: str = "f1"):
    value = (d or {}).get(key)
    return "-" if value is None else f"{value:.3f}"


@admin.action(description="Activate this version (roll back or forward to it)")
def activate(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "select exactly one refit to activate", messages.ERROR)
        return
    try:
        row = services.activate(queryset.get().pk)
    except services.CannotActivate as e:
        modeladmin.message_user(request, str(e), messages.ERROR)
        return
    modeladmin.message_user(request, f"refit v{row.pk} is now {row.shop}'s model; its next runs use it")


@admin.action(description="Deactivate: back to the packaged model for these shops")
def deactivate(modeladmin, request, queryset):
    shops = set(queryset.values_list("shop_id", flat=True))
    for shop_id in shops:
        services.deactivate(shop_id)
    modeladmin.message_user(request, f"{len(shops)} shop(s) back to the packaged model")


@admin.action(description="Refit these shops now (from all their examples)")
def refit_now(modeladmin, request, queryset):
    shops = set(queryset.values_list("shop_id", flat=True))
    for shop_id in shops:
        services.enqueue_refit(shop_id, request.user)
    modeladmin.message_user(request, f"a refit of {len(shops)} shop(s) is queued")


@admin.register(Refit)
class RefitAdmin(admin.ModelAdmin):
    list_display = ["version", "shop", "status", "active", "improved", "f1_before", "f1_after", "n_examples",
                    "n_held", "message", "created", "finished_at"]
    list_filter = ["shop", "status", "active", "improved"]
    actions = [activate, deactivate, refit_now]
    readonly_fields = [f.name for f in Refit._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="version", ordering="pk")
    def version(self, row):
        return f"v{row.pk}"

    @admin.display(description="F1 before")
    def f1_before(self, row):
        return _metric(row.before)

    @admin.display(description="F1 after")
    def f1_after(self, row):
        return _metric(row.after)


@admin.action(description="Learn from these shops' reviews now (harvest every reviewed video, then refit)")
def learn_now(modeladmin, request, queryset):
    """For ShopAdmin: harvest each reviewed video of the selected shops; the refit follows."""
    from webapp.videos.models import Video

    n = 0
    for video_id in Video.objects.filter(shop__in=queryset, examples__isnull=False).values_list("pk", flat=True).distinct():
        services.enqueue_harvest(video_id, request.user)
        n += 1
    for shop in queryset:
        services.enqueue_refit(shop.pk, request.user)
    modeladmin.message_user(request, f"{n} video(s) queued for harvesting; a refit of each shop is queued")


@admin.action(description="Learn from this review now (harvest the reviewed intervals' crops)")
def harvest_now(modeladmin, request, queryset):
    """For VideoAdmin: a harvest of each selected video, without waiting for the debounce."""
    for video in queryset:
        services.enqueue_harvest(video.pk, request.user)
    modeladmin.message_user(request, f"{queryset.count()} video(s) queued for harvesting")
