import { readFileSync, writeFileSync } from "node:fs";
import { InvalidArgumentError } from "@servesim/core";
import { type CalibrationFit, calibratedCoefficients, fitCalibration, parseIterationLog } from "@servesim/perf";
import { Command } from "commander";
import { stringify } from "yaml";
import { CliError, runAction } from "../cliError.js";
import { type CliIo, processIo } from "../io.js";
import { usageExitCodes } from "./exitCodes.js";

/** The --sim-config YAML of a fit: `servesim throughput --sim-config <file>` uses the calibrated predictor. */
export function calibrationYaml(fit: CalibrationFit, source: string): string {
  const body = stringify({
    predictor: {
      name: "calibrated",
      calibrated: Object.fromEntries(calibratedCoefficients(fit.model)),
    },
  });
  return `# servesim calibrate --iteration-log ${source}: ${fit.samples} iterations, RMSE ${fit.rmseMs.toFixed(4)} ms, MAPE ${fit.mape.toFixed(2)}%\n${body}`;
}

function summary(fit: CalibrationFit): string {
  return (
    `Calibrated predictor from ${fit.samples} iterations\n` +
    calibratedCoefficients(fit.model)
      .map(([k, v]) => `  ${k.padEnd(31)}${v.toPrecision(6)}\n`)
      .join("") +
    `RMSE (ms):           ${fit.rmseMs.toFixed(4)}\n` +
    `MAPE (%):            ${fit.mape.toFixed(2)}\n` +
    `Max abs error (ms):  ${fit.maxAbsErrorMs.toFixed(4)}\n`
  );
}

/** Fits the calibrated predictor to a trtllm-bench iteration log (Python dict or JSON lines). */
export function calibrateFromLog(path: string): CalibrationFit {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError(`--iteration-log ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return fitCalibration(parseIterationLog(text));
  } catch (e) {
    // "iteration log line 12: ..." → "<file> line 12: ..."
    if (e instanceof InvalidArgumentError) throw new CliError(`${e.field === "samples" ? path : e.field.replace(/^iteration log/, path)}: ${e.reason}`);
    throw e;
  }
}

/** `servesim calibrate`: fit the calibrated predictor to a real run's iteration log. */
export function calibrateCommand(io: CliIo = processIo()): Command {
  const cmd = new Command("calibrate")
    .description("fit the calibrated predictor to a real trtllm-bench --iteration_log; writes a --sim-config YAML")
    .requiredOption("--iteration-log <file>", "trtllm-bench iteration log (Python dict repr or JSON lines)")
    .option("--output <file>", "write the fitted predictor as a --sim-config YAML (default: print it)")
    .action(async (flags: { iterationLog: string; output?: string }) =>
      runAction(io, async () => {
        const fit = calibrateFromLog(flags.iterationLog);
        const yaml = calibrationYaml(fit, flags.iterationLog);
        if (flags.output) {
          io.stdout.write(summary(fit));
          try {
            writeFileSync(flags.output, yaml);
          } catch (e) {
            throw new CliError(`--output ${flags.output}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 1);
          }
          io.stdout.write(`wrote ${flags.output} (use: servesim throughput --sim-config ${flags.output} ...)\n`);
        } else {
          io.stderr.write(summary(fit));
          io.stdout.write(yaml);
        }
      }),
    );
  return usageExitCodes(cmd);
}
