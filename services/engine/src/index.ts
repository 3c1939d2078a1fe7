export { Simulation, type SimulationInit } from "./simulation.js";
export { runSimulation, runSimulationSync, type RunOptions } from "./run.js";
export { SeededRandom } from "./random.js";
export * from "./simBatch.js";
export * from "./types.js";
