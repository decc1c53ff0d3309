"""The review timeline of a live session grows while the stream runs (issue 14, part 3): intervals
the live worker stores appear on a page that is already open, without a reload, while the job is
still running. The whole path from a real publisher is test_live_stream.py."""

from __future__ import annotations

import pytest

from webapp.review.models import Interval

from .test_timeline import open_timeline

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_open_timeline_of_a_live_session_shows_each_interval_as_it_is_stored(world, login):
    from django.utils import timezone

    from webapp.live.models import LiveSession
    from webapp.videos.models import Job

    job = Job.objects.create(video=world.video, status=Job.Status.RUNNING, stage="following the stream", queue="live",
                             started_at=timezone.now(), heartbeat_at=timezone.now())
    LiveSession.objects.create(shop=world.shop, title="Morning show", video=world.video, job=job,
                               state=LiveSession.State.LIVE)
    s = login(world.personas.reviewer)
    open_timeline(s, world.video)
    s.page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    n = len(world.intervals())
    product = world.main().product
    for k in (1, 2):  # two intervals closing one after the other, as a follower stores them
        Interval.objects.create(video=world.video, product=product, start_s=0.1 * k, end_s=0.1 * k + 0.05,
                                score=0.9, job=job)
        s.page.wait_for_function(f"window.__rv.intervals.size === {n + k}", timeout=30000)
    assert s.page.evaluate("window.__sameDocument") is True
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING  # grown during the stream, not at its end
