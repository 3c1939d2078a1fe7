import type { ServerWritableStream } from "@grpc/grpc-js";
import { InvalidArgumentError } from "@servesim/core";
import type { CallContext } from "@servesim/server-common";
import { iterationToWire, requestToWire } from "@servesim/wire";
import type { GetResultRequest, GetResultResponse } from "@servesim/wire/scheduler";
import { chunkBounds } from "../chunks.js";
import { ITERATION_RECORD_BYTES, requestRecordBytes, sweepRowBytes } from "../convert.js";
import { type SchedulerDeps, write } from "./deps.js";

/** GetResult's records per chunk when the request leaves chunk_size 0, and the largest accepted. */
export const DEFAULT_CHUNK_SIZE = 1000;
export const MAX_CHUNK_SIZE = 100_000;

/** GetResult: a succeeded job's result, then its records, iterations and sweep rows in chunks. */
export async function getResult(deps: SchedulerDeps, call: ServerWritableStream<GetResultRequest, GetResultResponse>, ctx: CallContext): Promise<void> {
  const req = call.request;
  const size = req.chunkSize || DEFAULT_CHUNK_SIZE;
  if (size > MAX_CHUNK_SIZE) throw new InvalidArgumentError("chunk_size", `must be at most ${MAX_CHUNK_SIZE} (got ${size})`);
  const { output } = await deps.manager.output(req.id, ctx.principal.tenant);
  await write(call, ctx, { result: output.result });
  if (req.includeRequests) {
    const records = output.requests;
    for (const [a, b] of chunkBounds(records.length, size, (i) => requestRecordBytes(records[i]!))) {
      await write(call, ctx, { requests: { records: records.slice(a, b).map(requestToWire) } });
    }
  }
  if (req.includeIterations) {
    const iterations = output.iterations;
    for (const [a, b] of chunkBounds(iterations.length, size, () => ITERATION_RECORD_BYTES)) {
      await write(call, ctx, { iterations: { records: iterations.slice(a, b).map(iterationToWire) } });
    }
  }
  // A sweep's rows are its result: always sent.
  const rows = output.sweepRows ?? [];
  for (const [a, b] of chunkBounds(rows.length, size, (i) => sweepRowBytes(rows[i]!))) {
    await write(call, ctx, { sweepRows: { rows: rows.slice(a, b) } });
  }
}
