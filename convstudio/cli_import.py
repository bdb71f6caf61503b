"""`convstudio import`: the convolutional trunk of an ONNX model as a pipeline file with its
weights (docs/cli.md, "import"; the mapping in :mod:`convstudio.core.onnx_import`).

Prints what was imported and where the path stopped (stdout); exit 0. Exit 2 for usage errors and
for a model that cannot be read, is malformed, or yields no layer.
"""

from __future__ import annotations

from pathlib import Path

from .cli import EXIT_OK, UsageError, _Parser
from .cliguard import write_stdout
from .core.safeio import check_not_input

__all__ = ["import_parser", "cmd_import"]

# Bytes of a weight in the nested-list form, as Pipeline.to_json writes it (a random float32's
# shortest decimal and its separator take 11 to 16); used only to refuse early what the writer would
# make too large for the pipeline reader.
_MIN_BYTES_PER_WEIGHT = 10


def import_parser() -> _Parser:
    p = _Parser(prog="convstudio import",
                description="Import the convolutional trunk of an ONNX model (convolutions, "
                "pooling, padding, activations, batch normalisation folded) as a pipeline with its "
                "weights. Follows the main path from the input and stops at the first node "
                "ConvStudio cannot express, saying where and why. Nothing in the file is run.")
    p.add_argument("model", metavar="MODEL.onnx")
    p.add_argument("-o", "--output", required=True, metavar="PIPELINE.json",
                   help="the pipeline file to write")
    p.add_argument("--input", metavar="NAME", help="the input tensor to start from (default: the "
                   "model's image input)")
    p.add_argument("--until", metavar="NODE", help="stop after this node (its name, or the name "
                   "of its output), inclusive")
    p.add_argument("--mean", metavar="M[,M...]", help="input normalisation: per-channel mean "
                   "(images in [0, 1]; default: the model's metadata 'mean', if any)")
    p.add_argument("--std", metavar="S[,S...]", help="input normalisation: per-channel standard "
                   "deviation (default: the model's metadata 'std', if any)")
    p.add_argument("--compact", action="store_true", help="write the weights as base64 float32 "
                   "(a third larger than the binary weights; much faster to read and write than "
                   "nested lists)")
    return p


def cmd_import(args) -> int:
    from .core.arraycodec import compact_pipeline_json
    from .core.imageio import atomic_write_bytes
    from .core.onnx_import import import_onnx, parse_floats

    out = Path(args.output)
    check_not_input(out, [args.model])  # exit 2, as a usage error
    mean = parse_floats(args.mean, "--mean") if args.mean is not None else None
    std = parse_floats(args.std, "--std") if args.std is not None else None
    result = import_onnx(args.model, input_name=args.input, until=args.until, mean=mean, std=std,
                         name=Path(args.model).stem)
    pipeline = result.pipeline
    _check_size(pipeline, args.compact)
    text = compact_pipeline_json(pipeline) if args.compact else pipeline.to_json()
    data = text.encode("utf-8")
    _check_size(pipeline, args.compact, len(data))
    atomic_write_bytes(out, data)
    write_stdout(_summary(result, Path(args.model).name, out))
    return EXIT_OK


def _check_size(pipeline, compact: bool, size: int | None = None) -> None:
    """Refuse to write a file the pipeline reader would refuse: before writing (`size` given) and,
    for nested lists, already from the number of weights (writing them takes a while)."""
    from .core import pipeline as pipeline_module

    limit = pipeline_module.MAX_FILE_BYTES
    if size is None:
        if compact:
            return
        weights = sum(int(getattr(layer, "weight", None).size) for layer in pipeline.layers
                      if getattr(layer, "weight", None) is not None)
        size = weights * _MIN_BYTES_PER_WEIGHT
    if size > limit:
        hint = "import fewer layers with --until NODE" if compact else \
            "--compact writes the weights in about a fifth of the space; or import fewer layers " \
            "with --until NODE"
        raise UsageError(f"the pipeline would take {size / 2**20:.0f} MiB, over the "
                         f"{limit // 2**20} MiB a pipeline file may have: {hint}")


def _summary(result, model: str, out: Path) -> str:
    shape = " x ".join("?" if v is None else str(v) for v in result.input_shape)
    n = len(result.pipeline)
    lines = [f"{model}: {n} layer{'' if n == 1 else 's'} from input '{result.input_name}' ({shape}) "
             f"through node '{result.last_node}' -> {out}"]
    if result.stopped is not None:
        lines.append(f"stopped at {result.stopped}")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
