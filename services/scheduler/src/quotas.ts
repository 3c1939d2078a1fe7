import { InvalidArgumentError, PermissionDeniedError, ResourceExhaustedError } from "@servesim/core";

/** What one accepted job costs its tenant: the bytes it uploaded (spec and dataset) and the tokens it simulates. */
export interface TenantUsage {
  submittedBytes: number;
  simulatedTokens: number;
}

/** A tenant's allowance over the rolling window (undefined: no limit). */
export interface TenantQuota {
  submittedBytes?: number;
  simulatedTokens?: number;
}

/**
 * Per-tenant usage quotas: every accepted job is charged when it is accepted and its charge counts
 * for `windowMs` from then, whatever becomes of the job (it may be dropped, fail or be cancelled: the
 * work of accepting and resolving it was done). Rejected submissions and deduplicated retries are not
 * charged. `quotaOf` gives a tenant's allowance: the JWT claims named by `claimNames` that the
 * caller's token carries, else the quota file's line for the tenant, else its "*" line, else the defaults.
 */
export interface QuotaPolicy {
  windowMs: number;
  /** The JWT claims that override a quota (claim names the authenticator keeps on the principal). */
  readonly claimNames: readonly string[];
  quotaOf(tenant: string, claims?: Readonly<Record<string, unknown>>): TenantQuota;
}

const QUOTA_KEYS = { submitted_bytes: "submittedBytes", simulated_tokens: "simulatedTokens" } as const;
type QuotaName = keyof typeof QUOTA_KEYS;

/** Which JWT claim carries which quota: "simulated_tokens=<claim>,submitted_bytes=<claim>" (either may be left out). */
export function parseQuotaClaims(text: string, field: string): Partial<Record<QuotaName, string>> {
  const out: Partial<Record<QuotaName, string>> = {};
  for (const pair of text.split(",").map((p) => p.trim())) {
    const m = /^(submitted_bytes|simulated_tokens)=([A-Za-z0-9_:./-]{1,128})$/.exec(pair);
    if (!m) throw new InvalidArgumentError(field, `expected simulated_tokens=<claim>,submitted_bytes=<claim>, got "${pair.slice(0, 40)}"`);
    const name = m[1] as QuotaName;
    if (out[name] !== undefined) throw new InvalidArgumentError(field, `names ${name} twice`);
    out[name] = m[2]!;
  }
  return out;
}

/** A quota claim's value: a non-negative integer (a JSON number or a string of digits) or "unlimited". */
function claimValue(claim: string, name: QuotaName, value: unknown): number {
  if (value === "unlimited") return Number.POSITIVE_INFINITY;
  const n = typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n === "number" && Number.isSafeInteger(n) && n >= 0) return n;
  throw new PermissionDeniedError(`the token's ${claim} claim (quota ${name}) must be a non-negative integer or "unlimited"; ask the token's issuer to fix it`);
}

/**
 * A quota file: one "<tenant> submitted_bytes=<n> simulated_tokens=<n>" per line ("*" for every tenant
 * not listed; a key left out keeps the default; "unlimited" lifts it); blank lines and '#' comments ignored.
 */
export function parseQuotaFile(text: string, field: string): Map<string, TenantQuota> {
  const out = new Map<string, TenantQuota>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const [tenant, ...pairs] = line.split(/\s+/) as [string, ...string[]];
    if (!/^(\*|[A-Za-z0-9][A-Za-z0-9._@-]{0,127})$/.test(tenant))
      throw new InvalidArgumentError(field, `line ${i + 1}: "${tenant.slice(0, 40)}" is not a tenant name or *`);
    const quota: TenantQuota = {};
    for (const pair of pairs) {
      const m = /^(submitted_bytes|simulated_tokens)=(\d{1,16}|unlimited)$/.exec(pair);
      if (!m)
        throw new InvalidArgumentError(
          field,
          `line ${i + 1}: expected submitted_bytes=<n> or simulated_tokens=<n> (or =unlimited), got "${pair.slice(0, 40)}"`,
        );
      const key = QUOTA_KEYS[m[1] as keyof typeof QUOTA_KEYS];
      quota[key] = m[2] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[2]);
    }
    out.set(tenant, quota);
  });
  return out;
}

