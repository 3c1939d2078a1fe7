"""A client of servesim.v1.SchedulerService."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

import grpc

from ._channel import backoff_s, call_with_retry, retry_stream
from ._client import ServiceClient
from ._stubs import scheduler_pb2 as spb
from ._stubs import scheduler_pb2_grpc as spb_grpc
from .errors import InternalError, JobFailedError, ServesimError, UnavailableError, from_rpc_error

#: Bytes per dataset_chunk message of an upload.
UPLOAD_CHUNK_BYTES = 1 << 20
#: Default deadline of a streamed submission (a large upload takes a while), in seconds.
UPLOAD_DEADLINE_S = 3600.0

TERMINAL_STATES = frozenset({spb.JOB_STATE_SUCCEEDED, spb.JOB_STATE_FAILED, spb.JOB_STATE_CANCELLED})


def is_terminal(state: int) -> bool:
    """True for SUCCEEDED, FAILED and CANCELLED."""
    return state in TERMINAL_STATES


def job_state(value: Union[int, str]) -> int:
    """A JobState from its number or name (``"running"``, ``"JOB_STATE_RUNNING"``)."""
    if isinstance(value, int):
        return value
    name = value.strip().upper()
    return spb.JobState.Value(name if name.startswith("JOB_STATE_") else "JOB_STATE_" + name)


@dataclass
class JobOutput:
    """A succeeded job's result: the summary (report_json, report_text, counts), the per-request records
    and the iteration log (each empty unless requested)."""

    result: "spb.JobResult"
    requests: List["spb.RequestRecord"] = field(default_factory=list)
    iterations: List["spb.IterationRecord"] = field(default_factory=list)
    #: Sweep jobs: one row per point (always sent).
    sweep_rows: List["spb.SweepRow"] = field(default_factory=list)

    @property
    def report(self) -> Dict[str, Any]:
        """trtllm-bench's report.json (plus the ``sim`` section), parsed."""
        return json.loads(self.result.report_json)


