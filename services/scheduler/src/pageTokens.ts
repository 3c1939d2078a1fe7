import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError } from "@servesim/core";
import type { JobState } from "@servesim/wire/scheduler";

/** Longest page_token accepted (the ones issued have about 70 characters). */
const MAX_TOKEN_LENGTH = 256;

const INVALID = "is not a token this scheduler issued for this caller and these states (it may predate a restart); list again from the first page";

/**
 * ListJobs page tokens: the position after the last job of a page (the job's submission sequence
 * number), sealed with an HMAC over the caller's tenant and the `states` filter. A client cannot read
 * another position into it, reuse another tenant's token, or change the filter between pages. The key
 * lives as long as the job sequence numbers it protects: per process for the embedded stores, shared
 * in the table for the PostgreSQL store (any replica continues any listing).
 */
export class PageTokens {
  constructor(private readonly key: Uint8Array) {
    if (key.length < 16) throw new Error("page token key too short");
  }

  seal(afterSeq: number, tenant: string, states: readonly JobState[]): string {
    const body = Buffer.from(JSON.stringify({ a: afterSeq })).toString("base64url");
    return `${body}.${this.mac(body, tenant, states)}`;
  }

  /** The position a token carries; INVALID_ARGUMENT naming page_token for anything this scheduler did not issue to this caller. */
  open(token: string, tenant: string, states: readonly JobState[]): number {
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidArgumentError("page_token", INVALID);
    const dot = token.indexOf(".");
    const body = token.slice(0, dot);
    const mac = Buffer.from(token.slice(dot + 1), "base64url");
    const want = Buffer.from(this.mac(body, tenant, states), "base64url");
    if (dot <= 0 || mac.length !== want.length || !timingSafeEqual(mac, want)) throw new InvalidArgumentError("page_token", INVALID);
    const afterSeq = (JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { a?: unknown }).a;
    if (typeof afterSeq !== "number" || !Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new InvalidArgumentError("page_token", INVALID);
    return afterSeq;
  }

  private mac(body: string, tenant: string, states: readonly JobState[]): string {
    const filter = createHash("sha256")
      .update([...new Set(states)].sort((a, b) => a - b).join(","))
      .digest("hex");
    return createHmac("sha256", this.key).update(`${tenant}\u0000${filter}\u0000${body}`).digest().subarray(0, 24).toString("base64url");
  }
}
