import { status } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  StatusError,
  UnauthenticatedError,
  UnavailableError,
} from "@servesim/core";
import { describe, expect, it } from "vitest";
import { GRPC_STATUS, toGrpcStatus, toServiceError } from "../src/grpcErrors.js";
import { createLogger } from "../src/logger.js";

describe("error mapping", () => {
  it.each([
    [new InvalidArgumentError("batch.entries[2].phase", "is unspecified"), status.INVALID_ARGUMENT, "batch.entries[2].phase: is unspecified"],
    [new NotFoundError("job j-1 not found"), status.NOT_FOUND, "job j-1 not found"],
    [new FailedPreconditionError("predictor returned NaN"), status.FAILED_PRECONDITION, "predictor returned NaN"],
    [new ResourceExhaustedError("too many jobs"), status.RESOURCE_EXHAUSTED, "too many jobs"],
    [new CancelledError("job cancelled"), status.CANCELLED, "job cancelled"],
    [new DeadlineExceededError("Predict deadline exceeded"), status.DEADLINE_EXCEEDED, "Predict deadline exceeded"],
    [new AlreadyExistsError("job j-1 exists"), status.ALREADY_EXISTS, "job j-1 exists"],
    [new UnavailableError("shutting down"), status.UNAVAILABLE, "shutting down"],
    [new UnauthenticatedError("no token"), status.UNAUTHENTICATED, "no token"],
    [new PermissionDeniedError("not yours"), status.PERMISSION_DENIED, "not yours"],
  ])("maps %s", (err, code, details) => {
    expect(toGrpcStatus(err)).toEqual({ code, details });
  });

  it("maps anything else to INTERNAL without its message and logs it with the stack", () => {
    const lines: Array<Record<string, any>> = [];
    const logger = createLogger({ name: "t", level: "info", destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
    const err = new TypeError("cannot read x of undefined at /srv/secret.ts");
    const e = toServiceError(err, logger, { jobId: "j-9" });
    expect(e.code).toBe(status.INTERNAL);
    expect(e.details).toBe("internal error");
    expect(e.message).toBe("internal error");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", msg: "internal error", jobId: "j-9", err: { type: "TypeError", message: err.message } });
    expect(lines[0]!.err.stack).toContain("grpcErrors.test.ts");
    expect(toGrpcStatus("a thrown string")).toEqual({ code: status.INTERNAL, details: "internal error" });
  });

  it("has one entry per status code name, each a distinct gRPC code", () => {
    const codes = Object.values(GRPC_STATUS);
    expect(new Set(codes).size).toBe(codes.length);
    expect(Object.keys(GRPC_STATUS)).toHaveLength(10);
  });

  it("bounds what an error echoes: a 1 MB field value comes back cut to about 1 KiB", () => {
    const huge = "x".repeat(1_000_000);
    const s = toGrpcStatus(new InvalidArgumentError("config.model.name", `unknown model ${huge}`));
    expect(s.code).toBe(status.INVALID_ARGUMENT);
    expect(s.details.length).toBeLessThan(1100);
    expect(s.details.startsWith("config.model.name: unknown model xxx")).toBe(true);
    const n = toGrpcStatus(new NotFoundError(huge));
    expect(n.details.length).toBeLessThan(1100);
    expect(new InvalidArgumentError(huge, "r").field.length).toBeLessThan(300);
    expect(new NotFoundError("a") instanceof StatusError).toBe(true);
  });
});
