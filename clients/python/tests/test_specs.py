"""Offline tests of the message builders, address parsing and error mapping."""

import os
import tempfile
import unittest

import grpc

import support  # noqa: F401  (puts servesim_client on sys.path)
from servesim_client import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    ServesimError,
    context_entry,
    csv_columns,
    dataset_workload,
    engine_config,
    generation_entry,
    inline_workload,
    job_spec,
    job_state,
    predictor_config,
    predictor_pb2 as ppb,
    report_options,
    resolve_targets,
    scheduler_pb2 as spb,
    sim_batch,
    slo,
    speculative_config,
    synthetic_workload,
)
from servesim_client.errors import error_for, JobFailedError


class PredictorConfigTest(unittest.TestCase):
    def test_names_and_kinds(self):
        c = predictor_config("roofline", model="llama-3.1-8b", gpu="h100_sxm", tp=2, weight_dtype="fp8")
        self.assertEqual(c.kind, ppb.PREDICTOR_KIND_ROOFLINE)
        self.assertEqual(c.model.name, "llama-3.1-8b")
        self.assertEqual(c.gpu.name, "h100_sxm")
        self.assertEqual((c.parallelism.tp, c.parallelism.pp, c.parallelism.ep), (2, 1, 1))
        self.assertEqual(c.weight_dtype, ppb.D_TYPE_FP8)
        self.assertEqual(c.kv_cache_dtype, ppb.D_TYPE_UNSPECIFIED)
        self.assertFalse(c.HasField("constant_prefill_time_ms"))

    def test_enum_spellings(self):
        self.assertEqual(predictor_config("aiconfigurator").kind, ppb.PREDICTOR_KIND_AIC)
        self.assertEqual(predictor_config("PREDICTOR_KIND_CALIBRATED").kind, ppb.PREDICTOR_KIND_CALIBRATED)
        self.assertEqual(predictor_config(ppb.PREDICTOR_KIND_CONSTANT).kind, ppb.PREDICTOR_KIND_CONSTANT)
        self.assertEqual(predictor_config(weight_dtype="bfloat16").weight_dtype, ppb.D_TYPE_BF16)
        with self.assertRaisesRegex(ValueError, r"kind: unknown value 'sol' \(one of constant, roofline, aic, calibrated\)"):
            predictor_config("sol")

    def test_optionals_and_inline_parts(self):
        c = predictor_config(
            "constant",
            constant_prefill_time_ms=0,
            constant_decode_time_ms=2.5,
            model={"name": "tiny", "architecture": "LlamaForCausalLM", "num_hidden_layers": 2},
            gpu={"name": "x", "mem_bw": 1e12},
            calibrated={"intercept_ms": 1.5},
        )
        self.assertTrue(c.HasField("constant_prefill_time_ms"))
        self.assertEqual(c.constant_prefill_time_ms, 0)
        self.assertEqual(c.constant_decode_time_ms, 2.5)
        self.assertEqual(c.model.WhichOneof("source"), "inline")
        self.assertEqual(c.model.inline.num_hidden_layers, 2)
        self.assertEqual(c.gpu.inline.mem_bw, 1e12)
        self.assertEqual(c.calibrated.intercept_ms, 1.5)


class SimBatchTest(unittest.TestCase):
    def test_totals_and_order(self):
        b = sim_batch([generation_entry(700), context_entry(512), context_entry(64, 128)])
        self.assertEqual([e.phase for e in b.entries], [ppb.PHASE_CONTEXT, ppb.PHASE_CONTEXT, ppb.PHASE_GENERATION])
        self.assertEqual(
            (b.num_context_requests, b.num_context_tokens, b.num_generation_requests, b.num_generation_tokens), (2, 576, 1, 1)
        )
        self.assertEqual(b.entries[1].past_kv_length, 128)

    def test_packed(self):
        b = sim_batch([generation_entry(700), context_entry(512)], packed=True)
        self.assertEqual(len(b.entries), 0)
        self.assertEqual(list(b.packed.is_context), [True, False])
        self.assertEqual(list(b.packed.input_length), [512, 1])
        self.assertEqual(list(b.packed.past_kv_length), [0, 700])


