export { barChart, COLORS, type GuideLine, type LineSeries, lineChart, type ScatterSeries, scatterChart } from "./charts.js";
export { chartLibrarySource, chartLibraryVersion } from "./library.js";
export {
  type Block,
  type Cell,
  type ChartBlock,
  type ChartOption,
  type PageSpec,
  renderPage,
  scriptJson,
  type TableBlock,
  type TableColumn,
  type TextBlock,
} from "./page.js";
export { type PngChart, type PngOptions, renderChartPng, renderChartSvg } from "./png.js";
export { CDF_POINTS, ITERATION_BUCKETS, type RunHeader, type RunHtmlInput, renderRunHtml, runHeaderFromReportJson, runPageSpec } from "./runReport.js";
export { cdfPoints, minMaxDecimate, type Point } from "./series.js";
export { paretoChartOption, renderSweepHtml, type SweepHtmlInput, type SweepHtmlPoint, sweepFrontier, sweepPageSpec } from "./sweepReport.js";
