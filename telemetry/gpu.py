"""GPU telemetry for the gpu worker: NVML read every few seconds, exported as `ytempire_gpu_*` Prometheus gauges.

sampler = GpuSampler(metrics.gpu)   # the real NVML (pynvml); tests pass a fake `nvml=`
sampler.start()                     # an asyncio task; no GPU / no NVML: gpu_available 0, one INFO line, no error
sampler.snapshot()                  # the latest sample as a GpuSnapshot (workers/housekeeping/gpu_status.py
                                    # publishes it)
...
await sampler.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Gauge

from core.periodic import BackgroundTask
from core.records import GpuReading, GpuSnapshot

log = logging.getLogger(__name__)

TARGET_BAND_PERCENT = (70.0, 85.0)  # the spec's GPU utilisation target: busy, with headroom for bursts
SAMPLE_INTERVAL_SECONDS = 5.0
STARTING = "starting"  # the snapshot's reason until NVML has answered (first sample, or why there is none)


class Nvml(Protocol):
    """The NVML calls the sampler makes. The `pynvml` module itself satisfies this; tests pass a fake."""

    NVMLError: type[Exception]

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any: ...
    def nvmlDeviceGetName(self, handle: Any) -> Any: ...  # str (bytes in older pynvml)
    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any: ...  # .gpu: percent of time a kernel ran
    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any: ...  # .used, .total: bytes
    def nvmlDeviceGetEncoderStats(self, handle: Any) -> Any: ...  # (sessions, average fps, average latency us)
    def nvmlDeviceGetEncoderUtilization(self, handle: Any) -> Any: ...  # [percent, sampling period us]


def load_nvml() -> tuple[Nvml | None, str]:
    """The real NVML bindings, or None and why not."""
    try:
        import pynvml
    except ImportError:
        return None, "pynvml_missing"
    return pynvml, ""


def in_band(utilization_percent: float, band: tuple[float, float] = TARGET_BAND_PERCENT) -> bool:
    """True when utilisation is inside the target band, both ends included."""
    low, high = band
    return low <= utilization_percent <= high


def _text(value: Any) -> str | None:
    """NVML strings: str in current pynvml, bytes in older releases."""
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _reason_label(exc: Exception) -> str:
    """A short, bounded label from an NVML error class: NVMLError_LibraryNotFound -> library_not_found."""
    name = type(exc).__name__.removeprefix("NVMLError").lstrip("_")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or "nvml_error"


class GpuGauges:
    """The `ytempire_gpu_*` series, labelled by GPU index (`gpu="0"`), on a worker's registry."""

    def __init__(self, registry: CollectorRegistry, band: tuple[float, float] = TARGET_BAND_PERCENT) -> None:
        labels = ["gpu"]
        self.utilization = Gauge(
            "ytempire_gpu_utilization_percent",
            "Percent of the last sample period in which a kernel ran on the GPU (NVML)",
            labels,
            registry=registry,
        )
        self.memory_used = Gauge("ytempire_gpu_memory_used_bytes", "GPU memory in use", labels, registry=registry)
        self.memory_total = Gauge("ytempire_gpu_memory_total_bytes", "GPU memory installed", labels, registry=registry)
        self.encoder_sessions = Gauge(
            "ytempire_gpu_encoder_sessions", "Active NVENC encoder sessions", labels, registry=registry
        )
        self.encoder_utilization = Gauge(
            "ytempire_gpu_encoder_utilization_percent", "NVENC encoder utilisation", labels, registry=registry
        )
        self.in_target_band = Gauge(
            "ytempire_gpu_in_target_band",
            f"1 while GPU utilisation is within the {band[0]:g}-{band[1]:g} % target band, else 0",
            labels,
            registry=registry,
        )
        self.available = Gauge(
            "ytempire_gpu_available",
            'Whether this worker samples GPUs: 1 with reason="ok", else 0 with why not (no NVML, no GPU, ...)',
            ["reason"],
            registry=registry,
        )
        self.target_band = Gauge(
            "ytempire_gpu_target_band_percent",
            "The GPU utilisation target band (low and high bound), for dashboards and alerts",
            ["bound"],
            registry=registry,
        )
        self.target_band.labels("low").set(band[0])
        self.target_band.labels("high").set(band[1])

    def set_available(self, available: bool, reason: str) -> None:
        self.available.clear()  # one series at a time: the current reason
        self.available.labels(reason).set(1 if available else 0)

    def forget(self, gpu: str, gauge: Gauge) -> None:
        """Drop a series that can no longer be read, rather than exporting a stale value."""
        with contextlib.suppress(KeyError):
            gauge.remove(gpu)


