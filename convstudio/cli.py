"""The `convstudio` command: opens the desktop app, or runs `apply`, `info` and `check`.

Exit codes: 0 success, 1 some inputs failed or a check failed, 2 usage or pipeline error.
Every error is one readable line on stderr; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core.normalization import NORMALIZE_MODES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# Formats that can hold 16 bits per channel (the others are 8-bit only).
SIXTEEN_BIT_FORMATS = {"png", "tif", "tiff"}


class UsageError(Exception):
    """Bad command-line usage: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line and exits with 2 (see docs/cli.md)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _fail(message: str) -> None:
    line = " ".join(message.split())  # one line, whatever the message held
    print(line if line.startswith("convstudio") else f"convstudio: {line}", file=sys.stderr)


# ------------------------------------------------------------------------------------------ parsers


def _app_parser() -> _Parser:
    p = _Parser(
        prog="convstudio",
        description="Design, see and understand image convolution. Without a subcommand, opens "
        "the desktop app. Subcommands: apply, info, check (see 'convstudio SUBCOMMAND --help').",
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


def _apply_parser() -> _Parser:
    p = _Parser(prog="convstudio apply",
                description="Run a pipeline on images and write the output of one layer.")
    p.add_argument("pipeline", metavar="PIPELINE")
    p.add_argument("inputs", metavar="INPUT", nargs="+")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", metavar="OUT", help="output file (one input only)")
    out.add_argument("--out-dir", metavar="DIR", help="write DIR/<input stem>.<EXT> per input")
    p.add_argument("--format", metavar="EXT",
                   help="extension for --out-dir (default: png, or npy for .npy inputs)")
    p.add_argument("--layer", type=int, metavar="N",
                   help="write the output of layer N (default: the last; 0 = the input)")
    p.add_argument("--normalize", choices=NORMALIZE_MODES, default="clip",
                   help="mapping to 8/16-bit for image formats (default: clip to [0, 1]; "
                   "'signed' draws 0 as mid-grey, for feature maps that hold negative values)")
    p.add_argument("--channels", choices=("auto", "split"), default="auto",
                   help="auto (default): an image (every layer so far filters each channel "
                   "alone) is one gray/RGB/RGBA file, feature maps (after a conv with a "
                   "'weight') one gray file per channel, NAME_c00.png ...; split: always one "
                   "file per channel")
    p.add_argument("--depth", type=int, choices=(8, 16), default=8,
                   help="bits per channel for PNG/TIFF-integer outputs (default 8)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="inputs processed in parallel")
    p.add_argument("--keep-alpha", action="store_true", help="keep an alpha channel as channel 4")
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


# ------------------------------------------------------------------------------------------ apply


@dataclass(frozen=True)
class _Job:
    source: Path
    target: Path


def _plan_outputs(args, inputs: list[Path]) -> list[_Job]:
    if args.output is not None:
        if len(inputs) != 1:
            raise UsageError(f"-o takes one input, got {len(inputs)}; use --out-dir for several")
        if args.format is not None:
            raise UsageError("--format goes with --out-dir; with -o the extension of OUT decides")
        return [_Job(inputs[0], Path(args.output))]
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out-dir '{out_dir}' exists and is not a folder")
    jobs = []
    for src in inputs:
        ext = args.format or ("npy" if src.suffix.lower() == ".npy" else "png")
        jobs.append(_Job(src, out_dir / f"{src.stem}.{ext.lstrip('.').lower()}"))
    return jobs


def _check_format(target: Path, depth: int) -> None:
    from .core.imageio import SUPPORTED_WRITE_EXTENSIONS

    ext = target.suffix.lower()
    if ext not in SUPPORTED_WRITE_EXTENSIONS:
        raise UsageError(f"cannot write '{target.name}': unknown format '{ext or '(none)'}' "
                         f"(supported: {', '.join(SUPPORTED_WRITE_EXTENSIONS)})")
    if depth == 16 and ext.lstrip(".") not in SIXTEEN_BIT_FORMATS | {"npy"}:
        raise UsageError(f"--depth 16 needs PNG or TIFF; '{target.name}' is {ext} (8-bit only)")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal and there is much to do."""

    def __init__(self, total: int):
        self.total = total
        self.done = 0
        self.enabled = total > 1 and sys.stderr.isatty()
        self._lock = threading.Lock()

    def step(self, name: str) -> None:
        with self._lock:
            self.done += 1
            if not self.enabled:
                return
            width = 30
            filled = width * self.done // self.total
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {name[:40]:<40}")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    def message(self, text: str) -> None:
        with self._lock:
            if self.enabled:
                sys.stderr.write("\r" + " " * 80 + "\r")
            print(f"convstudio: {text}", file=sys.stderr)


def _cmd_apply(args) -> int:
    from .core import ConvStudioError, load_image
    from .core.channels import output_paths, save_output, split_channels

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    pipeline = _load_pipeline(args.pipeline)
    layer = len(pipeline) if args.layer is None else args.layer
    if not 0 <= layer <= len(pipeline):
        raise UsageError(f"--layer must be between 0 and {len(pipeline)}, got {layer}")
    inputs = [Path(p) for p in args.inputs]
    jobs = _plan_outputs(args, inputs)
    for job in jobs:
        _check_format(job.target, args.depth)
    if args.out_dir is not None:
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    # one file per channel for feature maps (or always, with --channels split)
    split = split_channels(pipeline, layer, args.channels)

    progress = _Progress(len(jobs))
    claimed: dict[Path, Path] = {}
    claim_lock = threading.Lock()

    def run(job: _Job) -> bool:
        try:
            x = load_image(job.source, keep_alpha=args.keep_alpha)
            y = x if layer == 0 else pipeline.run(x, upto=layer)[layer - 1]
            outs = output_paths(job.target, y.shape[0], split=split)
            with claim_lock:
                for out in outs:
                    if any(_same_file(out, src) for src in inputs):
                        raise ConvStudioError(f"'{out}' is an input; inputs are never overwritten")
                    key = out.resolve()
                    if key in claimed:
                        raise ConvStudioError(f"'{out}' is also the output of '{claimed[key]}'")
                    claimed[key] = job.source
            save_output(job.target, y, split=split, normalize=args.normalize, depth=args.depth)
            return True
        except ConvStudioError as exc:
            progress.message(f"{job.source}: {exc}" if str(job.source) not in str(exc) else str(exc))
            return False
        except MemoryError:
            progress.message(f"{job.source}: not enough memory")
            return False
        finally:
            progress.step(job.source.name)

    if args.jobs == 1 or len(jobs) == 1:
        results = [run(job) for job in jobs]
    else:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(run, jobs))
    return EXIT_OK if all(results) else EXIT_FAILED


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
    info = pipeline.info(shape)
    explained = None
    if at is not None:
        from .core.explain import effective_receptive_field, explain_pixel

        layer, c, i, j = at
        outputs = pipeline.run(x, upto=layer) if layer else []
        if layer >= 1:
            explained = explain_pixel(pipeline, x, layer, c, i, j, outputs=outputs)
        if args.erf is not None:
            from .core import save_image

            erf = effective_receptive_field(pipeline, x, layer, c, i, j, outputs=outputs)
            save_image(args.erf, erf)
    if args.json:
        if explained is not None:
            info["at"] = explained
        print(json.dumps(info))
        return EXIT_OK
    print(_info_table(pipeline, info))
    if explained is not None:
        print()
        print(_explain_text(explained))
    return EXIT_OK


def _explain_text(e: dict) -> str:
    head = f"layer {e['layer']} ({e['type']}), channel {e['channel']}, row {e['row']}, " \
           f"col {e['col']}: {e['output']:.6g}"
    lines = [head]
    if e.get("kind") == "conv":
        for part in e["inputs"]:
            lines.append(f"  input channel {part['input_channel']}: {part['expression']}")
        lines.append(f"  total: {e['expression']}")
    elif e.get("kind") == "max":
        lines.append(f"  max of the window at input row {e['winner'][0]}, col {e['winner'][1]}")
    elif e.get("kind") == "avg":
        lines.append(f"  {e['expression']}")
    elif "input" in e:
        lines.append(f"  from input value {e['input']}")
    return "\n".join(lines)


def _info_table(pipeline, info: dict) -> str:
    rows = [("#", "layer", "output C x H x W", "receptive field", "jump", "start", "params")]
    c, h, w = info["input_shape"]
    rows.append(("0", "input", f"{c} x {h} x {w}", "1 x 1", "1 x 1", "0, 0", "0"))
    for layer, li in zip(pipeline.layers, info["layers"]):
        oc, oh, ow = li["output_shape"]
        label = layer.describe() + ("" if layer.enabled else " (disabled)")
        rows.append((
            str(li["index"]), label, f"{oc} x {oh} x {ow}",
            "{} x {}".format(*li["receptive_field"]), "{} x {}".format(*li["jump"]),
            "{}, {}".format(*li["start"]), f"{li['params']:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i])
                       for i, cell in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    params, fc = info["params"], info["fc_params"]
    lines.append("")
    lines.append(f"parameters: {params:,}")
    lines.append(f"one fully connected layer doing the same mapping: {fc:,} parameters"
                 + (f" ({fc / params:,.0f} times as many)" if params else ""))
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
        print(json.dumps({"tolerance": tol, "passed": passed,
                          "layers": [c.to_json() for c in checks]}))
    else:
        for layer, c in zip(pipeline.layers, checks):
            status = "ok" if c.passed else "FAIL"
            print(f"{c.index:>3}  {layer.describe():<32} max |core - opencv| = {c.max_abs_diff:.3g}"
                  f"  {status}")
        print(f"{'all layers agree' if passed else 'some layers differ'} (tolerance {tol:g})")
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
    commands = {"apply": (_apply_parser, _cmd_apply), "info": (_info_parser, _cmd_info),
                "check": (_check_parser, _cmd_check)}
    try:
        if argv and argv[0] in commands:
            make, run = commands[argv[0]]
            args = make().parse_args(argv[1:])
        else:
            args = _app_parser().parse_args(argv)
            run = _cmd_app
        return run(args)
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
    except MemoryError:
        _fail("not enough memory for this pipeline and input")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
