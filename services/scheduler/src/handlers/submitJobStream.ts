import type { ServerReadableStream } from "@grpc/grpc-js";
import { InvalidArgumentError } from "@servesim/core";
import { type CallContext, requestErrorOf } from "@servesim/server-common";
import type { SubmitJobStreamRequest, SubmitJobStreamResponse } from "@servesim/wire/scheduler";
import { StreamedDataset } from "../submissions.js";
import type { SchedulerDeps } from "./deps.js";

/**
 * The dataset chunks of a SubmitJobStream: every message after the first, each a dataset_chunk. Pulled
 * one at a time, so the transport's flow control holds the client back while the dataset is read.
 */
function datasetChunks(messages: AsyncIterator<SubmitJobStreamRequest>): AsyncIterator<Uint8Array> {
  let index = 0;
  return {
    async next() {
      for (;;) {
        const r = await messages.next();
        if (r.done) return { done: true, value: undefined };
        index++;
        const wireError = requestErrorOf(r.value);
        if (wireError) throw wireError;
        if (r.value.submit !== undefined)
          throw new InvalidArgumentError(`messages[${index}].submit`, "only the first message carries the job; the later ones carry dataset_chunk");
        const chunk = r.value.datasetChunk;
        if (chunk === undefined) throw new InvalidArgumentError(`messages[${index}]`, "expected a dataset_chunk");
        if (chunk.length > 0) return { done: false, value: chunk };
      }
    },
  };
}

/** SubmitJobStream: the job first, then its dataset's bytes, read as they arrive. */
export async function submitJobStream(
  deps: SchedulerDeps,
  call: ServerReadableStream<SubmitJobStreamRequest, SubmitJobStreamResponse>,
  ctx: CallContext,
): Promise<SubmitJobStreamResponse> {
  const messages = call[Symbol.asyncIterator]() as AsyncIterator<SubmitJobStreamRequest>;
  const first = await messages.next();
  const firstError = first.done ? undefined : requestErrorOf(first.value);
  if (firstError) throw firstError;
  if (first.done || first.value.submit === undefined) {
    throw new InvalidArgumentError("messages[0].submit", "the first message must carry the job (submit); the dataset's bytes follow as dataset_chunk messages");
  }
  const { spec, requestId } = first.value.submit;
  if (spec?.workload?.dataset?.streamed !== true) {
    throw new InvalidArgumentError(
      "spec.workload.dataset.streamed",
      "must be set: SubmitJobStream carries a dataset whose bytes follow the job (use SubmitJob otherwise)",
    );
  }
  const dataset = new StreamedDataset(datasetChunks(messages), deps.maxDatasetBytes);
  const job = await deps.manager.submit(spec, requestId, dataset, ctx.principal.tenant, ctx.principal.claims);
  ctx.logger.debug({ job: job.id, bytes: dataset.size }, "dataset received");
  return { job };
}
