import { makeBatch } from "@servesim/core";
import { createPredictor } from "@servesim/perf";
import { constantConfig, holdingBuilder, localTimes, rooflineConfig, sampleBatches, startPredictor, type TestPredictor } from "@servesim/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { PredictorChannels, RemotePredictor } from "../src/remotePredictor.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(opts: Parameters<typeof startPredictor>[0] = {}): Promise<TestPredictor> {
  const s = await startPredictor(opts);
  cleanups.push(() => s.kill());
  return s;
}

async function predictAll(p: RemotePredictor, batches = sampleBatches()): Promise<number[]> {
  const out: number[] = [];
  for (const b of batches) out.push(await p.predict(b));
  return out;
}

describe("RemotePredictor", () => {
  it("prices engine batches over one PredictStream like the local predictor, and closes it cleanly", async () => {
    const s = await server();
    const config = rooflineConfig();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${s.port}`, config });
    expect(p.description).toMatch(/^roofline \(/);
    expect(await predictAll(p)).toEqual(await localTimes(config, sampleBatches()));
    await p.close();
    expect(s.streams()).toBe(1);
    const closed = s.logs.find((l) => l["msg"] === "stream closed");
    expect(closed).toMatchObject({ outcome: "completed", answered: 4 });
    await expect(p.predict(sampleBatches()[0]!)).rejects.toMatchObject({ codeName: "FAILED_PRECONDITION" });
  });

  it("a bad config fails at connect with INVALID_ARGUMENT naming the field", async () => {
    const s = await server();
    await expect(RemotePredictor.connect({ address: `127.0.0.1:${s.port}`, config: constantConfig({ constantDecodeTimeMs: 0 }) })).rejects.toMatchObject({
      codeName: "INVALID_ARGUMENT",
      field: "config.constant_decode_time_ms",
    });
  });

  it("pipelines: many batches in flight on one stream, answered in order with the local predictor's times", async () => {
    const s = await server();
    const config = rooflineConfig();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${s.port}`, config, maxInFlight: 16 });
    expect(p.maxInFlight).toBe(16);
    const batches = [...sampleBatches(), ...sampleBatches(), ...sampleBatches()];
    const answers = batches.map((b) => p.predict(b));
    expect(p.outstanding).toBe(12);
    expect(await Promise.all(answers)).toEqual(await localTimes(config, batches));
    expect(p.outstanding).toBe(0);
    await p.close();
    expect(s.streams()).toBe(1);
  });

  it("refuses more than maxInFlight unanswered predictions", async () => {
    const s = await server();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${s.port}`, config: constantConfig(), maxInFlight: 1 });
    const [a, b] = sampleBatches();
    const first = p.predict(a!);
    await expect(p.predict(b!)).rejects.toMatchObject({ codeName: "FAILED_PRECONDITION" });
    expect(await first).toBe(10);
    expect(await p.predict(b!)).toBe(10);
    await p.close();
  });

  it("counts a decode run longer than one message as one prediction (5 messages, maxInFlight 2)", async () => {
    const s = await server();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${s.port}`, config: constantConfig(), maxInFlight: 2 });
    const steps = 4 * 65536 + 7;
    const run = p.predictDecodeRun(Int32Array.from([100]), 1, steps);
    const batch = p.predict(sampleBatches()[0]!);
    const times = await run;
    expect(times).toHaveLength(steps);
    expect(times[steps - 1]).toBe(5);
    expect(await batch).toBe(10);
    await p.close();
  });

  it("prices decode runs with DecodeRun messages: one time per step, as the local predictor prices each step", async () => {
    const s = await server();
    const config = rooflineConfig();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${s.port}`, config });
    const past = Int32Array.from([700, 31, 4000, 1024, 5]);
    const [run, batch] = await Promise.all([p.predictDecodeRun(past, 4, 50), p.predict(sampleBatches()[2]!)]);
    const local = await createPredictor(config);
    const expected = Array.from({ length: 50 }, (_, i) =>
      local.predict(makeBatch(Array.from({ length: 4 }, (_, j) => ({ context: false, inputLength: 1, pastKvLength: past[j]! + i })))),
    );
    expect(run).toEqual(expected);
    expect(batch).toEqual((await localTimes(config, [sampleBatches()[2]!]))[0]);
    await p.close();
  });

  it("reconnects after the predictor is killed mid-batch and restarted on the same port: same times", async () => {
    const hold = holdingBuilder(2);
    const first = await startPredictor({ build: hold.build });
    const reconnects: string[] = [];
    const config = rooflineConfig();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${first.port}`, config, retries: 10, onReconnect: (e) => reconnects.push(e.error.codeName) });
    cleanups.push(() => p.close());
    const batches = sampleBatches();
    const times = [await p.predict(batches[0]!)];
    const outstanding = p.predict(batches[1]!);
    await hold.reached;
    await first.kill();
    hold.release();
    const second = await server({ port: first.port });
    times.push(await outstanding);
    times.push(...(await predictAll(p, batches.slice(2))));
    expect(times).toEqual(await localTimes(config, batches));
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(second.streams()).toBe(1);
  });

  it("reconnects with several messages in flight: every unanswered one is resent in order, same times", async () => {
    const hold = holdingBuilder(3);
    const first = await startPredictor({ build: hold.build });
    const reconnects: string[] = [];
    const config = rooflineConfig();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${first.port}`, config, retries: 10, onReconnect: (e) => reconnects.push(e.error.codeName) });
    cleanups.push(() => p.close());
    const batches = [...sampleBatches(), ...sampleBatches()];
    const answers = batches.map((b) => p.predict(b));
    await hold.reached;
    await first.kill();
    hold.release();
    const second = await server({ port: first.port });
    expect(await Promise.all(answers)).toEqual(await localTimes(config, batches));
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(second.streams()).toBe(1);
  });

  it("gives up with UNAVAILABLE once the retries are spent", async () => {
    const s = await startPredictor();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${s.port}`, config: constantConfig(), retries: 2 });
    await s.kill();
    await expect(p.predict(sampleBatches()[0]!)).rejects.toMatchObject({ codeName: "UNAVAILABLE" });
    await p.close();
  });

  it("aborting the signal fails the outstanding batch with CANCELLED at once", async () => {
    const hold = holdingBuilder(1);
    const s = await server({ build: hold.build });
    cleanups.push(() => hold.release());
    const controller = new AbortController();
    const p = await RemotePredictor.connect({ address: `127.0.0.1:${s.port}`, config: constantConfig(), signal: controller.signal });
    const pending = p.predict(sampleBatches()[0]!);
    await hold.reached;
    controller.abort(new Error("job cancelled"));
    await expect(pending).rejects.toMatchObject({ codeName: "CANCELLED", details: "prediction cancelled: job cancelled" });
    await expect(p.predict(sampleBatches()[0]!)).rejects.toMatchObject({ codeName: "CANCELLED" });
    await p.close();
  });

  it("a comma list of IP replicas: one channel, streams take round_robin turns (not disturbed by the unary calls between them)", async () => {
    const replicas = [await server(), await server()];
    const client = new PredictorChannels({ address: replicas.map((r) => `127.0.0.1:${r.port}`).join(",") });
    cleanups.push(() => client.close());
    for (let i = 0; i < 6; i++) {
      // open() makes a DescribePredictor call before every stream.
      const p = await client.open(constantConfig());
      expect(await p.predict(sampleBatches()[2]!)).toBe(5);
      await p.close();
    }
    expect(replicas[0]!.streams() + replicas[1]!.streams()).toBe(6);
    expect(Math.min(replicas[0]!.streams(), replicas[1]!.streams())).toBeGreaterThanOrEqual(2);
  });

  it("a list naming hosts: one channel per replica, streams rotate, a reconnect moves to the next replica", async () => {
    const replicas = [await server(), await server()];
    const client = new PredictorChannels({ address: replicas.map((r) => `localhost:${r.port}`).join(","), retries: 6 });
    cleanups.push(() => client.close());
    const a = await client.open(constantConfig());
    const b = await client.open(constantConfig());
    expect(await a.predict(sampleBatches()[0]!)).toBe(10);
    expect(await b.predict(sampleBatches()[0]!)).toBe(10);
    expect(replicas.map((r) => r.streams())).toEqual([1, 1]);
    await replicas[0]!.kill();
    // a's replica is gone: its next batch reconnects to the other one.
    expect(await a.predict(sampleBatches()[2]!)).toBe(5);
    expect(replicas[1]!.streams()).toBe(2);
    await a.close();
    await b.close();
  });

  it("dns:///host:port targets resolve and balance like any other", async () => {
    const s = await server();
    const p = await RemotePredictor.connect({ address: `dns:///127.0.0.1:${s.port}`, config: constantConfig() });
    expect(await p.predict(sampleBatches()[1]!)).toBe(10);
    await p.close();
  });
});
