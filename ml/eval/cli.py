"""``python -m ml evaluate --pred result.json --truth truth.json [--curves c.npz] [--catalog DIR]
[--reliability diagram.png]``

Prints the metrics as JSON on stdout: ``operating`` (precision/recall/F1 at tIoU 0.5, proposals
per true exhibition, false-alarm rate, now-showing accuracy), ``calibration`` (ECE of the
output's scores), ``calibration_all``, ``localization`` (mAP), ``retrieval`` (with --curves). The lead's ``ml/cli.py`` dispatches to it either with
``main_evaluate(argv)`` or by calling ``add_parser(subparsers)`` (which sets ``func``).
"""

from __future__ import annotations

import argparse
import json
import sys

from .evaluate import evaluate_files


def configure(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--pred", required=True, help="result.json written by `python -m ml localize`")
    p.add_argument("--truth", required=True, help="truth.json: {intervals: [{product_id, start_s, end_s}]}")
    p.add_argument("--curves", help="curves .npz written by localize --curves (adds recall@k)")
    p.add_argument("--catalog", help="catalog folder (per-category recall uses its categories)")
    p.add_argument("--wall-s", type=float, help="measured wall time, for the overall real-time factor")
    p.add_argument("--brief", action="store_true", help="leave out per-product and per-interval detail")
    p.add_argument("--reliability", metavar="PNG",
                   help="also draw the reliability diagram of the output's interval scores (and of every proposal)")
    return p


def run(a: argparse.Namespace) -> int:
    try:
        m = evaluate_files(a.pred, a.truth, a.curves, a.catalog, a.wall_s)
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.reliability:
        from .calibration import reliability_diagram

        reliability_diagram([("intervals as output", m["calibration"]),
                             ("every proposal (with candidates)", m["calibration_all"])], a.reliability)
    if a.brief:
        m["localization"].pop("per_product", None)
        for r in [m.get("retrieval", {})] + list(m.get("retrieval_by_modality", {}).values()):
            r.pop("ranks", None)
    json.dump(m, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("evaluate", help="score result.json against truth.json (JSON metrics)")
    configure(p)
    p.set_defaults(func=run)
    return p


def main_evaluate(argv: list[str] | None = None) -> int:
    p = configure(argparse.ArgumentParser(prog="python -m ml evaluate", description=__doc__))
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main_evaluate())