class GpuSampler:
    """Reads every GPU through NVML each `interval_seconds` and sets `GpuGauges`; never raises on a missing GPU."""

    def __init__(
        self,
        gauges: GpuGauges,
        nvml: Nvml | None = None,
        *,
        interval_seconds: float = SAMPLE_INTERVAL_SECONDS,
        band: tuple[float, float] = TARGET_BAND_PERCENT,
    ) -> None:
        self.gauges = gauges
        self.interval_seconds = interval_seconds
        self.band = band
        self._nvml = nvml
        self._handles: list[tuple[str, Any]] = []
        self._names: dict[str, str | None] = {}
        self._snapshot = GpuSnapshot(False, STARTING)  # replaced whole (never mutated): safe to read from any thread
        self._unsupported: set[tuple[str, str]] = set()
        self._open = False
        self._lock = threading.Lock()  # sample() runs in a thread: never shut NVML down under it
        self._background = BackgroundTask("gpu-telemetry", self.run)

    @property
    def gpu_count(self) -> int:
        return len(self._handles)

    def snapshot(self) -> GpuSnapshot:
        """The latest sample (reason "starting" until NVML has answered)."""
        return self._snapshot

    def open(self) -> bool:
        """Initialise NVML and find the GPUs; False (gpu_available 0, one INFO line) when there is nothing to sample."""
        nvml = self._nvml
        if nvml is None:
            nvml, reason = load_nvml()
            if nvml is None:
                return self._unavailable(reason, "the nvidia-ml-py package (pynvml) is not installed")
            self._nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            return self._unavailable(_reason_label(exc), f"NVML did not start ({exc})")
        self._open = True
        try:
            count = int(nvml.nvmlDeviceGetCount())
            self._handles = [(str(i), nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
        except nvml.NVMLError as exc:
            self.close()
            return self._unavailable(_reason_label(exc), f"NVML could not list the GPUs ({exc})")
        if not self._handles:
            self.close()
            return self._unavailable("no_devices", "NVML reports 0 GPUs")
        # Names are read once: they cannot change while NVML is open.
        self._names = {gpu: _text(self._read(gpu, "name", nvml.nvmlDeviceGetName, h)) for gpu, h in self._handles}
        self.gauges.set_available(True, "ok")
        log.info(
            "GPU telemetry: %d GPU(s), sampled every %g s (target band %g-%g %%)",
            len(self._handles),
            self.interval_seconds,
            *self.band,
        )
        return True

    def _unavailable(self, reason: str, why: str) -> bool:
        self.gauges.set_available(False, reason)
        self._snapshot = GpuSnapshot(False, reason)
        log.info('GPU telemetry off: %s; ytempire_gpu_available{reason="%s"} is 0', why, reason)
        return False

    def sample(self) -> None:
        """Read every GPU once. A value NVML cannot give (e.g. encoder stats on some boards) is left out."""
        with self._lock:
            self._sample()

    def _sample(self) -> None:
        nvml = self._nvml
        if nvml is None or not self._open:
            return
        g = self.gauges
        readings: list[GpuReading] = []
        for gpu, handle in self._handles:
            util = self._read(gpu, "utilization", lambda h: float(nvml.nvmlDeviceGetUtilizationRates(h).gpu), handle)
            if util is None:
                g.forget(gpu, g.utilization)
                g.forget(gpu, g.in_target_band)
            else:
                g.utilization.labels(gpu).set(util)
                g.in_target_band.labels(gpu).set(1 if in_band(util, self.band) else 0)
            memory = self._read(gpu, "memory", nvml.nvmlDeviceGetMemoryInfo, handle)
            if memory is None:
                g.forget(gpu, g.memory_used)
                g.forget(gpu, g.memory_total)
            else:
                g.memory_used.labels(gpu).set(memory.used)
                g.memory_total.labels(gpu).set(memory.total)
            stats = self._read(gpu, "encoder_stats", nvml.nvmlDeviceGetEncoderStats, handle)
            if stats is None:
                g.forget(gpu, g.encoder_sessions)
            else:
                g.encoder_sessions.labels(gpu).set(stats[0])
            enc = self._read(gpu, "encoder_utilization", nvml.nvmlDeviceGetEncoderUtilization, handle)
            if enc is None:
                g.forget(gpu, g.encoder_utilization)
            else:
                g.encoder_utilization.labels(gpu).set(enc[0])
            readings.append(
                GpuReading(
                    gpu=gpu,
                    name=self._names.get(gpu),
                    utilization_percent=util,
                    memory_used_bytes=int(memory.used) if memory is not None else None,
                    memory_total_bytes=int(memory.total) if memory is not None else None,
                    encoder_sessions=int(stats[0]) if stats is not None else None,
                    encoder_utilization_percent=float(enc[0]) if enc is not None else None,
                )
            )
        self._snapshot = GpuSnapshot(True, "ok", readings)

    def _read(self, gpu: str, what: str, call: Any, handle: Any) -> Any:
        assert self._nvml is not None
        try:
            return call(handle)
        except self._nvml.NVMLError as exc:
            if (gpu, what) not in self._unsupported:  # log once per GPU and value, not every sample
                self._unsupported.add((gpu, what))
                log.info("GPU %s: NVML cannot read %s (%s); that series is left out", gpu, what, exc)
            return None

    def close(self) -> None:
        """Shut NVML down (after a sample in progress has finished)."""
        with self._lock:
            if self._open and self._nvml is not None:
                self._open = False
                with contextlib.suppress(self._nvml.NVMLError):
                    self._nvml.nvmlShutdown()

    async def run(self) -> None:
        """Sample until cancelled. NVML calls run in a thread: a wedged driver must not stall the worker's loop."""
        try:
            opened = await asyncio.to_thread(self.open)
        except Exception:
            log.warning("GPU telemetry could not start", exc_info=True)
            self.gauges.set_available(False, "nvml_error")
            self._snapshot = GpuSnapshot(False, "nvml_error")
            return
        if not opened:
            return
        failed = False
        try:
            while True:
                try:
                    await asyncio.to_thread(self.sample)
                except Exception:
                    # Telemetry must never take the worker down; say so once, keep trying.
                    if not failed:
                        log.warning("GPU telemetry sample failed; will keep trying", exc_info=True)
                    failed = True
                await asyncio.sleep(self.interval_seconds)
        finally:
            await asyncio.to_thread(self.close)

    def start(self) -> asyncio.Task[None]:
        """Run the sampler as a background task of the running loop."""
        return self._background.start()

    async def aclose(self) -> None:
        """Stop sampling and shut NVML down."""
        await self._background.aclose()
