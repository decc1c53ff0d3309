"""Command line: ``python -m ml localize|evaluate|train``.

Exit codes: 0 success, 2 bad input or usage (one line on stderr says what and where), 1 a bug.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import InputError


def _progress_bar(enabled: bool):
    if not enabled:
        return lambda stage, fraction: None
    from tqdm import tqdm

    bar = tqdm(total=100, file=sys.stderr, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]")

    def update(stage: str, fraction: float) -> None:
        bar.set_description(f"{stage:>8}", refresh=False)
        bar.n = round(100 * fraction, 1)
        bar.refresh()
        if fraction >= 1.0:
            bar.close()

    return update


def _localize(args) -> int:
    from .pipeline import PipelineOptions, localize, save_curves

    options = PipelineOptions(fps=args.fps, modalities=tuple(m.strip() for m in args.modalities.split(",") if m.strip()),
                              visual_mode=args.visual_mode, fusion=args.fusion, asr_backend=args.asr_backend,
                              extra_visual=tuple(m.strip() for m in (args.extra_visual or "").split(",") if m.strip()),
                              asr_checkpoint=args.asr_checkpoint or "", device=args.device, step_s=args.step,
                              projection=args.projection, image_precision=args.image_precision)
    memory = None
    if args.memory:
        from .adapt import ShopMemory

        memory = ShopMemory.load(args.memory)
    if args.follow:
        from .streaming import follow

        follow(args.video, args.catalog, args.out, comments=args.comments, options=options,
               idle_timeout_s=args.idle_timeout, memory=memory)
        return 0
    result = localize(args.video, args.catalog, comments=args.comments, options=options,
                      progress=_progress_bar(not args.quiet), features_out=args.features, memory=memory)
    result.dump(args.out)
    if args.curves:
        save_curves(result.curves, args.curves)
    if args.evidence:
        with open(args.evidence, "w", encoding="utf-8") as f:
            json.dump(result.evidence.to_json(), f)
    total = result.timings_s.get("total", 0.0)
    print(f"{len(result.intervals)} intervals, {result.duration_s:.1f} s of video in {total:.1f} s "
          f"({result.duration_s / max(total, 1e-9):.1f}x real time) -> {args.out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml", description="ShopFocus: find products in shopping videos")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("localize", help="find when each catalog product is exhibited in a video")
    p.add_argument("--video", required=True, help="video file (or a growing file / stream URL with --follow)")
    p.add_argument("--catalog", required=True, help="catalog folder with products.csv")
    p.add_argument("--out", required=True, help="result.json to write")
    p.add_argument("--comments", help="comments CSV (time_s,user,text)")
    p.add_argument("--fps", type=float, default=1.0, help="frames per second sampled for vision (default 1)")
    p.add_argument("--step", type=float, default=1.0, help="time step of the score curves in seconds")
    p.add_argument("--modalities", default="visual,speech,comments",
                   help="comma-separated subset of visual,speech,screen_text,comments "
                        "(default visual,speech,comments: screen text is opt-in, see the README)")
    from .fusion import VISUAL_FEATURES

    p.add_argument("--visual-mode", default="tracklet", choices=list(VISUAL_FEATURES),
                   help="visual feature: tracklet (Vis.Trk cosine, default), image (Vis.Img), asymnet "
                        "(Video2Shop's AsymNet over tracklets) or lxmert (LXMERT-style tracklet + window text "
                        "fusion); the seed models load from ml/models/seed_*.pt")
    p.add_argument("--extra-visual", default="",
                   help="also compute these seed-model features (asymnet,lxmert) into --features (training runs)")
    p.add_argument("--fusion", default="v2", help="fusion model name in ml/models, or 'none' for features only")
    p.add_argument("--projection", default="none",
                   help="learned projection of crop and catalog vectors: packaged (ml/models/projection.npz), "
                        "none (the pretrained space) or an .npz from `python -m ml.seed.projection`")
    p.add_argument("--image-precision", default="fp32", choices=["fp32", "int8"],
                   help="crop network graph: fp32 (float, default) or int8 (quantized: about 1.24x faster end "
                        "to end on CPU, about 2 F1 points lower with the shipped fusion)")
    p.add_argument("--asr-backend", default="faster-whisper", choices=["faster-whisper", "openai-whisper"])
    p.add_argument("--asr-checkpoint", help="openai-whisper checkpoint file (GPU workers)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--curves", help="also write the score curves (.npz) for `evaluate --curves`")
    p.add_argument("--features", help="also write the features (.npz, ml.types.Features) for `train`")
    p.add_argument("--evidence", help="also write the evidence: boxes, shots, tracklets, transcript, screen text (.json)")
    p.add_argument("--follow", action="store_true", help="follow a growing file or stream; emit intervals as they close")
    p.add_argument("--idle-timeout", type=float, default=30.0, help="with --follow: stop after this long without new data")
    p.add_argument("--memory", help="a shop's learned views and refit (ml.adapt.ShopMemory .npz)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_localize)

    from .eval.cli import add_parser as add_evaluate

    add_evaluate(sub)
    from .train import add_parser as add_train

    add_train(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

