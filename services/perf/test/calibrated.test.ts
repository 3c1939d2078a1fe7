import { makeBatch, type OpTime } from "@servesim/core";
import { config, expectInvalid } from "@servesim/testkit";
import { PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { type CalibrationSample, fitCalibration } from "../src/calibrated.js";
import { createPredictor, type LocalPredictor } from "../src/factory.js";
import { parseIterationLog, pythonReprToJson } from "../src/iterationLog.js";
import { nnls } from "../src/nnls.js";

const truth = {
  interceptMs: 3.5,
  perContextRequestMs: 0.2,
  perContextTokenMs: 0.012,
  perGenerationRequestMs: 0.05,
  perGenerationKvTokenMs: 0.00002,
  perContextAttentionAreaMs: 0.4,
};

/** Deterministic pseudo-random samples from the true model. */
function samples(withKv: boolean, noise = 0): CalibrationSample[] {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const out: CalibrationSample[] = [];
  for (let i = 0; i < 400; i++) {
    const numContextRequests = i % 3 === 0 ? 0 : 1 + Math.floor(rnd() * 4);
    const numCtxTokens = numContextRequests * Math.floor(64 + rnd() * 2000);
    const numGenRequests = Math.floor(rnd() * 128);
    const numGenKvTokens = numGenRequests * Math.floor(100 + rnd() * 3000);
    const area = numContextRequests > 0 ? (numCtxTokens * numCtxTokens) / numContextRequests : 0;
    const t =
      truth.interceptMs +
      truth.perContextRequestMs * numContextRequests +
      truth.perContextTokenMs * numCtxTokens +
      truth.perGenerationRequestMs * numGenRequests +
      (withKv ? truth.perGenerationKvTokenMs * numGenKvTokens : 0) +
      (truth.perContextAttentionAreaMs * area) / 1e6;
    const s: CalibrationSample = { numContextRequests, numCtxTokens, numGenRequests, iterLatencyMS: t * (1 + noise * (rnd() - 0.5)) };
    if (withKv) s.numGenKvTokens = numGenKvTokens;
    out.push(s);
  }
  return out;
}

describe("fitCalibration", () => {
  it("recovers known coefficients", () => {
    const all = samples(true);
    const fit = fitCalibration(all);
    expect(fit.model.interceptMs).toBeCloseTo(truth.interceptMs, 6);
    expect(fit.model.perContextRequestMs).toBeCloseTo(truth.perContextRequestMs, 6);
    expect(fit.model.perContextTokenMs).toBeCloseTo(truth.perContextTokenMs, 8);
    expect(fit.model.perGenerationRequestMs).toBeCloseTo(truth.perGenerationRequestMs, 8);
    expect(fit.model.perGenerationKvTokenMs).toBeCloseTo(truth.perGenerationKvTokenMs, 10);
    expect(fit.model.perContextAttentionAreaMs).toBeCloseTo(truth.perContextAttentionAreaMs, 6);
    expect(fit.rmseMs).toBeLessThan(1e-6);
    // Iterations with no request carry no information and are skipped.
    expect(fit.samples).toBe(all.filter((s) => s.numContextRequests + s.numGenRequests > 0).length);
  });

  it("without KV counts the KV coefficient is 0; noise gives a small error", () => {
    const fit = fitCalibration(samples(false, 0.02));
    expect(fit.model.perGenerationKvTokenMs).toBe(0);
    expect(fit.model.perContextTokenMs).toBeCloseTo(truth.perContextTokenMs, 3);
    expect(fit.mape).toBeLessThan(1);
  });

  it("keeps coefficients non-negative", () => {
    // Latency falls with generation requests: least squares would go negative, NNLS clamps to 0.
    const s: CalibrationSample[] = Array.from({ length: 20 }, (_, i) => ({
      numContextRequests: 0,
      numCtxTokens: 0,
      numGenRequests: i + 1,
      iterLatencyMS: 10 - 0.1 * i,
    }));
    const fit = fitCalibration(s);
    expect(fit.model.perGenerationRequestMs).toBe(0);
    expect(fit.model.interceptMs).toBeCloseTo(9.05, 10);
    expectInvalid(() => fitCalibration([s[0]!]), "samples");
  });

  it("collinear features (every context iteration the same shape) give finite coefficients, never NaN", () => {
    // Constant-predictor-like log: decode iterations of varying size take 5 ms, single-prompt ones 10 ms;
    // context requests, tokens and attention area are exactly collinear (one 128-token prompt each time).
    const s: CalibrationSample[] = Array.from({ length: 600 }, (_, i) =>
      i % 4 === 0
        ? { numContextRequests: 1, numCtxTokens: 128, numGenRequests: i % 7, numGenKvTokens: 300 * (i % 7), iterLatencyMS: 10 }
        : { numContextRequests: 0, numCtxTokens: 0, numGenRequests: 1 + (i % 9), numGenKvTokens: 300 * (1 + (i % 9)), iterLatencyMS: 5 },
    );
    const fit = fitCalibration(s);
    for (const v of Object.values(fit.model)) expect(Number.isFinite(v)).toBe(true);
    expect(fit.model.interceptMs).toBeCloseTo(5, 9);
    expect(fit.rmseMs).toBeLessThan(1e-9);
  });

  it("rejects a degenerate log: every iteration the same shape", () => {
    const same: CalibrationSample[] = Array.from({ length: 50 }, () => ({
      numContextRequests: 0,
      numCtxTokens: 0,
      numGenRequests: 8,
      numGenKvTokens: 800,
      iterLatencyMS: 7,
    }));
    expectInvalid(() => fitCalibration(same), "samples", /degenerate log: all 50 iterations have the same shape/);
  });

  it("nnls solves a small problem exactly", () => {
    const x = nnls(
      [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
      [1, -1, 0],
    );
    expect(x[0]).toBeCloseTo(0.5, 12);
    expect(x[1]).toBe(0);
  });
});

describe("iteration log", () => {
  const log = [
    "{'iter': 0, 'iterLatencyMS': 25.5, 'numActiveRequests': 2, 'inflightBatchingStats': {'numContextRequests': 2, 'numCtxTokens': 1024, 'numGenRequests': 0, 'numPausedRequests': 0, 'microBatchId': None}, 'specDecodingStats': None, 'ok': True}",
    "",
    "{'iter': 1, 'iterLatencyMS': 7.25, 'inflightBatchingStats': {'numContextRequests': 0, 'numCtxTokens': 0, 'numGenRequests': 2}, 'note': 'it\\'s None here', 'x': False}",
    "{'iter': 2, 'iterLatencyMS': 0.01, 'inflightBatchingStats': {'numContextRequests': 0, 'numCtxTokens': 0, 'numGenRequests': 0}}",
  ].join("\n");

  it("converts Python dict repr to JSON without touching strings", () => {
    expect(JSON.parse(pythonReprToJson("{'a': None, 'b': True, 'c': False, 'd': 'None True', 'e': \"q'x\"}"))).toEqual({
      a: null,
      b: true,
      c: false,
      d: "None True",
      e: "q'x",
    });
  });

  it("parses iterations into samples, skipping empty ones", () => {
    expect(parseIterationLog(log)).toEqual([
      { numContextRequests: 2, numCtxTokens: 1024, numGenRequests: 0, iterLatencyMS: 25.5 },
      { numContextRequests: 0, numCtxTokens: 0, numGenRequests: 2, iterLatencyMS: 7.25 },
    ]);
    expectInvalid(() => parseIterationLog("{'iter': 0,"), "iteration log line 1");
    expectInvalid(() => parseIterationLog("{'iter': 0}"), "iteration log line 1", /iterLatencyMS/);
  });
});

describe("calibrated predictor", () => {
  const cfg = (calibrated: typeof truth | undefined, extra = {}) =>
    config({ kind: PredictorKind.PREDICTOR_KIND_CALIBRATED, ...(calibrated ? { calibrated } : {}), ...extra });

  it("prices the linear features of a batch", async () => {
    const p = (await createPredictor(cfg(truth))) as LocalPredictor;
    const batch = makeBatch([
      { context: true, inputLength: 1000, pastKvLength: 500 },
      { context: false, inputLength: 1, pastKvLength: 2000 },
      { context: false, inputLength: 1, pastKvLength: 3000 },
    ]);
    const area = (2 * 500 + 1000) * 1000;
    const expected = 3.5 + 0.2 + 0.012 * 1000 + 0.05 * 2 + 0.00002 * 5000 + (0.4 * area) / 1e6;
    expect(p.predict(batch)).toBeCloseTo(expected, 12);
    expect((p.breakdown(batch) as OpTime[]).reduce((s, o) => s + o.ms, 0)).toBeCloseTo(expected, 12);
    const run = p.predictDecodeRun([10, 20], 2, 3);
    run.forEach((t, i) => expect(t).toBe(p.predict(makeBatch([10 + i, 20 + i].map((x) => ({ context: false, inputLength: 1, pastKvLength: x }))))));
  });

  it("validates coefficients", async () => {
    await expect(createPredictor(cfg(undefined))).rejects.toThrow(/config.calibrated: required/);
    await expect(createPredictor(cfg({ ...truth, perContextTokenMs: -1 }))).rejects.toThrow(/per_context_token_ms/);
    await expect(createPredictor(cfg({ ...truth, interceptMs: 0, perGenerationRequestMs: 0 }))).rejects.toThrow(/intercept_ms must be > 0/);
  });
});
