import { blockKey, blockStateH1, blockStateH2, mixTokenH1, mixTokenH2 } from "@servesim/core";
import type { RequestTable } from "./requestTable.js";

/**
 * Prefix caching only pays off between requests whose prompts share their first block: block keys are
 * chained (a key hashes the whole prefix through its block), so a request can only ever match blocks of
 * a request with the same first block, or its own blocks when it is prefilled again after a pause. When
 * no request can be paused (GUARANTEED_NO_EVICT, STATIC_BATCH), a request whose first full block no other
 * request has (measured and warm-up ones alike) is therefore handled as untracked: its blocks stay
 * anonymous. The free queue keeps the same order and length, so scheduling, timing and every KV counter
 * are unchanged; only the bookkeeping of keys no one can match is skipped (on a dataset of random token
 * ids, all of it).
 *
 * Returns how many requests stay tracked.
 */
export function untrackUnsharedPrefixes(table: RequestTable, tokensPerBlock: number): number {
  const n = table.size;
  const first = new Float64Array(n);
  const counts = new Map<number, number>();
  for (let r = 0; r < n; r++) {
    if (table.tracked[r] !== 1) continue;
    const q = table.requests[r]!;
    // Fewer than one full block: nothing to store or to match.
    if (q.inputLength < tokensPerBlock) {
      table.tracked[r] = 0;
      continue;
    }
    // A request carries its prompt as token ids or as block keys computed when it was read.
    const key = q.inputIds !== undefined ? cachedFirstBlockKey(q.inputIds, tokensPerBlock) : q.blocks!.keys[0]!;
    first[r] = key;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let tracked = 0;
  for (let r = 0; r < n; r++) {
    if (table.tracked[r] !== 1) continue;
    // Equal tokens give equal keys; a collision only keeps requests tracked, which is always exact.
    if (counts.get(first[r]!) === 1) table.tracked[r] = 0;
    else tracked++;
  }
  return tracked;
}

/**
 * First-block keys of token-id arrays already seen: the points of a sweep run the same requests (the
 * same arrays) again and again, so each prompt is hashed once per block size.
 */
const seen = new WeakMap<object, Map<number, number>>();

function cachedFirstBlockKey(ids: ArrayLike<number>, tpb: number): number {
  let byTpb = seen.get(ids as object);
  if (byTpb === undefined) {
    byTpb = new Map();
    seen.set(ids as object, byTpb);
  }
  let key = byTpb.get(tpb);
  if (key === undefined) {
    key = firstBlockKey(ids, tpb);
    byTpb.set(tpb, key);
  }
  return key;
}

/** The chain key of the first block (core's block keys: the same key a dataset reader computes). */
function firstBlockKey(ids: ArrayLike<number>, tpb: number): number {
  let h1 = blockStateH1(0);
  let h2 = blockStateH2(0);
  for (let p = 0; p < tpb; p++) {
    const tok = ids[p]! | 0;
    h1 = mixTokenH1(h1, tok);
    h2 = mixTokenH2(h2, tok);
  }
  return blockKey(h1, h2, tpb);
}
