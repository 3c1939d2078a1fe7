import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "@servesim/core";
import {
  type DisaggRow,
  type DisaggValidationReport,
  FIT_CANDIDATES,
  formatAllRowsTable,
  formatDisaggValidation,
  formatValidationTable,
  type ReplayableRow,
  type ReplayTiming,
  type ValidationPredictor,
  type ValidationReport,
  validateAgainstSilicon,
  validateAllRows,
  validateDisaggregated,
} from "@servesim/runner";
import { formatRankingTable, rankingCheck } from "@servesim/sweep";
import { Command } from "commander";
import { CliError, runAction } from "../cliError.js";
import { type CliIo, processIo } from "../io.js";
import { writeText } from "../outputFiles.js";
import { ProgressDisplay } from "../progress.js";
import { usageExitCodes } from "./exitCodes.js";
import { intArg } from "./options.js";

/** Row fields a --filter may name, with how to read them. */
const FILTER_FIELDS: Record<string, (r: ReplayableRow) => string[]> = {
  id: (r) => [r.id],
  model: (r) => [r.model, r.modelPath],
  model_path: (r) => [r.modelPath],
  system: (r) => [r.system],
  tp: (r) => [String(r.tp)],
  precision: (r) => [r.weightDtype, r.precision],
  isl: (r) => [String(r.isl)],
  osl: (r) => [String(r.osl)],
  concurrency: (r) => [String(r.concurrency)],
  batch_size: (r) => [String(r.concurrency)],
  backend_version: (r) => [r.backendVersion],
};

/**
 * `key=value` filters (case-insensitive; `key=a,b` matches either value); all filters must match.
 * Keys: id, model (catalog name or model_path), model_path, system, tp, precision, isl, osl, concurrency
 * (= batch_size), backend_version.
 */
export function rowFilter(specs: readonly string[]): (r: ReplayableRow) => boolean {
  const tests = specs.map((spec) => {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new CliError(`--filter ${spec}: expected key=value`);
    const key = spec.slice(0, eq).trim().toLowerCase().replace(/-/g, "_");
    const read = FILTER_FIELDS[key];
    if (!read) throw new CliError(`--filter ${spec}: unknown key "${key}" (${Object.keys(FILTER_FIELDS).join(", ")})`);
    const wanted = new Set(
      spec
        .slice(eq + 1)
        .split(",")
        .map((v) => v.trim().toLowerCase()),
    );
    return (r: ReplayableRow) => read(r).some((v) => wanted.has(v.toLowerCase()));
  });
  return (r) => tests.every((t) => t(r));
}

function predictors(list: string): ValidationPredictor[] {
  const out = list.split(",").map((s) => s.trim().toLowerCase());
  for (const p of out) if (p !== "roofline" && p !== "aic") throw new CliError(`--predictor must be roofline, aic or roofline,aic (got "${list}")`);
  return [...new Set(out)] as ValidationPredictor[];
}

interface ValidateFlags {
  silicon: string;
  predictor: string;
  databasePath?: string;
  backendVersion?: string;
  filter: string[];
  json?: string;
  maxRequests?: number;
  disableOverlapScheduler?: boolean;
  disableCudaGraphs?: boolean;
  fit?: boolean;
  quiet?: boolean;
  ranking?: boolean;
  allRows?: boolean;
  disagg?: boolean;
  allRowsLoad?: string;
}

