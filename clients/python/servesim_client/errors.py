"""Typed errors of servesim calls: one class per gRPC status the services use."""

from __future__ import annotations

from typing import Optional

import grpc

from ._stubs import scheduler_pb2


class ServesimError(Exception):
    """A failed servesim call.

    ``code`` is the ``grpc.StatusCode``, ``code_name`` its name (``"INVALID_ARGUMENT"``), ``details`` the
    server's message. For INVALID_ARGUMENT the services write ``"<field>: <reason>"``; ``field`` and
    ``reason`` are those two parts (``field`` is None when the details do not name one).
    """

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        self.code_name = code.name
        self.details = details
        self.field: Optional[str] = None
        self.reason = details
        if code is grpc.StatusCode.INVALID_ARGUMENT:
            sep = details.find(": ")
            if sep > 0:
                self.field = details[:sep]
                self.reason = details[sep + 2 :]
        super().__init__(f"{self.code_name}: {details}")


class InvalidArgumentError(ServesimError):
    """The request is invalid; ``field`` names the offending field (e.g. ``spec.engine.max_batch_size``)."""


class NotFoundError(ServesimError):
    """No such job (or the finished job has expired)."""


class FailedPreconditionError(ServesimError):
    """The call does not fit the job's state (e.g. GetResult of a job that has not succeeded)."""


class AlreadyExistsError(ServesimError):
    """A SubmitJob request_id was already used with a different spec."""


class ResourceExhaustedError(ServesimError):
    """The server is at a limit (e.g. too many queued jobs); retry later."""


class UnavailableError(ServesimError):
    """The server could not be reached or is shutting down (retried automatically first)."""


class DeadlineExceededError(ServesimError):
    """The call's deadline passed."""


class CancelledError(ServesimError):
    """The call was cancelled."""


class InternalError(ServesimError):
    """An unexpected server error (the details are in the server's log)."""


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def error_for(code: grpc.StatusCode, details: str) -> ServesimError:
    """The ServesimError subclass for a status code (ServesimError itself for the others)."""
    return _BY_CODE.get(code, ServesimError)(code, details)


def from_rpc_error(err: grpc.RpcError) -> ServesimError:
    """Maps a grpc.RpcError (a failed unary call or stream) to a ServesimError."""
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (err.details() if isinstance(err, grpc.Call) else str(err)) or ""
    return error_for(code or grpc.StatusCode.UNKNOWN, details)


class JobFailedError(Exception):
    """A job ended FAILED or CANCELLED; ``job`` is its final state (``job.error`` says why)."""

    def __init__(self, job: "scheduler_pb2.Job") -> None:
        self.job = job
        self.state = scheduler_pb2.JobState.Name(job.state)
        super().__init__(f"job {job.id} {self.state.replace('JOB_STATE_', '').lower()}: {job.error or 'no reason given'}")
