/** Options trtllm-bench takes before the subcommand (`trtllm-bench -m MODEL -w /tmp throughput ...`). */
const GLOBAL_VALUE_OPTIONS = new Set(["-m", "--model", "--model-path", "-w", "--workspace", "--log-level"]);

/** `--foo_bar[=v]` → `--foo-bar[=v]` (trtllm-bench's underscore spellings); anything else unchanged. */
export function dashOption(arg: string): string {
  if (!arg.startsWith("--") || arg === "--") return arg;
  const eq = arg.indexOf("=");
  const name = eq < 0 ? arg : arg.slice(0, eq);
  return name.replace(/_/g, "-") + (eq < 0 ? "" : arg.slice(eq));
}

/**
 * Normalises a command line before commander parses it: underscore option names become dashed, and
 * trtllm-bench's global `-m/--model` / `--model_path` given before the subcommand move right after it.
 * `from` is the index of the first user argument (2 for process.argv).
 */
export function normalizeArgv(argv: readonly string[], from = 2): string[] {
  const head = argv.slice(0, from);
  const args: string[] = [];
  let terminated = false;
  for (const a of argv.slice(from)) {
    if (a === "--") terminated = true;
    args.push(terminated ? a : dashOption(a));
  }
  const leading: string[] = [];
  const moved: string[] = [];
  let i = 0;
  while (i < args.length) {
    const a = args[i]!;
    if (a === "--" || !a.startsWith("-")) break;
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    if (GLOBAL_VALUE_OPTIONS.has(name)) {
      if (eq >= 0) {
        moved.push(a);
        i += 1;
      } else {
        moved.push(a, ...(i + 1 < args.length ? [args[i + 1]!] : []));
        i += 2;
      }
      continue;
    }
    leading.push(a);
    i += 1;
  }
  if (moved.length === 0 || i >= args.length || args[i] === "--") return [...head, ...args];
  return [...head, ...leading, args[i]!, ...moved, ...args.slice(i + 1)];
}
