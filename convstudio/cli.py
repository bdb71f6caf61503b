"""The `convstudio` command: opens the desktop app, or runs a subcommand (`SUBCOMMANDS`: apply,
info, check, fit, import; apply, fit and import live in cli_apply.py, cli_fit.py, cli_import.py).

Exit codes: 0 success, 1 some inputs failed or a check failed, 2 usage or pipeline error.
Every error is one readable line on stderr; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from .cliguard import (
    EXIT_TERMINATED,
    Terminated,
    flush_stdout,
    handle_sigterm,
    os_error_line,
    say,
    write_stdout,
)
from .core.formatting import format_bytes, format_number, format_ratio, format_shape

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line and exits with 2 (see docs/cli.md)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def _print_message(self, message: str, file=None) -> None:
        # --help and --version: argparse would drop a failed write to stdout silently
        if message and file is sys.stdout:
            write_stdout(message, end="")
        elif message:
            super()._print_message(message, file)


def _fail(message: str) -> None:
    line = " ".join(message.split())  # one line, whatever the message held
    say(line if line.startswith("convstudio") else f"convstudio: {line}")


# ------------------------------------------------------------------------------------------ parsers


#: Every subcommand with its one-line summary, in the order `convstudio --help` lists them.
SUBCOMMANDS = {
    "apply": "run a pipeline on images and write the output of one layer",
    "info": "shapes, receptive fields, parameters and memory needs of every layer",
    "check": "compare every layer with an independent OpenCV reference",
    "fit": "learn one conv layer's weights so that the output matches a target",
    "import": "turn an ONNX model's main path into a pipeline file",
}


def _commands() -> dict:
    """Subcommand -> (parser factory, command); the larger ones live in modules of their own."""
    from .cli_apply import apply_parser, cmd_apply
    from .cli_fit import cmd_fit, fit_parser
    from .cli_import import cmd_import, import_parser

    commands = {"apply": (apply_parser, cmd_apply), "info": (_info_parser, _cmd_info),
                "check": (_check_parser, _cmd_check), "fit": (fit_parser, cmd_fit),
                "import": (import_parser, cmd_import)}
    assert list(commands) == list(SUBCOMMANDS)
    return commands


def _app_parser() -> _Parser:
    width = max(len(name) for name in SUBCOMMANDS)
    listing = "\n".join(f"  {name:<{width}}  {text}" for name, text in SUBCOMMANDS.items())
    p = _Parser(
        prog="convstudio",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Design, see and understand image convolution. Without a subcommand, opens "
        "the desktop app.",
        epilog=f"subcommands (see 'convstudio SUBCOMMAND --help'):\n{listing}",
    )
    p.add_argument("image", nargs="?", help="image to open")
    p.add_argument("--pipeline", metavar="FILE", help="pipeline JSON file to open")
    p.add_argument("--select-layer", type=int, metavar="N", help="select layer N (0 = input)")
    p.add_argument("--lesson", metavar="ID",
                   help="open a lesson of the Learn menu: " + ", ".join(_lesson_ids()))
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="once every layer is computed, save a picture of the window and exit")
    p.add_argument("--version", action="version", version=_version())
    return p


def _info_parser() -> _Parser:
    p = _Parser(prog="convstudio info",
                description="Shapes, receptive fields and parameter counts of every layer.")
    p.add_argument("pipeline", metavar="PIPELINE")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input-shape", metavar="C,H,W", help="input shape, e.g. 3,224,224")
    src.add_argument("--image", metavar="IMAGE", help="take the input shape from this image")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--keep-alpha", action="store_true", help="keep an alpha channel as channel 4")
    p.add_argument("--at", metavar="L,C,I,J",
                   help="explain output value [channel C, row I, col J] of layer L (needs --image)")
    p.add_argument("--erf", metavar="OUT.npy",
                   help="with --at: write the gradient of that value w.r.t. the input, (C, H, W) "
                   "float32 (the effective receptive field)")
    p.add_argument("--tile", type=int, metavar="N",
                   help="tile side for the tiled-run figures (the halo each tile reads, its peak "
                   "memory), as 'apply --tile N' (default 512)")
    return p


def _check_parser() -> _Parser:
    p = _Parser(prog="convstudio check",
                description="Run every layer in the NumPy core and in an OpenCV reference and "
                "compare them.")
    p.add_argument("pipeline", metavar="PIPELINE")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--tolerance", type=float, default=None, metavar="T",
                   help="largest allowed max-abs difference per layer")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--keep-alpha", action="store_true", help="keep an alpha channel as channel 4")
    return p


def _lesson_ids() -> list[str]:
    from .lessons import LESSONS

    return [lesson.id for lesson in LESSONS]


def _version() -> str:
    from . import __version__

    return f"convstudio {__version__}"


# ------------------------------------------------------------------------------------------ helpers


def _load_pipeline(path: str):
    from .core import Pipeline

    return Pipeline.load(path)


def _parse_shape(text: str) -> tuple[int, int, int]:
    try:
        parts = [int(p) for p in text.replace("x", ",").split(",")]
    except ValueError:
        raise UsageError(f"--input-shape must be C,H,W with integers, got '{text}'") from None
    if len(parts) != 3:
        # no H,W shorthand: "3,300" would be ambiguous (channels or rows?)
        raise UsageError(f"--input-shape must be C,H,W (three integers, e.g. 3,224,224; "
                         f"1,H,W for a gray image), got {len(parts)} number"
                         f"{'' if len(parts) == 1 else 's'} in '{text}'")
    if min(parts) < 1:
        raise UsageError(f"--input-shape must be C,H,W with each at least 1, got '{text}'")
    return tuple(parts)  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ info


def _parse_at(text: str) -> tuple[int, int, int, int]:
    try:
        parts = tuple(int(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or min(parts) < 0:
        raise UsageError(f"--at must be L,C,I,J (layer, channel, row, col; integers >= 0), "
                         f"got '{text}'")
    return parts  # type: ignore[return-value]


def _cmd_info(args) -> int:
    from .core.safeio import check_not_input

    pipeline = _load_pipeline(args.pipeline)
    if args.erf is not None and args.at is None:
        raise UsageError("--erf goes with --at L,C,I,J")
    if args.at is not None and args.image is None:
        raise UsageError("--at needs --image (the values depend on the image)")
    at = _parse_at(args.at) if args.at is not None else None
    if args.erf is not None and Path(args.erf).suffix.lower() != ".npy":
        raise UsageError(f"--erf writes a .npy file, got '{args.erf}'")
    x = None
    if args.image is not None:
        from .core import load_image

        x = load_image(args.image, keep_alpha=args.keep_alpha)
        shape = x.shape
    else:
        shape = _parse_shape(args.input_shape)
    if args.tile is not None and args.tile < 1:
        raise UsageError("--tile must be at least 1")
    info = pipeline.info(shape)
    tiled, tiled_text = _tiled_info(pipeline, shape, args.tile)
    info.update(tiled)
    explained = None
    if at is not None:
        from .core.explain import effective_receptive_field, explain_pixel

        layer, c, i, j = at
        if args.erf is not None:  # inputs are never overwritten (docs/security.md)
            check_not_input(args.erf, [args.pipeline, args.image])
        outputs = _outputs_upto(pipeline, x, layer)
        if layer >= 1:
            explained = explain_pixel(pipeline, x, layer, c, i, j, outputs=outputs)
        if args.erf is not None:
            from .core import save_image

            erf = effective_receptive_field(pipeline, x, layer, c, i, j, outputs=outputs)
            save_image(args.erf, erf)
    if args.json:
        if explained is not None:
            info["at"] = explained
        write_stdout(json.dumps(info))
        return EXIT_OK
    write_stdout(_info_table(pipeline, info))
    write_stdout(tiled_text)
    if explained is not None:
        write_stdout("")
        write_stdout(_explain_text(explained))
    return EXIT_OK


def _tiled_info(pipeline, shape, tile: int | None) -> tuple[dict, str]:
    """What a tiled `apply --tile N` of this input needs (docs/scale.md), as the JSON keys
    ``tile``, ``tile_halo`` (the input cells a tile reads beyond its own footprint: top, bottom,
    left, right, as a padding is written) and ``tiled_peak_bytes`` (the peak memory of one
    running tile), both None when a layer cannot run on tiles; and as the text's lines."""
    from .core.tiling import DEFAULT_TILE, TilingUnsupported, plan_tiles

    tile = DEFAULT_TILE if tile is None else tile
    try:
        plan = plan_tiles(pipeline, shape, tile)
    except TilingUnsupported as exc:
        return {"tile": tile, "tile_halo": None, "tiled_peak_bytes": None}, f"tiled apply: {exc}"
    (top, bottom), (left, right) = plan.halo()
    keys = {"tile": tile, "tile_halo": [top, bottom, left, right], "tiled_peak_bytes": plan.peak_tile_bytes()}
    peak = format_bytes(keys["tiled_peak_bytes"])
    rows, cols = plan.grid
    if rows * cols == 1:
        return keys, f"tiled apply (--tile {tile}): one tile holds the whole output; its peak memory: {peak}"
    return keys, (f"tiled apply (--tile {tile}, {rows} x {cols} tiles): each tile reads {top} rows above, "
                  f"{bottom} below, {left} columns left and {right} right of its own input cells (the halo)"
                  f"\npeak memory of one running tile: {peak}")


