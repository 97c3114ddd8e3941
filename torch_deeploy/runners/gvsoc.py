"""The gvsoc runner: builds the generated C for GVSoC's `siracusa` target and runs it there.

Bare-metal build with a RISC-V GCC and picolibc (Debian: gcc-riscv64-unknown-elf,
picolibc-riscv64-unknown-elf) and the project's own start-up code, linker script and runtime
(csrc_templates/hal/siracusa/). The network's objects are compiled once per source hash and cached like
the host runner's; every run bakes its inputs into a small C file (the simulator has no file I/O),
links, runs `gvsoc --target=siracusa` in a temporary work directory under a timeout, and parses the
outputs (hex lines) and cycle counts (cluster cycles: total and per layer) that main_siracusa.c prints.

Found through the environment: $GVSOC (the `gvsoc` launcher) or `gvsoc` on PATH; $RISCV_GCC or
`riscv64-unknown-elf-gcc` / `riscv32-unknown-elf-gcc` on PATH. GVSoC is not part of torch-deeploy.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from torch_deeploy.backend.templates import TEMPLATE_DIR
from torch_deeploy.errors import RunError
from torch_deeploy.runners.host import cache_root, compiler_id

SIRACUSA_DIR = TEMPLATE_DIR / "hal" / "siracusa"
# Runtime files added to a generated project for this target (project path -> file in SIRACUSA_DIR).
PLATFORM_FILES = {
    "include/siracusa.h": "siracusa.h",
    "src/siracusa_rt.c": "siracusa_rt.c",
    "src/string_siracusa.c": "string_siracusa.c",
    "src/hal_siracusa.c": "hal_siracusa.c",
    "src/main_siracusa.c": "main_siracusa.c",
    "src/crt0.S": "crt0.S",
    "siracusa.ld": "siracusa.ld",
}
HOST_ONLY = ("src/hal_host.c", "src/main_host.c")
ARCH_FLAGS = ["-misa-spec=2.2", "-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"]
WARN_FLAGS = ["-Wall", "-Wextra", "-Werror"]
STACK_BYTES = 2016  # per cluster core (a multiple of 16); L1 also holds the planned arena (targets/siracusa.toml)

INSTALL_HELP = (
    "GVSoC (the PULP simulator) and a RISC-V toolchain are needed for runner='gvsoc'.\n"
    "  toolchain (Debian/Ubuntu): apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf\n"
    "            (or set RISCV_GCC=/path/to/riscv*-unknown-elf-gcc)\n"
    "  GVSoC: follow https://github.com/gvsoc/gvsoc (README), build the siracusa target\n"
    "         (make build TARGETS=siracusa), then put its install/bin on PATH or set GVSOC=/path/to/gvsoc")


def find_gvsoc() -> str | None:
    env = os.environ.get("GVSOC")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else shutil.which(env)
    return shutil.which("gvsoc")


def find_gcc() -> str | None:
    env = os.environ.get("RISCV_GCC")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else shutil.which(env)
    for cc in ("riscv64-unknown-elf-gcc", "riscv32-unknown-elf-gcc"):
        if shutil.which(cc):
            return shutil.which(cc)
    return None


def missing() -> str | None:
    """None when GVSoC and the toolchain are there, else what is missing and how to install it."""
    what = []
    if find_gcc() is None:
        what.append("no RISC-V GCC (riscv64-unknown-elf-gcc on PATH or $RISCV_GCC)")
    if find_gvsoc() is None:
        what.append("no gvsoc (on PATH or $GVSOC)")
    return None if not what else "; ".join(what) + "\n" + INSTALL_HELP


@dataclass
class GvsocBuild:
    executable: Path  # the build directory: compiled objects and link flags
    cached: bool
    seconds: float


def _cflags(num_cores: int, opt: str) -> list[str]:
    return [*ARCH_FLAGS, "-DPICOLIBC_INTEGER_PRINTF_SCANF", opt, "-std=gnu11", *WARN_FLAGS, "-ffunction-sections",
            "-fdata-sections", "-DHAL_SIRACUSA", f"-DHAL_NUM_CORES={num_cores}", f"-DSIR_NUM_CORES={num_cores}",
            f"-DHAL_STACK_BYTES={STACK_BYTES}"]


def _ldflags(root: Path, num_cores: int) -> list[str]:
    return [*ARCH_FLAGS, "-DPICOLIBC_INTEGER_PRINTF_SCANF", "-nostartfiles", "-T", str(root / "siracusa.ld"),
            f"-Wl,--defsym=__cluster_nb_cores={num_cores}", f"-Wl,--defsym=__cluster_stack_size={STACK_BYTES}",
            "-Wl,--no-warn-rwx-segments", "-Wl,--gc-sections"]


def project_sources(sources: Mapping[str, str]) -> dict[str, str]:
    """The generated project with the host harness replaced by the Siracusa runtime."""
    out = {k: v for k, v in sources.items() if k not in HOST_ONLY}
    for rel, name in PLATFORM_FILES.items():
        out[rel] = (SIRACUSA_DIR / name).read_text()
    return out


def build(sources: Mapping[str, str], *, num_cores: int, sanitize: bool = False, opt: str = "-O2") -> GvsocBuild:
    """Compile a generated project for Siracusa; returns the cached build directory (objects)."""
    del sanitize  # no sanitizers on the target
    if num_cores not in (1, 2, 4, 8):
        raise RunError(f"the siracusa cluster runs 1, 2, 4 or 8 cores, not {num_cores}")
    cc = find_gcc()
    if cc is None:
        raise RunError("runner 'gvsoc': no RISC-V GCC found.\n" + INSTALL_HELP)
    srcs = project_sources(sources)
    flags = _cflags(num_cores, opt)
    h = hashlib.sha256()
    h.update(b"gvsoc-siracusa\0" + compiler_id(cc).encode() + b"\0" + " ".join(flags).encode())
    h.update(str(num_cores).encode() + str(STACK_BYTES).encode())
    for name in sorted(srcs):
        h.update(name.encode() + b"\0" + srcs[name].encode() + b"\0")
    key = "gvsoc-" + h.hexdigest()[:24]
    out_dir = cache_root() / key
    if (out_dir / "objects.txt").exists():
        return GvsocBuild(out_dir, True, 0.0)
    t0 = time.perf_counter()
    cache_root().mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_root(), prefix="tmp-"))
    try:
        for name, text in srcs.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)
        units = sorted(n for n in srcs if n.endswith((".c", ".S")))

        def compile_one(n: str) -> tuple[str, subprocess.CompletedProcess[str]]:
            obj = "obj/" + n.replace("/", "_").rsplit(".", 1)[0] + ".o"
            (tmp / "obj").mkdir(exist_ok=True)
            cmd = [cc, *flags, f"-I{tmp / 'include'}", "-c", str(tmp / n), "-o", str(tmp / obj)]
            return obj, subprocess.run(cmd, capture_output=True, text=True)

        (tmp / "obj").mkdir(exist_ok=True)
        with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
            results = list(pool.map(compile_one, units))
        for _obj, proc in results:
            if proc.returncode != 0:
                log = (proc.stderr or proc.stdout).strip()
                raise RunError("the generated C did not compile for siracusa (a torch-deeploy bug; please report "
                               "it):\n" + "\n".join(log.splitlines()[:30]))
        (tmp / "objects.txt").write_text("\n".join(o for o, _ in results) + "\n")
        (tmp / "link.txt").write_text("\n".join([cc, *_ldflags(out_dir, num_cores)]) + "\n")
        (tmp / "cflags.txt").write_text("\n".join(flags) + "\n")
        try:
            os.replace(tmp, out_dir)
        except OSError:  # another process built the same key meanwhile
            if not (out_dir / "objects.txt").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return GvsocBuild(out_dir, False, time.perf_counter() - t0)


def _inputs_c(inputs: Sequence[np.ndarray]) -> str:
    raw = b"".join(np.ascontiguousarray(a).tobytes() for a in inputs)
    body = ",".join(str(b) for b in raw) if raw else "0"
    return ("/* Inputs baked into the image by torch-deeploy's gvsoc runner. */\n#include <stdint.h>\n"
            f"const uint32_t deeploy_inputs_bytes = {len(raw)}u;\n"
            f"const uint8_t deeploy_inputs[{max(len(raw), 1)}] __attribute__((aligned(8))) = {{{body}}};\n")


def link(build_dir: Path, inputs: Sequence[np.ndarray], dest: Path) -> Path:
    """Link the cached objects with the inputs into dest/network.elf."""
    flags = (build_dir / "cflags.txt").read_text().split("\n")
    cc, *ldflags = [x for x in (build_dir / "link.txt").read_text().split("\n") if x]
    objs = [str(build_dir / o) for o in (build_dir / "objects.txt").read_text().split() if o]
    (dest / "inputs_data.c").write_text(_inputs_c(inputs))
    elf = dest / "network.elf"
    cmd = [cc, *[f for f in flags if f], "-c", str(dest / "inputs_data.c"), "-o", str(dest / "inputs_data.o")]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode == 0:
        cmd = [cc, *objs, str(dest / "inputs_data.o"), *ldflags, f"-Wl,-Map={dest / 'network.map'}", "-lm",
               "-o", str(elf)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        log = (proc.stderr or proc.stdout).strip()
        hint = ""
        if "overflow" in log or "will not fit" in log or "overlap" in log:
            hint = "\nthe network does not fit Siracusa's memories (L1 arena + stacks, or L2): try a smaller --l1/--l2"
        raise RunError("linking the siracusa image failed:\n" + "\n".join(log.splitlines()[:20]) + hint)
    return elf


_OUT = re.compile(r"^OUT (\d+) ([0-9a-f]*)\s*$")
_PERF = re.compile(r"^PERF (\w+) (\d+)(?: (\d+))?\s*$")


def parse_output(text: str, n_outputs: int) -> tuple[list[bytes], dict[str, object]]:
    chunks: list[list[str]] = [[] for _ in range(n_outputs)]
    perf: dict[str, object] = {"layers": []}
    done = False
    for line in text.splitlines():
        line = line.strip()
        m = _OUT.match(line)
        if m:
            i = int(m.group(1))
            if i < n_outputs:
                chunks[i].append(m.group(2))
            continue
        m = _PERF.match(line)
        if m:
            if m.group(1) == "layer":
                perf["layers"].append(int(m.group(3)))  # type: ignore[union-attr]
            elif m.group(1) == "kernel":
                perf.setdefault("kernels", []).append(int(m.group(3)))  # type: ignore[union-attr]
            else:
                perf[m.group(1)] = int(m.group(2))
            continue
        if line == "DONE":
            done = True
    if not done:
        raise RunError("the siracusa program ended without printing all its results:\n"
                       + "\n".join(text.strip().splitlines()[-20:]))
    return [bytes.fromhex("".join(c)) for c in chunks], perf


def _run_killing_group(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run GVSoC in its own process group; on timeout (or interrupt) kill the whole group: the gvsoc wrapper
    starts the simulator as a child, which a plain kill of the wrapper would leave running."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(p)
        raise RunError(f"GVSoC did not finish within {timeout:g} s (a hung program, or raise "
                       "TORCH_DEEPLOY_GVSOC_TIMEOUT)") from None
    except BaseException:
        _kill_group(p)
        raise
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def _kill_group(p: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGKILL)
    p.communicate()


def run(build_dir: Path, inputs: Sequence[np.ndarray], output_types: Sequence[tuple[np.dtype, tuple[int, ...]]],
        *, timeout: float | None = None) -> tuple[list[np.ndarray], dict[str, object]]:
    """Run a built network on GVSoC's siracusa target; returns outputs and cycle counts (cluster cycles)."""
    gv = find_gvsoc()
    if gv is None:
        raise RunError("runner 'gvsoc': the GVSoC simulator was not found.\n" + INSTALL_HELP)
    timeout = float(timeout or os.environ.get("TORCH_DEEPLOY_GVSOC_TIMEOUT", 900))
    with tempfile.TemporaryDirectory(prefix="deeploy-gvsoc-") as tmp:
        t = Path(tmp)
        elf = link(build_dir, inputs, t)
        work = t / "work"
        work.mkdir()
        cmd = [gv, "--target=siracusa", f"--binary={elf}", f"--work-dir={work}", "run"]
        proc = _run_killing_group(cmd, work, timeout)
        text = proc.stdout
        bad = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "Invalid access" in ln or ln.startswith("TRAP")]
        if proc.returncode != 0 or bad:
            raise RunError(f"the siracusa program failed on GVSoC (status {proc.returncode}):\n"
                           + "\n".join((bad or (proc.stderr + proc.stdout).strip().splitlines())[-25:]))
        raw, perf = parse_output(text, len(output_types))
        outs: list[np.ndarray] = []
        for i, ((dt, shape), data) in enumerate(zip(output_types, raw, strict=True)):
            n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize
            if len(data) != n:
                raise RunError(f"output {i}: the program printed {len(data)} bytes, {n} were expected")
            outs.append(np.frombuffer(data, dtype=dt).reshape(shape).copy())
        perf["clock"] = "cluster cycles"
        return outs, perf
