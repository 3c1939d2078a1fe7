/**
 * TensorRT-LLM / NCCL version strings: "1.2.0rc5", "1.2.0rc6.post3", "1.3.0", "2.27.3". A release ranks
 * after its release candidates; a .postN after its base.
 */
export interface ParsedVersion {
  parts: number[];
  /** Release candidate number; Infinity for a final release. */
  rc: number;
  post: number;
}

export function parseVersion(v: string): ParsedVersion | undefined {
  const m = /^v?(\d+(?:\.\d+)*)(?:rc(\d+))?(?:\.post(\d+))?$/.exec(v.trim());
  if (!m) return undefined;
  return { parts: m[1]!.split(".").map(Number), rc: m[2] !== undefined ? Number(m[2]) : Number.POSITIVE_INFINITY, post: m[3] !== undefined ? Number(m[3]) : 0 };
}

export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : a.localeCompare(b);
  for (let i = 0; i < Math.max(pa.parts.length, pb.parts.length); i++) {
    const d = (pa.parts[i] ?? 0) - (pb.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa.rc !== pb.rc) return pa.rc < pb.rc ? -1 : 1;
  return pa.post - pb.post;
}

/** Oldest first (unparseable names first). */
export function sortVersions(versions: readonly string[]): string[] {
  return [...versions].sort(compareVersions);
}

export function newestVersion(versions: readonly string[]): string | undefined {
  const sorted = sortVersions(versions.filter((v) => parseVersion(v) !== undefined));
  return sorted[sorted.length - 1];
}

/** A version as one number for distances: major·1e6 + minor·1e4 + patch·1e2 + rc (a release counts as rc 99) + post/100. */
function position(v: ParsedVersion): number {
  const [major = 0, minor = 0, patch = 0] = v.parts;
  return major * 1e6 + minor * 1e4 + patch * 1e2 + (Number.isFinite(v.rc) ? v.rc : 99) + v.post / 100;
}

/**
 * The table version closest to `wanted` among `available` (distance on (major, minor, patch, rc, post),
 * ties to the older), or undefined when none parses. An exact match wins; so does the same
 * major.minor.patch family when it exists.
 */
export function nearestVersion(wanted: string, available: readonly string[]): string | undefined {
  if (available.includes(wanted)) return wanted;
  const w = parseVersion(wanted);
  const parsed = sortVersions(available)
    .map((v) => ({ v, p: parseVersion(v) }))
    .filter((x): x is { v: string; p: ParsedVersion } => x.p !== undefined);
  if (!w || parsed.length === 0) return undefined;
  const sameRelease = parsed.filter((x) => x.p.parts.slice(0, 3).join(".") === w.parts.slice(0, 3).join("."));
  const pool = sameRelease.length > 0 ? sameRelease : parsed;
  let best = pool[0]!;
  let bestD = Math.abs(position(best.p) - position(w));
  for (const x of pool) {
    const d = Math.abs(position(x.p) - position(w));
    if (d < bestD) {
      best = x;
      bestD = d;
    }
  }
  return best.v;
}
