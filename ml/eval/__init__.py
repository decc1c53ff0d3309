"""Benchmark metrics: at the operating point (interval F1@0.5, proposals per true exhibition,
false alarms, now-showing accuracy, calibration ECE), temporal localization (mAP@tIoU),
retrieval recall@k, cost.

    from ml.eval import evaluate
    metrics = evaluate(result_json_dict, truth_json_dict, curves=load_curves("c.npz"))

Command line: ``python -m ml evaluate --pred result.json --truth truth.json [--curves c.npz]
[--catalog DIR]`` (implemented in ``ml.eval.cli``).
"""

from .calibration import reliability_diagram
from .cost import realtime_factors
from .evaluate import evaluate, evaluate_files, prediction_sets
from .localization import THRESHOLDS, average_precision, localization_metrics, tiou
from .operating import operating_metrics
from .retrieval import curves_recall, load_curves, modality_keys, retrieval_metrics

__all__ = ["evaluate", "evaluate_files", "prediction_sets", "operating_metrics", "reliability_diagram",
           "localization_metrics", "average_precision", "tiou",
           "THRESHOLDS", "retrieval_metrics", "curves_recall", "load_curves", "modality_keys",
           "realtime_factors"]
