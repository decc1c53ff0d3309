from django.contrib import admin

from webapp.learning.admin import learn_now

from .models import ApiToken, Membership, Shop


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]
    actions = [learn_now]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "shop", "role"]
    list_filter = ["role", "shop"]
    autocomplete_fields = ["user", "shop"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see and revoke (delete) anyone's tokens; users make their own on the API tokens page."""

    list_display = ["name", "user", "token_key", "created", "expiry"]
    search_fields = ["name", "token_key", "user__username"]
    readonly_fields = ["digest", "token_key", "user", "name", "created", "expiry"]

    def has_add_permission(self, request):
        return False
