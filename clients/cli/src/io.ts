/** Where a command writes (process streams in the CLI, buffers in tests). */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  /** Set by a command that failed (1 runtime failure, 2 invalid input, 130 interrupted). */
  exitCode?: number;
}

/** The process streams; a failed command's exit code becomes process.exitCode. */
export const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  get exitCode(): number | undefined {
    return typeof process.exitCode === "number" ? process.exitCode : undefined;
  },
  set exitCode(code: number | undefined) {
    process.exitCode = code;
  },
});
