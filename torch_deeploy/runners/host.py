"""The host runner (embedded default): builds the generated C with the system compiler and runs it.

Builds are cached by a hash of the sources, flags and compiler, so recompiling an unchanged model
costs nothing. A sanitizer build (-fsanitize=address,undefined) is available for tests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from torch_deeploy.errors import RunError

WARN_FLAGS = ["-Wall", "-Wextra", "-Werror"]
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g",
                  "-DHAL_CHECK_ARENA"]


def find_compiler() -> str:
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    raise RunError("no C compiler found: install gcc or clang (Debian: apt-get install gcc), or set CC")


def cache_root() -> Path:
    base = os.environ.get("TORCH_DEEPLOY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch-deeploy")
    return Path(base) / "builds"


@dataclass
class HostBuild:
    executable: Path
    cached: bool
    seconds: float


def compiler_id(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out.splitlines()[0] if out else cc


def build(sources: Mapping[str, str], *, num_cores: int, sanitize: bool = False, opt: str = "-O2") -> HostBuild:
    """Compile a project given as {relative path: text}; returns the cached executable."""
    import time

    cc = find_compiler()
    flags = [opt, "-std=c11", *WARN_FLAGS, f"-DHAL_NUM_CORES={num_cores}"] + (SANITIZE_FLAGS if sanitize else [])
    h = hashlib.sha256()
    h.update(compiler_id(cc).encode())
    h.update(" ".join(flags).encode())
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    key = h.hexdigest()[:24]
    out_dir = cache_root() / key
    exe = out_dir / "network"
    if exe.exists():
        return HostBuild(exe, True, 0.0)
    t0 = time.perf_counter()
    cache_root().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_root(), prefix="tmp-") as tmp:
        root = Path(tmp)
        for name, text in sources.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        c_files = sorted(str(root / n) for n in sources if n.endswith(".c"))
        cmd = [cc, *flags, f"-I{root / 'include'}", *c_files, "-o", str(root / "network"), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            log = (proc.stderr or proc.stdout).strip()
            raise RunError("the generated C did not compile (a torch-deeploy bug; please report it):\n"
                           + "\n".join(log.splitlines()[:30]))
        try:
            os.replace(root, out_dir)
        except OSError:  # another process built the same key meanwhile
            if not exe.exists():
                raise
    return HostBuild(exe, False, time.perf_counter() - t0)


def run(executable: Path, inputs: Sequence[np.ndarray], output_types: Sequence[tuple[np.dtype, tuple[int, ...]]],
        *, timeout: float = 600.0) -> tuple[list[np.ndarray], dict[str, object]]:
    """Run a built network on inputs (already in storage types); returns outputs and timings."""
    with tempfile.TemporaryDirectory(prefix="deeploy-run-") as tmp:
        t = Path(tmp)
        with open(t / "in.bin", "wb") as f:
            for a in inputs:
                f.write(np.ascontiguousarray(a).tobytes())
        proc = subprocess.run([str(executable), str(t / "in.bin"), str(t / "out.bin"), "--perf", str(t / "perf.txt")],
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RunError(f"the network program failed with status {proc.returncode}:\n"
                           + "\n".join((proc.stderr + proc.stdout).strip().splitlines()[:40]))
        raw = (t / "out.bin").read_bytes()
        outs: list[np.ndarray] = []
        pos = 0
        for dt, shape in output_types:
            n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize
            outs.append(np.frombuffer(raw[pos:pos + n], dtype=dt).reshape(shape).copy())
            pos += n
        if pos != len(raw):
            raise RunError(f"the network wrote {len(raw)} output bytes, {pos} were expected")
        perf: dict[str, object] = {"layers": []}
        for line in (t / "perf.txt").read_text().splitlines():
            parts = line.split()
            if parts[0] == "total":
                perf["total"] = int(parts[1])
            elif parts[0] == "layer":
                perf["layers"].append(int(parts[2]))  # type: ignore[union-attr]
            elif parts[0] == "kernel":
                perf.setdefault("kernels", []).append(int(parts[2]))  # type: ignore[union-attr]
            elif parts[0] in ("dma_to_l1", "dma_to_l2", "dma_tables"):
                perf[parts[0]] = int(parts[1])
        return outs, perf


class HostSession:
    """A running network process whose memory persists between steps (see main_host.c --session)."""

    def __init__(self, executable: Path, input_bytes: Sequence[int], output_types: Sequence[tuple[np.dtype, tuple]]):
        if len(input_bytes) > 32 or len(output_types) > 32:
            raise RunError("sessions support at most 32 inputs and 32 outputs")
        self._proc = subprocess.Popen([str(executable), "--session"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        self._in_bytes = list(input_bytes)
        self._out = list(output_types)

    def step(self, inputs: Sequence[np.ndarray | None], want: Sequence[bool]) -> tuple[list[np.ndarray | None], int]:
        """Write the given inputs (None keeps what the buffer holds), run, read the wanted outputs and ns."""
        import struct

        in_mask = sum(1 << i for i, a in enumerate(inputs) if a is not None)
        out_mask = sum(1 << i for i, w in enumerate(want) if w)
        payload = [struct.pack("<II", in_mask, out_mask)]
        for a, n in zip(inputs, self._in_bytes, strict=True):
            if a is not None:
                data = np.ascontiguousarray(a).tobytes()
                assert len(data) == n
                payload.append(data)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(b"".join(payload))
            self._proc.stdin.flush()
            head = self._read(8)
            outs: list[np.ndarray | None] = []
            for (dt, shape), w in zip(self._out, want, strict=True):
                if not w:
                    outs.append(None)
                    continue
                n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize
                outs.append(np.frombuffer(self._read(n), dtype=dt).reshape(shape).copy())
        except (BrokenPipeError, EOFError):
            err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
            raise RunError(f"the network session ended unexpectedly:\n{err[-2000:]}") from None
        return outs, struct.unpack("<Q", head)[0]

    def _read(self, n: int) -> bytes:
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(n) if n else b""
        if len(data) != n:
            raise EOFError
        return data

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
