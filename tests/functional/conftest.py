import pytest


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
