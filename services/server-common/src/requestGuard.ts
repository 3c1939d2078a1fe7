import type { FileRegistry } from "@bufbuild/protobuf";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { InvalidArgumentError } from "@servesim/core";
import { WireChecker } from "./wireCheck.js";

const REQUEST_ERROR = Symbol("requestError");

/** The InvalidArgumentError a request (or stream message) was decoded with, if any. */
export function requestErrorOf(message: unknown): InvalidArgumentError | undefined {
  return message !== null && typeof message === "object"
    ? ((message as Record<symbol, InvalidArgumentError | undefined>)[REQUEST_ERROR] ?? undefined)
    : undefined;
}

function marked(error: InvalidArgumentError, request: object = {}): object {
  Object.defineProperty(request, REQUEST_ERROR, { value: error, enumerable: false });
  return request;
}

export interface GuardOptions {
  /** The proto schema (the descriptor set reflection serves): names the field a bad request gets wrong. */
  registry?: FileRegistry;
  /** Methods (as in the definition, e.g. "submitJob") whose every request is checked against the schema: unknown fields, enum values, uint32 and int64 ranges. */
  strict?: readonly string[];
}

/**
 * A service definition whose request decoders never throw: bytes the generated decoder rejects (malformed,
 * an int64 beyond ±2^53) and, for strict methods, requests the schema check rejects, come out as a
 * request marked with an InvalidArgumentError naming the field. The pipeline answers a marked unary
 * request with INVALID_ARGUMENT; stream handlers check each message (requestErrorOf) and end the stream
 * with it. grpc-js would otherwise answer INTERNAL, or for a stream message, never answer at all.
 */
export function guardDefinition(definition: ServiceDefinition, serviceName: string, opts: GuardOptions = {}): ServiceDefinition {
  const service = opts.registry?.getService(serviceName);
  const strict = new Set(opts.strict ?? []);
  const out: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition)) {
    const name = method.path.slice(method.path.lastIndexOf("/") + 1);
    const input = service?.methods.find((m) => m.name === name)?.input;
    const checker = input ? new WireChecker(input) : undefined;
    const decode = method.requestDeserialize;
    const diagnose = (bytes: Buffer): InvalidArgumentError => {
      try {
        checker?.check(bytes);
      } catch (err) {
        if (err instanceof InvalidArgumentError) return err;
      }
      return new InvalidArgumentError("request", `is not a valid ${input?.typeName ?? name} protobuf message`);
    };
    out[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        let request: unknown;
        try {
          request = decode(bytes);
        } catch {
          return marked(diagnose(bytes));
        }
        if (checker && strict.has(key)) {
          try {
            checker.check(bytes);
          } catch (err) {
            if (!(err instanceof InvalidArgumentError)) throw err;
            return marked(err, request as object);
          }
        }
        return request;
      },
    };
  }
  return out as ServiceDefinition;
}