class SchedulerClient(ServiceClient[spb_grpc.SchedulerServiceStub]):
    """Submits, watches, cancels and lists simulation jobs and reads their results.

    ``address`` is host:port, a comma list of host:port, or a gRPC target such as dns:///name:port.
    ``deadline`` bounds every unary call in seconds, retries included; calls failing with UNAVAILABLE
    are retried up to ``retries`` times with exponential backoff. ``credentials`` (e.g.
    ``grpc.ssl_channel_credentials(...)``) turns TLS on. Use it as a context manager or call close().
    """

    _stub = spb_grpc.SchedulerServiceStub

    @staticmethod
    def _job(response: Any, method: str) -> "spb.Job":
        if not response.HasField("job"):
            raise InternalError(grpc.StatusCode.INTERNAL, f"{method} answered without a job")
        return response.job

    def submit_job(
        self,
        spec: "spb.JobSpec",
        *,
        deadline: Optional[float] = None,
        request_id: Optional[str] = None,
        dataset_file: Union[str, "os.PathLike[str]", None] = None,
    ) -> "spb.Job":
        """Submits a job and returns it (QUEUED). A bad spec raises InvalidArgumentError naming the field,
        e.g. ``spec.engine.max_batch_size``; ``job.warnings`` lists non-fatal findings. Retried on
        UNAVAILABLE like every unary call, every attempt with the same ``request_id`` (default: a new
        UUID per call), so when the server accepted the job but its answer was lost the retry returns
        that job instead of creating a second one. Reusing a request_id with another spec raises
        AlreadyExistsError.

        A spec whose dataset is ``streamed`` (job_spec(dataset=...)) is sent with SubmitJobStream: the
        file (``dataset_file``, default the dataset's name) follows the job in 1 MiB chunks, so its size
        does not matter; ``deadline`` then defaults to an hour."""
        request = spb.SubmitJobRequest(spec=spec, request_id=request_id or str(uuid.uuid4()))
        if spec.workload.WhichOneof("source") == "dataset" and spec.workload.dataset.streamed:
            path = spec.workload.dataset.name if dataset_file is None else dataset_file
            return self._submit_stream(request, path, UPLOAD_DEADLINE_S if deadline is None else deadline)
        return self._job(self._unary("SubmitJob", request, deadline), "SubmitJob")

    def _submit_stream(self, request: "spb.SubmitJobRequest", path: Union[str, "os.PathLike[str]"], deadline: float) -> "spb.Job":
        def messages() -> Iterator["spb.SubmitJobStreamRequest"]:
            yield spb.SubmitJobStreamRequest(submit=request)
            with open(path, "rb") as f:
                while True:
                    chunk = f.read(UPLOAD_CHUNK_BYTES)
                    if not chunk:
                        return
                    yield spb.SubmitJobStreamRequest(dataset_chunk=chunk)

        os.stat(path)  # a missing file fails here, not as a broken stream

        def invoke(timeout: float) -> Any:
            return self._pool.pick().SubmitJobStream(messages(), timeout=timeout)

        return self._job(call_with_retry(invoke, "SubmitJobStream", deadline, self.retries), "SubmitJobStream")

    def get_job(self, job_id: str, *, deadline: Optional[float] = None) -> "spb.Job":
        return self._job(self._unary("GetJob", spb.GetJobRequest(id=job_id), deadline), "GetJob")

    def cancel_job(self, job_id: str, *, deadline: Optional[float] = None) -> "spb.Job":
        """Cancels a queued or running job and returns its state (CANCELLED once it has stopped)."""
        return self._job(self._unary("CancelJob", spb.CancelJobRequest(id=job_id), deadline), "CancelJob")

    def list_jobs(
        self, states: Optional[Iterable[Union[int, str]]] = None, *, page_size: int = 0, deadline: Optional[float] = None
    ) -> List["spb.Job"]:
        """The caller's jobs in the given states (names like ``"running"`` or JobState values; all when
        None), oldest first: every page of ListJobs, followed to the last."""
        wanted = [job_state(s) for s in states or []]
        jobs: List["spb.Job"] = []
        token = ""
        while True:
            page = self.list_jobs_page(wanted, page_size=page_size, page_token=token, deadline=deadline)
            jobs.extend(page.jobs)
            token = page.next_page_token
            if not token:
                return jobs

    def list_jobs_page(
        self,
        states: Optional[Iterable[Union[int, str]]] = None,
        *,
        page_size: int = 0,
        page_token: str = "",
        deadline: Optional[float] = None,
    ) -> "spb.ListJobsResponse":
        """One page of ListJobs; pass its ``next_page_token`` back (with the same states) for the next
        one ("" after the last)."""
        request = spb.ListJobsRequest(states=[job_state(s) for s in states or []], page_size=page_size, page_token=page_token)
        return self._unary("ListJobs", request, deadline)

    def watch_job(self, job_id: str, *, min_interval_ms: int = 0, timeout: Optional[float] = None) -> Iterator["spb.WatchJobResponse"]:
        """Progress events, then the final event (a terminal state, with ``result`` set when the job
        succeeded); the iteration ends after it. A stream broken by UNAVAILABLE is reopened (its first
        event is the job's current state), up to ``retries`` times in a row. Closing the iterator
        cancels the stream. ``timeout`` bounds each stream in seconds (none by default)."""
        request = spb.WatchJobRequest(id=job_id, min_interval_ms=min_interval_ms)
        failures = 0
        while True:
            call = self._pool.pick().WatchJob(request, timeout=timeout)
            try:
                for event in call:
                    failures = 0
                    yield event
                    if event.HasField("job") and is_terminal(event.job.state):
                        return
                err: ServesimError = UnavailableError(grpc.StatusCode.UNAVAILABLE, "WatchJob stream ended before the job finished")
            except grpc.RpcError as rpc_err:
                err = from_rpc_error(rpc_err)
            finally:
                call.cancel()
            if not isinstance(err, UnavailableError) or failures >= self.retries:
                raise err
            time.sleep(backoff_s(failures))
            failures += 1

    def wait_job(
        self,
        job_id: str,
        *,
        on_progress: Optional[Callable[["spb.Job"], None]] = None,
        min_interval_ms: int = 0,
    ) -> "spb.WatchJobResponse":
        """Blocks until the job ends and returns the final event (``.job``, and ``.result`` when it
        succeeded). ``on_progress`` is called with the job on every event."""
        final = None
        for event in self.watch_job(job_id, min_interval_ms=min_interval_ms):
            if on_progress is not None:
                on_progress(event.job)
            final = event
        assert final is not None
        return final

    def get_result(
        self,
        job_id: str,
        *,
        include_requests: bool = False,
        include_iterations: bool = False,
        chunk_size: int = 0,
        timeout: Optional[float] = None,
    ) -> JobOutput:
        """The result of a succeeded job, with its per-request records and iteration log when asked for,
        assembled from the chunked GetResult stream (re-read from the start after UNAVAILABLE). A job
        that has not succeeded raises FailedPreconditionError; an unknown one NotFoundError."""
        request = spb.GetResultRequest(
            id=job_id, include_requests=include_requests, include_iterations=include_iterations, chunk_size=chunk_size
        )

        def read() -> JobOutput:
            call = self._pool.pick().GetResult(request, timeout=timeout)
            result = None
            requests: List[spb.RequestRecord] = []
            iterations: List[spb.IterationRecord] = []
            sweep_rows: List[spb.SweepRow] = []
            try:
                for chunk in call:
                    kind = chunk.WhichOneof("chunk")
                    if kind == "result":
                        result = chunk.result
                    elif kind == "requests":
                        requests.extend(chunk.requests.records)
                    elif kind == "iterations":
                        iterations.extend(chunk.iterations.records)
                    elif kind == "sweep_rows":
                        sweep_rows.extend(chunk.sweep_rows.rows)
            except grpc.RpcError as rpc_err:
                raise from_rpc_error(rpc_err) from None
            finally:
                call.cancel()
            if result is None:
                raise InternalError(grpc.StatusCode.INTERNAL, "GetResult stream carried no result")
            return JobOutput(result, requests, iterations, sweep_rows)

        return retry_stream(read, "GetResult", self.retries)

    def run_job(
        self,
        spec: "spb.JobSpec",
        *,
        include_requests: bool = False,
        include_iterations: bool = False,
        on_progress: Optional[Callable[["spb.Job"], None]] = None,
        request_id: Optional[str] = None,
        dataset_file: Union[str, "os.PathLike[str]", None] = None,
    ) -> JobOutput:
        """Submits a job, waits for it and returns its result; a job that fails or is cancelled raises
        JobFailedError (``err.job.error`` says why). ``request_id`` and ``dataset_file`` as for submit_job."""
        job = self.submit_job(spec, request_id=request_id, dataset_file=dataset_file)
        final = self.wait_job(job.id, on_progress=on_progress)
        if final.job.state != spb.JOB_STATE_SUCCEEDED:
            raise JobFailedError(final.job)
        if not include_requests and not include_iterations and not spec.HasField("sweep") and final.HasField("result"):
            return JobOutput(final.result)
        return self.get_result(job.id, include_requests=include_requests, include_iterations=include_iterations)
