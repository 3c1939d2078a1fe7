import { describe, expect, it } from "vitest";
import { workerExecArgv, workerScriptUrl } from "../src/workerThread.js";

describe("worker threads (the scheduler's and the sweep's)", () => {
  it("start the compiled script: next to a compiled caller, in dist/ for a caller run from source", () => {
    expect(workerScriptUrl("file:///x/services/sweep/dist/pool.js", "worker.js").href).toBe("file:///x/services/sweep/dist/worker.js");
    expect(workerScriptUrl("file:///x/services/sweep/src/pool.ts", "worker.js").href).toBe("file:///x/services/sweep/dist/worker.js");
    expect(workerScriptUrl("file:///x/clients/cli/bundle/chunk-A.js", "worker.js").href).toBe("file:///x/clients/cli/bundle/worker.js");
  });

  it("get this process's Node flags without export conditions (a compiled worker imports compiled packages)", () => {
    expect(workerExecArgv(["--conditions", "source", "--max-old-space-size=4096", "-C", "dev", "--conditions=source", "--enable-source-maps"])).toEqual([
      "--max-old-space-size=4096",
      "--enable-source-maps",
    ]);
    expect(workerExecArgv([])).toEqual([]);
  });
});
