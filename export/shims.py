"""Every workaround for third-party behaviour lives here, each with the reason it is needed. Imports no stage."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings


@contextlib.contextmanager
def quiet():
    """Silence converter chatter (tf2onnx INFO logs, coremltools progress, TFLite's deprecation banners).

    The converters print to Python logging, warnings and raw stdout/stderr of the process; a user watching
    `edgeship run` should see our progress lines, not hundreds of converter lines. Errors still propagate.
    """
    saved_levels = {}
    for name in ("tf2onnx", "coremltools", "tensorflow", "absl", "root"):
        logger = logging.getLogger(None if name == "root" else name)
        saved_levels[name] = logger.level
        logger.setLevel(logging.ERROR)
    with warnings.catch_warnings(), _redirect_fd(1), _redirect_fd(2), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for name, level in saved_levels.items():
                logging.getLogger(None if name == "root" else name).setLevel(level)


@contextlib.contextmanager
def _redirect_fd(fd: int):
    """C++ code in TF/TFLite writes straight to file descriptors 1/2; Python redirects cannot catch it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(fd)
    except (OSError, ValueError):  # no real descriptor (e.g. captured by a test runner): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def import_coremltools():
    """coremltools logs 'Failed to load _MLModelProxy' (its macOS-only native part) and a scikit-learn notice
    on import on Linux; both are harmless, so import it once under quiet()."""
    with quiet():
        import coremltools
    return coremltools


def ort_format_session(data: bytes):
    """The root table of an ORT-format file, through ONNX Runtime's own generated flatbuffer classes (their nested
    readers import `ort_flatbuffers_py` as a top-level package, which importing the tool package puts on the path)."""
    from onnxruntime.tools.ort_format_model.ort_flatbuffers_py.fbs.InferenceSession import InferenceSession

    return InferenceSession.GetRootAs(data, 0)


def coreml_model_proto():
    """Core ML's protobuf `Model` class (coreml_proto("Model_pb2").Model)."""
    return coreml_proto("Model_pb2").Model


def coreml_proto(module: str):
    """One of Core ML's protobuf modules (Model_pb2, MIL_pb2) without running coremltools/__init__, which imports
    TensorFlow (4.5 s and ~800 MB here) — too much for reading a file's layer list. Uses the real package when it
    is already imported. The stub package is removed again, so a later `import coremltools` gets the real thing
    (checked: both parse)."""
    import importlib
    import importlib.util
    import types

    if "coremltools" in sys.modules:
        return importlib.import_module(f"coremltools.proto.{module}")
    spec = importlib.util.find_spec("coremltools")
    stub = types.ModuleType("coremltools")
    stub.__path__ = list(spec.submodule_search_locations)
    sys.modules["coremltools"] = stub
    try:
        loaded = importlib.import_module(f"coremltools.proto.{module}")
    finally:
        for name in [n for n in sys.modules if n == "coremltools" or n.startswith("coremltools.")]:
            del sys.modules[name]
    return loaded


@contextlib.contextmanager
def coreml_activation_stats(stats):
    """coremltools' linear_quantize_activations with its calibration statistics computed by `stats(model,
    sample_data, group_size) -> {tensor: {rmin, rmax}}` instead of by Core ML prediction (macOS only): the
    function it calls is replaced for the duration (coremltools 9.0 names it _get_activation_calibration_stats)."""
    from coremltools.optimize.coreml import _post_training_quantization as ptq

    saved = ptq._get_activation_calibration_stats
    ptq._get_activation_calibration_stats = stats
    try:
        yield
    finally:
        ptq._get_activation_calibration_stats = saved


def coordination_timeouts(seconds: float) -> None:
    """Bound how long a worker of tf.distribute.MultiWorkerMirroredStrategy waits for the others, through the
    coordination service's own timeouts (registration at start-up, heartbeats afterwards), configured before the
    strategy configures it with its defaults.

    Why not CommunicationOptions(timeout_seconds=...): with a timeout, TensorFlow 2.21 starts a thread for every
    collective op and keeps it, so a worker ran out of threads (EAGAIN, signal 6) after ~30 s of training here
    (109 threads after 400 steps without the timeout, 3,321 with it). The strategy only configures the service
    when none is configured (collective_all_reduce_strategy.py), so this configuration is the one it uses.
    """
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.distribute.cluster_resolver import TFConfigClusterResolver
    from tensorflow.python.eager import context

    spec = TFConfigClusterResolver().cluster_spec()
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=spec.num_tasks(job))
            for job in ("chief", "worker") if job in spec.jobs]
    ms = int(seconds * 1000)
    # the workers wait at exit for the chief (the shutdown barrier), which converts and writes the bundle after
    # training: an hour covers the default run's export and study many times over
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(spec),
        coordinated_jobs=jobs, heartbeat_timeout_in_ms=ms, cluster_register_timeout_in_ms=ms,
        shutdown_barrier_timeout_in_ms=3_600_000)