class WorkloadTest(unittest.TestCase):
    def test_norm_dist(self):
        w = synthetic_workload(10, input_mean=128, output_mean=32, input_stdev=8, seed=7)
        s = w.synthetic
        self.assertEqual(s.distribution, spb.DISTRIBUTION_TOKEN_NORM_DIST)
        self.assertEqual((s.num_requests, s.input_mean, s.output_mean, s.input_stdev, s.output_stdev, s.seed), (10, 128, 32, 8, 0, 7))

    def test_unif_dist(self):
        s = synthetic_workload(5, input_min=10, input_max=20, output_min=1, output_max=4).synthetic
        self.assertEqual(s.distribution, spb.DISTRIBUTION_TOKEN_UNIF_DIST)
        self.assertEqual((s.input_min, s.input_max, s.output_min, s.output_max), (10, 20, 1, 4))

    def test_ambiguous_or_incomplete(self):
        with self.assertRaisesRegex(ValueError, "give input_mean/output_mean"):
            synthetic_workload(5)
        with self.assertRaisesRegex(ValueError, "give input_mean/output_mean"):
            synthetic_workload(5, input_mean=1, output_mean=1, input_min=1)
        with self.assertRaisesRegex(ValueError, "needs input_mean and output_mean"):
            synthetic_workload(5, input_mean=1)
        with self.assertRaisesRegex(ValueError, "token-unif-dist needs"):
            synthetic_workload(5, input_min=1, input_max=2)

    def test_synthetic_shared_prefixes(self):
        w = synthetic_workload(8, input_mean=20, output_mean=2, random_prefix_len=64, num_prefix_groups=2)
        self.assertEqual((w.synthetic.random_prefix_len, w.synthetic.num_prefix_groups), (64, 2))
        spec = job_spec(num_requests=8, input_mean=20, output_mean=2, random_prefix_len=32)
        self.assertEqual(spec.workload.synthetic.random_prefix_len, 32)

    def test_dataset_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ds.jsonl")
            with open(path, "w", encoding="utf-8") as f:
                f.write('{"task_id":0,"input_ids":[1,2,3],"output_tokens":4}\n')
            w = dataset_workload(path)
            self.assertEqual(w.dataset.name, path)
            self.assertEqual(w.dataset.jsonl, '{"task_id":0,"input_ids":[1,2,3],"output_tokens":4}\n')
            self.assertEqual(dataset_workload(path, name="mine").dataset.name, "mine")
            self.assertFalse(w.dataset.approx_prompt_tokens)
            self.assertTrue(dataset_workload(path, approx_prompt_tokens=True).dataset.approx_prompt_tokens)
            spec = job_spec(dataset=path, approx_prompt_tokens=True, model_path="/ckpt")
            self.assertTrue(spec.workload.dataset.approx_prompt_tokens)
            self.assertEqual(spec.model_path, "/ckpt")
            # Streamed: the spec names the file; submit_job sends its bytes.
            streamed = dataset_workload(path, streamed=True).dataset
            self.assertEqual((streamed.streamed, streamed.jsonl, streamed.name), (True, "", path))
            trace = dataset_workload(path, format="trace", trace_block_size=16).dataset
            self.assertEqual((trace.format, trace.trace.block_size, trace.content), (spb.DATASET_FORMAT_TRACE_JSONL, 16, b'{"task_id":0,"input_ids":[1,2,3],"output_tokens":4}\n'))
            mapped = dataset_workload(path, format="csv", csv=csv_columns("in", "out", timestamp="t", timestamp_unit="ms")).dataset.trace.csv_columns
            self.assertEqual((mapped.input_length, mapped.output_length, mapped.timestamp, mapped.timestamp_unit), ("in", "out", "t", spb.TIMESTAMP_UNIT_MILLISECONDS))
            with self.assertRaisesRegex(ValueError, "format must be one of trtllm, trace, azure, burstgpt, csv"):
                dataset_workload(path, format="parquet")
            with self.assertRaisesRegex(ValueError, "a csv column mapping goes with format='csv'"):
                dataset_workload(path, format="csv")
        self.assertEqual(job_spec(requests=[(4, 2)]).model_path, "")
        with self.assertRaisesRegex(TypeError, "approx_prompt_tokens applies to a dataset only"):
            job_spec(requests=[(4, 2)], approx_prompt_tokens=True)

    def test_inline(self):
        w = inline_workload([(128, 8), {"task_id": 9, "input_ids": [5, 6], "output_tokens": 2}])
        r = w.inline.requests
        self.assertEqual((r[0].task_id, r[0].input_length, r[0].output_tokens), (0, 128, 8))
        self.assertEqual((r[1].task_id, list(r[1].input_ids), r[1].output_tokens), (9, [5, 6], 2))