def _outputs_upto(pipeline, x, layer: int) -> list:
    """Every output up to `layer` (what --at explains needs), within the memory budget: a layer
    that would exceed it is refused, naming it, before anything is allocated."""
    from .core import run_layers
    from .session.compute import memory_budget

    if not layer:
        return []
    pipeline.output_shapes(x.shape)
    return [r.output for r in run_layers(pipeline.layers[:layer], x, memory_budget=memory_budget())]


def _explain_text(e: dict) -> str:
    head = f"layer {e['layer']} ({e['type']}), channel {e['channel']}, row {e['row']}, " \
           f"col {e['col']}: {format_number(e['output'], '.6g')}"
    lines = [head]
    if e.get("kind") in ("conv", "conv_transpose"):
        for part in e["inputs"]:
            lines.append(f"  input channel {part['input_channel']}: {part['expression']}")
        lines.append(f"  total: {e['expression']}")
    elif e.get("kind") == "max":
        lines.append(f"  max of the window at input row {e['winner'][0]}, col {e['winner'][1]}")
    elif e.get("kind") in ("avg", "upsample"):
        lines.append(f"  {e['expression']}")
    elif "input" in e:
        lines.append(f"  from input value {e['input']}")
    return "\n".join(lines)


def _info_table(pipeline, info: dict) -> str:
    rows = [("#", "layer", "output C x H x W", "receptive field", "jump", "start", "params")]
    c, h, w = info["input_shape"]
    rows.append(("0", "input", format_shape((c, h, w)), "1 x 1", "1 x 1", "0, 0", "0"))
    # exact values (fractions such as 1/2 after upsampling), not the JSON's floats
    for layer, li, rf in zip(pipeline.layers, info["layers"], pipeline.receptive_fields()[1:]):
        label = layer.describe() + ("" if layer.enabled else " (disabled)")
        rows.append((
            str(li["index"]), label, format_shape(li["output_shape"]),
            "{} x {}".format(*rf.size), "{} x {}".format(*rf.jump),
            "{}, {}".format(*rf.start), f"{li['params']:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i])
                       for i, cell in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    params, fc = info["params"], info["fc_params"]
    lines.append("")
    lines.append(f"parameters: {params:,}")
    lines.append(f"one fully connected layer doing the same mapping: {fc:,} parameters"
                 + format_ratio(fc, params))
    if "peak_bytes" in info:
        lines.append(f"peak memory of a whole-image apply: {format_bytes(info['peak_bytes'])}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ check


def _cmd_check(args) -> int:
    from .core import load_image
    from .core.crosscheck import DEFAULT_TOLERANCE, crosscheck

    pipeline = _load_pipeline(args.pipeline)
    tol = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    if not np.isfinite(tol) or tol < 0:
        raise UsageError("--tolerance must be a finite number >= 0")
    x = load_image(args.input, keep_alpha=args.keep_alpha)
    checks = crosscheck(pipeline, x, tolerance=tol)
    passed = all(c.passed for c in checks)
    if args.json:
        write_stdout(json.dumps({"tolerance": tol, "passed": passed,
                          "layers": [c.to_json() for c in checks]}))
    else:
        for layer, c in zip(pipeline.layers, checks):
            status = "ok" if c.passed else "FAIL"
            write_stdout(f"{c.index:>3}  {layer.describe():<32} max |core - opencv| = {c.max_abs_diff:.3g}"
                  f"  {status}")
        write_stdout(f"{'all layers agree' if passed else 'some layers differ'} (tolerance {tol:g})")
    return EXIT_OK if passed else EXIT_FAILED


# ------------------------------------------------------------------------------------------ app


def _no_display() -> bool:
    """True on Linux when Qt has no display to connect to and no platform was chosen."""
    if not sys.platform.startswith("linux"):
        return False
    return not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _cmd_app(args) -> int:
    try:
        from .app.launch import run_app
    except ImportError as exc:
        _fail(f"the desktop app cannot start: {exc}. Install the system libraries Qt needs "
              "(./scripts/setup.sh does it in a checkout; packaging/README.md lists them), or "
              "use the apply/info/check subcommands.")
        return EXIT_USAGE
    if _no_display() and args.screenshot is not None:
        # A picture of the window needs no screen: render it offscreen.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif _no_display():
        # Qt would abort the process (SIGABRT, several lines of plugin messages) instead.
        _fail("the desktop app needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set; "
              "use the apply/info/check subcommands, or set QT_QPA_PLATFORM=offscreen")
        return EXIT_USAGE
    if args.lesson is not None and args.lesson not in _lesson_ids():
        raise UsageError(f"convstudio: --lesson: no lesson '{args.lesson}' (choose from "
                         f"{', '.join(_lesson_ids())})")
    return run_app(image=args.image, pipeline=args.pipeline, select_layer=args.select_layer,
                   screenshot=args.screenshot, lesson=args.lesson)


# ------------------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    from .core import ConvStudioError, ImageIOError

    argv = list(sys.argv[1:] if argv is None else argv)
    commands = _commands()
    try:
        try:
            if argv and argv[0] in commands:
                make, run = commands[argv[0]]
                args = make().parse_args(argv[1:])
            else:
                args = _app_parser().parse_args(argv)
                run = _cmd_app
        except SystemExit as done:  # --help, --version: printed; a full disk is reported here
            flush_stdout()
            return done.code if isinstance(done.code, int) else EXIT_OK
        # SIGTERM is handled like Ctrl+C (the app quits its event loop instead: app/launch.py);
        # float overflow gives inf, never a warning line (docs/cli.md)
        guard = nullcontext() if run is _cmd_app else handle_sigterm()
        with guard, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            code = run(args)
        flush_stdout()  # a full disk or closed pipe is reported here, not at interpreter exit
        return code
    except UsageError as exc:
        _fail(str(exc))
        return EXIT_USAGE
    except ImageIOError as exc:
        # the input of `info --image` or `check` could not be read: an input failed
        _fail(str(exc))
        return EXIT_FAILED
    except ConvStudioError as exc:
        # a pipeline that cannot be read, or does not fit its input
        _fail(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        # stdout on a full disk or a closed pipe, a file the OS refuses: one line naming it
        _fail(os_error_line(exc))
        return EXIT_FAILED
    except MemoryError:
        _fail("not enough memory for this pipeline and input")
        return EXIT_FAILED
    except Terminated:
        _fail("terminated")
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    # `python -m convstudio.cli`: run the imported module, whose classes (UsageError ...) the
    # subcommands' modules share, not this __main__ copy of it
    from convstudio.cli import main as _main

    sys.exit(_main())
