"""Retries, deadlines, error mapping and replica rotation, against in-process Python gRPC servers whose
behaviour the test controls (no servesim server involved)."""

import threading
import unittest
import uuid
from concurrent import futures

import grpc

import support  # noqa: F401
from servesim_client import (
    DeadlineExceededError,
    InvalidArgumentError,
    PredictorClient,
    SchedulerClient,
    UnavailableError,
    predictor_config,
    predictor_pb2 as ppb,
    predictor_pb2_grpc as ppb_grpc,
    scheduler_pb2 as spb,
    scheduler_pb2_grpc as spb_grpc,
)


class FlakyPredictor(ppb_grpc.PredictorServiceServicer):
    """ListCatalog fails with UNAVAILABLE `failures` times, then answers; Predict fails as told."""

    def __init__(self, failures=0, predict_code=None):
        self.failures = failures
        self.predict_code = predict_code
        self.catalog_calls = 0
        self.predict_calls = 0
        self.release = threading.Event()
        self.lock = threading.Lock()

    def ListCatalog(self, request, context):
        with self.lock:
            self.catalog_calls += 1
            fail = self.catalog_calls <= self.failures
        if fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        return ppb.ListCatalogResponse(predictors=[ppb.PREDICTOR_KIND_CONSTANT])

    def Predict(self, request, context):
        with self.lock:
            self.predict_calls += 1
        if self.predict_code == "hang":
            self.release.wait(10)
            return ppb.PredictResponse(time_ms=1)
        if self.predict_code is not None:
            context.abort(self.predict_code, "batch.entries[0].phase: must be PHASE_CONTEXT or PHASE_GENERATION")
        return ppb.PredictResponse(time_ms=request.batch.num_context_tokens * 0.5)


class FlakyWatcher(spb_grpc.SchedulerServiceServicer):
    """WatchJob: the first stream sends RUNNING then breaks with UNAVAILABLE; the next sends SUCCEEDED."""

    def __init__(self):
        self.streams = 0

    def WatchJob(self, request, context):
        self.streams += 1
        yield spb.WatchJobResponse(job=spb.Job(id=request.id, state=spb.JOB_STATE_RUNNING))
        if self.streams == 1:
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset")
        yield spb.WatchJobResponse(job=spb.Job(id=request.id, state=spb.JOB_STATE_SUCCEEDED), result=spb.JobResult(num_requests=1))
        yield spb.WatchJobResponse(job=spb.Job(id=request.id, state=spb.JOB_STATE_SUCCEEDED))  # never read

    def GetResult(self, request, context):
        yield spb.GetResultResponse(result=spb.JobResult(num_requests=2, report_json='{"sim": {"simulated": true}}'))
        yield spb.GetResultResponse(requests=spb.RequestRecords(records=[spb.RequestRecord(task_id=0)]))
        yield spb.GetResultResponse(requests=spb.RequestRecords(records=[spb.RequestRecord(task_id=1)]))
        yield spb.GetResultResponse(iterations=spb.IterationRecords(records=[spb.IterationRecord(iter=0)]))


class FlakySubmitter(spb_grpc.SchedulerServiceServicer):
    """SubmitJob records each attempt's request_id; the first `failures` attempts of a submission fail
    with UNAVAILABLE (as if the answer had been lost)."""

    def __init__(self):
        self.request_ids = []
        self.failures = 0

    def SubmitJob(self, request, context):
        self.request_ids.append(request.request_id)
        if self.failures > 0:
            self.failures -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset")
        return spb.SubmitJobResponse(job=spb.Job(id="job-for-" + request.request_id, name=request.spec.name, warnings=["w"]))


