export * from "@servesim/core";
export { SeededRandom } from "./random.js";
export { type RunOptions, runSimulation, runSimulationSync } from "./run.js";
export { Simulation, type SimulationInit } from "./simulation.js";
export * from "./types.js";
