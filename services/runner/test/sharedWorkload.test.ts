import { Distribution } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { packWorkload, unpackWorkload } from "../src/packedWorkload.js";
import { resolveJob, resolveSharedWorkload } from "../src/resolveJob.js";
import { constant, datasetSpec, invalid, jsonl, llama8bH100, spec } from "./helpers.js";

const rows = Array.from({ length: 30 }, (_, i) => ({ isl: 20 + i, osl: 3 + (i % 5) }));

describe("a workload resolved once, shared by jobs", () => {
  it("gives the same job as resolving the spec (dataset, num_requests, packed in shared memory)", async () => {
    for (const numRequests of [0, 7]) {
      const s = datasetSpec(jsonl(rows), { numRequests }, constant);
      const { workload } = await resolveSharedWorkload(s);
      const fresh = await resolveJob(s);
      const shared = await resolveJob(s, { workload });
      const packed = await resolveJob(s, { workload: unpackWorkload(packWorkload(workload, true)) });
      for (const j of [shared, packed]) {
        expect(j.dataset).toEqual(fresh.dataset);
        expect(j.engine).toEqual(fresh.engine);
        const shape = (r: (typeof j.requests)[number]) => [
          r.taskId,
          r.inputLength,
          r.outputTokens,
          Array.from(r.inputIds ?? []),
          Array.from(r.blocks?.keys ?? []),
          r.blocks?.tailH1 ?? null,
        ];
        expect(j.requests.map(shape)).toEqual(fresh.requests.map(shape));
        expect(j.warmup.map((r) => r.taskId)).toEqual(fresh.warmup.map((r) => r.taskId));
      }
    }
  });

  it("synthetic token ids follow the model's vocabulary", async () => {
    const s = spec({
      predictor: llama8bH100,
      workload: {
        synthetic: { distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST, numRequests: 5, inputMean: 64, outputMean: 8, inputStdev: 0, outputStdev: 0 },
      },
    });
    const { workload, key } = await resolveSharedWorkload(s);
    expect(JSON.parse(key)[1]).toBe(128256);
    const fresh = await resolveJob(s);
    const keys = (r: { blocks?: { keys: Float64Array } }) => Array.from(r.blocks!.keys);
    expect(keys((await resolveJob(s, { workload })).requests[3]!)).toEqual(keys(fresh.requests[3]!));
  });

  it("keeps the size guards", async () => {
    const s = datasetSpec(jsonl(rows), {}, constant);
    const { workload } = await resolveSharedWorkload(s);
    const err = await invalid(resolveJob(s, { workload, limits: { maxRequests: 10 } }));
    expect(err.field).toBe("spec.workload.dataset");
    expect(err.reason).toMatch(/30 requests exceed the limit of 10/);
  });
});
