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
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cliguard import (
    EXIT_TERMINATED,
    OutputError,
    Terminated,
    compute_layer,
    flush_stdout,
    handle_sigterm,
    make_folder,
    os_error_line,
    say,
    write_stdout,
)
from .core.formatting import format_bytes, format_number, format_ratio, format_shape
from .core.normalization import NORMALIZE_MODES
from .core.quiet import STDERR_LOCK

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
    say(line if line.startswith("convstudio") else f"convstudio: {line}")


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
    p.add_argument("--tile", type=int, metavar="N",
                   help="compute the output in N x N tiles of the layer, reading only the input "
                   "each tile needs (automatic when a whole run would not fit in memory); the "
                   "result is the whole run's (docs/scale.md)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the tiles of an image, or the files of a batch, on a Dask cluster "
                   "(scheduler ADDRESS, or 'local' for one on this machine; needs "
                   "convstudio[scale])")
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
    # os.path: Path.exists() raises on a name too long; making the folder reports that later
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UsageError(f"--out-dir '{out_dir}' exists and is not a folder")
    jobs = []
    for src in inputs:
        ext = args.format or ("npy" if src.suffix.lower() == ".npy" else "png")
        jobs.append(_Job(src, out_dir / f"{src.stem}.{ext.lstrip('.').lower()}"))
    return jobs


def _check_format(target: Path, depth: int) -> None:
    from .core.imageio import SUPPORTED_WRITE_EXTENSIONS

    ext = target.suffix.lower()
    if ext == ".zarr":  # written tile by tile (docs/scale.md)
        return
    if ext not in SUPPORTED_WRITE_EXTENSIONS:
        raise UsageError(f"cannot write '{target.name}': unknown format '{ext or '(none)'}' "
                         f"(supported: {', '.join(SUPPORTED_WRITE_EXTENSIONS)})")
    if depth == 16 and ext.lstrip(".") not in SIXTEEN_BIT_FORMATS | {"npy"}:
        raise UsageError(f"--depth 16 needs PNG or TIFF; '{target.name}' is {ext} (8-bit only)")


