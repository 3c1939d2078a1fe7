export * from "./clientHelpers.js";
export * from "./engineHelpers.js";
export * from "./engineProperties.js";
export * from "./exactPredictor.js";
export * from "./grpcClients.js";
export * from "./perfHelpers.js";
export * from "./testPredictor.js";
export * from "./wireBatches.js";
