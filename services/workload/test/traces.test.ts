import { InvalidArgumentError, promptBlocks } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { parseDateTime, parseDateTimeMs } from "../src/csvTrace.js";
import { type ReadDatasetOptions, readDataset } from "../src/datasetFormats.js";
import { hashBlockSeed, uniqueSeed, virtualToken } from "../src/virtualTokens.js";

async function* bytes(text: string, cut = 7) {
  const b = Buffer.from(text, "utf8");
  for (let i = 0; i < b.length; i += cut) yield b.subarray(i, i + cut);
}

const read = (text: string, options: ReadDatasetOptions) => readDataset(bytes(text), "t.jsonl", "t.jsonl", options);

async function errorOf(text: string, options: ReadDatasetOptions): Promise<string> {
  try {
    await read(text, options);
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e.message;
    throw e;
  }
  throw new Error("expected an error");
}

// AIPerf's trace-replay example: requests 0 and 2 are the same prompt, request 1 a longer one sharing it.
const MOONCAKE = [
  '{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}',
  '{"timestamp": 10535, "input_length": 672, "output_length": 26, "hash_ids": [46, 47]}',
  '{"timestamp": 27482, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}',
].join("\n");

describe("trace JSONL (AIPerf / Mooncake)", () => {
  it("reads lengths and timestamps; task ids are the line ordinals", async () => {
    const w = await read(MOONCAKE, { format: "trace", tokensPerBlock: 32 });
    expect(w.requests.map((r) => [r.taskId, r.inputLength, r.outputTokens])).toEqual([
      [0, 655, 52],
      [1, 672, 26],
      [2, 655, 52],
    ]);
    expect(Array.from(w.timestampsMs!)).toEqual([0, 10535, 27482]);
    expect(w.sessions).toBeUndefined();
    expect(w.metadata.avgIsl).toBe(660);
  });

  it("hash_ids blocks of 512 tokens: a partial last block is the start of that block's content", async () => {
    const w = await read(MOONCAKE, { format: "trace", tokensPerBlock: 32 });
    const tokens = (n: number) =>
      Array.from({ length: n }, (_, p) => (p < 512 ? virtualToken(hashBlockSeed(46), p) : virtualToken(hashBlockSeed(47), p - 512)));
    expect(w.requests[0]!.blocks).toEqual(promptBlocks(tokens(655), 32));
    expect(w.requests[1]!.blocks).toEqual(promptBlocks(tokens(672), 32));
    expect(w.requests[2]!.blocks).toEqual(w.requests[0]!.blocks);
    // The first 655 tokens of requests 0 and 1 agree: 20 full blocks of 32.
    const k0 = w.requests[0]!.blocks!.keys;
    const k1 = w.requests[1]!.blocks!.keys;
    expect([k0.length, k1.length]).toEqual([20, 21]);
    expect(Array.from(k1.subarray(0, 20))).toEqual(Array.from(k0));
  });

  it("input beyond the hash blocks is unique to its line; lines without hash_ids share nothing", async () => {
    const w = await read('{"input_length": 40, "output_length": 1, "hash_ids": [7]}\n{"input_length": 40, "output_length": 1}', {
      format: "trace",
      tokensPerBlock: 8,
      traceBlockSize: 16,
    });
    const first = [
      ...Array.from({ length: 16 }, (_, p) => virtualToken(hashBlockSeed(7), p)),
      ...Array.from({ length: 24 }, (_, p) => virtualToken(uniqueSeed(0), p)),
    ];
    expect(w.requests[0]!.blocks).toEqual(promptBlocks(first, 8));
    expect(w.requests[1]!.blocks).toEqual(
      promptBlocks(
        Array.from({ length: 40 }, (_, p) => virtualToken(uniqueSeed(1), p)),
        8,
      ),
    );
  });

  it("multi-turn sessions: each turn carries the conversation so far; think times between turns", async () => {
    const text = [
      '{"session_id": "a", "input_length": 100, "output_length": 20}',
      '{"session_id": "b", "input_length": 50, "output_length": 10, "timestamp": 5}',
      '{"session_id": "a", "input_length": 30, "output_length": 5, "delay": 2000}',
      '{"session_id": "a", "input_length": 7, "output_length": 3, "delay": 500.5}',
    ].join("\n");
    const w = await read(text, { format: "trace", tokensPerBlock: 32 });
    expect(w.requests.map((r) => r.inputLength)).toEqual([100, 50, 150, 162]);
    const s = w.sessions!;
    expect(s.count).toBe(2);
    expect(Array.from(s.sessionOf)).toEqual([0, 1, 0, 0]);
    expect(Array.from(s.turnOf)).toEqual([0, 0, 1, 2]);
    expect(Array.from(s.delayMs)).toEqual([0, 0, 2000, 500.5]);
    expect(Array.from(s.newTokens)).toEqual([100, 50, 30, 7]);
    // Timestamps where given (relative to the first), NaN elsewhere.
    expect(Array.from(w.timestampsMs!)).toEqual([Number.NaN, 0, Number.NaN, Number.NaN]);
    // Turn 2's prompt starts with turn 1's: its first 3 blocks (96 tokens) are turn 1's keys.
    const t1 = w.requests[0]!.blocks!.keys;
    const t2 = w.requests[2]!.blocks!.keys;
    expect(t1.length).toBe(3);
    expect(t2.length).toBe(4);
    expect(Array.from(t2.subarray(0, 3))).toEqual(Array.from(t1));
    expect(Array.from(w.requests[3]!.blocks!.keys.subarray(0, 4))).toEqual(Array.from(t2));
  });

  it("errors name the file and line", async () => {
    expect(await errorOf('{"input_length": 100, "output_length": 1, "hash_ids": [1, 2, 3]}', { format: "trace" })).toBe(
      "t.jsonl line 1: hash_ids has 3 blocks of 512 tokens, more than input_length 100 can hold (at most 1)",
    );
    expect(await errorOf('{"input_length": 10}\n', { format: "trace" })).toBe("t.jsonl line 1: missing output_length");
    expect(await errorOf('\n{"input_length": 10, "output_length": 0}', { format: "trace" })).toBe(
      "t.jsonl line 2: output length must be an integer >= 1 (got 0)",
    );
    expect(await errorOf('{"input_length": 10, "output_length": 2, "delay": -1}', { format: "trace" })).toBe(
      "t.jsonl line 1: delay must be a number of ms >= 0 (got -1)",
    );
    expect(await errorOf('{"text_input": "hello there", "output_length": 2}', { format: "trace" })).toMatch(
      /^t.jsonl line 1: text_input without input_length needs a tokenizer.*--approx-prompt-tokens/,
    );
    const approx = await read('{"text_input": "hello there", "output_length": 2}', { format: "trace", approxPromptTokens: true });
    expect([approx.requests[0]!.inputLength, approx.approxPromptTokens]).toEqual([3, true]);
  });

  it("numRequests keeps the first lines; size guards", async () => {
    expect((await read(MOONCAKE, { format: "trace", numRequests: 2 })).requests).toHaveLength(2);
    expect(await errorOf(MOONCAKE, { format: "trace", maxTotalTokens: 1000 })).toBe(
      "t.jsonl line 2: dataset exceeds 1000 total tokens (input + output; size limit)",
    );
  });
});

