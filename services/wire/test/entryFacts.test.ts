import { InvalidArgumentError, makeBatch, type SimBatch } from "@servesim/core";
import { ctx, gen, wireBatch } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { PredictStreamRequest } from "../gen/ts/servesim/v1/predictor.js";
import { decodeSimBatch, encodeSimBatch, MAX_DRAFT_TOKENS } from "../src/batchCodec.js";
import { serializeBatchRequest } from "../src/wireBatch.js";

const limits = { maxEntries: 64 };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as InvalidArgumentError).field;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("EntryFacts (attention-DP ranks, draft tokens)", () => {
  it("travel with either form, follow their entries when context entries move first", () => {
    const wire = wireBatch([gen(7), ctx(4, 0), gen(9)]);
    wire.facts = { attentionDpRank: [2, 0, 1], numDraftTokens: [3, 0, 1] };
    const b = decodeSimBatch(wire, limits);
    expect([Array.from(b.attentionDpRank!), Array.from(b.draftTokens!)]).toEqual([
      [0, 2, 1],
      [0, 3, 1],
    ]);
    for (const form of ["entries", "packed"] as const) {
      const back = decodeSimBatch(encodeSimBatch(b, form), limits);
      expect([Array.from(back.attentionDpRank!), Array.from(back.draftTokens!)]).toEqual([
        [0, 2, 1],
        [0, 3, 1],
      ]);
    }
    expect(decodeSimBatch(wireBatch([gen(1)]), limits).attentionDpRank).toBeUndefined();
  });

  it("are validated: one value per entry, bounded", () => {
    const wire = wireBatch([gen(7), gen(9)]);
    wire.facts = { attentionDpRank: [0], numDraftTokens: [] };
    expect(fieldOf(() => decodeSimBatch(wire, limits))).toBe("batch.facts.attention_dp_rank");
    wire.facts = { attentionDpRank: [], numDraftTokens: [1, MAX_DRAFT_TOKENS + 1] };
    expect(fieldOf(() => decodeSimBatch(wire, limits))).toBe("batch.facts.num_draft_tokens[1]");
  });

  it("a batch with facts is serialized by ts-proto (the fast packed writer skips it)", () => {
    const b: SimBatch = { ...makeBatch(Array.from({ length: 20 }, (_, i) => ({ context: false, inputLength: 1, pastKvLength: i }))) };
    b.draftTokens = new Array(20).fill(2);
    const bytes = serializeBatchRequest(b, 5);
    const decoded = PredictStreamRequest.decode(bytes);
    expect(decoded.sequence).toBe(5);
    expect(decoded.batch?.facts?.numDraftTokens).toEqual(new Array(20).fill(2));
  });
});
