import { chartLibrarySource, chartLibraryVersion } from "./library.js";

/** An ECharts option as plain JSON (no functions): the same object draws in the page and in a PNG. */
export type ChartOption = Record<string, unknown>;

export interface ChartBlock {
  kind: "chart";
  /** Element id, unique in the page. */
  id: string;
  title: string;
  /** One line under the title (what is drawn, how the data was reduced). */
  note?: string;
  option: ChartOption;
  /** Pixels (default 360). */
  height?: number;
  /** Half-width charts pair up side by side on wide screens. */
  half?: boolean;
}

export interface TableColumn {
  key: string;
  label: string;
  /** Fraction digits of numbers (default: as they come). */
  digits?: number;
}

export type Cell = string | number | boolean | null;

export interface TableBlock {
  kind: "table";
  id: string;
  title: string;
  note?: string;
  columns: TableColumn[];
  rows: Record<string, Cell>[];
  /** Rows drawn highlighted (indices into rows). */
  highlight?: number[];
  /** The initial order. */
  sortBy?: { key: string; descending: boolean };
}

export interface TextBlock {
  kind: "text";
  title: string;
  text: string;
  /** Inside a closed <details> element. */
  collapsed?: boolean;
}

export type Block = ChartBlock | TableBlock | TextBlock;

