import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tinyTokenizerJson } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);

// A tiny byte-level BPE tokenizer (BOS 261, "hello" 259, "Ġw" 260, "ll" 257) and four conversations: one
// with two exchanges, one without a reply, one that starts with the reply, one long prompt.
writeFileSync(file("tokenizer.json"), JSON.stringify(tinyTokenizerJson()));
const conversations = [
  {
    id: "a",
    conversations: [
      { from: "human", value: "hello world" },
      { from: "gpt", value: "Hi! well" },
      { from: "human", value: "hello" },
      { from: "gpt", value: "well well" },
    ],
  },
  { id: "b", conversations: [{ from: "human", value: "only a question" }] },
  {
    id: "c",
    conversations: [
      { from: "gpt", value: "starts with a reply" },
      { from: "human", value: "x" },
    ],
  },
  {
    id: "d",
    conversations: [
      { from: "human", value: "hello hello hello hello hello" },
      { from: "gpt", value: "é" },
    ],
  },
];
writeFileSync(file("sharegpt.json"), JSON.stringify(conversations, null, 2));
writeFileSync(file("sharegpt.jsonl"), conversations.map((c) => JSON.stringify(c)).join("\n"));

const base = ["prepare-dataset", "sharegpt", "--input", file("sharegpt.json"), "--tokenizer", file("tokenizer.json")];

describe("prepare-dataset sharegpt", () => {
  it("tokenizes the first exchange of every conversation with the local tokenizer (special tokens included)", async () => {
    const r = await runCli(base);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        // "hello world" → BOS, hello, Ġw, o, r, l, d; the reply "Hi! well" is 7 tokens with its BOS.
        '{"task_id":0,"input_ids":[261,259,260,111,114,108,100],"output_tokens":7}',
        '{"task_id":1,"input_ids":[261,259,32,259,32,259,32,259,32,259],"output_tokens":3}',
        "",
      ].join("\n"),
    );
    expect(r.stderr).toBe("wrote 2 requests from 4 conversations; skipped 2 without a reply, 0 over --max-input-len\n");
    // One conversation per line reads the same.
    expect((await runCli([...base.slice(0, 3), file("sharegpt.jsonl"), ...base.slice(4), "-q"])).stdout).toBe(r.stdout);
  });

  it("--max-input-len skips long prompts; --output-len-dist draws trtllm-bench's seeded lengths; --output-len fixes them", async () => {
    const r = await runCli([...base, "--max-input-len", "7", "--output-len-dist", "10,3", "--seed", "1", "-q"]);
    expect(r.stdout).toBe('{"task_id":0,"input_ids":[261,259,260,111,114,108,100],"output_tokens":15}\n');
    const fixed = await runCli([...base, "--output-len", "5", "--num-requests", "1", "-q"]);
    expect(fixed.stdout).toBe('{"task_id":0,"input_ids":[261,259,260,111,114,108,100],"output_tokens":5}\n');
  });

  it("--multi-turn writes sessions (new tokens per turn, think time) that servesim replays with their history", async () => {
    const r = await runCli([...base, "--multi-turn", "--think-time-ms", "1500", "--output", file("mt.jsonl")]);
    expect(r.code).toBe(0);
    expect(readFileSync(file("mt.jsonl"), "utf8")).toBe(
      [
        '{"session_id":"a","input_length":7,"output_length":6}',
        '{"session_id":"a","input_length":1,"output_length":6,"delay":1500}',
        '{"session_id":"d","input_length":10,"output_length":2}',
        "",
      ].join("\n"),
    );
    const sim = await runCli([
      "throughput",
      "--dataset",
      file("mt.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--predictor",
      "constant",
      "--warmup",
      "0",
      "-q",
      "--request-json",
      file("mtq.jsonl"),
    ]);
    expect(sim.code).toBe(0);
    // Turn 2 of "a" carries turn 1's 7 + 6 tokens before its own one.
    expect(
      readFileSync(file("mtq.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { input_length: number }).input_length),
    ).toEqual([7, 14, 10]);
  });

  it("errors name the file, the conversation or the flag", async () => {
    expect((await runCli(["prepare-dataset", "sharegpt", "--tokenizer", file("tokenizer.json")])).stderr).toBe(
      "error: sharegpt needs --input (the ShareGPT-style JSON file)\n",
    );
    expect((await runCli([...base.slice(0, 4), "--tokenizer", file("nope.json")])).stderr).toBe(
      `error: --tokenizer ${file("nope.json")}: no such file or directory\n`,
    );
    writeFileSync(file("bad.json"), '[{"conversations": [{"from": "human", "value": 3}]}]');
    expect((await runCli([...base.slice(0, 3), file("bad.json"), ...base.slice(4)])).stderr).toBe(
      `error: ${file("bad.json")} conversation 0: conversations[0].value must be a string\n`,
    );
    expect((await runCli([...base, "--output-len", "3", "--output-len-dist", "4,1"])).stderr).toBe(
      "error: --output-len and --output-len-dist contradict each other\n",
    );
  });
});
