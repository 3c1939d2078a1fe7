"""grpc.health.v1 checks without the grpcio-health-checking package (the two messages are tiny)."""

from __future__ import annotations

import time
from typing import Optional

import grpc

from .address import resolve_targets
from .errors import from_rpc_error

#: grpc.health.v1.HealthCheckResponse.ServingStatus names by number.
SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _encode_request(service: str) -> bytes:
    """HealthCheckRequest{service = 1 (string)}."""
    data = service.encode("utf-8")
    out = bytearray()
    if data:
        out.append(0x0A)
        n = len(data)
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        out += data
    return bytes(out)


def _decode_status(data: bytes) -> str:
    """HealthCheckResponse{status = 1 (enum)}; absent means UNKNOWN (0)."""
    status = 0
    i = 0
    while i < len(data):
        key = data[i]
        i += 1
        if key != 0x08:
            break
        value, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        status = value
    return SERVING_STATUS.get(status, f"STATUS_{status}")


def check_health(address: str, service: str = "", *, timeout: float = 5.0, credentials: Optional[grpc.ChannelCredentials] = None) -> str:
    """grpc.health.v1.Health/Check of one server: "SERVING", "NOT_SERVING", ... ``service`` "" is the whole
    server; the services also report "servesim.v1.SchedulerService" and "servesim.v1.PredictorService".
    Raises a ServesimError when the server cannot be reached (UnavailableError) or does not know the
    service (NotFoundError)."""
    target = resolve_targets(address)[0]
    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    try:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check", request_serializer=_encode_request, response_deserializer=_decode_status
        )
        try:
            return check(service, timeout=timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
    finally:
        channel.close()


def wait_until_serving(address: str, service: str = "", *, timeout: float = 60.0, interval: float = 0.2) -> None:
    """Polls Health/Check until the server reports SERVING; raises TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            last = check_health(address, service, timeout=min(5.0, max(deadline - time.monotonic(), 0.1)))
            if last == "SERVING":
                return
        except Exception as err:  # noqa: BLE001 - any failure means "not yet"
            last = str(err)
        time.sleep(interval)
    raise TimeoutError(f"{address} not SERVING after {timeout:g} s ({last})")
