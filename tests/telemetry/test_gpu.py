"""GPU telemetry: exported values, the 70-85 % band gauge and the no-GPU path, over a fake NVML and the real one."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry

from core.records import GpuReading
from engines.render.encoder import nvml_gpu_count
from telemetry.gpu import STARTING, GpuGauges, GpuSampler, in_band
from telemetry.worker_metrics import WorkerMetrics
from tests.telemetry.fake_nvml import GIB, FakeGpu, FakeNvml, NVMLError_DriverNotLoaded

GPU_SERIES = (
    "ytempire_gpu_utilization_percent",
    "ytempire_gpu_memory_used_bytes",
    "ytempire_gpu_memory_total_bytes",
    "ytempire_gpu_encoder_sessions",
    "ytempire_gpu_encoder_utilization_percent",
    "ytempire_gpu_in_target_band",
)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def sampled(nvml: FakeNvml) -> tuple[CollectorRegistry, GpuSampler]:
    registry = CollectorRegistry()
    sampler = GpuSampler(GpuGauges(registry), nvml)
    assert sampler.open()
    sampler.sample()
    return registry, sampler


def test_every_gpu_is_exported() -> None:
    nvml = FakeNvml(
        [
            FakeGpu(
                utilization=78, memory_used=5 * GIB, memory_total=24 * GIB, encoder_sessions=3, encoder_utilization=61
            ),
            FakeGpu(
                utilization=12, memory_used=1 * GIB, memory_total=16 * GIB, encoder_sessions=0, encoder_utilization=0
            ),
        ]
    )
    registry, sampler = sampled(nvml)
    assert sampler.gpu_count == 2
    assert value(registry, "ytempire_gpu_available", reason="ok") == 1
    expected = {
        "0": (78, 5 * GIB, 24 * GIB, 3, 61, 1),
        "1": (12, 1 * GIB, 16 * GIB, 0, 0, 0),
    }
    for gpu, values in expected.items():
        assert tuple(value(registry, name, gpu=gpu) for name in GPU_SERIES) == values
    assert value(registry, "ytempire_gpu_target_band_percent", bound="low") == 70
    assert value(registry, "ytempire_gpu_target_band_percent", bound="high") == 85

    nvml.gpus[1].utilization = 80  # the next sample moves GPU 1 into the band
    sampler.sample()
    assert value(registry, "ytempire_gpu_utilization_percent", gpu="1") == 80
    assert value(registry, "ytempire_gpu_in_target_band", gpu="1") == 1
    sampler.close()
    assert (nvml.inits, nvml.shutdowns) == (1, 1)


@pytest.mark.parametrize(("utilization", "inside"), [(0, 0), (69, 0), (70, 1), (77, 1), (85, 1), (86, 0), (100, 0)])
def test_band_gauge_edges(utilization: int, inside: int) -> None:
    registry, _ = sampled(FakeNvml([FakeGpu(utilization=utilization)]))
    assert value(registry, "ytempire_gpu_in_target_band", gpu="0") == inside
    assert in_band(utilization) is bool(inside)


def test_no_nvml_is_a_clean_zero_with_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    nvml = FakeNvml([], init_error=NVMLError_DriverNotLoaded("Driver Not Loaded"))
    with caplog.at_level(logging.DEBUG, logger="telemetry.gpu"):
        assert GpuSampler(GpuGauges(registry), nvml).open() is False
    assert value(registry, "ytempire_gpu_available", reason="driver_not_loaded") == 0
    assert value(registry, "ytempire_gpu_available", reason="ok") is None
    assert all(value(registry, name, gpu="0") is None for name in GPU_SERIES)
    records = [r for r in caplog.records if r.name == "telemetry.gpu"]
    assert [r.levelname for r in records] == ["INFO"]
    assert "GPU telemetry off" in records[0].getMessage() and "Driver Not Loaded" in records[0].getMessage()


def test_zero_gpus() -> None:
    registry = CollectorRegistry()
    nvml = FakeNvml([])
    assert GpuSampler(GpuGauges(registry), nvml).open() is False
    assert value(registry, "ytempire_gpu_available", reason="no_devices") == 0
    assert nvml.shutdowns == 1  # NVML was started, so it is shut down again


def test_a_value_the_board_cannot_give_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    nvml = FakeNvml([FakeGpu(utilization=72, unsupported={"encoder_stats", "encoder_utilization"})])
    with caplog.at_level(logging.INFO, logger="telemetry.gpu"):
        registry, sampler = sampled(nvml)
        sampler.sample()
    assert value(registry, "ytempire_gpu_utilization_percent", gpu="0") == 72
    assert value(registry, "ytempire_gpu_encoder_sessions", gpu="0") is None
    assert value(registry, "ytempire_gpu_encoder_utilization_percent", gpu="0") is None
    cannot = [r for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(cannot) == 2  # once per value, not once per sample

    nvml.gpus[0].unsupported = {"utilization"}  # a series that stops being readable is dropped, not left stale
    sampler.sample()
    assert value(registry, "ytempire_gpu_utilization_percent", gpu="0") is None
    assert value(registry, "ytempire_gpu_in_target_band", gpu="0") is None
    assert value(registry, "ytempire_gpu_encoder_sessions", gpu="0") == 2


def test_the_snapshot_holds_the_latest_sample() -> None:
    nvml = FakeNvml(
        [
            FakeGpu(utilization=78, memory_used=5 * GIB, memory_total=24 * GIB, encoder_sessions=3, name="NVIDIA L4"),
            FakeGpu(utilization=12, unsupported={"name", "encoder_stats", "encoder_utilization"}),
        ]
    )
    sampler = GpuSampler(GpuGauges(CollectorRegistry()), nvml)
    assert sampler.snapshot().available is False and sampler.snapshot().reason == STARTING
    assert sampler.open()
    assert sampler.snapshot().reason == STARTING  # NVML is open, but nothing has been sampled yet
    sampler.sample()
    snap = sampler.snapshot()
    assert (snap.available, snap.reason) == (True, "ok")
    assert snap.readings == [
        GpuReading("0", "NVIDIA L4", 78.0, 5 * GIB, 24 * GIB, 3, 40.0),
        GpuReading("1", None, 12.0, 3 * GIB, 16 * GIB, None, None),  # what the board cannot give is None
    ]

    nvml.gpus[1].utilization = 80
    sampler.sample()
    later = sampler.snapshot()
    assert later.readings[1].utilization_percent == 80 and later.monotonic_at >= snap.monotonic_at
    assert snap.readings[1].utilization_percent == 12  # an earlier snapshot is never changed under its reader
    sampler.close()


@pytest.mark.parametrize(
    ("nvml", "reason"),
    [
        (FakeNvml([], init_error=NVMLError_DriverNotLoaded("Driver Not Loaded")), "driver_not_loaded"),
        (FakeNvml([]), "no_devices"),
    ],
)
def test_the_snapshot_without_a_gpu(nvml: FakeNvml, reason: str) -> None:
    registry = CollectorRegistry()
    sampler = GpuSampler(GpuGauges(registry), nvml)
    assert sampler.open() is False
    sampler.sample()  # a no-op: nothing is open
    snap = sampler.snapshot()
    assert (snap.available, snap.reason, snap.readings) == (False, reason, [])
    assert value(registry, "ytempire_gpu_available", reason=reason) == 0  # the same label as the gauge


async def test_the_task_samples_until_closed() -> None:
    nvml = FakeNvml([FakeGpu(utilization=84)])
    metrics = WorkerMetrics()
    sampler = GpuSampler(metrics.gpu, nvml, interval_seconds=0.01)
    sampler.start()
    for _ in range(500):
        if nvml.samples >= 3:
            break
        await asyncio.sleep(0.01)
    assert nvml.samples >= 3
    assert value(metrics.registry, "ytempire_gpu_in_target_band", gpu="0") == 1
    await sampler.aclose()
    assert nvml.shutdowns == 1
    after = nvml.samples
    await asyncio.sleep(0.05)
    assert nvml.samples == after


async def test_the_real_nvml_on_this_machine(caplog: pytest.LogCaptureFixture) -> None:
    """The real pynvml: without a GPU (this project's CI) a clean 0 with a reason; with one, real samples."""
    gpus, why = nvml_gpu_count()
    metrics = WorkerMetrics()
    sampler = GpuSampler(metrics.gpu, interval_seconds=0.05)
    with caplog.at_level(logging.INFO, logger="telemetry.gpu"):
        sampler.start()
        await asyncio.sleep(0.3)
        await sampler.aclose()
    available = {
        s.labels["reason"]: s.value
        for m in metrics.registry.collect()
        for s in m.samples
        if m.name == "ytempire_gpu_available"
    }
    snap = sampler.snapshot()
    if gpus == 0:
        assert len(available) == 1 and "ok" not in available and list(available.values()) == [0], (available, why)
        assert (snap.available, [snap.reason], snap.readings) == (False, list(available), [])
        assert [r.levelname for r in caplog.records if r.name == "telemetry.gpu"] == ["INFO"]
    else:
        assert available == {"ok": 1}
        assert value(metrics.registry, "ytempire_gpu_memory_total_bytes", gpu="0")
        assert snap.available and len(snap.readings) == gpus and snap.readings[0].memory_total_bytes
        assert snap.readings[0].name  # a real board has a name (str, decoded from bytes on older pynvml)