export interface PageSpec {
  title: string;
  subtitle: string;
  /** Key figures shown as cards at the top. */
  summary: { label: string; value: string }[];
  sections: { title: string; blocks: Block[] }[];
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON that cannot end its <script> element or break a JavaScript string. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const STYLE = `
:root { --fg: #1d232b; --muted: #5b6573; --line: #d9dee5; --bg: #f6f7f9; --card: #fff; --accent: #2f6fde; --hi: #fff6d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 20px 28px 12px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 4px; font-size: 21px; }
h2 { margin: 28px 0 10px; font-size: 17px; }
h3 { margin: 0 0 2px; font-size: 14px; }
.subtitle, .note, footer { color: var(--muted); }
.note { font-size: 12.5px; margin: 0 0 6px; }
main { padding: 4px 28px 32px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin-top: 14px; }
.card { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 16px; font-weight: 600; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.block { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; margin-bottom: 14px; min-width: 0; }
.grid .block { margin-bottom: 0; }
.full { grid-column: 1 / -1; }
@media (max-width: 900px) { .grid { grid-template-columns: minmax(0, 1fr); } }
.chart { width: 100%; }
.chart-error { color: #b00020; padding: 20px; }
.table-wrap { overflow: auto; max-height: 640px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { position: sticky; top: 0; background: var(--card); cursor: pointer; user-select: none; }
th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 10px; }
th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 10px; }
tr.hi td { background: var(--hi); font-weight: 600; }
pre { overflow: auto; font-size: 12px; background: var(--bg); padding: 10px; border-radius: 4px; }
footer { padding: 0 28px 24px; font-size: 12px; }
`;

/**
 * The page's own script: draws every chart with the inlined ECharts (SVG renderer, so the drawing is
 * inspectable), fills and sorts the tables, and publishes `window.servesimReport` when done.
 */
const APP = `
(function () {
  var data = JSON.parse(document.getElementById("servesim-data").textContent);
  var charts = {}, errors = [];
  data.charts.forEach(function (c) {
    var el = document.getElementById(c.id);
    try {
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption(c.option);
      charts[c.id] = chart;
    } catch (e) {
      errors.push(c.id + ": " + e.message);
      el.innerHTML = '<div class="chart-error"></div>';
      el.firstChild.textContent = "This chart could not be drawn: " + e.message;
    }
  });
  window.addEventListener("resize", function () { for (var id in charts) charts[id].resize(); });

  function show(v, digits) {
    if (v === null || v === undefined) return "\\u2014";
    if (typeof v === "number") return digits === undefined || digits === null ? String(v) : v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    if (typeof v === "boolean") return v ? "yes" : "no";
    return String(v);
  }
  function compare(a, b) {
    var an = a === null || a === undefined, bn = b === null || b === undefined;
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), "en", { numeric: true });
  }
  data.tables.forEach(function (t) {
    var table = document.getElementById(t.id);
    var head = table.tHead.rows[0], body = table.tBodies[0];
    var rows = t.rows.map(function (r, i) { return { r: r, hi: (t.highlight || []).indexOf(i) >= 0 }; });
    var state = t.sortBy ? { key: t.sortBy.key, desc: t.sortBy.descending } : null;
    function draw() {
      if (state) {
        rows.sort(function (x, y) {
          var c = compare(x.r[state.key], y.r[state.key]);
          var nulls = x.r[state.key] === null || y.r[state.key] === null;
          return state.desc && !nulls ? -c : c;
        });
      }
      var html = "";
      rows.forEach(function (row) {
        html += row.hi ? '<tr class="hi">' : "<tr>";
        t.columns.forEach(function (c) { html += "<td>" + escapeText(show(row.r[c.key], c.digits)) + "</td>"; });
        html += "</tr>";
      });
      body.innerHTML = html;
      Array.prototype.forEach.call(head.cells, function (th, i) {
        var key = t.columns[i].key;
        th.setAttribute("aria-sort", state && state.key === key ? (state.desc ? "descending" : "ascending") : "none");
      });
    }
    Array.prototype.forEach.call(head.cells, function (th, i) {
      th.addEventListener("click", function () {
        var key = t.columns[i].key;
        state = state && state.key === key ? { key: key, desc: !state.desc } : { key: key, desc: false };
        draw();
      });
    });
    draw();
  });
  function escapeText(s) { return s.replace(/[&<>]/g, function (c) { return c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"; }); }

  window.servesimReport = { ready: true, charts: charts, errors: errors, data: data };
  document.documentElement.setAttribute("data-ready", errors.length ? "errors" : "true");
})();
`;

function blockHtml(b: Block, inGrid: boolean): string {
  const note = "note" in b && b.note ? `<p class="note">${escapeHtml(b.note)}</p>` : "";
  const cls = inGrid && b.kind === "chart" && !b.half ? "block full" : "block";
  switch (b.kind) {
    case "chart":
      return `<div class="${cls}"><h3>${escapeHtml(b.title)}</h3>${note}<div class="chart" id="${escapeHtml(b.id)}" style="height:${b.height ?? 360}px"></div></div>`;
    case "table": {
      const head = b.columns.map((c) => `<th scope="col">${escapeHtml(c.label)}</th>`).join("");
      return `<div class="${inGrid ? "block full" : "block"}"><h3>${escapeHtml(b.title)}</h3>${note}<div class="table-wrap"><table id="${escapeHtml(b.id)}"><thead><tr>${head}</tr></thead><tbody></tbody></table></div></div>`;
    }
    case "text": {
      const pre = `<pre>${escapeHtml(b.text)}</pre>`;
      const body = b.collapsed ? `<details><summary>${escapeHtml(b.title)}</summary>${pre}</details>` : `<h3>${escapeHtml(b.title)}</h3>${pre}`;
      return `<div class="${inGrid ? "block full" : "block"}">${body}</div>`;
    }
  }
}

/**
 * One self-contained HTML file: the markup, the inlined chart library, the data as JSON and the
 * script that draws it. Nothing is fetched when it is opened.
 */
export function renderPage(spec: PageSpec): string {
  const charts: { id: string; option: ChartOption }[] = [];
  const tables: Omit<TableBlock, "kind" | "title" | "note">[] = [];
  const ids = new Set<string>();
  for (const s of spec.sections) {
    for (const b of s.blocks) {
      if (b.kind === "text") continue;
      if (ids.has(b.id)) throw new Error(`duplicate block id ${b.id}`);
      ids.add(b.id);
      if (b.kind === "chart") charts.push({ id: b.id, option: b.option });
      else
        tables.push({
          id: b.id,
          columns: b.columns,
          rows: b.rows,
          ...(b.highlight ? { highlight: b.highlight } : {}),
          ...(b.sortBy ? { sortBy: b.sortBy } : {}),
        });
    }
  }
  const cards = spec.summary
    .map((c) => `<div class="card"><div class="label">${escapeHtml(c.label)}</div><div class="value">${escapeHtml(c.value)}</div></div>`)
    .join("");
  const sections = spec.sections
    .map((s) => {
      const halves = s.blocks.some((b) => b.kind === "chart" && b.half);
      const inner = s.blocks.map((b) => blockHtml(b, halves)).join("\n");
      return `<section><h2>${escapeHtml(s.title)}</h2>${halves ? `<div class="grid">${inner}</div>` : inner}</section>`;
    })
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="servesim">
<title>${escapeHtml(spec.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(spec.title)}</h1><div class="subtitle">${escapeHtml(spec.subtitle)}</div><div class="cards">${cards}</div></header>
<main>
${sections}
</main>
<footer>Generated by servesim (simulated, no GPU used). Charts drawn with ${escapeHtml(chartLibraryVersion())}, included in this file.</footer>
<script>${chartLibrarySource()}</script>
<script type="application/json" id="servesim-data">${scriptJson({ charts, tables })}</script>
<script>${APP}</script>
</body>
</html>
`;
}
