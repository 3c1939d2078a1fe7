import { status } from "@grpc/grpc-js";
import { CancelledError, DeadlineExceededError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { ServerError, toGrpcStatus, toServiceError } from "../src/grpcErrors.js";
import { createLogger } from "../src/logger.js";

describe("error mapping", () => {
  it.each([
    [new InvalidArgumentError("batch.entries[2].phase", "is unspecified"), status.INVALID_ARGUMENT, "batch.entries[2].phase: is unspecified"],
    [new NotFoundError("job j-1 not found"), status.NOT_FOUND, "job j-1 not found"],
    [new FailedPreconditionError("predictor returned NaN"), status.FAILED_PRECONDITION, "predictor returned NaN"],
    [new ResourceExhaustedError("too many jobs"), status.RESOURCE_EXHAUSTED, "too many jobs"],
    [new CancelledError("job cancelled"), status.CANCELLED, "job cancelled"],
    [new DeadlineExceededError("Predict deadline exceeded"), status.DEADLINE_EXCEEDED, "Predict deadline exceeded"],
    [new ServerError(status.ALREADY_EXISTS, "job j-1 exists"), status.ALREADY_EXISTS, "job j-1 exists"],
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
});
