"""Every page carries a Content-Security-Policy (no inline or foreign scripts, no framing), and
`manage.py check --deploy` is clean with the settings a deployment sets."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def csp(response) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in response["Content-Security-Policy"].split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


PAGES = ["/", "/login/", "/shops/corner-grocery/", "/shops/corner-grocery/catalog/", "video", "review", "focus",
         "/api/docs/", "/api/videos/", "/admin/login/", "/account/api-tokens/", "/no-such-page/"]


def resolve(page, video):
    return {"video": f"/videos/{video.pk}/", "review": reverse("review:timeline", args=[video.pk]),
            "focus": reverse("review:focus", args=[video.pk])}.get(page, page)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_a_csp_that_allows_only_own_scripts_and_no_framing(page, personas, processed):
    response = personas.client(personas.seller).get(resolve(page, processed))
    assert response.status_code in (200, 404)
    policy = csp(response)
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and response["X-Frame-Options"] == "DENY"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert all(s == "'self'" or s.startswith("'nonce-") for s in policy["script-src"])


def test_an_inline_script_runs_only_with_the_nonce_of_its_response(personas, processed):
    response = personas.client(personas.seller).get(reverse("review:focus", args=[processed.pk]))
    nonce = next(s for s in csp(response)["script-src"] if s.startswith("'nonce-"))[len("'nonce-"):-1]
    html = response.content.decode()
    assert f'<script nonce="{nonce}">' in html and html.count("<script>") == 0


def test_the_api_docs_load_swagger_ui_from_this_site(personas):
    html = personas.client(personas.seller).get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "<script>" not in html
    script = personas.client(personas.seller).get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


DEPLOYMENT = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "shop.example.com",
              "CSRF_TRUSTED_ORIGINS": "https://shop.example.com", "SHOPFOCUS_HTTPS": "1", "SHOPFOCUS_NUM_PROXIES": "1"}


def deployment_environment(env: dict) -> dict:
    """This process's environment less what a deployment never has (the browser tests' async
    switch) and less the variables under test, plus ``env``."""
    full = {k: v for k, v in os.environ.items() if k not in DEPLOYMENT and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full.update(env)
    return full


def check_deploy(env: dict) -> subprocess.CompletedProcess:
    full = deployment_environment(env)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=full, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_deployment_settings():
    result = check_deploy(DEPLOYMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_a_deployment_forgot():
    result = check_deploy({k: v for k, v in DEPLOYMENT.items() if k not in ("SHOPFOCUS_HTTPS", "SECRET_KEY")})
    assert result.returncode != 0
    for code in ("security.W004", "security.W008", "security.W009", "security.W012", "security.W016"):
        assert code in result.stderr + result.stdout


def test_an_https_deployment_redirects_sends_hsts_and_trusts_its_proxy_for_the_scheme():
    full = deployment_environment(DEPLOYMENT)
    code = ("import json, webapp.settings as s; print(json.dumps([s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.DEBUG]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        True, True, True, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"], False]
