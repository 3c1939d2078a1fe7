import { type PackedRequests, packRequests, unpackRequests } from "@servesim/workload";
import type { ResolvedWorkload } from "./workloadSpec.js";

/** A resolved workload as typed arrays plus its JSON-able rest: sent to worker threads, stored on disk. */
export interface PackedWorkload {
  requests: PackedRequests;
  info: Omit<ResolvedWorkload, "requests">;
}

export function packWorkload(w: ResolvedWorkload, shared = false): PackedWorkload {
  const { requests, ...info } = w;
  return { requests: packRequests(requests, shared), info };
}

export function unpackWorkload(p: PackedWorkload): ResolvedWorkload {
  return { ...p.info, requests: unpackRequests(p.requests) };
}
