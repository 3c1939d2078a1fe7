import { renderRunHtml, runHeaderFromReportJson } from "@servesim/html";
import { computeMetrics } from "@servesim/report";
import { resolveReportOptions } from "@servesim/runner";
import type { JobSpec } from "@servesim/wire/scheduler";
import { writeText } from "./outputFiles.js";
import type { ThroughputResult } from "./throughputModes.js";

/**
 * --html: the run's self-contained HTML report, from what every mode hands back (report.json, the
 * request records and the iteration log); the metrics are recomputed from the records with the job's
 * report options, so they are the report's own.
 */
export async function writeRunHtml(path: string, flag: string, spec: JobSpec, result: ThroughputResult): Promise<void> {
  const report = JSON.parse(result.reportJsonText) as Record<string, unknown>;
  const header = runHeaderFromReportJson(report);
  const options = resolveReportOptions(spec.report);
  const metrics = computeMetrics(result.records, { worldSize: header.tp * header.pp, percentiles: options.percentiles, slos: options.slos });
  const html = renderRunHtml({ header, metrics, records: result.records, iterations: result.iterations, reportText: result.reportText });
  await writeText(path, flag, html);
}