/** `servesim validate`: replays AIConfigurator's silicon measurements and reports the prediction errors. */
export function validateCommand(io: CliIo = processIo()): Command {
  const cmd = new Command("validate")
    .description("replay measured runs (AIConfigurator silicon_sample.csv) with a predictor and report TTFT/TPOT errors (MAPE)")
    .requiredOption("--silicon <file>", "silicon_sample.csv")
    .option("--predictor <kinds>", "roofline, aic, or roofline,aic", "roofline")
    .option("--database-path <dir>", "AIConfigurator systems directory (aic)")
    .option("--backend-version <v>", "AIConfigurator table version (aic; default 1.2.0rc5)")
    .option(
      "--filter <key=value>",
      "only rows matching (repeatable; key=a,b matches either): model, system, tp, precision, isl, osl, concurrency, id",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      "--max-requests <n>",
      "cap the measured requests per row (default: the row's benchmark method, 10 × concurrency; with --disagg max(10 × concurrency, 64) capped at 20000)",
      intArg(1),
    )
    .option("--disable-overlap-scheduler", "replay with the non-overlap loop (default: TensorRT-LLM's overlap scheduler)")
    .option("--disable-cuda-graphs", "replay without CUDA graphs (default: TensorRT-LLM's default sizes)")
    .option(
      "--fit",
      `fit host and device parameters (${FIT_CANDIDATES.length} candidates, each replayed on every row); with --disagg, the per-request overhead (frontend and hand-off, 0–500 ms) added to every TTFT: in-sample, 5-fold by row and leave-one-model-out MAPEs`,
    )
    .option("--json <file>", "write every replayed row and the summary as JSON")
    .option(
      "--ranking",
      "also check the search's choice: per setup with >= 10 rows, is the best predicted configuration under an objective the best measured one (within 5 %)?",
    )
    .option(
      "--all-rows",
      "replay every TensorRT-LLM aggregated row (dense and MoE models, attention DP, every system; or say per row why not) and print MAPE per model × system × precision",
    )
    .option(
      "--disagg",
      "replay the disaggregated TensorRT-LLM rows that carry worker fields as prefill/decode clusters (filters: model, system, precision, isl, osl, concurrency, id)",
    )
    .option(
      "--all-rows-load <load>",
      "with --all-rows: benchmark (each row's benchmark method: ISL/OSL in [0.8·L, L], warm-up, 10 × concurrency requests) or simple (one length, no warm-up, from t = 0)",
      "benchmark",
    )
    .option("-q, --quiet", "no progress bar")
    .action(async (flags: ValidateFlags) =>
      runAction(io, async () => {
        const kinds = predictors(flags.predictor);
        if (kinds.includes("aic") && !flags.databasePath) throw new CliError("--predictor aic needs --database-path (an AIConfigurator systems directory)");
        let csv: string;
        try {
          csv = readFileSync(flags.silicon, "utf8");
        } catch (e) {
          throw new CliError(`--silicon ${flags.silicon}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        if (flags.disagg) {
          await validateDisagg(io, flags, kinds, csv);
          return;
        }
        const timing: ReplayTiming = {
          ...(flags.disableOverlapScheduler ? { model: "non-overlap" as const } : {}),
          ...(flags.disableCudaGraphs ? { cudaGraphs: null } : {}),
        };
        const progress = new ProgressDisplay(io, flags.quiet ?? false, "validating", "{phase} |{bar}| {percentage}% | {value}/{total} rows");
        if (flags.allRows) {
          const load = flags.allRowsLoad ?? "benchmark";
          if (load !== "benchmark" && load !== "simple") throw new CliError(`--all-rows-load: "${load.slice(0, 40)}" is not benchmark or simple`);
          const filter = rowFilter(flags.filter);
          let all: Awaited<ReturnType<typeof validateAllRows>>;
          try {
            all = await validateAllRows(csv, {
              predictors: kinds,
              load,
              ...(flags.databasePath ? { systemsDir: flags.databasePath } : {}),
              ...(flags.maxRequests !== undefined ? { maxRequests: flags.maxRequests } : {}),
              // TensorRT-LLM's default loop unless --disable-overlap-scheduler.
              overlap: flags.disableOverlapScheduler !== true,
              filter: (r) => filter({ ...r, model: r.modelPath, weightDtype: "bf16", kvDtype: "bf16" }),
              onRow: (done, total) => progress.update({ requestsFinished: done, requestsTotal: total, iterations: 0, simTimeMs: 0 }),
            });
          } catch (e) {
            if (e instanceof InvalidArgumentError && e.field === "silicon csv") throw new CliError(`--silicon ${flags.silicon}: ${e.reason}`);
            throw e;
          } finally {
            progress.stop();
          }
          if (all.rows.length === 0)
            throw new CliError(`--silicon ${flags.silicon}: no TensorRT-LLM aggregated rows${flags.filter.length ? " match the filters" : ""}`);
          io.stdout.write(`${formatAllRowsTable(all)}\n`);
          if (flags.json) await writeText(flags.json, "--json", `${JSON.stringify(all, null, 2)}\n`);
          return;
        }
        let report: ValidationReport;
        try {
          report = await validateAgainstSilicon(csv, {
            predictors: kinds,
            ...(flags.databasePath ? { systemsDir: flags.databasePath } : {}),
            ...(flags.backendVersion ? { backendVersion: flags.backendVersion } : {}),
            replay: {
              ...(flags.maxRequests !== undefined ? { maxRequests: flags.maxRequests } : {}),
              timing,
            },
            ...(flags.fit ? { fit: { candidates: [...FIT_CANDIDATES] } } : {}),
            filter: rowFilter(flags.filter),
            onRow: (done, total) => progress.update({ requestsFinished: done, requestsTotal: total, iterations: 0, simTimeMs: 0 }),
          });
        } catch (e) {
          if (e instanceof InvalidArgumentError && e.field === "silicon csv") throw new CliError(`--silicon ${flags.silicon}: ${e.reason}`);
          throw e;
        } finally {
          progress.stop();
        }
        if (report.rows.length === 0) throw new CliError(`--silicon ${flags.silicon}: no replayable rows${flags.filter.length ? " match the filters" : ""}`);
        io.stdout.write(`${formatValidationTable(report)}\n`);
        const ranking = flags.ranking ? rankingCheck(report.rows) : undefined;
        if (ranking) io.stdout.write(`\nDoes the search pick right?\n\n${formatRankingTable(ranking)}\n`);
        if (flags.json) await writeText(flags.json, "--json", `${JSON.stringify(ranking ? { ...report, ranking } : report, null, 2)}\n`);
      }),
    );
  return usageExitCodes(cmd);
}

/** Row fields a --filter may name in --disagg mode. */
const DISAGG_FILTER_FIELDS: Record<string, (r: DisaggRow) => string[]> = {
  id: (r) => [r.id],
  model: (r) => [r.modelPath],
  model_path: (r) => [r.modelPath],
  system: (r) => [r.system],
  precision: (r) => [r.precision],
  isl: (r) => [String(r.isl)],
  osl: (r) => [String(r.osl)],
  concurrency: (r) => [String(r.concurrency)],
};

function disaggFilter(specs: readonly string[]): (r: DisaggRow) => boolean {
  const tests = specs.map((spec) => {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new CliError(`--filter ${spec}: expected key=value`);
    const key = spec.slice(0, eq).trim().toLowerCase().replace(/-/g, "_");
    const read = DISAGG_FILTER_FIELDS[key];
    if (!read) throw new CliError(`--filter ${spec}: unknown key "${key}" with --disagg (${Object.keys(DISAGG_FILTER_FIELDS).join(", ")})`);
    const wanted = new Set(
      spec
        .slice(eq + 1)
        .split(",")
        .map((v) => v.trim().toLowerCase()),
    );
    return (r: DisaggRow) => read(r).some((v) => wanted.has(v.toLowerCase()));
  });
  return (r) => tests.every((t) => t(r));
}

/** `servesim validate --disagg`: the disaggregated rows as prefill/decode cluster jobs. */
async function validateDisagg(io: CliIo, flags: ValidateFlags, kinds: ValidationPredictor[], csv: string): Promise<void> {
  const progress = new ProgressDisplay(io, flags.quiet ?? false, "validating", "{phase} |{bar}| {percentage}% | {value}/{total} rows");
  let report: DisaggValidationReport;
  try {
    report = await validateDisaggregated(csv, {
      predictors: kinds,
      ...(flags.databasePath ? { systemsDir: flags.databasePath } : {}),
      ...(flags.backendVersion ? { backendVersion: flags.backendVersion } : {}),
      replay: flags.maxRequests !== undefined ? { maxRequests: flags.maxRequests } : {},
      filter: disaggFilter(flags.filter),
      ...(flags.fit ? { fitOverheads: true } : {}),
      onRow: (done, total) => progress.update({ requestsFinished: done, requestsTotal: total, iterations: 0, simTimeMs: 0 }),
    });
  } catch (e) {
    if (e instanceof InvalidArgumentError && e.field === "silicon csv") throw new CliError(`--silicon ${flags.silicon}: ${e.reason}`);
    throw e;
  } finally {
    progress.stop();
  }
  io.stdout.write(`${formatDisaggValidation(report)}\n`);
  if (flags.json) await writeText(flags.json, "--json", `${JSON.stringify(report, null, 2)}\n`);
}
