/** A result chunk is also cut at about this many bytes (long outputs carry one time per token). */
export const MAX_CHUNK_BYTES = 1024 * 1024;

/**
 * Cuts `count` records into [start, end) chunks of at most `size` records and about `maxBytes`
 * (`bytesOf(i)` estimates record i; a record larger than maxBytes gets a chunk of its own).
 */
export function* chunkBounds(count: number, size: number, bytesOf: (i: number) => number, maxBytes = MAX_CHUNK_BYTES): Generator<[number, number]> {
  let start = 0;
  while (start < count) {
    let end = start;
    let bytes = 0;
    while (end < count && end - start < size && (end === start || bytes + bytesOf(end) <= maxBytes)) {
      bytes += bytesOf(end);
      end += 1;
    }
    yield [start, end];
    start = end;
  }
}
