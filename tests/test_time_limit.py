"""--timeout: a model that runs too long ends as one exit-2 line, the next model still runs."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from gradlint.api import LintSettings, lint_loader
from gradlint.errors import UsageError
from gradlint.options import DEFAULT_TIMEOUT_S, AnalysisOptions
from gradlint.settings import build_settings
from gradlint.time_limit import AnalysisTimeout, cancel_when_expired, check, time_limit


def _settings(timeout: float) -> LintSettings:
    return LintSettings(options=AnalysisOptions(timeout=timeout))


def _hanging_loader(options: AnalysisOptions):
    while True:  # a loader stuck in Python code, like a pathological graph walk
        time.sleep(0.01)


def test_a_hang_becomes_a_resource_error_naming_the_timeout() -> None:
    started = time.monotonic()
    report = lint_loader("hang.onnx", _hanging_loader, _settings(0.3))
    assert time.monotonic() - started < 5
    assert report.error is not None and report.error.code == "resource"
    assert report.error.message == "analysis exceeded --timeout 0.3 s"


def test_the_timeout_cannot_be_swallowed_by_except_exception() -> None:
    def swallowing_loader(options: AnalysisOptions):
        try:
            _hanging_loader(options)
        except Exception:  # what probe code does with a failing step
            return None

    report = lint_loader("hang.onnx", swallowing_loader, _settings(0.2))
    assert report.error is not None and "exceeded --timeout" in report.error.message


def test_the_alarm_is_disarmed_after_the_model() -> None:
    with time_limit(0.2):
        pass
    time.sleep(0.4)  # an armed timer would raise here


def test_off_the_main_thread_the_bound_is_checked_between_phases() -> None:
    raised: list[BaseException] = []

    def body() -> None:
        try:
            with time_limit(0.05):
                time.sleep(0.1)
                check()
        except AnalysisTimeout as error:
            raised.append(error)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert len(raised) == 1 and raised[0].seconds == 0.05


def test_zero_means_no_bound() -> None:
    with time_limit(0):
        time.sleep(0.05)
        check()


def test_settings_default_cli_and_config(tmp_path) -> None:
    assert build_settings({}, cwd=tmp_path).options.timeout == DEFAULT_TIMEOUT_S
    assert build_settings({"timeout": 5.0}, cwd=tmp_path).options.timeout == 5.0
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\ntimeout = 30\n")
    assert build_settings({}, cwd=tmp_path).options.timeout == 30.0
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\ntimeout = \"soon\"\n")
    with pytest.raises(UsageError, match="timeout"):
        build_settings({}, cwd=tmp_path)


def test_replace_keeps_other_options() -> None:
    options = replace(AnalysisOptions(), timeout=1.0)
    assert options.seed == AnalysisOptions().seed and options.timeout == 1.0


def test_native_work_is_cancelled_at_the_deadline() -> None:
    cancelled = threading.Event()
    with pytest.raises(AnalysisTimeout):
        with time_limit(0.2):
            with cancel_when_expired(cancelled.set):
                assert cancelled.wait(timeout=5)  # a native call blocking until it is told to stop
            time.sleep(1)  # back in Python: the alarm lands


def _endless_loop_model(path) -> None:
    """A Loop whose trip count is 10**12: onnxruntime would run it for days."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def info(name: str, elem: int, dims: list[int]) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, elem, dims)

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["v_in", "one"], ["v_out"])],
        "body", [info("i", TensorProto.INT64, []), info("cond_in", TensorProto.BOOL, []), info("v_in", TensorProto.FLOAT, [2])],
        [info("cond_out", TensorProto.BOOL, []), info("v_out", TensorProto.FLOAT, [2])],
        initializer=[numpy_helper.from_array(np.ones(2, np.float32), "one")],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["M", "c", "x"], ["y"], body=body)], "endless",
        [info("x", TensorProto.FLOAT, [2])], [info("y", TensorProto.FLOAT, [2])],
        initializer=[numpy_helper.from_array(np.array(10**12, np.int64), "M"),
                     numpy_helper.from_array(np.array(True), "c")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


def test_an_endless_onnx_loop_stops_at_the_timeout(tmp_path) -> None:
    from gradlint.api import lint_target

    _endless_loop_model(tmp_path / "endless.onnx")
    started = time.monotonic()
    report = lint_target(str(tmp_path / "endless.onnx"), LintSettings(options=AnalysisOptions(device="cpu", timeout=2)))
    assert time.monotonic() - started < 15
    assert report.error is not None and report.error.message == "analysis exceeded --timeout 2 s"


def test_an_outer_alarm_survives_the_analysis() -> None:
    import signal

    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with time_limit(5):
            pass
        time.sleep(0.6)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == [signal.SIGALRM]