def serve(servicer, add):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    add(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


class RetryTest(unittest.TestCase):
    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop(None)

    def predictor(self, servicer):
        server, port = serve(servicer, ppb_grpc.add_PredictorServiceServicer_to_server)
        self.servers.append(server)
        return port

    def test_unavailable_is_retried(self):
        svc = FlakyPredictor(failures=2)
        with PredictorClient(f"127.0.0.1:{self.predictor(svc)}", retries=4) as client:
            self.assertEqual(list(client.list_catalog().predictors), [ppb.PREDICTOR_KIND_CONSTANT])
        self.assertEqual(svc.catalog_calls, 3)

    def test_retries_run_out(self):
        svc = FlakyPredictor(failures=10)
        with PredictorClient(f"127.0.0.1:{self.predictor(svc)}", retries=1) as client:
            with self.assertRaises(UnavailableError) as ctx:
                client.list_catalog()
        self.assertEqual(ctx.exception.details, "warming up")
        self.assertEqual(svc.catalog_calls, 2)

    def test_other_errors_are_not_retried(self):
        svc = FlakyPredictor(predict_code=grpc.StatusCode.INVALID_ARGUMENT)
        with PredictorClient(f"127.0.0.1:{self.predictor(svc)}") as client:
            with self.assertRaises(InvalidArgumentError) as ctx:
                client.predict(predictor_config("constant"), [])
        self.assertEqual(ctx.exception.field, "batch.entries[0].phase")
        self.assertEqual(svc.predict_calls, 1)

    def test_deadline(self):
        svc = FlakyPredictor(predict_code="hang")
        try:
            with PredictorClient(f"127.0.0.1:{self.predictor(svc)}", deadline=0.3) as client:
                with self.assertRaises(DeadlineExceededError):
                    client.predict(predictor_config("constant"), [])
        finally:
            svc.release.set()

    def test_unreachable_server(self):
        # A port nobody listens on: every attempt is UNAVAILABLE, then the retries run out.
        server, port = serve(FlakyPredictor(), ppb_grpc.add_PredictorServiceServicer_to_server)
        server.stop(None)
        with PredictorClient(f"127.0.0.1:{port}", retries=2, deadline=20) as client:
            with self.assertRaises(UnavailableError):
                client.list_catalog()

    def list_catalog_on_two_replicas(self, host, calls):
        """Makes `calls` ListCatalog calls with one client of two predictors at host:port each; returns them."""
        a, b = FlakyPredictor(), FlakyPredictor()
        pa, pb = self.predictor(a), self.predictor(b)
        with PredictorClient(f"{host}:{pa},{host}:{pb}") as client:
            for _ in range(calls):
                client.list_catalog()
        return a, b

    def test_host_name_list_rotates_per_call(self):
        a, b = self.list_catalog_on_two_replicas("localhost", 6)
        self.assertEqual((a.catalog_calls, b.catalog_calls), (3, 3))

    def test_ip_list_balances_round_robin(self):
        a, b = self.list_catalog_on_two_replicas("127.0.0.1", 40)
        self.assertEqual(a.catalog_calls + b.catalog_calls, 40)
        self.assertGreater(a.catalog_calls, 0)
        self.assertGreater(b.catalog_calls, 0)

    def test_submit_job_sends_one_request_id_for_all_its_retries(self):
        svc = FlakySubmitter()
        server, port = serve(svc, spb_grpc.add_SchedulerServiceServicer_to_server)
        self.servers.append(server)
        with SchedulerClient(f"127.0.0.1:{port}", retries=4) as client:
            svc.failures = 2
            job = client.submit_job(spb.JobSpec(name="j"))
            self.assertEqual(len(svc.request_ids), 3)
            first = svc.request_ids[0]
            self.assertEqual(str(uuid.UUID(first, version=4)), first)
            self.assertEqual(set(svc.request_ids), {first})
            self.assertEqual((job.id, list(job.warnings)), ("job-for-" + first, ["w"]))

            svc.request_ids.clear()
            client.submit_job(spb.JobSpec(name="j"))
            self.assertEqual(len(svc.request_ids), 1)
            self.assertNotEqual(svc.request_ids[0], first)

            svc.request_ids.clear()
            svc.failures = 1
            self.assertEqual(client.submit_job(spb.JobSpec(name="j"), request_id="my-key").id, "job-for-my-key")
            self.assertEqual(svc.request_ids, ["my-key", "my-key"])

    def test_watch_reopens_after_unavailable_and_result_assembles_chunks(self):
        svc = FlakyWatcher()
        server, port = serve(svc, spb_grpc.add_SchedulerServiceServicer_to_server)
        self.servers.append(server)
        with SchedulerClient(f"127.0.0.1:{port}") as client:
            states = [e.job.state for e in client.watch_job("j1")]
            self.assertEqual(states, [spb.JOB_STATE_RUNNING, spb.JOB_STATE_RUNNING, spb.JOB_STATE_SUCCEEDED])
            self.assertEqual(svc.streams, 2)
            out = client.get_result("j1", include_requests=True, include_iterations=True)
        self.assertEqual(out.result.num_requests, 2)
        self.assertEqual([r.task_id for r in out.requests], [0, 1])
        self.assertEqual([r.iter for r in out.iterations], [0])
        self.assertEqual(out.report, {"sim": {"simulated": True}})


if __name__ == "__main__":
    unittest.main()
