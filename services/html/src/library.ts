import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** The ECharts build inlined in every report: line, bar, scatter, grid, tooltip, legend, mark lines, data zoom, SVG renderer. */
const LIBRARY = "echarts/dist/echarts.common.min";

let cached: string | undefined;

/** ECharts' minified source, safe inside a `<script>` element (no `</script` in it). */
export function chartLibrarySource(): string {
  if (cached === undefined) {
    const text = readFileSync(require.resolve(LIBRARY), "utf8");
    // In JavaScript `<\/` is the same string or regex as `</`; in HTML it no longer ends the element.
    cached = text.replace(/<\/(script)/gi, "<\\/$1");
  }
  return cached;
}

/** The inlined library's name and version, shown in the report's footer. */
export function chartLibraryVersion(): string {
  // The package's exports map hides package.json; it sits two levels above the dist file.
  const pkg = JSON.parse(readFileSync(join(dirname(require.resolve(LIBRARY)), "..", "package.json"), "utf8")) as { version: string };
  return `Apache ECharts ${pkg.version}`;
}