def _same_file(a: Path, b: Path) -> bool:
    """Kept for the subcommands' modules; the one check is convstudio.core.safeio (same_file,
    check_not_input), which follows symlinks and hard links."""
    from .core.safeio import same_file

    return same_file(a, b)


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal and there is much to do."""

    def __init__(self, total: int):
        self.total = total
        self.done = 0
        self.enabled = total > 1 and sys.stderr.isatty()
        self._lock = threading.Lock()

    def step(self, name: str) -> None:
        # STDERR_LOCK: never while another thread's decoder has stderr captured
        with self._lock, STDERR_LOCK:
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
            say(f"convstudio: {' '.join(text.split())}")


def _cmd_apply(args) -> int:
    from . import cli_tiled
    from .core import ConvStudioError, RunCancelled, load_image
    from .core.channels import output_paths, save_output, split_channels
    from .core.safeio import check_not_input
    from .session.compute import memory_budget

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.tile is not None and args.tile < 1:
        raise UsageError("--tile must be at least 1")
    pipeline = _load_pipeline(args.pipeline)
    layer = len(pipeline) if args.layer is None else args.layer
    if not 0 <= layer <= len(pipeline):
        raise UsageError(f"--layer must be between 0 and {len(pipeline)}, got {layer}")
    inputs = [Path(p) for p in args.inputs]
    jobs = _plan_outputs(args, inputs)
    for job in jobs:
        _check_format(job.target, args.depth)
    if args.out_dir is not None:
        try:
            make_folder(args.out_dir)
        except OutputError as exc:
            raise UsageError(str(exc)) from None
    # one file per channel for feature maps (or always, with --channels split)
    split = split_channels(pipeline, layer, args.channels)

    progress = _Progress(len(jobs))
    claimed: dict[Path, Path] = {}
    claim_lock = threading.Lock()
    # Inputs are never overwritten, the pipeline file included (docs/security.md).
    read_files = [Path(args.pipeline), *inputs]
    # Each job keeps only the layer it computes; the jobs running at once share the budget.
    budget = memory_budget() // min(args.jobs, len(jobs))
    stop = threading.Event()  # set on Ctrl+C / SIGTERM: the other jobs stop at their next check

    def claim(job: _Job, channels: int) -> None:
        with claim_lock:
            for out in output_paths(job.target, channels, split=split):
                check_not_input(out, read_files)
                key = out.resolve()
                if key in claimed:
                    raise ConvStudioError(f"'{out}' is also the output of '{claimed[key]}'")
                claimed[key] = job.source

    # tiles (docs/scale.md): asked for, on a cluster, into Zarr, or when a whole run won't fit
    tiled = cli_tiled.TiledOptions(layer, split, args.normalize, args.depth, args.keep_alpha,
                                   args.tile, budget, progress=len(jobs) == 1)
    client = cli_tiled.connect(args.dask) if args.dask is not None else None

    def run(job: _Job) -> bool:
        if stop.is_set():
            return False
        try:
            done = cli_tiled.apply_file(pipeline, job.source, job.target, tiled, client=client,
                                        claim=lambda c: claim(job, c), note=progress.message,
                                        cancelled=stop.is_set)
            if done is True:
                return True
            box = [done if done is not False else load_image(job.source, keep_alpha=args.keep_alpha)]
            del done  # the box is the input's only holder: compute_layer frees it after layer 1
            y = compute_layer(pipeline, layer, box, budget=budget, cancelled=stop.is_set)
            claim(job, y.shape[0])
            save_output(job.target, y, split=split, normalize=args.normalize, depth=args.depth)
            return True
        except RunCancelled:
            return False
        except (ConvStudioError, OSError) as exc:
            text = str(exc) if isinstance(exc, ConvStudioError) else os_error_line(exc)
            progress.message(f"{job.source}: {text}" if str(job.source) not in text else text)
            return False
        except MemoryError:
            progress.message(f"{job.source}: not enough memory")
            return False
        finally:
            progress.step(job.source.name)

    try:
        if client is not None and len(jobs) > 1:
            for job in jobs:
                claim(job, cli_tiled.output_channels(pipeline, layer, job.source, args.keep_alpha))
            results = cli_tiled.apply_batch_on_dask(client, pipeline, [(j.source, j.target) for j in jobs],
                                                    tiled, progress.message)
        elif args.jobs == 1 or len(jobs) == 1:
            results = [run(job) for job in jobs]
        else:
            pool = ThreadPoolExecutor(max_workers=args.jobs)
            try:
                futures = [pool.submit(run, job) for job in jobs]
                # Short waits: a signal may land on a worker thread, and the main thread must wake
                # to run its handler (Ctrl+C, SIGTERM) instead of waiting for a whole job.
                while wait(futures, timeout=0.1).not_done:
                    pass
                results = [f.result() for f in futures]
            finally:
                stop.set()  # after an interrupt: the running jobs cancel, the queued never start
                pool.shutdown(wait=True, cancel_futures=True)
    except KeyboardInterrupt:
        stop.set()
        raise
    finally:
        if client is not None:
            client.close()
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
    info = pipeline.info(shape)
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
    if explained is not None:
        write_stdout("")
        write_stdout(_explain_text(explained))
    return EXIT_OK


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
    commands = {"apply": (_apply_parser, _cmd_apply), "info": (_info_parser, _cmd_info),
                "check": (_check_parser, _cmd_check)}
    from .cli_fit import cmd_fit, fit_parser  # `convstudio fit` lives in its own module
    commands["fit"] = (fit_parser, cmd_fit)
    from .cli_import import cmd_import, import_parser  # `convstudio import` (an ONNX model's trunk)
    commands["import"] = (import_parser, cmd_import)
    try:
        if argv and argv[0] in commands:
            make, run = commands[argv[0]]
            args = make().parse_args(argv[1:])
        else:
            args = _app_parser().parse_args(argv)
            run = _cmd_app
        # SIGTERM is handled like Ctrl+C; float overflow gives inf, never a warning line (docs/cli.md)
        with handle_sigterm(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
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
    sys.exit(main())
