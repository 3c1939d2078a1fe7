import { status as Status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { resolveAddress, ServesimError, toServesimError } from "../src/index.js";

describe("resolveAddress", () => {
  it("keeps one host:port and scheme targets as one channel", () => {
    expect(resolveAddress("predictor:50051")).toEqual({ targets: ["predictor:50051"] });
    expect(resolveAddress(" 10.0.0.1:50051 ")).toEqual({ targets: ["10.0.0.1:50051"] });
    expect(resolveAddress("dns:///predictor.ns.svc:50051")).toEqual({ targets: ["dns:///predictor.ns.svc:50051"] });
    expect(resolveAddress("ipv4:1.2.3.4:1,1.2.3.5:2")).toEqual({ targets: ["ipv4:1.2.3.4:1,1.2.3.5:2"] });
    expect(resolveAddress("[::1]:50051")).toEqual({ targets: ["[::1]:50051"] });
  });

  it("turns a list of IP literals into one ipv4:/ipv6: channel (round_robin inside it)", () => {
    expect(resolveAddress("127.0.0.1:1, 127.0.0.1:2,10.1.2.3:3")).toEqual({ targets: ["ipv4:127.0.0.1:1,127.0.0.1:2,10.1.2.3:3"] });
    expect(resolveAddress("[::1]:1,[fe80::2]:2")).toEqual({ targets: ["ipv6:[::1]:1,[fe80::2]:2"] });
  });

  it("a list naming hosts becomes one channel per address", () => {
    expect(resolveAddress("a:1,b.example:2,10.0.0.1:3")).toEqual({ targets: ["a:1", "b.example:2", "10.0.0.1:3"] });
  });

  it("rejects malformed addresses with INVALID_ARGUMENT on field address", () => {
    for (const [bad, reason] of [
      ["", /is empty/],
      ["host", /not host:port/],
      ["host:0", /not in \[1, 65535\]/],
      ["host:70000", /not in \[1, 65535\]/],
      ["a:1,,b:2", /empty entry/],
      ["[nothost]:5", /not an IPv6 address/],
    ] as const) {
      let err: unknown;
      try {
        resolveAddress(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ServesimError);
      expect((err as ServesimError).field).toBe("address");
      expect((err as ServesimError).codeName).toBe("INVALID_ARGUMENT");
      expect((err as ServesimError).details).toMatch(reason);
    }
  });
});

describe("ServesimError", () => {
  it("names the status and, for INVALID_ARGUMENT, the field before the first colon", () => {
    const e = toServesimError(
      Object.assign(new Error("x"), { code: Status.INVALID_ARGUMENT, details: "data.jsonl line 3: output_tokens must be >= 1 (got 0)", metadata: {} }),
    );
    expect(e).toMatchObject({
      code: 3,
      codeName: "INVALID_ARGUMENT",
      field: "data.jsonl line 3",
      details: "data.jsonl line 3: output_tokens must be >= 1 (got 0)",
    });
    expect(e.message).toBe("INVALID_ARGUMENT: data.jsonl line 3: output_tokens must be >= 1 (got 0)");
    const n = new ServesimError(Status.NOT_FOUND, "job x not found: gone");
    expect(n.field).toBeUndefined();
    expect(n.codeName).toBe("NOT_FOUND");
    expect(toServesimError(new Error("boom"))).toMatchObject({ code: Status.UNKNOWN, details: "boom" });
  });
});
