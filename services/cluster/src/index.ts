export { type ClusterDescription, clusterReportJson, clusterReportText, type PoolDescription } from "./clusterReport.js";
export {
  type ClusterArrivalPlan,
  type ClusterEngine,
  type ClusterPool,
  type ClusterResult,
  type ClusterRunOptions,
  ClusterSim,
  type ClusterSimInit,
  DEFAULT_DISAGG_FLOW,
  type DisaggFlow,
  type EngineStats,
  type KvTransferModel,
  type PoolRole,
  type PricingStats,
  type RequestStages,
} from "./clusterSim.js";
export { type KvLink, kvTransferMs, type LinkKind, type LinkOverrides, linkBetween, type Placement, placeWorkers, type SystemLinks } from "./kvTransfer.js";
export { createRouter, ROUTERS, type RouterChoice, resolveRouter, routerByName, routerNameList } from "./routers/registry.js";
export type { InstanceLoad, Router, RouterContext, RouterEntry, RoutingTarget } from "./routers/router.js";
