import type { ServerWritableStream } from "@grpc/grpc-js";
import type { CallContext } from "@servesim/server-common";
import type { Jobs } from "../jobs.js";

/** What the SchedulerService handlers share. */
export interface SchedulerDeps {
  manager: Jobs;
  /** Most jobs one ListJobs answer carries. */
  maxListJobs: number;
  /** Largest dataset one SubmitJobStream may upload (SERVESIM_MAX_DATASET_BYTES). */
  maxDatasetBytes: number;
}

/** Writes one message, waiting for the transport to drain when its buffer is full. */
export async function write<T>(call: ServerWritableStream<unknown, T>, ctx: CallContext, message: T): Promise<void> {
  if (!call.write(message)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        call.off("drain", done);
        ctx.signal.removeEventListener("abort", done);
        resolve();
      };
      call.on("drain", done);
      ctx.signal.addEventListener("abort", done);
    });
  }
  ctx.throwIfCancelled();
}
