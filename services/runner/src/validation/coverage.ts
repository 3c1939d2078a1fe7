import { notReplayableReason, type SiliconRow } from "./silicon.js";

/** Rows replayable out of rows in the file, for one value of a dimension. */
export interface CoverageLine {
  value: string;
  rows: number;
  replayable: number;
}

export interface Coverage {
  rows: number;
  replayable: number;
  by: { backend: CoverageLine[]; mode: CoverageLine[]; system: CoverageLine[]; model: CoverageLine[] };
  /** Why rows were left out, most frequent first. */
  reasons: { reason: string; rows: number }[];
}

function tally(rows: readonly SiliconRow[], ok: readonly boolean[], key: (r: SiliconRow) => string): CoverageLine[] {
  const m = new Map<string, CoverageLine>();
  rows.forEach((r, i) => {
    const v = key(r) || "(none)";
    let line = m.get(v);
    if (!line) m.set(v, (line = { value: v, rows: 0, replayable: 0 }));
    line.rows++;
    if (ok[i]) line.replayable++;
  });
  return [...m.values()].sort((a, b) => b.rows - a.rows || a.value.localeCompare(b.value));
}

/** Which rows of the file a replay covers, by backend, mode, system and model, and why the others are not. */
export function siliconCoverage(rows: readonly SiliconRow[]): Coverage {
  const reasons = rows.map(notReplayableReason);
  const ok = reasons.map((r) => r === null);
  const counts = new Map<string, number>();
  for (const r of reasons) if (r !== null) counts.set(r, (counts.get(r) ?? 0) + 1);
  return {
    rows: rows.length,
    replayable: ok.filter(Boolean).length,
    by: {
      backend: tally(rows, ok, (r) => r.backend),
      mode: tally(rows, ok, (r) => r.mode),
      system: tally(rows, ok, (r) => r.system),
      model: tally(rows, ok, (r) => r.modelPath),
    },
    reasons: [...counts].map(([reason, n]) => ({ reason, rows: n })).sort((a, b) => b.rows - a.rows || a.reason.localeCompare(b.reason)),
  };
}

/** Text: one block per dimension ("value  replayable/rows"), then the reasons. */
export function formatCoverage(c: Coverage, maxLines = 12): string {
  const out: string[] = [`Coverage: ${c.replayable} of ${c.rows} rows replayable`];
  for (const [dim, lines] of Object.entries(c.by) as [string, CoverageLine[]][]) {
    const shown = lines.slice(0, maxLines).map((l) => `${l.value} ${l.replayable}/${l.rows}`);
    if (lines.length > maxLines) shown.push(`… ${lines.length - maxLines} more`);
    out.push(`  by ${dim}: ${shown.join(", ")}`);
  }
  out.push(`  not replayed: ${c.reasons.map((r) => `${r.reason} (${r.rows})`).join(", ")}`);
  return out.join("\n");
}
