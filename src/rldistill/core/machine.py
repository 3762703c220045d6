"""What a run's float results depend on besides its options: the CPU's instruction set, and
the kernels torch and MKL pick for it. The same options give the same run bit for bit on one
machine; on a CPU with another instruction set (AVX-512 or not, AMX) MKL's matrix products and
ATen's kernels round differently, and RL training amplifies the last bit (the same 13k-step
Hopper SAC training with MKL held to AVX2 ends 0.7 away, in a weight, from AVX-512's:
``benchmarks/bank/README.md``). Records carry :func:`machine`, so that a run that does not
reproduce says where it ran."""

from __future__ import annotations

import os
import platform
from pathlib import Path

#: the instruction-set flags of /proc/cpuinfo that change which float kernels run
FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile")


def cpu_info(text: str | None = None) -> dict[str, str]:
    """The CPU's model name and its kernel-relevant flags, from /proc/cpuinfo (``text``: its
    contents, for tests); where it has none, what ``platform`` says, and no flags."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            text = ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
        if key.strip() == "flags":
            break
    have = set(fields.get("flags", "").split())
    return {"cpu": fields.get("model name") or platform.processor() or platform.machine(),
            "flags": " ".join(f for f in FLAGS if f in have)}


def machine() -> dict[str, str]:
    """``cpu`` and ``flags`` (:func:`cpu_info`), torch's version and the ATen kernels it runs
    (``aten``: AVX512, AVX2, DEFAULT; ``ATEN_CPU_CAPABILITY`` chooses), and
    ``MKL_ENABLE_INSTRUCTIONS`` where set (it limits MKL's matrix products)."""
    import torch

    out = {**cpu_info(), "torch": torch.__version__,
           "aten": torch.backends.cpu.get_cpu_capability()}
    if os.environ.get("MKL_ENABLE_INSTRUCTIONS"):
        out["mkl"] = os.environ["MKL_ENABLE_INSTRUCTIONS"]
    return out
