import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { type DatasetOptions, loadDatasetFile, parseDatasetText } from "../src/dataset.js";

const line = (o: unknown): string => JSON.stringify(o);

function errorOf(text: string, options: DatasetOptions & { datasetPath?: string | null } = {}): InvalidArgumentError {
  try {
    parseDatasetText(text, options);
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e;
    throw e;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("parseDatasetText", () => {
  const text = [
    line({ task_id: 0, input_ids: [1, 2, 3], output_tokens: 5 }),
    "",
    line({ task_id: 1, logits: [4, 5], output_tokens: 1, lora_request: null, category: "x", foo: 3 }),
    "   ",
    line({ task_id: 2, input_ids: [6, 7, 8, 9], prompt: "ignored", output_tokens: 2, turns: ["a"], question_id: 3 }),
  ].join("\r\n");

  it("reads input_ids (alias logits), ignores blank lines, extras and unknown fields", () => {
    const d = parseDatasetText(text);
    expect(d.requests.map((r) => [r.taskId, r.inputLength, r.outputTokens, Array.from(r.inputIds!)])).toEqual([
      [0, 3, 5, [1, 2, 3]],
      [1, 2, 1, [4, 5]],
      [2, 4, 2, [6, 7, 8, 9]],
    ]);
    expect(d.requests[0]!.inputIds).toBeInstanceOf(Uint32Array);
    expect(d.warnings).toEqual([]);
    expect(d.approxPromptTokens).toBe(false);
  });

  it("computes the dataset metadata", () => {
    const m = parseDatasetText(text, { datasetPath: "/data/x.jsonl" }).metadata;
    expect(m.numRequests).toBe(3);
    expect(m.datasetPath).toBe("/data/x.jsonl");
    // ISL [3,2,4], OSL [5,1,2], seq [8,3,6]
    expect(m.islStats).toEqual({ p50: 3, p90: 4, p95: 4, p99: 4, minimum: 2, maximum: 4, average: 3 });
    expect(m.oslStats).toEqual({ p50: 2, p90: 5, p95: 5, p99: 5, minimum: 1, maximum: 5, average: 8 / 3 });
    expect(m.seqLenStats).toEqual({ p50: 6, p90: 8, p95: 8, p99: 8, minimum: 3, maximum: 8, average: 17 / 3 });
    expect([m.maxIsl, m.maxOsl, m.maxSequenceLength, m.avgIsl, m.avgOsl, m.avgSequenceLength]).toEqual([4, 5, 8, 3, 2, 5]);
  });

  it("numRequests keeps the first N (0 = all) and stops reading", () => {
    expect(parseDatasetText(text, { numRequests: 2 }).requests.map((r) => r.taskId)).toEqual([0, 1]);
    expect(parseDatasetText(text, { numRequests: 0 }).requests).toHaveLength(3);
    // line 3 of this text is invalid, but never read
    expect(parseDatasetText(`${line({ task_id: 0, input_ids: [1], output_tokens: 1 })}\nnot json`, { numRequests: 1 }).requests).toHaveLength(1);
  });

  it("keepInputIds: false drops the ids", () => {
    expect(parseDatasetText(text, { keepInputIds: false }).requests.every((r) => r.inputIds === undefined)).toBe(true);
  });

  it("warns about duplicate task ids", () => {
    const d = parseDatasetText([line({ task_id: 7, input_ids: [1], output_tokens: 1 }), line({ task_id: 7, input_ids: [2], output_tokens: 1 })].join("\n"));
    expect(d.requests).toHaveLength(2);
    expect(d.warnings).toEqual(["dataset line 2: duplicate task_id 7 (first seen on line 1)"]);
  });

  it("prompt-only lines need approxPromptTokens (ISL = ceil(chars / 4))", () => {
    const p = line({ task_id: 3, prompt: "abcdefghi", output_tokens: 4 });
    const e = errorOf(p);
    expect(e.field).toBe("dataset line 1");
    expect(e.reason).toBe(
      "prompt without input_ids needs a tokenizer: regenerate the dataset with input_ids (servesim prepare-dataset sharegpt --tokenizer tokenizer.json), or pass --approx-prompt-tokens (JobSpec workload.dataset.approx_prompt_tokens) to take ISL = ceil(characters / 4)",
    );
    const d = parseDatasetText(`${p}\n${line({ task_id: 4, prompt: "😀😀😀😀x", output_tokens: 1 })}`, { approxPromptTokens: true });
    expect(d.requests.map((r) => r.inputLength)).toEqual([3, 2]);
    expect(d.requests[0]!.inputIds).toBeUndefined();
    expect(d.approxPromptTokens).toBe(true);
  });
});

describe("dataset errors name the line (1-based) and the reason", () => {
  const ok = line({ task_id: 0, input_ids: [1], output_tokens: 1 });
  const cases: [string, string, string][] = [
    [`${ok}\n\n{"task_id": 1,`, "dataset line 3", "invalid JSON: "],
    [`${ok}\n[1,2]`, "dataset line 2", "expected a JSON object"],
    [line({ input_ids: [1], output_tokens: 1 }), "dataset line 1", "missing task_id"],
    [line({ task_id: 1.5, input_ids: [1], output_tokens: 1 }), "dataset line 1", "task_id must be an integer (got 1.5)"],
    [line({ task_id: "a", input_ids: [1], output_tokens: 1 }), "dataset line 1", 'task_id must be an integer (got "a")'],
    [line({ task_id: 9, output_tokens: 1 }), "dataset line 1", "Both prompt and input_ids for 9 are both None."],
    [line({ task_id: 9, input_ids: [1, -2], output_tokens: 1 }), "dataset line 1", "input_ids[1] must be a non-negative integer token id (got -2)"],
    [line({ task_id: 9, logits: [0.5], output_tokens: 1 }), "dataset line 1", "logits[0] must be a non-negative integer token id (got 0.5)"],
    [line({ task_id: 9, input_ids: "1 2", output_tokens: 1 }), "dataset line 1", 'input_ids must be an array of token ids (got "1 2")'],
    [line({ task_id: 9, input_ids: [], output_tokens: 1 }), "dataset line 1", "input_ids is empty"],
    [line({ task_id: 9, input_ids: [1] }), "dataset line 1", "missing output_tokens"],
    [line({ task_id: 9, input_ids: [1], output_tokens: 0 }), "dataset line 1", "output_tokens must be >= 1 (got 0)"],
    [line({ task_id: 9, input_ids: [1], output_tokens: 2.5 }), "dataset line 1", "output_tokens must be an integer (got 2.5)"],
    ["\n  \n", "dataset", "dataset is empty (no requests)"],
  ];
  for (const [text, field, reason] of cases) {
    it(`${field}: ${reason}`, () => {
      const e = errorOf(text);
      expect(e.field).toBe(field);
      if (reason.endsWith(": ")) expect(e.reason.startsWith(reason)).toBe(true);
      else expect(e.reason).toBe(reason);
      expect(e.message).toBe(`${e.field}: ${e.reason}`);
    });
  }

  it("uses the file path as the label", () => {
    expect(errorOf("oops", { datasetPath: "/tmp/d.jsonl" }).field).toBe("/tmp/d.jsonl line 1");
  });

  it("size guards", () => {
    const three = [0, 1, 2].map((i) => line({ task_id: i, input_ids: [1, 2], output_tokens: 3 })).join("\n");
    const byCount = errorOf(three, { maxRequests: 2 });
    expect([byCount.field, byCount.reason]).toEqual(["dataset line 3", "dataset has more than 2 requests (size limit)"]);
    const byTokens = errorOf(three, { maxTotalTokens: 12 });
    expect([byTokens.field, byTokens.reason]).toEqual(["dataset line 3", "dataset exceeds 12 total tokens (input + output; size limit)"]);
    expect(parseDatasetText(three, { maxRequests: 3, maxTotalTokens: 15 }).requests).toHaveLength(3);
  });
});

describe("loadDatasetFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "servesim-ds-"));

  it("streams a file and labels errors with its path", async () => {
    const path = join(dir, "a.jsonl");
    writeFileSync(path, `${line({ task_id: 0, input_ids: [1, 2], output_tokens: 2 })}\n\n${line({ task_id: 1, input_ids: [3], output_tokens: 1 })}\n`);
    const d = await loadDatasetFile(path, { numRequests: 0 });
    expect(d.requests.map((r) => r.inputLength)).toEqual([2, 1]);
    expect(d.metadata.datasetPath).toBe(path);

    const bad = join(dir, "b.jsonl");
    writeFileSync(bad, `${line({ task_id: 0, input_ids: [1], output_tokens: 1 })}\n{"task_id":1,"input_ids":[1]}\n`);
    await expect(loadDatasetFile(bad)).rejects.toMatchObject({ field: `${bad} line 2`, reason: "missing output_tokens" });
  });

  it("a missing file is an InvalidArgumentError", async () => {
    const missing = join(dir, "nope.jsonl");
    await expect(loadDatasetFile(missing)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(loadDatasetFile(missing)).rejects.toMatchObject({ field: missing });
  });
});
