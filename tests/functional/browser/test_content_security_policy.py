"""In a real browser, under the site's Content-Security-Policy: the pages' scripts still run (the
API docs render), and the viewer can be framed only by the sites the shop allows."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def collect_console(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    return messages


def framed_url(page, timeout_s: float = 15.0) -> str:
    """Where the page's one iframe ended up once it loaded: its own URL, or Chromium's error page
    when the framed site refused to be framed."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        child = [f for f in page.frames if f is not page.main_frame]
        if child and child[0].url not in ("", "about:blank"):
            return child[0].url
        page.wait_for_timeout(100)
    raise AssertionError("the iframe never loaded")


def test_the_api_docs_render_with_swagger_ui_from_this_site_and_nothing_blocked(world, login):
    s = login(world.personas.seller)
    console = collect_console(s.page)
    s.page.goto(f"{s.base}/api/docs/")
    expect(s.page.get_by_text("/api/videos/", exact=True).first).to_be_visible()
    s.shot("01-api-docs")
    assert not [m for m in console if "Content Security Policy" in m], console


@pytest.fixture
def seller_site():
    """A seller's own web site on another origin (a plain HTTP server on a free port, no CSP of
    ours), whose page frames the URL given in ?src=."""
    import html
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            src = parse_qs(urlsplit(self.path).query).get("src", [""])[0]
            body = f'<!doctype html><h1>Our shop</h1><iframe id="f" src="{html.escape(src)}" width="900" height="500"></iframe>'
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_viewer_is_framed_only_by_the_sites_the_shop_allows(world, login, seller_site):
    from urllib.parse import quote

    from webapp.embeds.services import add_site

    seller = login(world.personas.seller)
    seller.page.goto(f"{seller.base}/videos/{world.video.pk}/focus/")
    viewer_url = seller.page.locator("#embed-code").input_value().split('src="')[1].split('"')[0]
    page_url = f"{seller_site}/?src={quote(viewer_url, safe='')}"

    before = login(None)
    before.page.goto(page_url)
    assert framed_url(before.page).startswith("chrome-error://")  # refused: not an allowed site
    expect(before.page.frame_locator("#f").get_by_role("heading", name="Now showing")).to_have_count(0)

    add_site(world.shop, seller_site)
    after = login(None)
    after.page.goto(page_url)
    expect(after.page.frame_locator("#f").get_by_role("heading", name="Now showing")).to_be_visible()
    after.shot("01-viewer-framed-by-an-allowed-site")


def test_other_pages_cannot_be_framed_even_by_this_site(world, login):
    s = login(world.personas.seller)
    s.page.goto(f"{s.base}/shops/{world.shop.slug}/")
    s.page.set_content(f'<iframe id="f" src="{s.base}/videos/{world.video.pk}/focus/"></iframe>')
    assert framed_url(s.page).startswith("chrome-error://")
    expect(s.page.frame_locator("#f").locator("#embed-code")).to_have_count(0)
