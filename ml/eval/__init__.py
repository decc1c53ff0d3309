"""Benchmark metrics: temporal localization (mAP@tIoU), retrieval recall@k, cost.

    from ml.eval import evaluate
    metrics = evaluate(result_json_dict, truth_json_dict, curves=load_curves("c.npz"))

Command line: ``python -m ml evaluate --pred result.json --truth truth.json [--curves c.npz]
[--catalog DIR]`` (implemented in ``ml.eval.cli``).
"""

from .cost import realtime_factors
from .evaluate import evaluate, evaluate_files
from .localization import THRESHOLDS, average_precision, localization_metrics, tiou
from .retrieval import curves_recall, load_curves, modality_keys, retrieval_metrics

__all__ = ["evaluate", "evaluate_files", "localization_metrics", "average_precision", "tiou",
           "THRESHOLDS", "retrieval_metrics", "curves_recall", "load_curves", "modality_keys",
           "realtime_factors"]
