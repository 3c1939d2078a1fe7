import { InvalidArgumentError } from "@servesim/core";
import { z } from "zod";

/**
 * One configuration value that can come from a command-line flag or an environment variable (the
 * flag wins), validated by a zod schema that accepts the raw string.
 */
export interface Setting<T> {
  /** Environment variable, e.g. SERVESIM_PORT. */
  env: string;
  /** Flag name without dashes, e.g. "port" for --port. */
  flag: string;
  /** Placeholder shown in --help, e.g. "<n>". */
  arg: string;
  description: string;
  schema: z.ZodType<T, string>;
  /** Used when neither the flag nor the variable is set; omitted = the value is optional. */
  default?: T;
}

export type SettingsSpec = Record<string, Setting<unknown>>;

/** A setting with a default (its value is always defined). */
export function setting<T>(s: Setting<T> & { default: T }): Setting<T> & { default: T } {
  return s;
}

/** A setting without a default (its value is undefined when not given). */
export function optionalSetting<T>(s: Omit<Setting<T>, "default">): Setting<T> & { default?: undefined } {
  return s;
}

export type SettingsValues<S extends SettingsSpec> = {
  [K in keyof S]: S[K] extends Setting<infer T> ? (S[K]["default"] extends undefined ? T | undefined : T) : never;
};

/** Raw inputs: the process environment and the parsed flags (keyed by the setting key, as commander names them). */
export interface SettingsSources {
  env?: Record<string, string | undefined>;
  flags?: Record<string, unknown>;
}

/**
 * Resolves every setting of a spec: flag, else environment variable, else default. A bad value throws
 * InvalidArgumentError whose field names the flag or variable it came from.
 */
export function resolveSettings<S extends SettingsSpec>(spec: S, sources: SettingsSources): SettingsValues<S> {
  const env = sources.env ?? {};
  const flags = sources.flags ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(spec)) {
    const flagValue = flags[key];
    const envValue = env[setting.env];
    let raw: string | undefined;
    let origin: string;
    if (flagValue !== undefined && flagValue !== null) {
      raw = String(flagValue);
      origin = `--${setting.flag}`;
    } else if (envValue !== undefined && envValue.trim() !== "") {
      raw = envValue;
      origin = setting.env;
    } else {
      out[key] = setting.default;
      continue;
    }
    const parsed = setting.schema.safeParse(raw.trim());
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => i.message).join("; ");
      throw new InvalidArgumentError(origin, `${reason} (got ${JSON.stringify(raw)})`);
    }
    out[key] = parsed.data;
  }
  return out as SettingsValues<S>;
}

/** A non-negative integer within [min, max], written in decimal. */
export function integerSetting(min: number, max = Number.MAX_SAFE_INTEGER): z.ZodType<number, string> {
  return z
    .string()
    .regex(/^\d+$/, `must be an integer in [${min}, ${max}]`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be an integer in [${min}, ${max}]`);
}

const BYTE_UNITS: Record<string, number> = { "": 1, B: 1, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3 };

/** A byte count: an integer with an optional KiB/MiB/GiB suffix (e.g. "67108864" or "64MiB"). */
export function byteSizeSetting(min: number, max: number): z.ZodType<number, string> {
  const message = `must be a byte count in [${min}, ${max}], e.g. 4194304 or 64MiB`;
  return z
    .string()
    .regex(/^\d+\s*(B|KiB|MiB|GiB)?$/i, message)
    .transform((s) => {
      const m = /^(\d+)\s*([A-Za-z]*)$/.exec(s)!;
      return Number(m[1]) * BYTE_UNITS[m[2]!.toUpperCase()]!;
    })
    .refine((n) => n >= min && n <= max, message);
}

export function enumSetting<const T extends readonly [string, ...string[]]>(values: T): z.ZodType<T[number], string> {
  return z.enum(values, { message: `must be one of ${values.join(", ")}` }) as unknown as z.ZodType<T[number], string>;
}

export function nonEmptySetting(what: string): z.ZodType<string, string> {
  return z.string().min(1, `must be a non-empty ${what}`);
}

/** true/false (also 1/0, yes/no, on/off); a bare flag (--insecure) is true. */
export function booleanSetting(): z.ZodType<boolean, string> {
  return z
    .string()
    .transform((s) => s.toLowerCase())
    .refine((s) => ["true", "false", "1", "0", "yes", "no", "on", "off"].includes(s), "must be true or false")
    .transform((s) => s === "true" || s === "1" || s === "yes" || s === "on");
}

/** A comma-separated list of non-empty entries (surrounding spaces dropped); "" is the empty list. */
export function listSetting(): z.ZodType<string[], string> {
  return z.string().transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== ""),
  );
}
