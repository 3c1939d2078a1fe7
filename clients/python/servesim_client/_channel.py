"""Channels, deadlines and retries shared by the scheduler and predictor clients."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from typing import Callable, Generic, List, Optional, Sequence, Tuple, TypeVar

import grpc

from .address import resolve_targets
from .errors import DeadlineExceededError, ServesimError, UnavailableError, from_rpc_error

#: Deadline of one unary call in seconds, retries included.
DEFAULT_DEADLINE_S = 30.0
#: Further attempts after UNAVAILABLE.
DEFAULT_RETRIES = 4
#: Largest message received or sent (result chunks and big batches stay well below it).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

_BACKOFF_BASE_S = 0.1
_BACKOFF_MAX_S = 5.0

T = TypeVar("T")


def backoff_s(attempt: int) -> float:
    """Exponential backoff with jitter: attempt 0 waits 50-100 ms, doubling up to 2.5-5 s."""
    ceiling = min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2**attempt)
    return ceiling / 2 + random.random() * ceiling / 2


#: The idempotent unary methods gRPC retries by itself (SubmitJob is idempotent through its request_id).
RETRIED_METHODS = {
    "servesim.v1.SchedulerService": ["SubmitJob", "GetJob", "CancelJob", "ListJobs"],
    "servesim.v1.PredictorService": ["Predict", "ListCatalog", "DescribePredictor"],
}


def service_config(retries: int) -> dict:
    """round_robin over every backend the target resolves to (per call or stream) and, with retries, gRPC's
    retry policy for the idempotent unary methods: UNAVAILABLE retried up to ``retries`` times with
    exponential backoff (100 ms doubling to 5 s, jittered), within the call's deadline."""
    config: dict = {"loadBalancingConfig": [{"round_robin": {}}]}
    if retries > 0:
        config["methodConfig"] = [
            {
                "name": [{"service": svc, "method": m} for svc, methods in RETRIED_METHODS.items() for m in methods],
                "retryPolicy": {
                    "maxAttempts": retries + 1,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    return config


def channel_options(retries: int = 0) -> List[Tuple[str, object]]:
    """The service config above, keepalive, big messages."""
    return [
        ("grpc.service_config", json.dumps(service_config(retries))),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 5_000),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call (plaintext or TLS channels alike)."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = list(details.metadata or []) + [self._header]
        return _CallDetails(details.method, details.timeout, metadata, details.credentials, details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation, details, requests):  # type: ignore[no-untyped-def]
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):  # type: ignore[no-untyped-def]
        return continuation(self._with_token(details), requests)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):  # type: ignore[no-untyped-def]
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


class ChannelPool(Generic[T]):
    """The channels of one address (one per replica when it lists hosts by name), rotated per call. One
    channel retries UNAVAILABLE unary calls itself (gRPC's retry policy); with one channel per replica the
    caller retries instead, moving to the next replica each attempt (``unary_retries``)."""

    def __init__(
        self,
        address: str,
        credentials: Optional[grpc.ChannelCredentials],
        stub: Callable[[grpc.Channel], T],
        retries: int = DEFAULT_RETRIES,
        token: Optional[str] = None,
    ):
        targets = resolve_targets(address)
        in_channel = retries if len(targets) == 1 else 0
        self.unary_retries = retries - in_channel
        options = channel_options(in_channel)
        if credentials is None:
            self.channels = [grpc.insecure_channel(t, options=options) for t in targets]
        else:
            self.channels = [grpc.secure_channel(t, credentials, options=options) for t in targets]
        calls = [grpc.intercept_channel(c, _BearerToken(token)) for c in self.channels] if token else self.channels
        self.stubs: Sequence[T] = [stub(c) for c in calls]
        self._next = itertools.cycle(range(len(self.stubs)))
        self._lock = threading.Lock()

    def pick(self) -> T:
        with self._lock:
            return self.stubs[next(self._next)]

    def close(self) -> None:
        for c in self.channels:
            c.close()


def call_with_retry(invoke: Callable[[float], T], what: str, timeout: float, retries: int) -> T:
    """Runs ``invoke(remaining_seconds)`` and retries on UNAVAILABLE with backoff while retries and the
    deadline last. ``invoke`` is called once per attempt, so it may pick another channel each time."""
    deadline = time.monotonic() + timeout
    for attempt in itertools.count():
        remaining = deadline - time.monotonic()
        try:
            return invoke(max(remaining, 0.0))
        except grpc.RpcError as rpc_err:
            err = from_rpc_error(rpc_err)
        if not isinstance(err, UnavailableError) or attempt >= retries:
            raise err
        wait = backoff_s(attempt)
        if time.monotonic() + wait >= deadline:
            raise DeadlineExceededError(
                grpc.StatusCode.DEADLINE_EXCEEDED, f"{what}: deadline exceeded while retrying ({err.details})"
            ) from err
        time.sleep(wait)
    raise AssertionError("unreachable")


def retry_stream(attempt: Callable[[], T], what: str, retries: int) -> T:
    """Re-runs a whole streaming read after UNAVAILABLE (with backoff), up to ``retries`` times."""
    for failures in itertools.count():
        try:
            return attempt()
        except ServesimError as err:
            if not isinstance(err, UnavailableError) or failures >= retries:
                raise
        time.sleep(backoff_s(failures))
    raise AssertionError("unreachable")
