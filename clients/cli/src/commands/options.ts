import { InvalidArgumentError as CommanderArgumentError } from "commander";

/** Commander value parsers with messages commander prints as "option '--x <n>' argument 'y' is invalid. <reason>". */
export const intArg =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    const v = Number(value.trim());
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new CommanderArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}` : `expected an integer in [${min}, ${max}]`);
    }
    return v;
  };

export const numberArg =
  (check: (v: number) => boolean, expected: string) =>
  (value: string): number => {
    const v = Number(value.trim());
    if (value.trim() === "" || !Number.isFinite(v) || !check(v)) throw new CommanderArgumentError(`expected ${expected}`);
    return v;
  };

/** "30s", "500ms", "2m", "1h" or a bare number of seconds → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new CommanderArgumentError("expected a duration such as 30s, 500ms, 2m or a number of seconds");
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return n * (unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000);
}
