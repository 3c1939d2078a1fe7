"""A client of servesim.v1.PredictorService."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Union

import grpc

from ._client import ServiceClient
from ._stubs import predictor_pb2 as ppb
from ._stubs import predictor_pb2_grpc as ppb_grpc
from .errors import InternalError
from .specs import sim_batch


@dataclass
class Prediction:
    """One batch's predicted time in ms, when requested the per-op breakdown, and with pipeline parallelism
    (config pp > 1) each stage's kernel time (``stage_ms``: the engine splits ``time_ms`` in its proportions)."""

    time_ms: float
    breakdown: List["ppb.OpTime"] = field(default_factory=list)
    stage_ms: List[float] = field(default_factory=list)


def _checked_stage_times(stage_ms: Sequence[float], stages: int) -> List[float]:
    """An answer's stage_ms, checked as untrusted input: none, or one finite, non-negative time per stage."""
    if len(stage_ms) == 0:
        return []
    if len(stage_ms) != stages:
        raise InternalError(grpc.StatusCode.INTERNAL, f"predictor answered {len(stage_ms)} stage times for a pipeline of {stages} stages")
    for s, v in enumerate(stage_ms):
        if not math.isfinite(v) or v < 0:
            raise InternalError(grpc.StatusCode.INTERNAL, f"predictor answered {v} ms for pipeline stage {s}; stage times must be finite and >= 0")
    return list(stage_ms)


class PredictorClient(ServiceClient[ppb_grpc.PredictorServiceStub]):
    """Prices batches and reads the catalog of a predictor service.

    ``address``, ``deadline`` (seconds per call, retries included), ``retries`` (on UNAVAILABLE, with
    exponential backoff) and ``credentials`` work as for SchedulerClient.
    """

    _stub = ppb_grpc.PredictorServiceStub

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
        stages = max(1, config.parallelism.pp)
        return Prediction(response.time_ms, list(response.breakdown), _checked_stage_times(response.stage_ms, stages))

    def list_catalog(self, *, database_path: Optional[str] = None, deadline: Optional[float] = None) -> "ppb.ListCatalogResponse":
        """The predictor kinds, built-in models and built-in GPUs the service knows; with ``database_path``
        (an AIConfigurator systems directory on the server) also its table versions (``table_sets``)."""
        request = ppb.ListCatalogRequest(database_path=database_path) if database_path else ppb.ListCatalogRequest()
        return self._unary("ListCatalog", request, deadline)

    def describe_predictor(self, config: "ppb.PredictorConfig", *, deadline: Optional[float] = None) -> "ppb.DescribePredictorResponse":
        """Resolves a configuration (model, GPU, dtypes, memory) without pricing anything."""
        return self._unary("DescribePredictor", ppb.DescribePredictorRequest(config=config), deadline)
