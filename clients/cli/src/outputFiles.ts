import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { CliError } from "./cliError.js";

/** Writes one line per item to a file, honouring backpressure. Errors name the flag and the file. */
export async function writeLines<T>(path: string, flag: string, items: Iterable<T>, line: (item: T) => string): Promise<void> {
  const out = createWriteStream(path, { encoding: "utf8" });
  const failed = new Promise<never>((_, reject) =>
    out.once("error", (e: NodeJS.ErrnoException) => reject(new CliError(`${flag} ${path}: cannot write (${e.code ?? e.message})`, 1))),
  );
  failed.catch(() => undefined);
  const write = async (): Promise<void> => {
    for (const item of items) {
      if (!out.write(`${line(item)}\n`)) await Promise.race([once(out, "drain"), failed]);
    }
    out.end();
    await Promise.race([once(out, "finish"), failed]);
  };
  try {
    await write();
  } finally {
    out.destroy();
  }
}

/** Writes a text file (report.json). */
export async function writeText(path: string, flag: string, text: string): Promise<void> {
  await writeLines(path, flag, [text.replace(/\n$/, "")], (t) => t);
}
