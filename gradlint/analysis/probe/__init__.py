"""The probes: forward statistics, backward gradient profile, local and end-to-end sigma_max."""
from __future__ import annotations

from gradlint.analysis.probe.runner import probe_device, run_probes
from gradlint.analysis.probe.settings import ProbeSettings

__all__ = ["ProbeSettings", "probe_device", "run_probes"]
