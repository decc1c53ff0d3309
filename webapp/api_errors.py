"""Errors Django itself answers (no URL matched, a bad request before any view, a crash) are JSON
under /api/, as every API view's own errors are; the pages keep Django's HTML error pages."""

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/") and not request.path.startswith("/api/docs/")


def bad_request(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": "Server error: the problem is logged; please report it."}, status=500)
    return defaults.server_error(request)
