import { iterationFromWire, iterationToWire, requestFromWire, requestToWire } from "@servesim/wire";
import { GetResultResponse, type JobProgress, type JobState } from "@servesim/wire/scheduler";
import type { JobRunOutput } from "./jobExecutor.js";
import { MemoryUsageLedger, type TenantUsage } from "./quotas.js";

/** One job as the store keeps it: enough to answer for it, and to run it again after a restart. */
export interface StoredJob {
  id: string;
  tenant: string;
  name: string;
  state: JobState;
  error: string;
  createdAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  warnings: string[];
  progress: JobProgress;
  /** SubmitJobRequest.request_id ("" when none) and the submission's digest (deduplication survives a restart). */
  requestId: string;
  digest: string;
  /** The JobSpec as submitted (protobuf bytes); empty once the job finished. */
  spec: Uint8Array;
  /** Encoded bytes of the result (0 until it succeeded). */
  outputBytes: number;
}

/**
 * Where the scheduler keeps its jobs. The memory store forgets everything with the process; a durable
 * store (SQLite) keeps accepted jobs, their states, results and request_ids across a crash: a job that
 * was queued or running when the process died is run again from its spec after the restart (the
 * simulation is deterministic, so its result is the one the interrupted run would have given).
 */
export interface JobStore {
  readonly durable: boolean;
  /** Every kept job, oldest first. */
  load(): StoredJob[];
  /** Inserts or replaces a job's record. */
  put(job: StoredJob): void;
  putOutput(id: string, bytes: Uint8Array): void;
  getOutput(id: string): Uint8Array | undefined;
  delete(id: string): void;
  /**
   * One atomic step of quota accounting: `check` sees what `tenant` was charged since `sinceMs` (it
   * throws to refuse), then `usage` is charged at `atMs`. Charges outlive their jobs (rolling window).
   */
  charge(tenant: string, usage: TenantUsage, atMs: number, sinceMs: number, check: (used: TenantUsage) => void): void;
  /** Forgets charges older than `beforeMs` (out of the window). */
  pruneUsage(beforeMs: number): void;
  close(): void;
}

export class MemoryJobStore implements JobStore {
  readonly durable = false;
  load(): StoredJob[] {
    return [];
  }
  put(): void {}
  putOutput(): void {}
  getOutput(): Uint8Array | undefined {
    return undefined;
  }
  delete(): void {}
  private readonly usage = new MemoryUsageLedger();
  charge(tenant: string, usage: TenantUsage, atMs: number, sinceMs: number, check: (used: TenantUsage) => void): void {
    check(this.usage.used(tenant, sinceMs));
    this.usage.add(tenant, atMs, usage);
  }
  pruneUsage(beforeMs: number): void {
    this.usage.prune(beforeMs);
  }
  close(): void {}
}

/** A run's output as bytes: each part a GetResultResponse, each preceded by its 4-byte length. */
export function encodeOutput(output: JobRunOutput): Uint8Array {
  const parts: Uint8Array[] = [GetResultResponse.encode({ result: output.result }).finish()];
  if (output.requests.length > 0) parts.push(GetResultResponse.encode({ requests: { records: output.requests.map(requestToWire) } }).finish());
  if (output.iterations.length > 0) parts.push(GetResultResponse.encode({ iterations: { records: output.iterations.map(iterationToWire) } }).finish());
  if (output.sweepRows) parts.push(GetResultResponse.encode({ sweepRows: { rows: output.sweepRows } }).finish());
  const total = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const p of parts) {
    view.setUint32(pos, p.length);
    out.set(p, pos + 4);
    pos += 4 + p.length;
  }
  return out;
}

export function decodeOutput(bytes: Uint8Array): JobRunOutput {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: JobRunOutput = { result: undefined as never, requests: [], iterations: [] };
  for (let pos = 0; pos < bytes.length; ) {
    const len = view.getUint32(pos);
    const part = GetResultResponse.decode(bytes.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
    if (part.result) out.result = part.result;
    if (part.requests) out.requests = part.requests.records.map(requestFromWire);
    if (part.iterations) out.iterations = part.iterations.records.map(iterationFromWire);
    if (part.sweepRows) out.sweepRows = part.sweepRows.rows;
  }
  return out;
}
