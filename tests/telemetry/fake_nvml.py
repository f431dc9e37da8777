"""A fake NVML with the calls `telemetry.gpu.Nvml` names, for sampler tests on machines without a GPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

GIB = 1024**3


class FakeNvmlError(Exception):
    """Stands in for pynvml.NVMLError; subclasses carry pynvml's class names (the sampler labels by them)."""


class NVMLError_DriverNotLoaded(FakeNvmlError):
    pass


class NVMLError_NotSupported(FakeNvmlError):
    pass


@dataclass
class FakeGpu:
    utilization: int = 75
    memory_used: int = 3 * GIB
    memory_total: int = 16 * GIB
    encoder_sessions: int = 2
    encoder_utilization: int = 40
    name: str = "NVIDIA Fake T4"
    unsupported: set[str] = field(default_factory=set)  # names of the NVML calls this board refuses


class FakeNvml:
    NVMLError = FakeNvmlError

    def __init__(self, gpus: list[FakeGpu], init_error: Exception | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.inits = 0
        self.shutdowns = 0
        self.samples = 0

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        return self.gpus[index]

    def _check(self, gpu: FakeGpu, call: str) -> None:
        if call in gpu.unsupported:
            raise NVMLError_NotSupported("Not Supported")

    def nvmlDeviceGetName(self, handle: FakeGpu) -> str:
        self._check(handle, "name")
        return handle.name

    def nvmlDeviceGetUtilizationRates(self, handle: FakeGpu) -> Any:
        self._check(handle, "utilization")
        self.samples += 1
        return SimpleNamespace(gpu=handle.utilization, memory=10)

    def nvmlDeviceGetMemoryInfo(self, handle: FakeGpu) -> Any:
        self._check(handle, "memory")
        return SimpleNamespace(used=handle.memory_used, total=handle.memory_total, free=0)

    def nvmlDeviceGetEncoderStats(self, handle: FakeGpu) -> Any:
        self._check(handle, "encoder_stats")
        return (handle.encoder_sessions, 120, 900)

    def nvmlDeviceGetEncoderUtilization(self, handle: FakeGpu) -> Any:
        self._check(handle, "encoder_utilization")
        return [handle.encoder_utilization, 167000]
