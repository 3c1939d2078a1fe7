import { InvalidArgumentError, promptBlocks } from "@servesim/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Dataset, type DatasetOptions, DatasetReader, parseDatasetText, readDatasetStream } from "../src/dataset.js";

/** The reference: every line through JSON.parse (DatasetReader.addLine, the text path). */
function viaText(text: string, options: DatasetOptions = {}): Dataset | string {
  try {
    const reader = new DatasetReader("d", null, options);
    for (const raw of text.split("\n")) {
      reader.addLine(raw.endsWith("\r") ? raw.slice(0, -1) : raw);
      if (reader.full) break;
    }
    return reader.finish();
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e.message;
    throw e;
  }
}

function viaBytes(text: string, options: DatasetOptions = {}): Dataset | string {
  try {
    return parseDatasetText(text, { ...options, datasetPath: "d" });
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e.message;
    throw e;
  }
}

const shape = (d: Dataset | string) =>
  typeof d === "string"
    ? d
    : {
        requests: d.requests.map((r) => ({
          ...r,
          inputIds: r.inputIds ? Array.from(r.inputIds) : undefined,
          blocks: r.blocks && { ...r.blocks, keys: Array.from(r.blocks.keys) },
        })),
        warnings: d.warnings,
        approx: d.approxPromptTokens,
        n: d.metadata.numRequests,
        isl: d.metadata.islStats,
      };

/** Members a dataset line may have, valid or not, in the spellings JSON allows. */
const idsArb = fc.array(fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constantFrom(4294967295, 4294967296, -1, 1.5, "7", null)), { maxLength: 12 });
const numberText = fc.oneof(
  fc.integer({ min: -3, max: 40 }).map(String),
  fc.constantFrom("1.0", "2e0", "007", "-0", "1e400", "123456789012345678", "3 ", " 4"),
);
const memberArb = fc.oneof(
  fc.tuple(fc.constantFrom('"task_id"', '"task\\u005fid"', '"output_tokens"'), numberText).map(([k, v]) => `${k}:${v}`),
  fc
    .tuple(fc.constantFrom('"input_ids"', '"logits"', '"input\\u005fids"'), idsArb, fc.constantFrom(",", ", ", " ,"))
    .map(([k, ids, sep]) => `${k}:[${ids.map((v) => JSON.stringify(v)).join(sep)}]`),
  fc.constantFrom('"input_ids":null', '"input_ids":[]', '"logits":"x"', '"prompt":"abcdefg"', '"prompt":"😀 \\n\\"q\\""', '"prompt":7'),
  fc.constantFrom('"extra":{"a":[1,{"b":null}],"c":"\\u00e9"}', '"lora_request":null', '"flag":true', '"x":-1.5e-3', '"bad":tru', '"s":"\\q"', '"n":01'),
);
const lineArb = fc.oneof(
  { weight: 8, arbitrary: fc.array(memberArb, { maxLength: 6 }).map((ms) => `{${ms.join(",")}}`) },
  { weight: 1, arbitrary: fc.constantFrom("", "   ", "[1]", "{", "null", '{"task_id":1,"input_ids":[1],"output_tokens":1} x', "\t{ } ") },
  {
    weight: 6,
    arbitrary: fc
      .record({
        t: fc.integer({ min: 0, max: 5 }),
        ids: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 40 }),
        o: fc.integer({ min: 1, max: 9 }),
        ws: fc.constantFrom("", " ", "\t"),
      })
      .map(({ t, ids, o, ws }) => `${ws}{${ws}"task_id"${ws}:${ws}${t},"input_ids":[${ids.join(`,${ws}`)}]${ws},"output_tokens":${o}}${ws}`),
  },
);
const textArb = fc.tuple(fc.array(lineArb, { minLength: 1, maxLength: 8 }), fc.constantFrom("\n", "\r\n")).map(([ls, nl]) => ls.join(nl));
const optionsArb = fc.record({
  approxPromptTokens: fc.boolean(),
  numRequests: fc.integer({ min: 0, max: 4 }),
  tokensPerBlock: fc.constantFrom(0, 1, 4, 16),
  maxTotalTokens: fc.constantFrom(undefined, 60),
});

