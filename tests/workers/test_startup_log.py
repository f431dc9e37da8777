"""A render worker's start-up log says which encoder it will use and why, for the cpu and the gpu role."""

from __future__ import annotations

import logging

import pytest
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from engines.render.encoder import choose_encoder
from ledger import Ledger
from tests.integration import conftest as integration
from workers.hosting import build_workers

settings = integration.settings  # the real-stack Settings fixture: tmp data dir, the dev server, fresh task queues


@pytest.mark.parametrize(("role", "prefer_gpu"), [("cpu", False), ("gpu", True)])
async def test_render_roles_log_their_encoder_and_why(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    ledger: Ledger,
    caplog: pytest.LogCaptureFixture,
    role: str,
    prefer_gpu: bool,
) -> None:
    expected = choose_encoder(prefer_gpu)  # what this machine really offers (libx264 here without a GPU)
    with caplog.at_level(logging.INFO):
        build_workers(dev_env.client, settings, ledger, [role])
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert f"render encoder: {expected.name} ({expected.reason})" in lines
    assert f"{role} render worker: {expected.reason}" in lines
