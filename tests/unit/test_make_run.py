"""`make run` serves the site with the production server (gunicorn, gthread workers, a database
pool bounded by the threads), never Django's threaded runserver (issue 11 row 5). The server itself
under load is tests/functional/test_server.py."""

import os
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_starts_gunicorn_with_the_projects_config_and_no_runserver():
    # -n: print the recipe, run nothing
    # (under `make test` the parent make's MAKEFLAGS/MAKELEVEL would make this a sub-make that
    # prints "Entering/Leaving directory" lines: run it as a make of its own)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    out = subprocess.run(["make", "-n", "--no-print-directory", "run"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "runserver" not in out.stdout
    assert ".venv/bin/gunicorn -c webapp/gunicorn.conf.py" in out.stdout.strip().splitlines()[-1]


def test_the_gunicorn_config_bounds_the_database_pool_by_its_threads(monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPFOCUS_WEB_", "SHOPFOCUS_DB_POOL"))}
    env["SHOPFOCUS_WEB_THREADS"] = "3"
    monkeypatch.setattr(os, "environ", env)  # the config sets the pool size in it: a copy, not ours
    conf = runpy.run_path(str(ROOT / "webapp" / "gunicorn.conf.py"))
    assert conf["worker_class"] == "gthread" and conf["threads"] == 3 and conf["wsgi_app"] == "webapp.wsgi:application"
    assert env["SHOPFOCUS_DB_POOL_MAX"] == "3"  # read by webapp.settings: a pool of at most 3 per process
