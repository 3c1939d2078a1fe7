"""Python client of the servesim gRPC services (scheduler and predictor).

    from servesim_client import SchedulerClient, job_spec

    with SchedulerClient("localhost:50052") as client:
        out = client.run_job(job_spec("demo", predictor="roofline", model="llama-3.1-8b", gpu="h100_sxm",
                                      num_requests=100, input_mean=512, output_mean=128))
        print(out.report["streaming_metrics"]["avg_ttft_ms"])

The generated protobuf modules are available as ``servesim_client.predictor_pb2`` and
``servesim_client.scheduler_pb2``.
"""

import sys as _sys

try:
    import google.protobuf  # noqa: F401
    import grpc  # noqa: F401
except ImportError as _err:  # pragma: no cover - depends on the interpreter
    raise ImportError(
        f"servesim_client needs grpcio and protobuf, which this Python ({_sys.executable}) cannot import ({_err}). "
        "On Debian: apt-get install python3-grpcio python3-protobuf, then run /usr/bin/python3 "
        "(a python3 from pyenv, conda or a venv does not see Debian's packages); elsewhere: pip install grpcio protobuf"
    ) from _err

from ._channel import DEFAULT_DEADLINE_S, DEFAULT_RETRIES
from ._stubs import predictor_pb2, predictor_pb2_grpc, scheduler_pb2, scheduler_pb2_grpc
from .address import resolve_targets
from .errors import (
    AlreadyExistsError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    JobFailedError,
    NotFoundError,
    ResourceExhaustedError,
    ServesimError,
    UnavailableError,
)
from .cluster import cluster_spec, read_cluster_yaml, router_config, worker_pool
from .health import check_health, wait_until_serving
from .predictor import Prediction, PredictorClient
from .scheduler import JobOutput, SchedulerClient, is_terminal, job_state
from .specs import (
    context_entry,
    csv_columns,
    dataset_workload,
    engine_config,
    speculative_config,
    generation_entry,
    inline_workload,
    job_spec,
    predictor_config,
    report_options,
    sim_batch,
    slo,
    sweep_points,
    synthetic_workload,
)

__version__ = "0.1.0"

__all__ = [
    "cluster_spec",
    "read_cluster_yaml",
    "router_config",
    "worker_pool",
    "DEFAULT_DEADLINE_S",
    "DEFAULT_RETRIES",
    "AlreadyExistsError",
    "CancelledError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "JobFailedError",
    "JobOutput",
    "NotFoundError",
    "Prediction",
    "PredictorClient",
    "ResourceExhaustedError",
    "SchedulerClient",
    "ServesimError",
    "UnavailableError",
    "check_health",
    "context_entry",
    "csv_columns",
    "dataset_workload",
    "engine_config",
    "speculative_config",
    "generation_entry",
    "inline_workload",
    "is_terminal",
    "job_spec",
    "job_state",
    "predictor_config",
    "report_options",
    "predictor_pb2",
    "predictor_pb2_grpc",
    "resolve_targets",
    "scheduler_pb2",
    "scheduler_pb2_grpc",
    "sim_batch",
    "slo",
    "sweep_points",
    "synthetic_workload",
    "wait_until_serving",
]
