import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { SchedulerClient } from "@servesim/client";
import { CancelledError, describeSlo, InvalidArgumentError, parsePercentiles, parseSlos } from "@servesim/core";
import { renderSweepHtml } from "@servesim/html";
import {
  CONFIGMAP_LIMIT_BYTES,
  displayColumns,
  metricColumns,
  type PointResult,
  paretoPng,
  parseSweepFile,
  parseSweepJsonl,
  pointToWire,
  RESULTS_MOUNT,
  rowFromWire,
  runSweepLocal,
  SWEEP_FILE_MOUNT,
  type SweepPlan,
  type SweepRow,
  sweepCsv,
  sweepHtmlInput,
  sweepJobYaml,
  sweepJsonLine,
  textTable,
} from "@servesim/sweep";
import { sloToWire } from "@servesim/wire";
import { JobSpec, JobState, type Workload } from "@servesim/wire/scheduler";
import cliProgress from "cli-progress";
import { Command } from "commander";
import { CliError, EXIT_FAILURE, EXIT_INTERRUPTED, runAction } from "../cliError.js";
import { connectionOptions } from "../connection.js";
import { inlineDataset } from "../datasetFile.js";
import { type CliIo, processIo } from "../io.js";
import { usageExitCodes } from "./exitCodes.js";
import { intArg } from "./options.js";

export interface SweepFlags {
  space: string;
  dataset?: string;
  outputDir?: string;
  workers?: number;
  reports?: boolean;
  html?: string;
  plot?: string;
  goodput?: string[];
  percentiles?: string;
  shard?: string;
  fresh?: boolean;
  top: number;
  quiet?: boolean;
  emitK8s?: string;
  schedulerAddress?: string;
  k8sShards?: number;
  k8sParallelism?: number;
  k8sCpus: number;
  k8sMemory: string;
  k8sImage: string;
  k8sClaim: string;
  k8sExistingClaim?: boolean;
  k8sNamespace?: string;
}

/** A progress bar with the points done, the failures and an ETA; only on a terminal. */
export class SweepProgress {
  private bar: cliProgress.SingleBar | undefined;
  private failed = 0;
  constructor(io: CliIo, quiet: boolean, total: number) {
    if (quiet || io.stderr.isTTY !== true || total === 0) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: io.stderr as NodeJS.WritableStream,
        format: "sweeping |{bar}| {value}/{total} points | {failed} failed | {duration_formatted} elapsed | ETA {eta_formatted}",
        hideCursor: true,
        clearOnComplete: true,
        fps: 4,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { failed: 0 });
  }
  /** Points finished so far (a sweep job's progress). */
  at(done: number): void {
    this.bar?.update(done, { failed: this.failed });
  }
  update(done: number, row: SweepRow): void {
    if (row.status === "failed") this.failed++;
    this.bar?.update(done, { failed: this.failed });
  }
  stop(): void {
    this.bar?.stop();
  }
}

