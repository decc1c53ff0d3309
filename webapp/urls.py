from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from webapp.api import api_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar's static files; its script is a separate request
    # (no inline script), so the page works offline and under a strict CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(api_urlpatterns)),
    path("", include("webapp.accounts.urls")),
    path("", include("webapp.catalog.urls")),
    path("", include("webapp.videos.urls")),
    path("", include("webapp.review.page_urls")),  # review pages (their JSON: webapp.review.api)
    path("", include("webapp.live.urls")),  # issue 14: live sessions
    path("", include("webapp.embeds.urls")),  # viewer links and the sites that may embed the viewer
]

handler400 = "webapp.api_errors.bad_request"
handler404 = "webapp.api_errors.not_found"
handler500 = "webapp.api_errors.server_error"

if settings.SERVE_MEDIA:
    # Range-aware and shop-scoped (video seeking needs HTTP Range).
    from webapp.videos.views import serve_media

    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve_media, name="media"))
