import { createRequire } from "node:module";
import { InvalidArgumentError } from "@servesim/core";
import type { Document, LineCounter } from "yaml";

/** The YAML library, loaded on first use (every process imports this package; few read a YAML file). */
const yaml = (): typeof import("yaml") => createRequire(import.meta.url)("yaml") as typeof import("yaml");

/** A parsed YAML mapping whose errors name the file and line of the offending value. */
export class YamlDoc {
  private constructor(
    readonly path: string,
    readonly data: Record<string, unknown>,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(text: string, path: string): YamlDoc {
    const { LineCounter, parseDocument, isMap } = yaml();
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
    const first = doc.errors[0];
    if (first) {
      const line = first.linePos?.[0]?.line ?? 1;
      throw new InvalidArgumentError(`${path} line ${line}`, `invalid YAML (${first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")})`);
    }
    const data: unknown = doc.toJS();
    if (data === null || data === undefined) return new YamlDoc(path, {}, doc, lines);
    if (!isMap(doc.contents) || typeof data !== "object" || Array.isArray(data)) {
      throw new InvalidArgumentError(`${path} line 1`, "expected a YAML mapping (key: value lines) at the top level");
    }
    return new YamlDoc(path, data as Record<string, unknown>, doc, lines);
  }

  lineOf(keys: ReadonlyArray<string | number>): number {
    const node: unknown = this.doc.getIn(keys, true);
    if (yaml().isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    return keys.length > 1 ? this.lineOf(keys.slice(0, -1)) : 1;
  }

  error(keys: ReadonlyArray<string | number>, reason: string): InvalidArgumentError {
    return new InvalidArgumentError(`${this.path} line ${this.lineOf(keys)}`, `${keys.join(".")} ${reason}`);
  }

  warning(keys: ReadonlyArray<string | number>, what: string): string {
    return `${this.path} line ${this.lineOf(keys)}: ${keys.join(".")} ${what}`;
  }

  root(): YamlMap {
    return new YamlMap(this, [], this.data);
  }
}

/** Typed access to one mapping of a YamlDoc. */
export class YamlMap {
  constructor(
    readonly doc: YamlDoc,
    readonly prefix: ReadonlyArray<string | number>,
    readonly data: Record<string, unknown>,
  ) {}

  has(key: string): boolean {
    return this.data[key] !== undefined && this.data[key] !== null;
  }

  private value(key: string): unknown {
    const v = this.data[key];
    return v === null ? undefined : v;
  }

  number(key: string, check: (v: number) => boolean, expected: string): number | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !check(v)) throw this.doc.error([...this.prefix, key], `must be ${expected} (got ${JSON.stringify(v)?.slice(0, 64)})`);
    return v;
  }

  integer(key: string, min: number, max = 1 << 30): number | undefined {
    return this.number(key, (v) => Number.isSafeInteger(v) && v >= min && v <= max, `an integer in [${min}, ${max}]`);
  }

  boolean(key: string): boolean | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") throw this.doc.error([...this.prefix, key], `must be true or false (got ${JSON.stringify(v)?.slice(0, 64)})`);
    return v;
  }

  string(key: string): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw this.doc.error([...this.prefix, key], `must be a string (got ${JSON.stringify(v)?.slice(0, 64)})`);
    return v;
  }

  map(key: string): YamlMap | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) throw this.doc.error([...this.prefix, key], "must be a mapping");
    return new YamlMap(this.doc, [...this.prefix, key], v as Record<string, unknown>);
  }

  list(key: string): YamlMap[] | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw this.doc.error([...this.prefix, key], "must be a list");
    return v.map((item, i) => {
      if (item === null || typeof item !== "object" || Array.isArray(item)) throw this.doc.error([...this.prefix, key, i], "must be a mapping");
      return new YamlMap(this.doc, [...this.prefix, key, i], item as Record<string, unknown>);
    });
  }

  /** Warnings for keys outside `known`. */
  unknown(known: readonly string[], warnings: string[]): void {
    for (const k of Object.keys(this.data)) if (!known.includes(k)) warnings.push(this.doc.warning([...this.prefix, k], "is not a known key; ignored"));
  }
}
