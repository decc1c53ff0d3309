"""One long video across many workers: its job's segments (``ml.segments``) as a Celery group."""
