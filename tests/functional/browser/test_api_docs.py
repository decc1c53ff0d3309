"""/api/docs/ renders Swagger UI with nothing but this server (drf-spectacular-sidecar), and
links the OpenAPI schema."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_work_offline_and_link_the_schema(world, login):
    s = login(world.personas.seller)
    outside = []

    def only_this_server(route):
        if route.request.url.startswith(s.base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    s.page.route("**/*", only_this_server)
    s.page.goto(f"{s.base}/api/docs/")
    expect(s.page.locator(".swagger-ui .info .title")).to_contain_text("ShopFocus API")
    expect(s.page.locator(".swagger-ui .opblock-summary-path[data-path='/api/intervals/{id}/split/']")).to_be_visible()
    link = s.page.locator(".swagger-ui .info a[href$='/api/schema/']")
    expect(link).to_be_visible()
    assert outside == []
    s.shot("01-docs")
