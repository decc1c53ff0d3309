"""Fixtures of the HTTP tests: a processed video, and the app under gunicorn for the tests that
need a real server (load, the connection bound, uploads cut off mid-stream)."""

import uuid

import pytest
import requests

from tests.servers import Gunicorn, server_database_url, session_cookies
from webapp.videos.models import Job

WORKERS, THREADS = 2, 4


@pytest.fixture
def processed(personas, video):
    """The video with a finished job and two machine intervals, as after a pipeline run."""
    from ml.types import Interval as MlInterval
    from ml.types import LocalizationResult
    from webapp.review.services import store_machine_intervals
    from webapp.videos.models import Job

    job = Job.objects.create(video=video, status=Job.Status.SUCCEEDED, progress=1.0, stage="done")
    result = LocalizationResult("shelf.mp4", 3.0, [
        MlInterval("BAN", 0.0, 1.0, 0.9, {"visual": 0.8}),
        MlInterval("OAT", 1.0, 2.0, 0.7, {"visual": 0.6, "speech": 0.5}),
    ])
    store_machine_intervals(job, result)
    return video


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """One gunicorn for the session (as `make run` starts it); each test's rows are committed (transactional_db) so it sees them."""
    workdir = tmp_path_factory.mktemp("gunicorn")
    app_name = f"shopfocus-web-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        db_url = server_database_url()
    env = {"DATABASE_URL": db_url, "MEDIA_ROOT": workdir / "media", "FILE_UPLOAD_TEMP_DIR": workdir / "upload-tmp",
           "SHOPFOCUS_VAR_DIR": workdir / "var", "CELERY_BROKER_URL": "memory://",
           "SHOPFOCUS_DB_APPLICATION_NAME": app_name, "SHOPFOCUS_API_RATE_USER": "1000000/minute"}
    (workdir / "upload-tmp").mkdir()
    g = Gunicorn(workdir, env, workers=WORKERS, threads=THREADS)
    g.app_name, g.media_root, g.upload_tmp = app_name, workdir / "media", workdir / "upload-tmp"
    yield g
    g.stop()


@pytest.fixture
def site(transactional_db, server, personas, settings):
    """The server, a processed video with intervals, and a logged-in seller's HTTP session."""
    from ml.types import Interval as MlInterval
    from ml.types import LocalizationResult
    from webapp.catalog.services import import_catalog_folder
    from webapp.review.services import store_machine_intervals
    from webapp.videos.ingest import create_video_from_path

    from tests import media

    settings.MEDIA_ROOT = server.media_root
    folder = media.write_catalog(server.media_root.parent / "catalog-src")
    import_catalog_folder(personas.shop, folder)
    path = media.make_video(server.media_root.parent / "shelf.mp4")
    videos = [create_video_from_path(personas.shop, personas.seller, path, f"Shelf tour {i}") for i in range(8)]
    job = Job.objects.create(video=videos[0], status=Job.Status.SUCCEEDED, progress=1.0, stage="done")
    store_machine_intervals(job, LocalizationResult("shelf.mp4", 3.0, [
        MlInterval(pid, t, t + 0.8, 0.5 + 0.1 * k, {"visual": 0.6}) for k, pid in enumerate(["BAN", "OAT", "JUI"])
        for t in (0.0, 1.0, 2.0)]))
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=64))
    http.cookies.update(session_cookies(personas.seller))
    return server, http, videos[0], personas
