"""A client of servesim.v1.PredictorService."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, List, Optional, Union

import grpc

from ._channel import DEFAULT_DEADLINE_S, DEFAULT_RETRIES, ChannelPool, call_with_retry
from ._stubs import predictor_pb2 as ppb
from ._stubs import predictor_pb2_grpc as ppb_grpc
from .specs import sim_batch


@dataclass
class Prediction:
    """One batch's predicted time in ms and, when requested, the per-op breakdown."""

    time_ms: float
    breakdown: List["ppb.OpTime"] = field(default_factory=list)


class PredictorClient:
    """Prices batches and reads the catalog of a predictor service.

    ``address``, ``deadline`` (seconds per call, retries included), ``retries`` (on UNAVAILABLE, with
    exponential backoff) and ``credentials`` work as for SchedulerClient.
    """

    def __init__(
        self,
        address: str,
        *,
        deadline: float = DEFAULT_DEADLINE_S,
        retries: int = DEFAULT_RETRIES,
        credentials: Optional[grpc.ChannelCredentials] = None,
    ) -> None:
        self.address = address
        self.deadline = deadline
        self.retries = retries
        self._pool = ChannelPool(address, credentials, ppb_grpc.PredictorServiceStub)

    def __enter__(self) -> "PredictorClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.close()

    def _unary(self, method: str, request: Any, deadline: Optional[float]) -> Any:
        def invoke(timeout: float) -> Any:
            return getattr(self._pool.pick(), method)(request, timeout=timeout)

        return call_with_retry(invoke, method, self.deadline if deadline is None else deadline, self.retries)

    def predict(
        self,
        config: "ppb.PredictorConfig",
        batch: Union["ppb.SimBatch", Iterable["ppb.BatchEntry"]],
        *,
        include_breakdown: bool = False,
        deadline: Optional[float] = None,
    ) -> Prediction:
        """Prices one batch: a SimBatch, or BatchEntry messages (context_entry / generation_entry) whose
        totals are computed here. A bad batch or config raises InvalidArgumentError naming the field."""
        wire = batch if isinstance(batch, ppb.SimBatch) else sim_batch(batch)
        request = ppb.PredictRequest(config=config, batch=wire, include_breakdown=include_breakdown)
        response = self._unary("Predict", request, deadline)
        return Prediction(response.time_ms, list(response.breakdown))

    def list_catalog(self, *, deadline: Optional[float] = None) -> "ppb.ListCatalogResponse":
        """The predictor kinds, built-in models and built-in GPUs the service knows."""
        return self._unary("ListCatalog", ppb.ListCatalogRequest(), deadline)

    def describe_predictor(self, config: "ppb.PredictorConfig", *, deadline: Optional[float] = None) -> "ppb.DescribePredictorResponse":
        """Resolves a configuration (model, GPU, dtypes, memory) without pricing anything."""
        return self._unary("DescribePredictor", ppb.DescribePredictorRequest(config=config), deadline)
