import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Document, LineCounter } from "yaml";
import { CliError } from "./cliError.js";

/** The YAML library, loaded when a file is first read (start-up time is part of every run). */
const yaml = (): typeof import("yaml") => createRequire(import.meta.url)("yaml") as typeof import("yaml");

/** A YAML mapping read from a file; errors name the file and the line. */
export class YamlFile {
  private constructor(
    readonly path: string,
    readonly data: Record<string, unknown>,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Reads and parses `path`; it must hold a mapping (an empty file is an empty mapping). */
  static read(path: string, what: string): YamlFile {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new CliError(`${what} ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const { LineCounter, parseDocument, isMap } = yaml();
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
    const first = doc.errors[0];
    if (first) {
      const line = first.linePos?.[0]?.line;
      throw new CliError(`${path}${line ? ` line ${line}` : ""}: invalid YAML (${first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")})`);
    }
    const data: unknown = doc.toJS();
    if (data === null || data === undefined) return new YamlFile(path, {}, doc, lines);
    if (!isMap(doc.contents) || typeof data !== "object" || Array.isArray(data)) {
      throw new CliError(`${path}: expected a YAML mapping (key: value lines) at the top level`);
    }
    return new YamlFile(path, data as Record<string, unknown>, doc, lines);
  }

  /** 1-based line of the value at a key path (the file's first line when unknown). */
  lineOf(keys: readonly string[]): number {
    const node: unknown = this.doc.getIn(keys, true);
    if (yaml().isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    return 1;
  }

  /** An error about the value at a key path: "<file> line <n>: <key.path> <reason>". */
  error(keys: readonly string[], reason: string): CliError {
    return new CliError(`${this.path} line ${this.lineOf(keys)}: ${keys.join(".")} ${reason}`);
  }
}

/** Typed access to the values of one mapping inside a YamlFile. */
export class YamlSection {
  constructor(
    readonly file: YamlFile,
    readonly prefix: readonly string[],
    readonly data: Record<string, unknown>,
  ) {}

  has(key: string): boolean {
    return this.data[key] !== undefined && this.data[key] !== null;
  }

  number(key: string, check: (v: number) => boolean = Number.isFinite, expected = "a finite number"): number | undefined {
    const v = this.data[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !check(v)) throw this.file.error([...this.prefix, key], `must be ${expected} (got ${JSON.stringify(v)})`);
    return v;
  }

  integer(key: string, min = 0): number | undefined {
    return this.number(key, (v) => Number.isSafeInteger(v) && v >= min, `an integer >= ${min}`);
  }

  string(key: string): string | undefined {
    const v = this.data[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" && typeof v !== "number") throw this.file.error([...this.prefix, key], `must be a string (got ${JSON.stringify(v)})`);
    return String(v);
  }

  boolean(key: string): boolean | undefined {
    const v = this.data[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw this.file.error([...this.prefix, key], `must be true or false (got ${JSON.stringify(v)})`);
    return v;
  }

  section(key: string): YamlSection | undefined {
    const v = this.data[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) throw this.file.error([...this.prefix, key], "must be a mapping");
    return new YamlSection(this.file, [...this.prefix, key], v as Record<string, unknown>);
  }

  /** Keys present but not in `known` (for unknown-key warnings). */
  unknownKeys(known: readonly string[]): string[] {
    return Object.keys(this.data)
      .filter((k) => !known.includes(k))
      .map((k) => [...this.prefix, k].join("."));
  }
}
