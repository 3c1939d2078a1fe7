import { type Client, credentials, makeClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { resolveAddress } from "@servesim/wire";
import { Command } from "commander";
import { service as healthService } from "grpc-health-check";
import { CliError, EXIT_FAILURE, runAction } from "../cliError.js";
import { connectionOptions } from "../connection.js";
import { type CliIo, processIo } from "../io.js";
import { usageExitCodes } from "./exitCodes.js";
import { parseDuration } from "./options.js";

type HealthClient = Client & {
  check(req: { service: string }, opts: { deadline: number }, cb: (err: ServiceError | null, res?: { status: string | number }) => void): void;
};

const HealthCtor = makeClientConstructor(healthService as never, "grpc.health.v1.Health") as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => HealthClient;

const STATUS_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

/** One grpc.health.v1 Check: the status name, or the gRPC error text when the call failed. */
function checkOnce(client: HealthClient, service: string, timeoutMs: number): Promise<{ status?: string; error?: string }> {
  return new Promise((resolve) => {
    client.check({ service }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) resolve({ error: (err.details || err.message).replace(/\s*Resolution note:\s*$/, "") });
      else resolve({ status: typeof res?.status === "number" ? (STATUS_NAMES[res.status] ?? String(res.status)) : String(res?.status) });
    });
  });
}

export interface HealthOptions {
  address: string;
  service?: string;
  /** Keep checking until SERVING for this long (ms); 0 = one check. */
  waitMs?: number;
  /** Deadline of one check (ms). */
  timeoutMs?: number;
}

/** Checks a service until it is SERVING or the wait is over. Resolves with the last status. */
export async function waitForServing(opts: HealthOptions): Promise<{ serving: boolean; last: string }> {
  const { targets } = resolveAddress(opts.address);
  const { tls } = connectionOptions();
  const client = new HealthCtor(targets[0]!, tls ? credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null) : credentials.createInsecure());
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const timeout = opts.timeoutMs ?? 2000;
  try {
    for (;;) {
      const r = await checkOnce(client, opts.service ?? "", timeout);
      const last = r.status ?? r.error ?? "no answer";
      if (r.status === "SERVING") return { serving: true, last };
      const left = deadline - Date.now();
      if (left <= 0) return { serving: false, last };
      await new Promise((res) => setTimeout(res, Math.min(250, left)));
    }
  } finally {
    client.close();
  }
}

/** `servesim health`: grpc.health.v1 check (make run, container health checks). */
export function healthCommand(io: CliIo = processIo()): Command {
  const cmd = new Command("health")
    .description("check a servesim service's grpc.health.v1 status; exits 0 when SERVING")
    .requiredOption("--address <host:port>", "service address")
    .option("--service <name>", 'service name, e.g. servesim.v1.SchedulerService (default "": the whole server)', "")
    .option("--wait <duration>", "keep checking until SERVING for up to this long (e.g. 30s, 500ms, 2m)", parseDuration)
    .option("--timeout <duration>", "deadline of one check (default 2s)", parseDuration)
    .option("-q, --quiet", "print nothing")
    .action(async (flags: { address: string; service: string; wait?: number; timeout?: number; quiet?: boolean }) =>
      runAction(io, async () => {
        let result: { serving: boolean; last: string };
        try {
          result = await waitForServing({ address: flags.address, service: flags.service, waitMs: flags.wait ?? 0, timeoutMs: flags.timeout ?? 2000 });
        } catch (e) {
          throw new CliError(`--address ${flags.address}: ${(e as Error).message}`);
        }
        if (!flags.quiet) io.stdout.write(`${result.last}\n`);
        if (!result.serving) {
          throw new CliError(`${flags.address}${flags.service ? ` (${flags.service})` : ""} is not serving: ${result.last}`, EXIT_FAILURE);
        }
      }),
    );
  return usageExitCodes(cmd);
}
