"""Who a request comes from, for rate limits (DRF throttles) and login lockout (django-axes).

One answer for both: DRF's ``get_ident`` with ``NUM_PROXIES`` (``SHOPFOCUS_NUM_PROXIES``, 0 by
default: the TCP peer, ``REMOTE_ADDR``). Left at DRF's own default (None) it would use the whole
``X-Forwarded-For`` header, which any client can set to dodge its limit."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _RateFromSettings:
    """Read the rate when the throttle is made, not when DRF's module was imported, so a
    changed ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (a test, a reload) takes effect."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Anonymous clients, per client address (``SHOPFOCUS_API_RATE_ANON``)."""


class UserThrottle(_RateFromSettings, UserRateThrottle):
    """Signed-in users (session or API token), per user (``SHOPFOCUS_API_RATE_USER``)."""


def client_ip(request) -> str | None:
    """The client's address as the throttles see it (django-axes' ``AXES_CLIENT_IP_CALLABLE``)."""
    return AnonRateThrottle().get_ident(request)