describe("CSV traces", () => {
  it("Azure LLM inference: date-time timestamps relative to the first row", async () => {
    const csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n2023-11-16 18:16:00,1,1\n";
    const w = await read(csv, { format: "azure", tokensPerBlock: 32 });
    expect(w.requests.map((r) => [r.inputLength, r.outputTokens])).toEqual([
      [374, 44],
      [396, 109],
      [1, 1],
    ]);
    const t = Array.from(w.timestampsMs!);
    expect(t[0]).toBe(0);
    expect(t[1]).toBeCloseTo(4314.579, 6);
    expect(t[2]).toBeCloseTo(13319.41, 6);
    // Every row's content is its own.
    expect(w.requests[0]!.blocks).toEqual(
      promptBlocks(
        Array.from({ length: 374 }, (_, p) => virtualToken(uniqueSeed(0), p)),
        32,
      ),
    );
  });

  it("BurstGPT: seconds; quoted fields with commas and newlines; rows with 0 response tokens skipped", async () => {
    const csv = [
      "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
      "5,ChatGPT,472,18,490,Conversation log",
      '45,"Chat\nGPT, ""the"" model",1087,0,1087,Conversation log',
      '118.5,"GPT-4",417,276,693,"API\r\nlog"',
    ].join("\r\n");
    const w = await read(csv, { format: "burstgpt" });
    expect(w.requests.map((r) => [r.taskId, r.inputLength, r.outputTokens])).toEqual([
      [0, 472, 18],
      [1, 417, 276],
    ]);
    expect(Array.from(w.timestampsMs!)).toEqual([0, 113500]);
    expect(w.warnings).toEqual(["t.jsonl: 1 rows with 0 output tokens skipped (failed requests)"]);
  });

  it("any CSV through a column mapping, with sessions", async () => {
    const csv = "t_ms,conv,in,out\n0,x,10,2\n3,y,4,1\n9,x,5,1\n";
    const w = await read(csv, {
      format: "csv",
      csvColumns: { timestamp: "t_ms", inputLength: "in", outputLength: "out", sessionId: "conv", timestampUnit: "milliseconds" },
    });
    expect(w.requests.map((r) => r.inputLength)).toEqual([10, 4, 17]);
    expect(Array.from(w.timestampsMs!)).toEqual([0, 3, 9]);
    expect(Array.from(w.sessions!.sessionOf)).toEqual([0, 1, 0]);
  });

  it("errors name the file and line", async () => {
    expect(await errorOf("a,b\n1,2\n", { format: "azure" })).toBe('t.jsonl line 1: no timestamp column "TIMESTAMP" (columns: "a", "b")');
    expect(await errorOf("Timestamp,Request tokens,Response tokens\n1,2,3\n2,x,3\n", { format: "burstgpt" })).toBe(
      't.jsonl line 3: input length (column "Request tokens") must be a whole number of tokens (got "x")',
    );
    expect(await errorOf("TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,2,3\n", { format: "azure" })).toBe(
      't.jsonl line 2: timestamp (column "TIMESTAMP") must be a date-time such as 2023-11-16 18:15:46.6805900 (got "yesterday")',
    );
    expect(await errorOf('Timestamp,Request tokens,Response tokens\n1,2,3\n2,"3,4\n', { format: "burstgpt" })).toMatch(/^t.jsonl line \d+: invalid CSV: /);
    expect(await errorOf("Timestamp,Request tokens,Response tokens\n", { format: "burstgpt" })).toBe("t.jsonl: dataset is empty (no requests)");
  });

  it("date-times: fractions to 100 ns, zones, invalid dates", () => {
    expect(parseDateTime("2023-11-16 18:15:46.6805900")).toEqual([Date.UTC(2023, 10, 16, 18, 15, 46, 680), 0.5900000000000318]);
    expect(parseDateTimeMs("2024-05-10T00:00:00Z")).toBe(Date.UTC(2024, 4, 10));
    expect(parseDateTimeMs("2024-05-10T02:00:00+02:00")).toBe(Date.UTC(2024, 4, 10));
    expect(parseDateTimeMs("2024-02-30 00:00:00")).toBeNaN();
    expect(parseDateTimeMs("10 May 2024")).toBeNaN();
  });
});