/**
 * The policy of the scheduler's settings: the defaults, overridden per tenant (and for "*") by the quota
 * file, and per call by the JWT claims `claims` names.
 */
export function quotaPolicy(
  windowMs: number,
  defaults: TenantQuota,
  perTenant: ReadonlyMap<string, TenantQuota> = new Map(),
  claims: Partial<Record<QuotaName, string>> = {},
): QuotaPolicy {
  const base = { ...defaults, ...perTenant.get("*") };
  const byClaim = Object.entries(claims) as Array<[QuotaName, string]>;
  return {
    windowMs,
    claimNames: byClaim.map(([, claim]) => claim),
    quotaOf(tenant, carried) {
      const quota = { ...base, ...perTenant.get(tenant) };
      for (const [name, claim] of byClaim) {
        if (carried?.[claim] !== undefined) quota[QUOTA_KEYS[name]] = claimValue(claim, name, carried[claim]);
      }
      return quota;
    },
  };
}

/** RESOURCE_EXHAUSTED naming the quota when `add` on top of `used` goes over the tenant's allowance `quota`. */
export function checkQuota(tenant: string, used: TenantUsage, add: TenantUsage, quota: TenantQuota, windowMs: number): void {
  const hours = Math.round((windowMs / 3_600_000) * 100) / 100;
  const over = (what: string, setting: string, max: number | undefined, u: number, a: number) => {
    if (max === undefined || u + a <= max) return;
    throw new ResourceExhaustedError(
      `tenant ${tenant} quota ${what} exceeded: this job needs ${a}, ${u} of ${max} already used in the last ${hours} h (${setting}); retry once older jobs leave the window, or submit a smaller job`,
    );
  };
  over("simulated_tokens", "SERVESIM_TENANT_MAX_SIMULATED_TOKENS", quota.simulatedTokens, used.simulatedTokens, add.simulatedTokens);
  over("submitted_bytes", "SERVESIM_TENANT_MAX_SUBMITTED_BYTES", quota.submittedBytes, used.submittedBytes, add.submittedBytes);
}

/** One tenant's charges in arrival order (from `head` on) and their running sums. */
interface TenantCharges extends TenantUsage {
  charges: Array<{ atMs: number } & TenantUsage>;
  head: number;
}

/**
 * In-process usage (the memory store), per tenant: each tenant's charges in arrival order with their
 * running sums, so a check costs the charges that just left the window, not a scan of every charge.
 * The window's start only moves forward (now − window), so charges before it are dropped for good.
 */
export class MemoryUsageLedger {
  private readonly tenants = new Map<string, TenantCharges>();

  used(tenant: string, sinceMs: number): TenantUsage {
    const t = this.tenants.get(tenant);
    if (!t) return { submittedBytes: 0, simulatedTokens: 0 };
    this.dropBefore(t, sinceMs);
    return { submittedBytes: t.submittedBytes, simulatedTokens: t.simulatedTokens };
  }

  add(tenant: string, atMs: number, usage: TenantUsage): void {
    let t = this.tenants.get(tenant);
    if (!t) this.tenants.set(tenant, (t = { charges: [], head: 0, submittedBytes: 0, simulatedTokens: 0 }));
    t.charges.push({ atMs, ...usage });
    t.submittedBytes += usage.submittedBytes;
    t.simulatedTokens += usage.simulatedTokens;
  }

  prune(beforeMs: number): void {
    for (const [tenant, t] of this.tenants) {
      this.dropBefore(t, beforeMs);
      if (t.head === t.charges.length) this.tenants.delete(tenant);
    }
  }

  private dropBefore(t: TenantCharges, beforeMs: number): void {
    while (t.head < t.charges.length && t.charges[t.head]!.atMs < beforeMs) {
      const c = t.charges[t.head++]!;
      t.submittedBytes -= c.submittedBytes;
      t.simulatedTokens -= c.simulatedTokens;
    }
    // Compact once the dropped prefix is most of the array (amortized O(1) per charge).
    if (t.head > 1024 && t.head * 2 > t.charges.length) {
      t.charges.splice(0, t.head);
      t.head = 0;
    }
  }
}
