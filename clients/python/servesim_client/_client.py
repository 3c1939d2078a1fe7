"""What the scheduler and predictor clients share: the channel pool of one address and unary calls
with a deadline and retries."""

from __future__ import annotations

from typing import Any, Callable, Generic, Optional, TypeVar

import grpc

from ._channel import DEFAULT_DEADLINE_S, DEFAULT_RETRIES, ChannelPool, call_with_retry

StubT = TypeVar("StubT")
ClientT = TypeVar("ClientT", bound="ServiceClient[Any]")


class ServiceClient(Generic[StubT]):
    """A client of one gRPC service; a subclass names the service's generated stub class in ``_stub``.

    ``address``: host:port, a comma list of host:port, or a gRPC target. ``deadline``: seconds per unary
    call, retries included. ``retries``: further attempts after UNAVAILABLE, with exponential backoff.
    ``credentials``: TLS when given (``grpc.ssl_channel_credentials``). ``token``: a bearer token sent
    with every call (servers started with an auth token file or JWKS). Use it as a context manager or call close().
    """

    _stub: Callable[[grpc.Channel], StubT]

    def __init__(
        self,
        address: str,
        *,
        deadline: float = DEFAULT_DEADLINE_S,
        retries: int = DEFAULT_RETRIES,
        credentials: Optional[grpc.ChannelCredentials] = None,
        token: Optional[str] = None,
    ) -> None:
        self.address = address
        self.deadline = deadline
        self.retries = retries
        self._pool: ChannelPool[StubT] = ChannelPool(address, credentials, type(self)._stub, retries, token)

    def __enter__(self: ClientT) -> ClientT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.close()

    def _unary(self, method: str, request: Any, deadline: Optional[float]) -> Any:
        def invoke(timeout: float) -> Any:
            return getattr(self._pool.pick(), method)(request, timeout=timeout)

        return call_with_retry(invoke, method, self.deadline if deadline is None else deadline, self._pool.unary_retries)
