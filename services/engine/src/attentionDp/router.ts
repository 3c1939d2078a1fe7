/**
 * How TensorRT-LLM spreads new requests over attention-DP ranks (`schedule_attention_dp_requests` and
 * `balance_requests_across_ranks` in tensorrt_llm/_torch/pyexecutor/request_utils.py, called from
 * executor_request_queue.py when the executor fetches new requests): every rank may take requests until
 * it holds `expected = max(ceil((Σ active + new) / ranks), max active)`; the new requests, longest prompt
 * first, go one by one to the rank with the fewest active tokens (then the fewest requests, then the
 * lowest rank), a rank leaving the heap once it reaches `expected`.
 */
export interface RankLoad {
  /** Requests active on the rank. */
  requests: number;
  /** Their prompt tokens. */
  tokens: number;
}

/**
 * Ranks of `newPromptLengths` (in the order given). `loads` is updated with the assignment. Requests are
 * taken in the order a stable sort by prompt length (descending) puts them, as TensorRT-LLM's `sorted` does.
 */
export function routeToRanks(newPromptLengths: ArrayLike<number>, loads: RankLoad[]): Int32Array {
  const n = newPromptLengths.length;
  const out = new Int32Array(n);
  if (n === 0) return out;
  const ranks = loads.length;
  let total = 0;
  let maxActive = 0;
  for (const l of loads) {
    total += l.requests;
    maxActive = Math.max(maxActive, l.requests);
  }
  const expected = Math.max(Math.ceil((total + n) / ranks), maxActive);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => newPromptLengths[b]! - newPromptLengths[a]! || a - b);
  // A binary heap of ranks keyed (tokens, requests, rank).
  const heap: number[] = [];
  const less = (a: number, b: number): boolean => {
    const x = loads[a]!;
    const y = loads[b]!;
    return x.tokens !== y.tokens ? x.tokens < y.tokens : x.requests !== y.requests ? x.requests < y.requests : a < b;
  };
  const push = (r: number): void => {
    heap.push(r);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  for (let r = 0; r < ranks; r++) if (loads[r]!.requests < expected) push(r);
  for (const i of order) {
    // Σ capacity below `expected` covers every new request, so the heap is never empty here.
    const r = pop();
    const l = loads[r]!;
    l.tokens += newPromptLengths[i]!;
    l.requests += 1;
    out[i] = r;
    if (l.requests < expected) push(r);
  }
  return out;
}
