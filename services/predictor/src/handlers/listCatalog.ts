import { listCatalog as list } from "@servesim/perf";
import type { ListCatalogRequest, ListCatalogResponse, PredictorKind } from "@servesim/wire/predictor";
import type { PredictorDeps } from "../serviceDeps.js";

/** ListCatalog: the predictor kinds, models and GPUs, and the table sets of a database inside the data roots. */
export async function listCatalog(deps: PredictorDeps, kinds: Promise<PredictorKind[]>, req: ListCatalogRequest): Promise<ListCatalogResponse> {
  const databasePath = req.databasePath?.trim();
  const confined = databasePath ? await deps.roots.resolve("database_path", databasePath, "directory") : undefined;
  return list(await kinds, confined ? { databasePath: confined } : {});
}
