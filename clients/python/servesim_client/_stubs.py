"""Loads the generated protobuf/gRPC modules (``servesim_client/gen``, made by ``npm run gen``).

protoc writes absolute imports (``from servesim.v1 import predictor_pb2``), so the generated package is
registered under its proto package name ``servesim`` in ``sys.modules`` instead of putting the gen
directory on ``sys.path``.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_GEN = __name__.rsplit(".", 1)[0] + ".gen.servesim"
_MISSING = (
    "servesim_client: the generated protobuf stubs are missing (servesim_client/gen/servesim/v1/*_pb2.py); "
    "run `npm run gen` in the servesim repository (needs Debian's protobuf-compiler and protobuf-compiler-grpc)"
)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and err.name.startswith(_GEN):
            raise ImportError(_MISSING) from err
        raise


def _alias(name: str, module: ModuleType) -> None:
    existing = sys.modules.get(name)
    if existing is not None and existing is not module:
        raise ImportError(
            f"servesim_client: another module is already imported as {name!r} ({getattr(existing, '__file__', existing)}); "
            "the generated stubs need that name"
        )
    sys.modules[name] = module


def _load() -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    _alias("servesim", _import(_GEN))
    _alias("servesim.v1", _import(_GEN + ".v1"))
    predictor = _import(_GEN + ".v1.predictor_pb2")
    _alias("servesim.v1.predictor_pb2", predictor)
    scheduler = _import(_GEN + ".v1.scheduler_pb2")
    _alias("servesim.v1.scheduler_pb2", scheduler)
    predictor_grpc = _import(_GEN + ".v1.predictor_pb2_grpc")
    scheduler_grpc = _import(_GEN + ".v1.scheduler_pb2_grpc")
    return predictor, predictor_grpc, scheduler, scheduler_grpc


predictor_pb2, predictor_pb2_grpc, scheduler_pb2, scheduler_pb2_grpc = _load()
