import { SchedulerClient } from "@servesim/client";
import { type Job, JobState } from "@servesim/wire/scheduler";
import { Command, InvalidArgumentError as CommanderArgumentError } from "commander";
import { runAction } from "../cliError.js";
import { connectionOptions } from "../connection.js";
import { type CliIo, processIo } from "../io.js";
import { usageExitCodes } from "./exitCodes.js";
import { intArg } from "./options.js";

const STATE_NAMES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

/** "running,queued" → JobStates. */
function parseStates(value: string): JobState[] {
  return value.split(",").map((raw) => {
    const name = raw.trim().toLowerCase();
    if (!(STATE_NAMES as readonly string[]).includes(name)) throw new CommanderArgumentError(`expected a comma list of ${STATE_NAMES.join(", ")}`);
    return JobState[`JOB_STATE_${name.toUpperCase()}` as keyof typeof JobState] as JobState;
  });
}

const stateName = (s: JobState) => JobState[s]?.replace("JOB_STATE_", "").toLowerCase() ?? String(s);

function row(j: Job): string[] {
  const p = j.progress;
  return [j.id, stateName(j.state), `${p?.requestsFinished ?? 0}/${p?.requestsTotal ?? 0}`, new Date(j.createdAtMs).toISOString(), j.name];
}

/** `servesim jobs`: the caller's jobs on a scheduler service, every ListJobs page followed. */
export function jobsCommand(io: CliIo = processIo()): Command {
  const cmd = new Command("jobs")
    .description("list your jobs on a scheduler service, oldest first (every page of ListJobs)")
    .requiredOption("--scheduler-address <host:port>", "scheduler service address")
    .option("--state <states>", `only jobs in these states (comma list of ${STATE_NAMES.join(", ")})`, parseStates)
    .option("--page-size <n>", "jobs per ListJobs call (default: the server's maximum)", intArg(1, 1_000_000))
    .option("--json", "one JSON object per job (JSON lines) instead of a table")
    .action(async (flags: { schedulerAddress: string; state?: JobState[]; pageSize?: number; json?: boolean }) =>
      runAction(io, async () => {
        const client = new SchedulerClient({ address: flags.schedulerAddress, ...connectionOptions() });
        try {
          const jobs = await client.listJobs(flags.state, flags.pageSize !== undefined ? { pageSize: flags.pageSize } : {});
          if (flags.json) {
            for (const j of jobs) io.stdout.write(`${JSON.stringify({ ...j, state: stateName(j.state) })}\n`);
            return;
          }
          const rows = [["ID", "STATE", "REQUESTS", "CREATED", "NAME"], ...jobs.map(row)];
          const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
          for (const r of rows) io.stdout.write(`${r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join("  ")}\n`);
        } finally {
          client.close();
        }
      }),
    );
  return usageExitCodes(cmd);
}
