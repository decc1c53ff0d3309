"""Schemathesis against a live server: every API operation in the OpenAPI schema, with generated
valid and invalid input, answers without a 5xx and as its schema says (status codes, content
types, bodies).

Bounded (SHOPFOCUS_FUZZ_EXAMPLES test cases per operation and phase, fixed seed) so CI stays
short; the run's own summary (operations, test cases, requests) goes to
test-artifacts/schemathesis.txt. Reproduce a failure with the curl line it prints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
EXAMPLES = int(os.environ.get("SHOPFOCUS_FUZZ_EXAMPLES", 15))
# 5xx and schema conformance (status codes, content types, headers, bodies); SHOPFOCUS_FUZZ_CHECKS=all
# adds schemathesis' stricter checks (e.g. that every schema-valid body is accepted).
CHECKS = os.environ.get("SHOPFOCUS_FUZZ_CHECKS", "not_a_server_error,status_code_conformance,content_type_conformance,"
                                                 "response_headers_conformance,response_schema_conformance")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fuzz_world(personas, processed, settings):
    """Objects of both shops for the generated requests to hit, and the shop admin's API token."""
    from webapp.accounts.models import ApiToken
    from webapp.review.models import Correction
    from webapp.review.services import create_interval, update_interval
    from webapp.videos.models import Job

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute"}}
    settings.DEBUG = False
    first = processed.intervals.order_by("pk").first()
    update_interval(first.pk, personas.reviewer, {"status": "accepted"}, first.version)
    banana = personas.shop.products.get(product_id="BAN")
    spare = [create_interval(processed, personas.reviewer, banana, n * 0.05, n * 0.05 + 0.5).pk for n in range(40)]
    _, token = ApiToken.objects.create(user=personas.shop_admin, name="schemathesis")
    ids = {
        "delete /api/intervals/": spare,  # DELETE may use these up; the others stay for the rest
        "/api/videos/": [processed.pk],
        "/api/intervals/": [pk for pk in processed.intervals.values_list("pk", flat=True) if pk not in spare],
        "/api/jobs/": list(Job.objects.values_list("pk", flat=True)),
        "/api/products/": list(personas.shop.products.values_list("pk", flat=True)),
        "/api/shops/": [personas.shop.pk],
        "/api/corrections/": list(Correction.objects.values_list("pk", flat=True)),
    }
    return token, ids


def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzz_world, live_server, tmp_path):
    token, ids = fuzz_world
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / "schemathesis-report.json"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.functional.schemathesis_hooks",
           "SHOPFOCUS_FUZZ_IDS": json.dumps(ids), "NO_COLOR": "1",
           "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "hypothesis")}  # not .hypothesis/ in the tree
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
           "run", f"{live_server.url}/api/schema/",
           "--header", f"Authorization: Token {token}", "--max-examples", str(EXAMPLES), "--seed", "20261201",
           "--workers", "1", "--phases", "examples,coverage,fuzzing", "--request-timeout", "60",
           "--checks", CHECKS,
           "--suppress-health-check", "all", "--no-shrink", "--report", "json", "--report-json-path", str(report)]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    (ARTIFACTS / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-3000:]
    summary = json.loads(report.read_text())
    assert summary["operations"]["tested"] == summary["operations"]["total"] >= 25
    assert summary["test_cases"]["generated"] >= 10 * summary["operations"]["total"]
    assert summary["test_cases"]["with_failures"] == 0 and summary["test_cases"]["errored"] == 0
