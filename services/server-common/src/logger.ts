import { hostname } from "node:os";
import { Writable } from "node:stream";
import { type DestinationStream, type Logger, pino } from "pino";
import pinoPretty from "pino-pretty";
import type { LogFormat, LogLevel } from "./config.js";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** Service name, logged as `service` on every line. */
  name: string;
  level: LogLevel;
  /** json (default) writes one JSON object per line; pretty is for humans at a terminal. */
  format?: LogFormat;
  /** Where lines go (default stdout); tests pass a memory stream. */
  destination?: DestinationStream;
}

/**
 * The servers' structured logger. Log one line per connection, stream, job or lifecycle event, never one
 * per prediction or iteration.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const options = {
    level: opts.level,
    base: { service: opts.name, pid: process.pid, hostname: hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (opts.format === "pretty") {
    const dest = opts.destination;
    const destination = dest
      ? new Writable({
          write: (chunk: Buffer, _enc, done) => {
            dest.write(chunk.toString());
            done();
          },
        })
      : 1;
    const pretty = pinoPretty({ colorize: dest === undefined && process.stdout.isTTY === true, destination, sync: true });
    return pino(options, pretty);
  }
  return pino(options, opts.destination ?? stdoutDestination());
}

let stdout: ReturnType<typeof pino.destination> | undefined;

/**
 * Asynchronous stdout, shared by every logger of the process: a synchronous write blocks the event
 * loop whenever the reader of the pipe (a log collector, a busy parent process) falls behind, and
 * every call waits behind it (bench case L measured 0.5 s stalls on "job queued" lines). Lines keep
 * their order; what is still buffered is written out on process exit.
 */
function stdoutDestination(): ReturnType<typeof pino.destination> {
  if (stdout) return stdout;
  const dest = pino.destination({ dest: 1, sync: false });
  process.once("exit", () => {
    try {
      dest.flushSync();
    } catch {
      // stdout closed: nothing more can be written.
    }
  });
  stdout = dest;
  return dest;
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
