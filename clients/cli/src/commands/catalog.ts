import { PredictorClient } from "@servesim/client";
import { dtypeName, listCatalog } from "@servesim/perf";
import type { ListCatalogResponse } from "@servesim/wire/predictor";
import { Command } from "commander";
import { CliError, runAction } from "../cliError.js";
import { connectionOptions } from "../connection.js";
import { type CliIo, processIo } from "../io.js";
import { usageExitCodes } from "./exitCodes.js";

export interface CatalogFlags {
  databasePath?: string;
  predictorAddress?: string;
  json?: boolean;
}

/** A text table: columns padded to their widest cell. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const billions = (n: number): string => `${(n / 1e9).toFixed(n >= 1e10 ? 1 : 2)}B`;

/** The catalog as text: predictors, models, GPUs and (with a systems directory) AIC table versions. */
export function renderCatalog(c: ListCatalogResponse): string {
  const out: string[] = [];
  out.push("Predictors");
  out.push(
    table(
      ["name", "aliases", "needs", "what it prices with"],
      c.predictorInfo.map((p) => [p.name, p.aliases.join(", ") || "-", p.requires, p.summary]),
    ),
  );
  out.push("", "Models");
  out.push(
    table(
      ["name", "architecture", "params", "layers", "experts", "weights", "kv cache", "aliases"],
      c.models.map((m) => [
        m.name,
        m.architecture?.architecture ?? "",
        billions(m.paramCount),
        String(m.architecture?.numHiddenLayers ?? ""),
        m.architecture?.numLocalExperts ? `${m.architecture.numExpertsPerTok}/${m.architecture.numLocalExperts}` : "-",
        dtypeName(m.defaultWeightDtype),
        dtypeName(m.defaultKvCacheDtype),
        m.aliases.filter((a) => a.includes("/")).join(", ") || m.aliases.join(", "),
      ]),
    ),
  );
  out.push("", "GPUs");
  out.push(
    table(
      ["name", "memory", "mem BW", "bf16/fp8/fp4 TFLOPS", "NVLink GB/s", "NVLink domain", "SM"],
      c.gpus.map((g) => {
        const h = g.hardware!;
        const tf = (x: number): string => (x > 0 ? String(Math.round(x / 1e12)) : "-");
        return [
          g.name,
          `${(h.memCapacity / 2 ** 30).toFixed(0)} GiB`,
          `${(h.memBw / 1e12).toFixed(2)} TB/s`,
          `${tf(h.bfloat16TcFlops)}/${tf(h.fp8TcFlops)}/${tf(h.fp4TcFlops)}`,
          String(h.intraNodeBw / 1e9),
          String(h.numGpusPerRack ?? h.numGpusPerNode),
          h.smVersion ? String(h.smVersion) : "-",
        ];
      }),
    ),
  );
  if (c.tableSets.length > 0) {
    out.push("", "AIC table sets (trtllm)");
    out.push(
      table(
        ["system", "version", "op families"],
        c.tableSets.map((t) => [t.system, `${t.version}${t.newest ? " (newest, default)" : ""}`, t.opFamilies.join(", ")]),
      ),
    );
  }
  return `${out.join("\n")}\n`;
}

/** The catalog of this build (or of a predictor service). */
export async function catalogOf(flags: CatalogFlags): Promise<ListCatalogResponse> {
  if (flags.predictorAddress) {
    const client = new PredictorClient({ address: flags.predictorAddress, ...connectionOptions() });
    try {
      return await client.listCatalog(flags.databasePath ? { databasePath: flags.databasePath } : {});
    } finally {
      client.close();
    }
  }
  return listCatalog(undefined, flags.databasePath ? { databasePath: flags.databasePath } : {});
}

/** `servesim catalog`: the built-in models and GPUs, the predictor kinds and the AIC table versions of a systems directory. */
export function catalogCommand(io: CliIo = processIo()): Command {
  const cmd = new Command("catalog")
    .description("list the predictors, built-in models and GPUs, and the AIConfigurator table versions of a systems directory")
    .option("--database-path <dir>", "AIConfigurator systems directory: also list its systems' table versions")
    .option("--predictor-address <addr>", "ask a predictor service (ListCatalog) instead of this build")
    .option("--json", "print ListCatalogResponse as proto JSON")
    .action(async (flags: CatalogFlags) =>
      runAction(io, async () => {
        let c: ListCatalogResponse;
        try {
          c = await catalogOf(flags);
        } catch (e) {
          const where = flags.predictorAddress ? `--predictor-address ${flags.predictorAddress}` : `--database-path ${flags.databasePath}`;
          throw new CliError(`${where}: ${(e as Error).message}`);
        }
        if (flags.json) {
          const { ListCatalogResponse } = await import("@servesim/wire/predictor");
          io.stdout.write(`${JSON.stringify(ListCatalogResponse.toJSON(c), null, 2)}\n`);
        } else io.stdout.write(renderCatalog(c));
      }),
    );
  return usageExitCodes(cmd);
}
