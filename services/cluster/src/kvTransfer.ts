import type { GpuSpec } from "@servesim/perf";

/** Where a worker's GPUs sit: consecutive GPU indices [first, first + count) of the cluster. */
export interface Placement {
  firstGpu: number;
  gpus: number;
}

/** The link class a KV transfer takes, from the GPUs' positions in the system. */
export type LinkKind = "nvlink_node" | "nvlink_domain" | "rdma";

export interface KvLink {
  kind: LinkKind;
  /** Bytes per second per GPU, one direction. */
  bandwidth: number;
  /** Fixed cost of one transfer, milliseconds. */
  latencyMs: number;
}

/** User overrides of the system's link figures (proto KvTransferConfig). */
export interface LinkOverrides {
  /** Replaces every link's per-GPU bandwidth (B/s). */
  bandwidth?: number;
  /** Replaces the fixed latency (ms). */
  latencyMs?: number;
}

/** The network figures of a system YAML that KV transfers use. */
export type SystemLinks = Pick<GpuSpec, "intraNodeBw" | "interNodeBw" | "interRackBw" | "numGpusPerNode" | "nvlinkDomain" | "p2pLatency">;

/**
 * Lays workers out on consecutive GPUs: the prefill workers first, then the decode workers, each worker's
 * GPUs contiguous (as a deployment packs them onto nodes).
 */
export function placeWorkers(gpusPerWorker: readonly number[]): Placement[] {
  let next = 0;
  return gpusPerWorker.map((g) => {
    const p = { firstGpu: next, gpus: g };
    next += g;
    return p;
  });
}

const groupOf = (p: Placement, size: number): number =>
  Math.floor(p.firstGpu / size) === Math.floor((p.firstGpu + p.gpus - 1) / size) ? Math.floor(p.firstGpu / size) : -1;

/**
 * The link between two workers: NVLink inside one node (intra_node_bw); NVLink across nodes of one NVLink
 * domain, e.g. a GB200 NVL72 rack (inter_node_bw, which is NVLink there); otherwise the RDMA NIC
 * (inter_rack_bw, else inter_node_bw). The fixed latency is the system's p2p_latency.
 */
export function linkBetween(sys: SystemLinks, a: Placement, b: Placement, o: LinkOverrides = {}): KvLink {
  const node = Math.max(1, sys.numGpusPerNode);
  const domain = Math.max(node, sys.nvlinkDomain);
  let kind: LinkKind;
  let bandwidth: number;
  const na = groupOf(a, node);
  const da = groupOf(a, domain);
  if (na >= 0 && na === groupOf(b, node)) {
    kind = "nvlink_node";
    bandwidth = sys.intraNodeBw;
  } else if (da >= 0 && da === groupOf(b, domain) && domain > node) {
    kind = "nvlink_domain";
    bandwidth = sys.interNodeBw;
  } else {
    kind = "rdma";
    bandwidth = sys.interRackBw > 0 ? sys.interRackBw : sys.interNodeBw;
  }
  return { kind, bandwidth: o.bandwidth ?? bandwidth, latencyMs: o.latencyMs ?? sys.p2pLatency * 1000 };
}

/**
 * Time to move a request's KV cache from a prefill worker to a decode worker: every receiving rank pulls
 * its share over its own link in parallel (TensorRT-LLM's cache transceiver,
 * `tensorrt_llm/_torch/pyexecutor/kv_cache_transceiver.py`), so the time is the bytes one decode rank
 * holds for the request over one GPU's bandwidth, plus the fixed latency.
 */
export function kvTransferMs(tokens: number, bytesPerTokenPerRank: number, link: KvLink): number {
  return link.latencyMs + (link.bandwidth > 0 ? (1000 * tokens * bytesPerTokenPerRank) / link.bandwidth : 0);
}
