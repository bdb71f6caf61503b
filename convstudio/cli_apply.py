"""`convstudio apply`: run a pipeline on images and write the output of one layer (docs/cli.md,
"apply"; tiles and clusters in docs/scale.md).

The steps: the arguments are checked and every output named before anything runs
(:func:`_prepare`); then each input is one job of an :class:`_ApplyRun` (read, compute, write),
run in turn, on ``--jobs`` threads, or file by file on a Dask cluster. Exit codes as for the other
subcommands: 0 success, 1 some inputs failed, 2 usage or pipeline errors.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cli import EXIT_FAILED, EXIT_OK, UsageError, _load_pipeline, _Parser
from .cliguard import OutputError, compute_layer, make_folder, os_error_line, say
from .core.normalization import NORMALIZE_MODES
from .core.quiet import STDERR_LOCK
from .core.safeio import InputSet

__all__ = ["apply_parser", "cmd_apply", "SIXTEEN_BIT_FORMATS"]

# Formats that can hold 16 bits per channel (the others are 8-bit only).
SIXTEEN_BIT_FORMATS = {"png", "tif", "tiff"}


def apply_parser() -> _Parser:
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


# ------------------------------------------------------------------------------------ the plan


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


def _prepare(args) -> tuple[Any, int, list[_Job]]:
    """The pipeline, the layer to write and one job per input; every argument checked and the
    output folder made before anything is read or computed."""
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.tile is not None and args.tile < 1:
        raise UsageError("--tile must be at least 1")
    pipeline = _load_pipeline(args.pipeline)
    layer = len(pipeline) if args.layer is None else args.layer
    if not 0 <= layer <= len(pipeline):
        raise UsageError(f"--layer must be between 0 and {len(pipeline)}, got {layer}")
    jobs = _plan_outputs(args, [Path(p) for p in args.inputs])
    for job in jobs:
        _check_format(job.target, args.depth)
    if args.out_dir is not None:
        try:
            make_folder(args.out_dir)
        except OutputError as exc:
            raise UsageError(str(exc)) from None
    return pipeline, layer, jobs


# ------------------------------------------------------------------------------------ the run


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


class _ApplyRun:
    """What the jobs of one `apply` share: the pipeline, the outputs claimed so far (no two
    inputs write one file, no output is an input), the memory budget, the progress line and the
    stop flag that Ctrl+C / SIGTERM sets."""

    def __init__(self, args, pipeline, layer: int, jobs: list[_Job]):
        from . import cli_tiled
        from .core.channels import split_channels
        from .session.compute import memory_budget

        self.args, self.pipeline, self.layer, self.jobs = args, pipeline, layer, jobs
        # one file per channel for feature maps (or always, with --channels split)
        self.split = split_channels(pipeline, layer, args.channels)
        self.progress = _Progress(len(jobs))
        self.stop = threading.Event()  # set on Ctrl+C / SIGTERM: the other jobs stop at their next check
        # Inputs are never overwritten, the pipeline file included (docs/security.md).
        self.read_files = [Path(args.pipeline), *(job.source for job in jobs)]
        self.inputs = InputSet(self.read_files)  # every output is checked against all of them
        self._claimed: dict[Path, Path] = {}
        self._claim_lock = threading.Lock()
        # Each job keeps only the layer it computes; the jobs running at once share the budget.
        self.budget = memory_budget() // min(args.jobs, len(jobs))
        # tiles (docs/scale.md): asked for, on a cluster, into Zarr, or when a whole run won't fit
        self.tiled = cli_tiled.TiledOptions(layer, self.split, args.normalize, args.depth, args.keep_alpha,
                                            args.tile, self.budget, progress=len(jobs) == 1)

    def claim(self, job: _Job, channels: int) -> None:
        """Reserve the files `job` writes for `channels` output channels, or raise naming the clash."""
        from .core import ConvStudioError
        from .core.channels import output_paths
        from .core.safeio import check_not_input

        with self._claim_lock:
            for out in output_paths(job.target, channels, split=self.split):
                check_not_input(out, self.inputs)
                key = out.resolve()
                if key in self._claimed:
                    raise ConvStudioError(f"'{out}' is also the output of '{self._claimed[key]}'")
                self._claimed[key] = job.source

    def run_one(self, job: _Job, client: Any = None) -> bool:
        """Read, compute and write one input; a failure is one message line and False."""
        from .core import ConvStudioError, RunCancelled

        if self.stop.is_set():
            return False
        try:
            self._compute_and_write(job, client)
            return True
        except RunCancelled:
            return False
        except (ConvStudioError, OSError) as exc:
            text = str(exc) if isinstance(exc, ConvStudioError) else os_error_line(exc)
            self.progress.message(f"{job.source}: {text}" if str(job.source) not in text else text)
            return False
        except MemoryError:
            self.progress.message(f"{job.source}: not enough memory")
            return False
        finally:
            self.progress.step(job.source.name)

    def _compute_and_write(self, job: _Job, client: Any) -> None:
        from . import cli_tiled
        from .core import load_image
        from .core.channels import save_output

        done = cli_tiled.apply_file(self.pipeline, job.source, job.target, self.tiled, client=client,
                                    claim=lambda c: self.claim(job, c), note=self.progress.message,
                                    cancelled=self.stop.is_set)
        if done is True:
            return
        box = [done if done is not False else load_image(job.source, keep_alpha=self.args.keep_alpha)]
        del done  # the box is the input's only holder: compute_layer frees it after layer 1
        y = compute_layer(self.pipeline, self.layer, box, budget=self.budget, cancelled=self.stop.is_set)
        self.claim(job, y.shape[0])
        save_output(job.target, y, split=self.split, normalize=self.args.normalize, depth=self.args.depth)

    def run_batch_on_dask(self, client: Any) -> list[bool]:
        """Several files, one task each on the cluster; every output claimed here first."""
        from . import cli_tiled

        for job in self.jobs:
            self.claim(job, cli_tiled.output_channels(self.pipeline, self.layer, job.source,
                                                      self.args.keep_alpha))
        return cli_tiled.apply_batch_on_dask(client, self.pipeline, [(j.source, j.target) for j in self.jobs],
                                             self.tiled, self.progress.message)

    def run_in_threads(self, workers: int) -> list[bool]:
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(self.run_one, job) for job in self.jobs]
            # Short waits: a signal may land on a worker thread, and the main thread must wake
            # to run its handler (Ctrl+C, SIGTERM) instead of waiting for a whole job.
            while wait(futures, timeout=0.1).not_done:
                pass
            return [f.result() for f in futures]
        finally:
            self.stop.set()  # after an interrupt: the running jobs cancel, the queued never start
            pool.shutdown(wait=True, cancel_futures=True)


def cmd_apply(args) -> int:
    from . import cli_tiled

    pipeline, layer, jobs = _prepare(args)
    run = _ApplyRun(args, pipeline, layer, jobs)
    client = cli_tiled.connect(args.dask) if args.dask is not None else None
    try:
        if client is not None and len(jobs) > 1:
            results = run.run_batch_on_dask(client)
        elif args.jobs == 1 or len(jobs) == 1:
            results = [run.run_one(job, client) for job in jobs]
        else:
            results = run.run_in_threads(args.jobs)
    except KeyboardInterrupt:
        run.stop.set()
        raise
    finally:
        if client is not None:
            client.close()
    return EXIT_OK if all(results) else EXIT_FAILED