/** "2/8" → shard 2 of 8 (0-based), or a Kubernetes indexed-Job pod's own index with "$JOB_COMPLETION_INDEX/8". */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new CliError(`--shard ${text}: expected I/N with 0 <= I < N (e.g. 0/4)`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** Reads the sweep file and applies the command line's overrides. */
export function loadPlan(f: Pick<SweepFlags, "space" | "dataset" | "goodput" | "percentiles">): SweepPlan {
  let text: string;
  try {
    text = readFileSync(f.space, "utf8");
  } catch (e) {
    throw new CliError(`--space ${f.space}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const dir = dirname(resolve(f.space));
  let workload: Workload | undefined;
  if (f.dataset) {
    workload = { dataset: inlineDataset(f.dataset) };
  }
  const plan = parseSweepFile(text, { file: f.space, readText: (p) => readFileSync(resolve(dir, p), "utf8"), ...(workload ? { workload } : {}) });
  if (f.goodput !== undefined || f.percentiles !== undefined) {
    if (f.goodput !== undefined) plan.slos = parseSlos(f.goodput, "--goodput");
    if (f.percentiles !== undefined) plan.percentiles = parsePercentiles(f.percentiles, "--percentiles");
    plan.base.report = { percentiles: plan.percentiles, goodput: plan.slos.map(sloToWire) };
  }
  return plan;
}

/** Finished rows found in an output directory (every points-*.jsonl and results.jsonl). */
export function finishedRows(dir: string): Map<string, SweepRow> {
  const out = new Map<string, SweepRow>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) {
    if (!(f === "results.jsonl" || (f.startsWith("points-") && f.endsWith(".jsonl")))) continue;
    for (const r of parseSweepJsonl(readFileSync(join(dir, f), "utf8"))) out.set(r.id, r);
  }
  return out;
}

const defaultOutputDir = (space: string): string => `${basename(space, extname(space))}-results`;

/** Writes results.csv / results.jsonl (point order), and the HTML and PNG when asked. */
export async function writeSweepOutputs(
  plan: SweepPlan,
  rows: SweepRow[],
  dir: string,
  f: Pick<SweepFlags, "html" | "plot">,
  io: CliIo,
  kind: "sweep" | "search",
  winnerId?: string,
): Promise<void> {
  const keys = metricColumns(plan.percentiles.length > 0 ? plan.percentiles : [50, 90, 95, 99], plan.slos.length > 0).map((c) => c.key);
  writeFileSync(join(dir, "results.csv"), sweepCsv(rows, keys));
  writeFileSync(join(dir, "results.jsonl"), rows.map((r) => `${sweepJsonLine(r)}\n`).join(""));
  if (f.html || f.plot) {
    const input = sweepHtmlInput(rows, {
      kind,
      title: plan.name ? `servesim ${kind}: ${plan.name}` : `servesim ${kind}`,
      subtitle: `${rows.length} configurations${plan.slos.length > 0 ? `; objectives: ${plan.slos.map(describeSlo).join(", ")}` : ""}`,
      varied: plan.varied,
      percentiles: plan.percentiles.length > 0 ? plan.percentiles : [50, 90, 95, 99],
      slos: plan.slos,
      ...(winnerId ? { winnerId } : {}),
    });
    if (f.html) writeFileSync(f.html, renderSweepHtml(input));
    if (f.plot) {
      const { png, warnings } = await paretoPng(input);
      for (const w of warnings) io.stderr.write(`warning: ${w}\n`);
      writeFileSync(f.plot, png);
    }
  }
}

/** Ranks rows: goodput per GPU when the sweep has objectives (meeting the run-level ones first), else output tokens/s per GPU. */
export function rankRows(rows: readonly SweepRow[], withGoodput: boolean): SweepRow[] {
  const score = (r: SweepRow): number => Number(r.metrics[withGoodput ? "request_goodput_per_gpu" : "output_tok_s_per_gpu"] ?? -1);
  return rows
    .filter((r) => r.status === "ok")
    .sort(
      (a, b) => (withGoodput ? Number(b.metrics["slo_met"] === true) - Number(a.metrics["slo_met"] === true) : 0) || score(b) - score(a) || a.index - b.index,
    );
}

/**
 * --scheduler-address: the points as one sweep job (the workload travels once, in the spec), watched
 * like a job (the bar follows points_finished), its rows read with GetResult.
 */
async function sweepOnScheduler(
  plan: SweepPlan,
  points: SweepPlan["points"],
  address: string,
  signal: AbortSignal,
  record: (r: PointResult, done: number) => void,
  log: (s: string) => void,
  onPoints: (done: number) => void,
): Promise<void> {
  if (points.length === 0) return;
  const client = new SchedulerClient({ address, ...connectionOptions() });
  try {
    const spec = JobSpec.fromPartial({ ...plan.base, sweep: { points: points.map(pointToWire) } });
    const job = await client.submitJob(spec, { signal });
    log(`submitted sweep job ${job.id} (${points.length} points) to ${address}`);
    let last = 0;
    let final = job;
    try {
      for await (const event of client.watchJob(job.id, { signal, minIntervalMs: 500 })) {
        if (!event.job) continue;
        final = event.job;
        last = event.job.progress?.pointsFinished ?? last;
        onPoints(last);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
      await client.cancelJob(job.id).catch(() => undefined);
      throw new CancelledError(`sweep job ${job.id} cancelled`);
    }
    if (final.state !== JobState.JOB_STATE_SUCCEEDED)
      throw new CliError(`sweep job ${job.id} ${JobState[final.state]}${final.error ? `: ${final.error}` : ""}`, EXIT_FAILURE);
    const out = await client.getResult(job.id, { signal });
    const keys = metricColumns(plan.percentiles.length > 0 ? plan.percentiles : [50, 90, 95, 99], plan.slos.length > 0).map((c) => c.key);
    // Rows come back with the indices of the submitted points; give them the sweep's.
    const byId = new Map(points.map((p) => [p.id, p]));
    out.sweepRows.forEach((w, i) => {
      const row = rowFromWire(w, keys);
      const p = byId.get(row.id);
      if (p) record({ row: { ...row, index: p.index, label: p.label, settings: p.settings } }, Math.max(last, i + 1));
    });
  } finally {
    client.close();
  }
}

/** A DNS-1123 name from a sweep's name or file. */
const k8sName = (s: string): string =>
  `servesim-sweep-${s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")}`
    .slice(0, 52)
    .replace(/-+$/, "");

/** --emit-k8s: writes the indexed Job (with its ConfigMap and results claim) instead of running. */
export function emitK8s(f: SweepFlags, plan: SweepPlan, io: CliIo): void {
  const name = k8sName(plan.name || basename(f.space, extname(f.space)));
  const files: Record<string, string> = { "sweep.yaml": readFileSync(f.space, "utf8") };
  const extraArgs: string[] = [];
  const resultsDir = basename(name);
  const ds = plan.base.workload?.dataset;
  const notes: string[] = [];
  if (ds) {
    const key = basename(ds.name) || "dataset.jsonl";
    if (Buffer.byteLength(ds.jsonl) + Buffer.byteLength(files["sweep.yaml"]!) <= CONFIGMAP_LIMIT_BYTES) {
      files[key] = ds.jsonl;
      extraArgs.push("--dataset", `${SWEEP_FILE_MOUNT}/${key}`);
    } else {
      extraArgs.push("--dataset", `${RESULTS_MOUNT}/${resultsDir}/data/${key}`);
      notes.push(`the dataset is too large for a ConfigMap: copy ${ds.name} to ${f.k8sClaim}:/${resultsDir}/data/${key} before starting the Job`);
    }
  }
  if (f.goodput !== undefined) extraArgs.push("--goodput", ...f.goodput);
  if (f.percentiles !== undefined) extraArgs.push("--percentiles", f.percentiles);
  const shards = f.k8sShards ?? Math.max(1, Math.min(plan.points.length, 8));
  const yaml = sweepJobYaml({
    name,
    files,
    shards,
    parallelism: f.k8sParallelism ?? shards,
    cpus: f.k8sCpus,
    memory: f.k8sMemory,
    image: f.k8sImage,
    resultsClaim: f.k8sClaim,
    createClaim: !f.k8sExistingClaim,
    claimSize: "1Gi",
    resultsDir,
    extraArgs,
    ...(f.k8sNamespace ? { namespace: f.k8sNamespace } : {}),
  });
  writeFileSync(f.emitK8s!, yaml);
  io.stdout.write(`wrote ${f.emitK8s}: Job ${name}, ${plan.points.length} points in ${shards} shard${shards === 1 ? "" : "s"}, results in ${f.k8sClaim}:/${resultsDir}
`);
  for (const n of notes)
    io.stdout.write(`note: ${n}
`);
}

export async function runSweep(f: SweepFlags, io: CliIo, signal?: AbortSignal): Promise<SweepRow[]> {
  const plan = loadPlan(f);
  if (f.emitK8s) {
    emitK8s(f, plan, io);
    return [];
  }
  const dir = f.outputDir ?? defaultOutputDir(f.space);
  mkdirSync(dir, { recursive: true });
  const shard = f.shard ? parseShard(f.shard) : undefined;
  const mine = shard ? plan.points.filter((p) => p.index % shard.count === shard.index) : plan.points;
  const finished = f.fresh ? new Map<string, SweepRow>() : finishedRows(dir);
  const skip = new Set(mine.filter((p) => finished.has(p.id)).map((p) => p.id));
  const log = (s: string): void => {
    if (!f.quiet) io.stderr.write(`${s}\n`);
  };
  const workers = f.workers ?? availableParallelism();
  log(
    `sweep: ${plan.points.length} points${shard ? `, shard ${shard.index}/${shard.count}: ${mine.length}` : ""}${skip.size > 0 ? `, ${skip.size} already finished in ${dir}` : ""}; ${workers} worker thread${workers === 1 ? "" : "s"}`,
  );
  const partial = join(dir, `points-${shard ? `${shard.index}-of-${shard.count}` : "local"}.jsonl`);
  const reportsDir = join(dir, "reports");
  if (f.reports) mkdirSync(reportsDir, { recursive: true });
  const progress = new SweepProgress(io, f.quiet ?? false, mine.length - skip.size);
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    controller.abort();
  };
  if (!signal) process.on("SIGINT", onSigint);
  signal?.addEventListener("abort", () => controller.abort(), { once: true });
  const record = (r: PointResult, done: number): void => {
    appendFileSync(partial, `${sweepJsonLine(r.row)}\n`);
    finished.set(r.row.id, r.row);
    if (r.reports) {
      const stem = join(reportsDir, `${String(r.row.index).padStart(5, "0")}-${r.row.id}`);
      writeFileSync(`${stem}.report.json`, r.reports.reportJsonText);
      writeFileSync(`${stem}.report.txt`, r.reports.reportText);
    }
    progress.update(done, r.row);
  };
  try {
    if (f.schedulerAddress) {
      if (f.reports) throw new CliError("--reports needs a local run: a sweep job returns one row per point");
      await sweepOnScheduler(
        plan,
        mine.filter((p) => !skip.has(p.id)),
        f.schedulerAddress,
        controller.signal,
        record,
        log,
        (done) => progress.at(done),
      );
    } else {
      await runSweepLocal({ ...plan, points: mine }, { workers, skip, reports: f.reports ?? false, signal: controller.signal, onResult: record });
    }
  } finally {
    progress.stop();
    if (!signal) process.off("SIGINT", onSigint);
  }
  const rows = plan.points.flatMap((p) => (finished.has(p.id) ? [finished.get(p.id)!] : []));
  await writeSweepOutputs(plan, rows, dir, f, io, "sweep");
  const withGoodput = plan.slos.length > 0;
  const failed = rows.filter((r) => r.status === "failed");
  io.stdout.write(
    `${rows.length} of ${plan.points.length} points done (${failed.length} failed); results in ${join(dir, "results.csv")} and ${join(dir, "results.jsonl")}\n`,
  );
  const best = rankRows(rows, withGoodput).slice(0, f.top);
  if (best.length > 0) {
    const percentiles = plan.percentiles.length > 0 ? plan.percentiles : [50, 90, 95, 99];
    io.stdout.write(`\nbest ${best.length} by ${withGoodput ? "goodput per GPU (objectives met first)" : "output tokens/s per GPU"}:\n`);
    io.stdout.write(`${textTable(best, displayColumns(plan.varied, percentiles, withGoodput))}\n`);
  }
  const reasons = new Map<string, number>();
  for (const r of failed) reasons.set(r.error ?? "", (reasons.get(r.error ?? "") ?? 0) + 1);
  for (const [reason, n] of reasons) io.stdout.write(`failed: ${n} × ${reason}\n`);
  return rows;
}

export function sweepCommand(io: CliIo = processIo()): Command {
  const cmd = new Command("sweep")
    .description("simulate every configuration of a sweep file (grid or list) and write one CSV/JSONL row per point")
    .requiredOption("--space <file>", "sweep file (YAML): workload, fixed settings, grid and/or points")
    .option("--dataset <file>", "use this trtllm-bench dataset instead of the file's workload")
    .option("-o, --output-dir <dir>", "results directory (default: <sweep file name>-results)")
    .option("--workers <n>", "worker threads (default: one per core)", intArg(1, 256))
    .option("--reports", "also write each point's report.json and text report under <output-dir>/reports/")
    .option("--html <file>", "write the self-contained HTML report: Pareto chart, goodput per point, sortable table")
    .option("--plot <file>", "write the Pareto chart (tokens/s/GPU vs tokens/s/user) as PNG")
    .option("--goodput <slo...>", "objectives (vLLM KEY:VALUE in ms), replacing the file's")
    .option("--percentiles <list>", "latency percentiles, replacing the file's")
    .option("--shard <i/n>", "run only the points with index % n == i (one pod of an indexed Kubernetes Job)")
    .option("--fresh", "ignore results already in the output directory (default: finished points are skipped)")
    .option("--top <n>", "points listed in the summary", intArg(0), 10)
    .option("-q, --quiet", "no progress bar or log lines")
    .option("--scheduler-address <host:port>", "run the sweep as one job on a scheduler service (points priced by its predictor service)")
    .option("--emit-k8s <file>", "write a Kubernetes indexed Job running the sweep in shards (results on a shared volume) instead of running it")
    .option("--k8s-shards <n>", "pods of the Job (default: min(points, 8))", intArg(1, 10_000))
    .option("--k8s-parallelism <n>", "pods at once (default: all)", intArg(1, 10_000))
    .option("--k8s-cpus <n>", "CPUs (and worker threads) per pod", intArg(1, 256), 2)
    .option("--k8s-memory <q>", "memory per pod", "2Gi")
    .option("--k8s-image <ref>", "servesim image", "servesim:0.1.0")
    .option("--k8s-claim <name>", "ReadWriteMany PersistentVolumeClaim for the results", "servesim-sweep-results")
    .option("--k8s-existing-claim", "the claim exists already: do not emit it")
    .option("--k8s-namespace <ns>", "namespace of the objects (default: kubectl's)");
  cmd.action(async (flags: SweepFlags) =>
    runAction(io, async () => {
      try {
        await runSweep(flags, io);
      } catch (e) {
        if (e instanceof InvalidArgumentError && e.field.startsWith("goodput")) throw new CliError(e.message);
        throw e;
      }
    }),
  );
  return usageExitCodes(cmd);
}