describe("streaming dataset reader", () => {
  it("bytes (fast path + JSON.parse fallback) read exactly like JSON.parse line by line: requests, errors, warnings", () => {
    fc.assert(
      fc.property(textArb, optionsArb, (text, { maxTotalTokens, ...o }) => {
        const options: DatasetOptions = maxTotalTokens === undefined ? o : { ...o, maxTotalTokens };
        expect(shape(viaBytes(text, options))).toEqual(shape(viaText(text, options)));
      }),
      { numRuns: 3000 },
    );
  });

  it("chunk boundaries anywhere (inside lines, CRLF, multi-byte characters) change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(textArb, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), async (text, cuts) => {
        const bytes = Buffer.from(text, "utf8");
        async function* chunks() {
          let at = 0;
          for (let k = 0; at < bytes.length; k++) {
            const n = cuts[k % cuts.length]!;
            yield bytes.subarray(at, at + n);
            at += n;
          }
        }
        let got: Dataset | string;
        try {
          got = await readDatasetStream(chunks(), "d", null, { tokensPerBlock: 4, approxPromptTokens: true });
        } catch (e) {
          if (!(e instanceof InvalidArgumentError)) throw e;
          got = e.message;
        }
        expect(shape(got)).toEqual(shape(viaText(text, { tokensPerBlock: 4, approxPromptTokens: true })));
      }),
      { numRuns: 500 },
    );
  });

  it("a line cut short inside a number is not read past its end (a reused carry buffer, the end of a buffer)", async () => {
    // The first line fills the carry buffer with digits; the second, also assembled there, ends inside a
    // number, so the bytes after its end are the first line's digits.
    const first = `{"task_id":0,"input_ids":[${"1234567,".repeat(30)}1],"output_tokens":1}\n`;
    const second = '{"task_id":1,"output_tokens":1,"input_ids":[5,6';
    async function* chunks() {
      yield Buffer.from(first.slice(0, 10));
      yield Buffer.from(first.slice(10) + second.slice(0, 5));
      yield Buffer.from(second.slice(5));
    }
    const err = await readDatasetStream(chunks(), "d", null, { tokensPerBlock: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe(viaText(first + second, { tokensPerBlock: 4 }));
    // The same line as the last bytes of a buffer (no newline, nothing after it).
    expect(shape(viaBytes(second, { tokensPerBlock: 4 }))).toEqual(shape(viaText(second, { tokensPerBlock: 4 })));
  });

  it("keeps block keys instead of ids when tokensPerBlock is set: the keys of the ids", () => {
    const ids = Array.from({ length: 70 }, (_, k) => (k * 7919) % 128000);
    const d = parseDatasetText(`{"task_id":0,"input_ids":[${ids.join(",")}],"output_tokens":3}\n{"task_id":1,"prompt":"abcd","output_tokens":2}`, {
      tokensPerBlock: 32,
      approxPromptTokens: true,
    });
    const [a, b] = d.requests;
    expect(a!.inputIds).toBeUndefined();
    expect(a!.blocks!.keys).toHaveLength(2);
    expect(a!.blocks).toEqual(promptBlocks(ids, 32));
    // A text prompt has no ids, so no keys: it never shares blocks.
    expect(b!.blocks).toBeUndefined();
    expect(b!.inputLength).toBe(1);
  });

  it("lines of the usual shapes take the byte scanner; others JSON.parse", () => {
    const reader = new DatasetReader("d", null, { tokensPerBlock: 8 });
    const lines = [
      '{"task_id":0,"input_ids":[1,2,3],"output_tokens":5}',
      '{ "task_id": 1, "logits": [4, 5], "output_tokens": 1, "lora_request": null, "x": {"y": [1.5, "z"]} }',
      '{"output_tokens":2,"input_ids":[6],"prompt":"ignored","task_id":2}',
      '{"task_id":3,"input_ids":[1.0],"output_tokens":1}',
      '{"task\\u005fid":4,"input_ids":[1],"output_tokens":1}',
    ];
    for (const l of lines) {
      const b = Buffer.from(l);
      reader.addLineBytes(b, 0, b.length);
    }
    expect(reader.paths).toEqual({ scanned: 3, parsed: 2 });
    expect(reader.finish().requests.map((r) => [r.taskId, r.inputLength])).toEqual([
      [0, 3],
      [1, 2],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
  });

  it("a line longer than the limit names its line", async () => {
    async function* chunks() {
      yield Buffer.from('{"task_id":0,"input_ids":[1],"output_tokens":1}\n{"task_id":1,"input_ids":[');
      for (let i = 0; i < 70; i++) yield Buffer.alloc(1 << 20, "1,".charCodeAt(i % 2));
    }
    await expect(readDatasetStream(chunks(), "big.jsonl", null)).rejects.toThrow("big.jsonl line 2: line is longer than 67108864 bytes");
  });
});
