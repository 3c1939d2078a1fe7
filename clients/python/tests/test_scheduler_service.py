"""SchedulerClient against real servesim scheduler and predictor services (child processes)."""

import os
import subprocess
import sys
import tempfile
import unittest
import uuid

import support
from servesim_client import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    JobFailedError,
    NotFoundError,
    SchedulerClient,
    is_terminal,
    dataset_workload,
    job_spec,
    sweep_points,
    scheduler_pb2 as spb,
)

# Worked example E1 in docs/engine.md (the check of TensorRT-LLM PR #12700): constant predictor, one request P=128 N=8.
PR12700 = dict(predictor="constant", constant_prefill_time_ms=10, constant_decode_time_ms=5, requests=[(128, 8)], warmup=0)

REPORT_KEYS = {"engine", "world_info", "request_info", "performance", "streaming_metrics", "dataset", "sim"}


def big_job(name):
    """A job that runs long enough to be cancelled while it runs (about a million iterations)."""
    return job_spec(name, predictor="constant", requests=[(2048, 2048)] * 4000, max_batch_size=8, warmup=0)


class SchedulerServiceTest(support.LiveServiceTestCase):
    start_server = staticmethod(support.scheduler_server)
    client_class = SchedulerClient

    def test_health(self):
        self.assert_serving("servesim.v1.SchedulerService")

    def test_pr12700_worked_example(self):
        job = self.client.submit_job(job_spec("pr12700", **PR12700))
        self.assertTrue(job.id)
        self.assertEqual(job.name, "pr12700")
        self.assertIn(job.state, (spb.JOB_STATE_QUEUED, spb.JOB_STATE_RUNNING, spb.JOB_STATE_SUCCEEDED))
        self.assertEqual(job.progress.requests_total, 1)

        events = list(self.client.watch_job(job.id))
        final = events[-1]
        self.assertEqual(final.job.state, spb.JOB_STATE_SUCCEEDED)
        self.assertTrue(all(not is_terminal(e.job.state) for e in events[:-1]))
        self.assertEqual(final.result.num_iterations, 8)
        self.assertEqual(final.job.progress.requests_finished, 1)
        self.assertEqual(final.job.progress.sim_time_ms, 45)

        out = self.client.get_result(job.id, include_requests=True, include_iterations=True, chunk_size=3)
        self.assertEqual((out.result.num_requests, out.result.num_failed_requests, out.result.num_iterations), (1, 0, 8))
        (r,) = out.requests
        self.assertEqual((r.task_id, r.input_length, r.output_length), (0, 128, 8))
        self.assertEqual((r.ttft_ms, r.e2e_ms, r.tpot_ms), (10, 45, 5))
        self.assertEqual(list(r.token_times_ms), [10, 15, 20, 25, 30, 35, 40, 45])
        self.assertEqual(r.error, "")
        self.assertEqual([i.iter for i in out.iterations], list(range(8)))
        self.assertEqual([i.iter_latency_ms for i in out.iterations], [10] + [5] * 7)
        self.assertEqual(out.iterations[0].inflight_batching_stats.num_ctx_tokens, 128)
        self.assertEqual(out.iterations[-1].sim_time_ms, 45)

        report = out.report
        self.assertTrue(REPORT_KEYS <= set(report), sorted(report))
        self.assertEqual(report["request_info"]["num_requests"], 1)
        self.assertEqual(report["streaming_metrics"]["avg_ttft_ms"], 10)
        self.assertEqual(report["streaming_metrics"]["avg_tpot_ms"], 5)
        self.assertEqual(report["performance"]["total_latency_ms"], 45)
        self.assertIs(report["sim"]["simulated"], True)
        self.assertEqual(report["sim"]["num_iterations"], 8)
        self.assertTrue(out.result.report_text.startswith("[SIM]"))

        # Without records, only the summary comes back.
        summary = self.client.get_result(job.id)
        self.assertEqual((summary.requests, summary.iterations), ([], []))
        self.assertEqual(summary.result.report_json, out.result.report_json)

    def test_run_job_with_a_dataset_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "two.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write('{"task_id":0,"input_ids":[1,2,3,4],"output_tokens":3}\n{"task_id":1,"input_ids":[5,6],"output_tokens":2}\n')
            spec = job_spec("dataset", predictor="constant", dataset=path, warmup=0)
        out = self.client.run_job(spec, include_requests=True)
        self.assertEqual(sorted((r.task_id, r.input_length, r.output_length) for r in out.requests), [(0, 4, 3), (1, 2, 2)])
        # Both prompts in one context iteration (10 ms), then decode steps of 5 ms.
        self.assertEqual(sorted(r.ttft_ms for r in out.requests), [10, 10])
        self.assertEqual(sorted(r.e2e_ms for r in out.requests), [15, 20])
        self.assertEqual(out.report["dataset"]["num_requests"], 2)

    def test_streamed_trace_dataset(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trace.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write('{"timestamp": 0, "input_length": 655, "output_length": 3, "hash_ids": [46, 47]}\n')
                f.write('{"timestamp": 10535, "input_length": 672, "output_length": 2, "hash_ids": [46, 47]}\n')
            workload = dataset_workload(path, format="trace", streamed=True)
            spec = job_spec("trace", predictor="constant", workload=workload, warmup=0, concurrency=1, tokens_per_block=32)
            out = self.client.run_job(spec, include_requests=True)
        self.assertEqual([(r.input_length, r.output_length, r.reused_tokens) for r in out.requests], [(655, 3, 0), (672, 2, 640)])
        self.assertEqual(out.report["dataset"]["num_requests"], 2)

    def test_synthetic_roofline_job(self):
        spec = job_spec(
            "roofline", predictor="roofline", model="llama-3.1-8b", gpu="h100_sxm",
            num_requests=6, input_mean=128, output_mean=16, warmup=0,
        )
        out = self.client.run_job(spec)
        self.assertEqual(out.result.num_requests, 6)
        self.assertEqual(out.requests, [])
        streaming = out.report["streaming_metrics"]
        self.assertGreater(streaming["avg_ttft_ms"], 0)
        self.assertGreater(streaming["avg_tpot_ms"], 0)
        self.assertIn("roofline", out.report["sim"]["predictor"])

    def test_goodput_and_percentiles(self):
        # PR #12700's check: TTFT 10 ms, TPOT 5 ms, e2e 45 ms.
        out = self.client.run_job(job_spec("goodput", goodput="ttft:10 tpot@p90:5 e2el:44", percentiles="50,99.9", **PR12700))
        goodput = out.report["sim"]["goodput"]
        self.assertEqual(goodput["good_requests"], 0)
        self.assertEqual([o["met_requests"] for o in goodput["objectives"]], [1, 1, 0])
        self.assertEqual(goodput["objectives"][1]["statistic"], "p90")
        self.assertEqual(goodput["objectives"][1]["value_ms"], 5)
        self.assertTrue(goodput["slo_met"])
        self.assertEqual(out.report["sim"]["latency_percentiles_ms"]["ttft"]["p99.9"], 10)
        self.assertIn("LATENCY PERCENTILES", out.result.report_text)
        self.assertIn("P99.9", out.result.report_text)

        good = self.client.run_job(job_spec("goodput-met", goodput={"ttft": 10, "e2el": 45}, **PR12700))
        self.assertEqual(good.report["sim"]["goodput"]["good_requests"], 1)
        self.assertEqual(good.report["sim"]["goodput"]["request_goodput_req_s"], 1000 / 45)

        bad = job_spec("bad percentiles", **PR12700)
        bad.report.percentiles.append(150)
        with self.assertRaises(InvalidArgumentError) as ctx:
            self.client.submit_job(bad)
        self.assertEqual(ctx.exception.field, "spec.report.percentiles")

    def test_sweep_job_group(self):
        spec = job_spec("py sweep", predictor="roofline", model="llama-3.1-8b", gpu="h100_sxm", num_requests=20,
                        input_mean=128, output_mean=8, warmup=0, goodput="ttft:1000")
        spec.sweep.CopyFrom(sweep_points([{"tp": 1, "concurrency": 4}, {"tp": 2, "concurrency": 4}, {"max_num_tokens": 16}]))
        out = self.client.run_job(spec)
        self.assertEqual([r.id for r in out.sweep_rows], ["p0", "p1", "p2"])
        self.assertEqual([r.ok for r in out.sweep_rows], [True, True, False])
        self.assertEqual(out.sweep_rows[1].settings["tp"], "2")
        self.assertEqual(out.sweep_rows[1].metrics["gpus"], 2)
        self.assertGreater(out.sweep_rows[0].metrics["output_tok_s_per_gpu"], 0)
        self.assertIn("max_num_tokens", out.sweep_rows[2].error)
        self.assertEqual(out.report["sweep"]["failed"], 1)

    def test_list_jobs(self):
        done = self.client.run_job(job_spec("listed", **PR12700))
        self.assertEqual(done.result.num_iterations, 8)
        succeeded = self.client.list_jobs(["succeeded"])
        self.assertIn("listed", [j.name for j in succeeded])
        self.assertTrue(all(j.state == spb.JOB_STATE_SUCCEEDED for j in succeeded))
        self.assertGreaterEqual(len(self.client.list_jobs()), len(succeeded))

    def test_list_jobs_pages(self):
        ids = [self.client.submit_job(job_spec(f"paged-{i}", **PR12700)).id for i in range(3)]
        for job_id in ids:
            self.client.wait_job(job_id)
        everything = [j.id for j in self.client.list_jobs()]
        # One job per page: the client follows next_page_token through every page, in the same order.
        self.assertEqual([j.id for j in self.client.list_jobs(page_size=1)], everything)
        first = self.client.list_jobs_page(page_size=1)
        self.assertEqual(len(first.jobs), 1)
        self.assertNotEqual(first.next_page_token, "")
        # A token is tied to its states filter (and caller): used with another filter it is refused.
        with self.assertRaises(InvalidArgumentError):
            self.client.list_jobs_page(["running"], page_token=first.next_page_token)

    def test_cancel(self):
        job = self.client.submit_job(big_job("to-cancel"))
        cancelled = self.client.cancel_job(job.id)
        self.assertEqual(cancelled.id, job.id)
        final = self.client.wait_job(job.id)
        self.assertEqual(final.job.state, spb.JOB_STATE_CANCELLED)
        self.assertFalse(final.HasField("result"))
        self.assertEqual(self.client.get_job(job.id).state, spb.JOB_STATE_CANCELLED)
        self.assertIn(job.id, [j.id for j in self.client.list_jobs(["cancelled"])])
        with self.assertRaises(FailedPreconditionError):
            self.client.get_result(job.id)

    def test_run_job_raises_when_cancelled_while_running(self):
        def cancel_when_running(job):
            if job.state == spb.JOB_STATE_RUNNING:
                self.client.cancel_job(job.id)

        with self.assertRaises(JobFailedError) as ctx:
            self.client.run_job(big_job("cancel-running"), on_progress=cancel_when_running)
        self.assertEqual(ctx.exception.state, "JOB_STATE_CANCELLED")
        self.assertEqual(ctx.exception.job.state, spb.JOB_STATE_CANCELLED)

    def test_invalid_spec_names_the_field(self):
        with self.assertRaises(InvalidArgumentError) as ctx:
            self.client.submit_job(job_spec(requests=[(16, 4)], request_rate=5, ramp_up=("linear", 1, 2)))
        self.assertEqual(ctx.exception.field, "spec.engine.request_rate")
        self.assertIn("cannot be combined with ramp_up", ctx.exception.reason)

        with self.assertRaises(InvalidArgumentError) as ctx:
            self.client.submit_job(spb.JobSpec(name="no workload"))
        self.assertEqual(ctx.exception.field, "spec.workload")

        with self.assertRaises(InvalidArgumentError) as ctx:
            self.client.submit_job(job_spec(predictor="roofline", model="no-such-model", gpu="h100_sxm", requests=[(16, 4)]))
        self.assertEqual(ctx.exception.field, "spec.predictor.model")

    def test_submit_with_the_same_request_id_returns_the_same_job(self):
        spec = job_spec("idempotent", **PR12700)
        request_id = str(uuid.uuid4())
        first = self.client.submit_job(spec, request_id=request_id)
        again = self.client.submit_job(spec, request_id=request_id)
        self.assertEqual(again.id, first.id)
        self.assertEqual([j.id for j in self.client.list_jobs() if j.name == "idempotent"], [first.id])
        self.assertNotEqual(self.client.submit_job(spec).id, first.id)
        with self.assertRaises(AlreadyExistsError) as ctx:
            self.client.submit_job(job_spec("other", **PR12700), request_id=request_id)
        self.assertIn(f"request_id {request_id} was already used with a different spec (job {first.id})", ctx.exception.details)

    def test_job_warnings(self):
        job = self.client.submit_job(job_spec("warned", predictor="constant", requests=[(16, 2), {"task_id": 0, "input_length": 8, "output_tokens": 2}], warmup=0))
        self.assertEqual(
            list(job.warnings),
            [
                "spec.workload.inline.requests[1]: duplicate task_id 0 (first at requests[0])",
                "no model and GPU to size the KV cache from: the pool holds every request at once (2 blocks); give kv_num_blocks or kv_cache_max_tokens to bound it",
            ],
        )
        self.assertEqual(list(self.client.get_job(job.id).warnings), list(job.warnings))
        self.assertEqual(list(self.client.submit_job(job_spec("quiet", **PR12700, kv_num_blocks=100)).warnings), [])

    def test_model_path_and_approx_prompt_tokens(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "prompts.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write('{"task_id":0,"prompt":"abcdefghi","output_tokens":2}\n{"task_id":1,"input_ids":[1,2],"output_tokens":2}\n')
            spec = job_spec("approx", predictor="constant", model="llama-3.1-8b", dataset=path, approx_prompt_tokens=True, model_path="/models/llama", warmup=0, kv_num_blocks=100)
        out = self.client.run_job(spec, include_requests=True)
        self.assertEqual([r.input_length for r in out.requests], [3, 2])
        self.assertEqual(out.report["engine"]["model_path"], "/models/llama")
        self.assertIs(out.report["sim"]["approx_prompt_tokens"], True)
        self.assertIn("Model Path:\t\t/models/llama\n", out.result.report_text)

    def test_unknown_job(self):
        for call in (self.client.get_job, self.client.cancel_job, self.client.get_result):
            with self.subTest(call=call.__name__), self.assertRaises(NotFoundError) as ctx:
                call("no-such-job")
            self.assertIn("no-such-job", ctx.exception.details)
        with self.assertRaises(NotFoundError):
            list(self.client.watch_job("no-such-job"))

    def test_example_script(self):
        example = support.PYTHON_DIR / "examples" / "submit_job.py"
        proc = subprocess.run(
            [sys.executable, str(example), "--address", self.server.address, "--num-requests", "4", "--input-mean", "64", "--output-mean", "8"],
            capture_output=True, text=True, timeout=120,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, r"TTFT\s+avg [0-9.]+ ms")
        self.assertRegex(proc.stdout, r"TPOT\s+avg [0-9.]+ ms")


if __name__ == "__main__":
    unittest.main()