class EngineAndJobSpecTest(unittest.TestCase):
    def test_engine_config(self):
        e = engine_config(max_batch_size=4, scheduler_policy="max_utilization", chunking_policy="equal-progress", warmup=0, max_seq_len=None)
        self.assertEqual(e.max_batch_size, 4)
        self.assertTrue(e.HasField("warmup"))
        self.assertFalse(e.HasField("max_seq_len"))
        self.assertEqual(e.scheduler_policy, spb.SCHEDULER_POLICY_MAX_UTILIZATION)
        self.assertEqual(e.chunking_policy, spb.CHUNKING_POLICY_EQUAL_PROGRESS)
        with self.assertRaisesRegex(TypeError, "unknown setting"):
            engine_config(max_batch=4)

    def test_speculative_and_attention_dp(self):
        e = engine_config(
            speculative=speculative_config("mtp", max_draft_len=3, mean_accepted_draft_tokens=1.8, seed=7),
            attention_dp={"enable_balance": True, "timeout_iters": 50},
            cuda_graph={"batch_sizes": [1, 2, 4], "enable_padding": True},
        )
        self.assertEqual(e.speculative.decoding_type, spb.SPECULATIVE_DECODING_MTP)
        self.assertEqual((e.speculative.max_draft_len, e.speculative.mean_accepted_draft_tokens, e.speculative.seed), (3, 1.8, 7))
        self.assertEqual((e.attention_dp.enable_balance, e.attention_dp.timeout_iters), (True, 50))
        self.assertEqual(list(e.cuda_graph.batch_sizes), [1, 2, 4])
        e2 = engine_config(speculative={"decoding_type": "eagle3", "max_draft_len": 2, "acceptance_rates": [0.8, 0.5], "draft_model": "m"})
        self.assertEqual(e2.speculative.decoding_type, spb.SPECULATIVE_DECODING_EAGLE3)
        self.assertEqual(list(e2.speculative.acceptance_rates), [0.8, 0.5])
        self.assertFalse(e2.speculative.HasField("mean_accepted_draft_tokens"))

    def test_batch_waiting(self):
        e = engine_config(batch_wait_timeout_iters=20, batch_wait_max_tokens_ratio=0.9)
        self.assertEqual((e.batch_wait_timeout_iters, e.batch_wait_max_tokens_ratio), (20, 0.9))
        self.assertFalse(engine_config().HasField("batch_wait_timeout_iters"))
        self.assertTrue(engine_config(batch_wait_max_tokens_ratio=0).HasField("batch_wait_max_tokens_ratio"))

    def test_arrival_settings(self):
        e = engine_config(request_rate=8, burstiness=0.5, max_concurrency=16, session_mode="independent")
        self.assertEqual((e.request_rate, e.burstiness, e.concurrency), (8, 0.5, 16))
        self.assertEqual(e.session_mode, spb.SESSION_MODE_INDEPENDENT)
        r = engine_config(ramp_up=("exponential", 1, 32), burstiness=float("inf")).ramp_up
        self.assertEqual((r.strategy, r.start_rps, r.end_rps), (spb.RAMP_UP_STRATEGY_EXPONENTIAL, 1.0, 32.0))
        r = engine_config(ramp_up={"strategy": "linear", "start_rps": 2, "end_rps": 4}).ramp_up
        self.assertEqual(r.strategy, spb.RAMP_UP_STRATEGY_LINEAR)
        t = engine_config(replay_timestamps=True, trace_speedup=2.5)
        self.assertEqual((t.replay_timestamps, t.trace_speedup), (True, 2.5))
        with self.assertRaisesRegex(TypeError, "ramp_up"):
            engine_config(ramp_up=5)

    def test_synthetic_job(self):
        spec = job_spec(
            "demo", predictor="roofline", model="llama-3.1-8b", gpu="h100_sxm",
            num_requests=100, input_mean=512, output_mean=128, random_seed=3, concurrency=16, seed=5,
        )
        self.assertEqual(spec.name, "demo")
        self.assertEqual(spec.predictor.kind, ppb.PREDICTOR_KIND_ROOFLINE)
        self.assertEqual(spec.workload.synthetic.num_requests, 100)
        self.assertEqual(spec.workload.synthetic.seed, 3)
        self.assertEqual((spec.engine.concurrency, spec.engine.seed, spec.engine.num_requests), (16, 5, 0))

    def test_inline_job_keeps_first_n(self):
        spec = job_spec(requests=[(10, 2)] * 5, num_requests=3, warmup=0)
        self.assertEqual(len(spec.workload.inline.requests), 5)
        self.assertEqual(spec.engine.num_requests, 3)
        self.assertEqual(spec.predictor.kind, ppb.PREDICTOR_KIND_UNSPECIFIED)

    def test_bad_combinations(self):
        with self.assertRaisesRegex(TypeError, "exactly one workload"):
            job_spec()
        with self.assertRaisesRegex(TypeError, "exactly one workload"):
            job_spec(requests=[(1, 1)], input_mean=5)
        with self.assertRaisesRegex(TypeError, "needs num_requests"):
            job_spec(input_mean=5, output_mean=5)
        with self.assertRaisesRegex(TypeError, "unknown keyword.*bogus"):
            job_spec(requests=[(1, 1)], bogus=1)
        with self.assertRaisesRegex(TypeError, "given with a PredictorConfig"):
            job_spec(requests=[(1, 1)], predictor=predictor_config("constant"), model="x")

    def test_job_state(self):
        self.assertEqual(job_state("running"), spb.JOB_STATE_RUNNING)
        self.assertEqual(job_state("JOB_STATE_FAILED"), spb.JOB_STATE_FAILED)
        self.assertEqual(job_state(spb.JOB_STATE_QUEUED), spb.JOB_STATE_QUEUED)


