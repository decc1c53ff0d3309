"""The pipeline options a job runs with on this worker: the worker's own defaults
(``SHOPFOCUS_PIPELINE_DEFAULTS``: a GPU worker's ASR backend and device), then the job's."""

from __future__ import annotations

import dataclasses

from django.conf import settings

from .models import Job


def default_pipeline_options():
    """The options a job without options of its own runs with on this worker."""
    return _options({})


def pipeline_options(job: Job):
    return _options(job.options or {})


def _options(job_options: dict):
    from ml.pipeline import PipelineOptions

    known = {f.name for f in dataclasses.fields(PipelineOptions)}
    # the worker's own defaults (a GPU worker: openai-whisper on cuda), then the job's options
    opts = {k: v for k, v in {**settings.SHOPFOCUS_PIPELINE_DEFAULTS, **job_options}.items() if k in known}
    if "modalities" in opts:
        opts["modalities"] = tuple(opts["modalities"])
    return PipelineOptions(**opts)
