"""`convstudio fit`: learn one conv layer's weights and bias by gradient descent, so that the
pipeline's last output matches a target (docs/cli.md, "fit"; the loss in docs/semantics.md,
"Learning a kernel").

Exit codes as for the other subcommands: 0 success, 1 the input or the target cannot be read,
2 usage or pipeline errors (including a target of the wrong shape and a learning rate so large
that the loss stops being finite).
"""

from __future__ import annotations

import math
from pathlib import Path

from .cli import EXIT_OK, UsageError, _load_pipeline, _Parser
from .cliguard import write_stdout
from .core.safeio import check_not_input

__all__ = ["fit_parser", "cmd_fit"]


def fit_parser() -> _Parser:
    from .core.fit import DEFAULT_STEPS

    p = _Parser(prog="convstudio fit",
                description="Learn conv layer N's weights and bias by gradient descent (every "
                "other layer fixed) so that the pipeline's last output matches TARGET (mean "
                "squared error); write the pipeline with the learned layer and print the final "
                "loss.")
    p.add_argument("pipeline", metavar="PIPELINE")
    p.add_argument("input", metavar="INPUT", help="the input image or .npy")
    p.add_argument("target", metavar="TARGET",
                   help="image or .npy of the last output's shape (C, H, W)")
    p.add_argument("--layer", type=int, required=True, metavar="N",
                   help="the conv2d layer to learn (layers are numbered from 1)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.json",
                   help="where to write the pipeline with the learned layer")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, metavar="S",
                   help=f"gradient-descent steps (default {DEFAULT_STEPS})")
    p.add_argument("--lr", type=float, default=None, metavar="X",
                   help="learning rate (default: 1 / the loss's largest curvature, estimated)")
    p.add_argument("--momentum", type=float, default=0.0, metavar="M",
                   help="heavy-ball momentum, 0 <= M < 1 (default 0: plain gradient descent; "
                   "0.9 converges much faster on photos)")
    p.add_argument("--keep-alpha", action="store_true",
                   help="keep an alpha channel (of INPUT and TARGET) as channel 4")
    return p


def _check_args(args) -> Path:
    if args.steps < 0:
        raise UsageError(f"--steps must be at least 0, got {args.steps}")
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a finite number > 0, got {args.lr}")
    if not 0.0 <= args.momentum < 1.0:
        raise UsageError(f"--momentum must be at least 0 and below 1, got {args.momentum}")
    out = Path(args.output)
    if out.suffix.lower() != ".json":
        raise UsageError(f"-o writes a pipeline file (.json), got '{args.output}'")
    check_not_input(out, [args.pipeline, args.input, args.target])  # exit 2, as a usage error
    return out


def cmd_fit(args) -> int:
    from .core import load_image
    from .core.fit import fit

    out = _check_args(args)
    pipeline = _load_pipeline(args.pipeline)
    if not 1 <= args.layer <= len(pipeline):
        raise UsageError(f"--layer must be between 1 and {len(pipeline)} (a conv2d layer), "
                         f"got {args.layer}")
    x = load_image(args.input, keep_alpha=args.keep_alpha)
    target = load_image(args.target, keep_alpha=args.keep_alpha)
    result = fit(pipeline, x, target, args.layer, steps=args.steps, lr=args.lr,
                 momentum=args.momentum)
    result.pipeline.save(out)
    write_stdout(f"{result.final_loss:.9g}")
    return EXIT_OK
