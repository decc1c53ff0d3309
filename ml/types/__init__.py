"""The data that flows between stages: one dataclass per stage output.

Columns are aligned numpy arrays (as ``supervision.Detections``); every type validates its
shapes in ``__post_init__``, can be sliced with a boolean mask where that makes sense, and has
``empty()``. Stages never mutate an input object; they return new ones.

- ``media``: ``VideoInfo``, ``Frame``, ``Proposals``, ``Tracklet``, ``Shots``
- ``text``: ``Word``, ``Transcript``, ``TextEvents``
- ``catalog``: ``Product``, ``Catalog``
- ``features``: ``FeatureKey``, ``Features`` (what perception hands to scoring)
- ``evidence``: ``Boxes``, ``TrackletInfo``, ``Evidence`` (what the reviewer's panels show)
- ``scores``: ``ScoreCurves``, ``Interval``, ``LocalizationResult`` (result.json)
"""

from .catalog import Catalog, Product
from .evidence import Boxes, Evidence, TrackletInfo
from .features import FeatureKey, Features
from .media import Frame, Proposals, Shots, Tracklet, VideoInfo
from .scores import MODALITIES, Interval, LocalizationResult, ScoreCurves, options_dict
from .text import TextEvents, Transcript, Word

__all__ = ["MODALITIES", "VideoInfo", "Frame", "Proposals", "Tracklet", "Shots", "Word", "Transcript",
           "TextEvents", "Product", "Catalog", "FeatureKey", "Features", "Boxes", "TrackletInfo", "Evidence",
           "ScoreCurves", "Interval", "LocalizationResult", "options_dict"]
