import { describe, expect, it } from "vitest";
import { kvTransferMs, linkBetween, placeWorkers, type SystemLinks } from "../src/index.js";

// AIConfigurator's gb200.yaml and h200_sxm.yaml node figures.
const GB200: SystemLinks = { intraNodeBw: 900e9, interNodeBw: 900e9, interRackBw: 100e9, numGpusPerNode: 4, nvlinkDomain: 72, p2pLatency: 1e-5 };
const H200: SystemLinks = { intraNodeBw: 450e9, interNodeBw: 50e9, interRackBw: 50e9, numGpusPerNode: 8, nvlinkDomain: 8, p2pLatency: 1e-5 };

describe("KV-transfer links", () => {
  it("places workers on consecutive GPUs", () => {
    expect(placeWorkers([4, 4, 8])).toEqual([
      { firstGpu: 0, gpus: 4 },
      { firstGpu: 4, gpus: 4 },
      { firstGpu: 8, gpus: 8 },
    ]);
  });

  it("NVLink inside a node, NVLink across an NVL72 rack, RDMA beyond", () => {
    const [a, b, c] = placeWorkers([2, 2, 8]);
    expect(linkBetween(GB200, a!, b!)).toEqual({ kind: "nvlink_node", bandwidth: 900e9, latencyMs: 0.01 });
    expect(linkBetween(GB200, a!, c!)).toEqual({ kind: "nvlink_domain", bandwidth: 900e9, latencyMs: 0.01 });
    expect(linkBetween(GB200, a!, { firstGpu: 72, gpus: 8 }).kind).toBe("rdma");
    expect(linkBetween(GB200, a!, { firstGpu: 72, gpus: 8 }).bandwidth).toBe(100e9);
    // H200: a TP8 prefill worker and a TP8 decode worker are on different nodes: the 400 Gb/s NIC.
    const [p, d] = placeWorkers([8, 8]);
    expect(linkBetween(H200, p!, d!)).toEqual({ kind: "rdma", bandwidth: 50e9, latencyMs: 0.01 });
    expect(linkBetween(H200, p!, d!, { bandwidth: 25e9, latencyMs: 0.5 })).toEqual({ kind: "rdma", bandwidth: 25e9, latencyMs: 0.5 });
  });

  it("time = latency + tokens × bytes per token per rank / bandwidth", () => {
    // DeepSeek-R1 MLA at fp8: 61 layers × 576 B = 35,136 B per token; 1024 tokens over 50 GB/s.
    expect(kvTransferMs(1024, 35136, { kind: "rdma", bandwidth: 50e9, latencyMs: 0.01 })).toBeCloseTo(0.01 + 0.71958528, 10);
    expect(kvTransferMs(1024, 35136, { kind: "rdma", bandwidth: 0, latencyMs: 0.01 })).toBe(0.01);
  });
});
