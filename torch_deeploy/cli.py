"""The `torch-deeploy` command line: compile, run, conformance, show.

Errors in the user's input print one line and exit with status 2 (a traceback only with --debug).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from torch_deeploy.errors import DeeployError


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from torch_deeploy.units import parse_size

    opts: dict[str, Any] = {}
    if getattr(args, "l1", None):
        opts["l1"] = parse_size(args.l1)
    if getattr(args, "l2", None):
        opts["l2"] = parse_size(args.l2)
    if getattr(args, "sanitize", False):
        opts["sanitize"] = True
    engines = getattr(args, "engine", None)
    if engines:
        pins: dict[str, str] = {}
        for item in engines:
            if "=" not in item:
                raise DeeployError(f"--engine takes OP_OR_NODE=ENGINE, got '{item}'")
            k, v = item.split("=", 1)
            pins[k] = v
        opts["engines"] = pins
    if getattr(args, "no_weight_memory", False):
        opts["weight_memory"] = False
    return opts


def _load_npz(path: str) -> list[np.ndarray]:
    p = Path(path)
    if not p.exists():
        raise DeeployError(f"{p}: no such file")
    try:
        with np.load(p) as z:
            return [z[k] for k in z.files]
    except (OSError, ValueError) as e:
        raise DeeployError(f"{p}: not a readable .npz file ({e})") from None


def cmd_conformance(args: argparse.Namespace) -> int:
    from torch_deeploy.conformance import run_conformance

    passed, failed = run_conformance(args.dirs, runner=args.runner, options=_options(args))
    return 0 if failed == 0 else 1


def cmd_compile(args: argparse.Namespace) -> int:
    from torch_deeploy.api import compile as compile_model

    examples = _load_npz(args.inputs) if args.inputs else None
    deployed = compile_model(args.model, examples, target=args.target, runner=args.runner,
                             options=_options(args), progress=not args.quiet)
    if args.explain:
        print(deployed.explain())
    deployed.save(args.output)
    rep = deployed.report
    print(f"wrote {args.output}: {rep['totals']['c_lines']} lines of C, "
          f"peak memory {rep['totals']['peak_bytes']} B, compiled in {rep['compile_seconds']:.2f} s")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from torch_deeploy.api import load

    deployed = load(args.project, runner=args.runner)
    inputs = _load_npz(args.inputs)
    outputs = deployed.run(inputs[: len(deployed.inputs)])
    if args.outputs:
        out = Path(args.outputs)
        tmp = out.with_name(out.name + ".partial.npz")
        np.savez(tmp, *outputs)
        tmp.replace(out)
        print(f"wrote {len(outputs)} outputs to {out}")
    else:
        for spec, a in zip(deployed.outputs, outputs, strict=True):
            print(f"{spec.name}: {a.dtype}{list(a.shape)}\n{a}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from torch_deeploy.frontend.onnx import import_onnx
    from torch_deeploy.ir import format_graph

    examples = _load_npz(args.inputs) if args.inputs else None
    print(format_graph(import_onnx(args.model, examples)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="torch-deeploy", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True)

    def memory_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--l1", help="L1 budget override, e.g. 64KiB")
        sp.add_argument("--l2", help="L2 budget override, e.g. 1MiB")
        sp.add_argument("--no-weight-memory", action="store_true",
                        help="keep N-EUREKA weights in L2 (DMA'd to L1) instead of the weight memory")

    c = sub.add_parser("conformance", help="run every network.onnx below DIRs against its goldens")
    c.add_argument("dirs", nargs="+", metavar="DIR")
    c.add_argument("--runner", default="reference", choices=["reference", "host", "gvsoc"])
    c.add_argument("--sanitize", action="store_true", help="host runner: build with ASan/UBSan")
    c.add_argument("--engine", action="append", metavar="OP_OR_NODE=ENGINE",
                   help="pin an engine (cluster|neureka) per node, op type or '*' (e.g. '*=cluster')")
    memory_flags(c)
    c.set_defaults(func=cmd_conformance)

    k = sub.add_parser("compile", help="compile an integer ONNX model into a C project")
    k.add_argument("model")
    k.add_argument("-o", "--output", required=True, help="project directory to write")
    k.add_argument("--target", default="siracusa")
    k.add_argument("--runner", default="host", choices=["host", "gvsoc"])
    k.add_argument("--inputs", help="example inputs (.npz, graph order) that fix input types and shapes")
    k.add_argument("--engine", action="append", metavar="OP_OR_NODE=ENGINE", help="pin an engine")
    k.add_argument("--explain", action="store_true", help="print the engine mapping with reasons")
    k.add_argument("--quiet", action="store_true", help="no progress display")
    memory_flags(k)
    k.set_defaults(func=cmd_compile)

    r = sub.add_parser("run", help="run a compiled project on inputs")
    r.add_argument("project")
    r.add_argument("--inputs", required=True)
    r.add_argument("--outputs", help="write outputs to this .npz (graph order)")
    r.add_argument("--runner", default=None, choices=["host", "gvsoc"])
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("show", help="print the imported IR of a model")
    s.add_argument("model")
    s.add_argument("--inputs")
    s.set_defaults(func=cmd_show)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DeeployError as e:
        if args.debug:
            traceback.print_exc()
        print(f"torch-deeploy: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("torch-deeploy: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
