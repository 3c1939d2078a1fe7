import { InvalidArgumentError } from "@servesim/core";

/** Longest line accepted (a 1M-token prompt as JSON ids is about 7 MiB). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Receives one line: bytes [start, end) of `buf` (without the newline or a trailing CR), 1-based `lineNo`. */
export type LineHandler = (buf: Uint8Array, start: number, end: number, lineNo: number) => void;

/**
 * Splits a byte stream into lines as chunks arrive. A line that lies inside one chunk is handed out in
 * place (no copy); only a line cut by a chunk boundary is assembled in a carry buffer. Memory is one chunk
 * plus the longest line, whatever the stream's size.
 */
export class LineSplitter {
  private carry: Uint8Array = Buffer.alloc(0);
  private carryLen = 0;
  private lineNo = 0;
  /** Set by the handler (through stop()) when later lines are not wanted. */
  private stopped = false;

  constructor(
    private readonly label: string,
    private readonly onLine: LineHandler,
  ) {}

  /** Lines seen so far. */
  get lines(): number {
    return this.lineNo;
  }

  get done(): boolean {
    return this.stopped;
  }

  /** No more lines are wanted: later chunks are ignored. */
  stop(): void {
    this.stopped = true;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    const n = chunk.length;
    while (start < n && !this.stopped) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        this.append(chunk, start, n);
        return;
      }
      if (this.carryLen > 0) {
        this.append(chunk, start, nl);
        const len = this.carryLen;
        this.carryLen = 0;
        this.emit(this.carry, 0, len);
      } else {
        this.emit(chunk, start, nl);
      }
      start = nl + 1;
    }
  }

  /** The last line (one without a final newline). */
  end(): void {
    if (this.stopped) return;
    if (this.carryLen > 0) {
      const len = this.carryLen;
      this.carryLen = 0;
      this.emit(this.carry, 0, len);
    }
  }

  private emit(buf: Uint8Array, start: number, end: number): void {
    this.lineNo++;
    this.onLine(buf, start, end > start && buf[end - 1] === 13 ? end - 1 : end, this.lineNo);
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    const len = end - start;
    if (len === 0) return;
    const need = this.carryLen + len;
    if (need > MAX_LINE_BYTES) {
      throw new InvalidArgumentError(`${this.label} line ${this.lineNo + 1}`, `line is longer than ${MAX_LINE_BYTES} bytes`);
    }
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.carry.length * 2, 4096));
      grown.set(this.carry.subarray(0, this.carryLen));
      this.carry = grown;
    }
    this.carry.set(chunk.subarray(start, end), this.carryLen);
    this.carryLen = need;
  }
}

/** A parser fed one line at a time that can say it wants no more lines. */
export interface LineReader<T> {
  addLineBytes(buf: Uint8Array, start: number, end: number): void;
  readonly full: boolean;
  finish(): T;
}

function splitterFor<T>(reader: LineReader<T>, label: string): LineSplitter {
  const lines = new LineSplitter(label, (buf, start, end) => {
    reader.addLineBytes(buf, start, end);
    if (reader.full) lines.stop();
  });
  return lines;
}

/** Feeds byte chunks to a reader line by line; stops reading once the reader is full. */
export function readLinesSync<T>(reader: LineReader<T>, label: string, chunks: Iterable<Uint8Array>): T {
  const lines = splitterFor(reader, label);
  for (const chunk of chunks) {
    lines.push(chunk);
    if (lines.done) break;
  }
  lines.end();
  return reader.finish();
}

/** As readLinesSync, from a stream: chunks after the reader is full are not read. */
export async function readLines<T>(reader: LineReader<T>, label: string, chunks: AsyncIterable<Uint8Array>): Promise<T> {
  const lines = splitterFor(reader, label);
  for await (const chunk of chunks) {
    lines.push(chunk);
    if (lines.done) break;
  }
  lines.end();
  return reader.finish();
}
