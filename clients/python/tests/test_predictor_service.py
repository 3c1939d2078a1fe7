"""PredictorClient against a real servesim predictor service (child process)."""

import unittest

import support
from servesim_client import (
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PredictorClient,
    check_health,
    context_entry,
    generation_entry,
    job_spec,
    predictor_config,
    predictor_pb2 as ppb,
    sim_batch,
    specs,
)


class PredictorServiceTest(support.LiveServiceTestCase):
    start_server = staticmethod(support.predictor_server)
    client_class = PredictorClient

    def test_health(self):
        self.assert_serving("servesim.v1.PredictorService")
        with self.assertRaises(NotFoundError):
            check_health(self.server.address, "servesim.v1.NoSuchService")

    def test_constant_predictor(self):
        # PR #12700 semantics: any context entry → prefill time (mixed batches too), else decode time.
        config = predictor_config("constant")
        mixed = self.client.predict(config, [generation_entry(700), context_entry(512)], include_breakdown=True)
        self.assertEqual(mixed.time_ms, 10)
        self.assertEqual([(o.op, o.source, o.ms) for o in mixed.breakdown], [("constant_prefill", "constant", 10)])
        self.assertEqual(self.client.predict(config, [generation_entry(700), generation_entry(3)]).time_ms, 5)
        scaled = predictor_config("constant", constant_decode_time_ms=2, decode_scale_factor=1.5)
        self.assertEqual(self.client.predict(scaled, sim_batch([generation_entry(1)], packed=True)).time_ms, 3)

    def test_roofline_breakdown_adds_up(self):
        config = predictor_config("roofline", model="llama-3.1-8b", gpu="h100_sxm")
        p = self.client.predict(config, [context_entry(128)], include_breakdown=True)
        self.assertGreater(p.time_ms, 0)
        self.assertGreater(len(p.breakdown), 1)
        self.assertAlmostEqual(sum(o.ms for o in p.breakdown), p.time_ms, places=6)
        longer = self.client.predict(config, [context_entry(4096)])
        self.assertGreater(longer.time_ms, p.time_ms)

    def test_invalid_batch_names_the_field(self):
        batch = sim_batch([generation_entry(5)])
        batch.entries[0].input_length = 4
        batch.num_generation_tokens = 4
        with self.assertRaises(InvalidArgumentError) as ctx:
            self.client.predict(predictor_config("constant"), batch)
        self.assertEqual(ctx.exception.field, "batch.entries[0].input_length")
        self.assertEqual(ctx.exception.reason, "must be 1 for a generation entry (got 4)")

    def test_unknown_model_names_the_field(self):
        with self.assertRaises(InvalidArgumentError) as ctx:
            self.client.predict(predictor_config("roofline", model="no-such-model", gpu="h100_sxm"), [context_entry(1)])
        self.assertEqual(ctx.exception.field, "config.model")
        self.assertIn('unknown model "no-such-model"', ctx.exception.reason)

    def test_catalog(self):
        catalog = self.client.list_catalog()
        kinds = set(catalog.predictors)
        self.assertTrue({ppb.PREDICTOR_KIND_CONSTANT, ppb.PREDICTOR_KIND_ROOFLINE} <= kinds)
        self.assertIn("Llama-3.1-8B", [m.name for m in catalog.models])
        self.assertIn("h100_sxm", [g.name for g in catalog.gpus])

    def test_kind_names_match_the_registry(self):
        """The client's kind spellings and docs agree with the server's predictor registry (predictor_info)."""
        infos = list(self.client.list_catalog().predictor_info)
        self.assertEqual([i.kind for i in infos], [k for k in ppb.PredictorKind.values() if k != ppb.PREDICTOR_KIND_UNSPECIFIED])
        for info in infos:
            for spelling in [info.name, *info.aliases]:
                self.assertEqual(predictor_config(spelling).kind, info.kind)
        self.assertEqual(specs._ALIASES["PREDICTOR_KIND_"], {a: i.name for i in infos for a in i.aliases})
        names = [f"{i.name} ({', '.join(i.aliases)})" if i.aliases else i.name for i in infos]
        choices = ", ".join(names[:-1]) + " or " + names[-1]
        for fn in (predictor_config, job_spec):
            self.assertIn(choices, " ".join(fn.__doc__.split()), fn.__name__)

    def test_moe_model_with_attention_dp(self):
        config = predictor_config("roofline", model="nvidia/DeepSeek-R1-0528-FP4", gpu="b200_sxm", tp=8, ep=8, attention_dp=True)
        d = self.client.describe_predictor(config)
        self.assertEqual(d.details.parallelism, "TP8 ADP8 EP8")
        self.assertEqual(d.details.moe_communication, "allgather")
        self.assertEqual(d.kv_bytes_per_token_per_gpu, 61 * 576)
        batch = sim_batch([context_entry(512), generation_entry(900), generation_entry(40)])
        batch.facts.attention_dp_rank.extend([0, 3, 7])
        self.assertGreater(self.client.predict(config, batch).time_ms, 0)
        balanced = predictor_config("roofline", model="deepseek-r1", gpu="b200_sxm", tp=8, ep=8, moe_distribution="balanced", eplb=True)
        self.assertEqual(balanced.moe.distribution, "balanced")

    def test_pipeline_stage_times(self):
        # DeepSeek-R1's 61 layers over 3 stages: 21/20/20; the last stage also runs the LM head.
        config = predictor_config("roofline", model="deepseek-r1", gpu="b200_sxm", tp=8, pp=3, ep=8)
        p = self.client.predict(config, [context_entry(512), generation_entry(900)])
        self.assertEqual(len(p.stage_ms), 3)
        self.assertEqual(len(set(p.stage_ms)), 3)
        self.assertTrue(all(v > 0 for v in p.stage_ms))
        flat = predictor_config("roofline", model="deepseek-r1", gpu="b200_sxm", tp=8, ep=8)
        self.assertEqual(self.client.predict(flat, [context_entry(512)]).stage_ms, [])

    def test_stage_times_are_checked(self):
        from servesim_client.predictor import _checked_stage_times

        self.assertEqual(_checked_stage_times([1.0, 2.0], 2), [1.0, 2.0])
        self.assertEqual(_checked_stage_times([], 2), [])
        for bad, message in (([1.0], "1 stage times for a pipeline of 2"), ([1.0, float("nan")], "stage 1"), ([-1.0, 2.0], "stage 0")):
            with self.assertRaises(InternalError) as e:
                _checked_stage_times(bad, 2)
            self.assertIn(message, e.exception.details)

    def test_describe(self):
        d = self.client.describe_predictor(predictor_config("roofline", model="llama-3.1-8b", gpu="h100_sxm"))
        self.assertEqual(d.description, "roofline (h100_sxm, Llama-3.1-8B, TP1, bf16)")
        self.assertEqual(d.weight_dtype, ppb.D_TYPE_BF16)
        self.assertEqual(d.model.num_hidden_layers, 32)
        self.assertEqual(d.gpu.name, "h100_sxm")


if __name__ == "__main__":
    unittest.main()
