from django.contrib import admin
from django.db.models import Count, Q

from webapp.learning.admin import LearnedViewInline, note_removals

from .models import Category, Product, ProductImage


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["product_id", "title", "shop", "category", "learned_views"]
    list_filter = ["shop"]
    search_fields = ["product_id", "title"]
    inlines = [ProductImageInline, LearnedViewInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_views=Count("learned_views", filter=Q(learned_views__active=True, learned_views__positive=True)),
            n_negatives=Count("learned_views", filter=Q(learned_views__active=True, learned_views__positive=False)))

    def save_formset(self, request, form, formset, change):
        note_removals(request, formset)
        super().save_formset(request, form, formset, change)

    @admin.display(description="learned views (negatives)")
    def learned_views(self, product):
        return f"{product.n_views} ({product.n_negatives})"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "shop"]
    list_filter = ["shop"]