class AddressTest(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(resolve_targets("localhost:50051"), ["localhost:50051"])
        self.assertEqual(resolve_targets(" 10.0.0.1:1, 10.0.0.2:2 "), ["ipv4:10.0.0.1:1,10.0.0.2:2"])
        self.assertEqual(resolve_targets("[::1]:1,[::2]:2"), ["ipv6:[::1]:1,[::2]:2"])
        self.assertEqual(resolve_targets("a:1,b:2"), ["a:1", "b:2"])
        self.assertEqual(resolve_targets("dns:///predictor:50051"), ["dns:///predictor:50051"])

    def test_invalid(self):
        for bad, reason in [("", "is empty"), ("a:1,", "empty entry"), ("host", "not host:port"), ("h:70000", "not in [1, 65535]"), ("[x]:1", "not an IPv6")]:
            with self.subTest(bad=bad), self.assertRaises(InvalidArgumentError) as ctx:
                resolve_targets(bad)
            self.assertEqual(ctx.exception.field, "address")
            self.assertIn(reason, ctx.exception.reason)


class ErrorTest(unittest.TestCase):
    def test_invalid_argument_field(self):
        e = error_for(grpc.StatusCode.INVALID_ARGUMENT, "spec.engine.max_batch_size: must be an integer in [1, 65536] (got 0)")
        self.assertIsInstance(e, InvalidArgumentError)
        self.assertIsInstance(e, ServesimError)
        self.assertEqual(e.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(e.code_name, "INVALID_ARGUMENT")
        self.assertEqual(e.field, "spec.engine.max_batch_size")
        self.assertEqual(e.reason, "must be an integer in [1, 65536] (got 0)")
        self.assertEqual(str(e), "INVALID_ARGUMENT: spec.engine.max_batch_size: must be an integer in [1, 65536] (got 0)")

    def test_other_codes(self):
        e = error_for(grpc.StatusCode.NOT_FOUND, "no job abc: x")
        self.assertIsInstance(e, NotFoundError)
        self.assertIsNone(e.field)
        self.assertIs(type(error_for(grpc.StatusCode.ABORTED, "x")), ServesimError)
        self.assertIsInstance(error_for(grpc.StatusCode.ALREADY_EXISTS, "request_id r was already used"), AlreadyExistsError)

    def test_job_failed(self):
        err = JobFailedError(spb.Job(id="j1", state=spb.JOB_STATE_CANCELLED, error="cancelled by the client"))
        self.assertEqual(err.state, "JOB_STATE_CANCELLED")
        self.assertEqual(str(err), "job j1 cancelled: cancelled by the client")


if __name__ == "__main__":
    unittest.main()


class ReportOptionsTest(unittest.TestCase):
    def test_vllm_terms_dicts_and_statistics(self):
        r = report_options(goodput="ttft:300 tpot@p90:25,e2el@mean:8000", percentiles="50,90,p99,99.9")
        self.assertEqual(list(r.percentiles), [50, 90, 99, 99.9])
        self.assertEqual([g.metric for g in r.goodput], [spb.SLO_METRIC_TTFT, spb.SLO_METRIC_TPOT, spb.SLO_METRIC_E2EL])
        self.assertFalse(r.goodput[0].HasField("percentile"))
        self.assertEqual(r.goodput[1].percentile, 90)
        self.assertTrue(r.goodput[2].mean)
        d = report_options(goodput={"itl": 50, "ttft@p99": 400})
        self.assertEqual([(g.metric, g.threshold_ms) for g in d.goodput], [(spb.SLO_METRIC_ITL, 50), (spb.SLO_METRIC_TTFT, 400)])
        self.assertEqual(d.goodput[1].percentile, 99)
        self.assertEqual(slo("request_latency:1e3").metric, spb.SLO_METRIC_E2EL)

    def test_bad_terms(self):
        for bad in ("ttft", "foo:3", "ttft:-1", "ttft:abc", "ttft@q9:3", "tpot@p101:3"):
            with self.assertRaises(ValueError, msg=bad):
                slo(bad)
        with self.assertRaises(ValueError):
            report_options(percentiles=[0])

    def test_job_spec_sets_the_report(self):
        spec = job_spec("x", requests=[(16, 4)], goodput="ttft:300", percentiles=[99.9])
        self.assertEqual(spec.report.goodput[0].threshold_ms, 300)
        self.assertEqual(list(spec.report.percentiles), [99.9])
        self.assertFalse(job_spec("y", requests=[(16, 4)]).HasField("report"))


class ClusterSpecTest(unittest.TestCase):
    def _yaml(self, text):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "sim.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_builders(self):
        from servesim_client import cluster_spec, router_config, worker_pool

        c = cluster_spec(prefill=worker_pool(2, tp=4, ep=4, max_batch_size=8), decode=worker_pool(8, tp=8, router=router_config("least_loaded", active=1)))
        self.assertEqual((c.prefill.num_workers, c.prefill.parallelism.tp, c.prefill.max_batch_size), (2, 4, 8))
        self.assertEqual((c.decode.num_workers, c.decode.router.type, dict(c.decode.router.weights)), (8, "least_loaded", {"active": 1.0}))
        spec = job_spec("c", predictor="constant", num_requests=4, input_mean=64, output_mean=4, cluster=cluster_spec(instances=3))
        self.assertEqual(spec.cluster.aggregated[0].num_workers, 3)
        with self.assertRaisesRegex(TypeError, "needs both prefill and decode"):
            cluster_spec(prefill=worker_pool(1))

    def test_reads_the_cli_yaml_forms(self):
        from servesim_client import read_cluster_yaml

        c, model, warnings = read_cluster_yaml(self._yaml("cluster:\n  instances: 4\n  router: {type: kv_aware, weights: {prefix: 2}}\n"))
        self.assertEqual((c.aggregated[0].num_workers, c.router.type, dict(c.router.weights)), (4, "kv_aware", {"prefix": 2.0}))
        self.assertEqual((model, warnings), (None, []))
        disagg = (
            "model: deepseek-ai/DeepSeek-R1\nhostname: localhost\n"
            "context_servers:\n  num_instances: 2\n  tensor_parallel_size: 4\n  enable_attention_dp: true\n  urls: [a:1, b:2]\n"
            "generation_servers:\n  num_instances: 1\n  tensor_parallel_size: 8\n  max_batch_size: 128\n  colour: red\n"
        )
        c, model, warnings = read_cluster_yaml(self._yaml(disagg))
        self.assertEqual((c.prefill.num_workers, c.prefill.parallelism.tp, c.prefill.parallelism.attention_dp), (2, 4, True))
        self.assertEqual((c.decode.num_workers, c.decode.parallelism.tp, c.decode.max_batch_size), (1, 8, 128))
        self.assertEqual(model, "deepseek-ai/DeepSeek-R1")
        self.assertEqual(len(warnings), 1)
        self.assertTrue(warnings[0].endswith("line 12: generation_servers.colour is not simulated; ignored"), warnings[0])
        self.assertEqual(read_cluster_yaml(self._yaml("predictor: {name: roofline}\n"))[0], None)

    def test_errors_name_file_line_and_key(self):
        from servesim_client import read_cluster_yaml

        path = self._yaml("cluster:\n  prefill:\n    num_workers: two\n  decode: {}\n")
        with self.assertRaisesRegex(ValueError, r"sim.yaml line 3: cluster.prefill.num_workers must be an integer in \[1, 4096\] \(got 'two'\)"):
            read_cluster_yaml(path)
