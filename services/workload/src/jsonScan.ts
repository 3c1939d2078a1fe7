/**
 * Byte-level JSON scanning primitives for the fast paths of the dataset readers. They accept a subset of
 * JSON exactly as JSON.parse would read it and report anything else (escapes in keys, fractions, deep
 * nesting, malformed input) as "not handled", so the caller falls back to JSON.parse, which then gives the
 * same value or the same error as a reader without a fast path.
 */

/** Returned by the scanners when the input is outside the fast path. */
export const NOT_HANDLED = -1;

const MAX_DEPTH = 64;

/** Index of the first non-whitespace byte at or after `i` (JSON whitespace: space, tab, LF, CR). */
export function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return i;
    i++;
  }
  return i;
}

/**
 * Index just past a string whose opening quote is at `i`, or NOT_HANDLED. Raw control characters are
 * invalid JSON; escapes are checked for their form.
 */
export function skipString(b: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = b[i]!;
    if (c === 34) return i + 1;
    if (c < 32) return NOT_HANDLED;
    if (c === 92) {
      const d = b[i + 1];
      if (d === 117) {
        for (let k = 2; k < 6; k++) {
          const h = b[i + k];
          if (h === undefined || i + k >= end || !((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) return NOT_HANDLED;
        }
        i += 6;
        continue;
      }
      if (d === 34 || d === 92 || d === 47 || d === 98 || d === 102 || d === 110 || d === 114 || d === 116) {
        i += 2;
        continue;
      }
      return NOT_HANDLED;
    }
    i++;
  }
  return NOT_HANDLED;
}

/** Index just past a JSON number starting at `i` (full grammar), or NOT_HANDLED. */
export function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (b[i] === 45) i++;
  if (i >= end) return NOT_HANDLED;
  if (b[i] === 48) i++;
  else if (b[i]! >= 49 && b[i]! <= 57) while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
  else return NOT_HANDLED;
  if (i < end && b[i] === 46) {
    i++;
    const s = i;
    while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === s) return NOT_HANDLED;
  }
  if (i < end && (b[i] === 101 || b[i] === 69)) {
    i++;
    if (i < end && (b[i] === 43 || b[i] === 45)) i++;
    const s = i;
    while (i < end && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === s) return NOT_HANDLED;
  }
  return i;
}

function literal(b: Uint8Array, i: number, end: number, word: string): number {
  if (i + word.length > end) return NOT_HANDLED;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return NOT_HANDLED;
  return i + word.length;
}

/** Index just past any JSON value starting at `i` (validated), or NOT_HANDLED. */
export function skipValue(b: Uint8Array, i: number, end: number, depth = 0): number {
  if (i >= end) return NOT_HANDLED;
  const c = b[i]!;
  if (c === 34) return skipString(b, i, end);
  if (c === 45 || (c >= 48 && c <= 57)) return skipNumber(b, i, end);
  if (c === 116) return literal(b, i, end, "true");
  if (c === 102) return literal(b, i, end, "false");
  if (c === 110) return literal(b, i, end, "null");
  if (depth >= MAX_DEPTH) return NOT_HANDLED;
  if (c === 91) {
    i = skipWs(b, i + 1, end);
    if (b[i] === 93) return i + 1;
    for (;;) {
      i = skipValue(b, i, end, depth + 1);
      if (i < 0) return NOT_HANDLED;
      i = skipWs(b, i, end);
      if (b[i] === 93) return i + 1;
      if (b[i] !== 44) return NOT_HANDLED;
      i = skipWs(b, i + 1, end);
    }
  }
  if (c === 123) {
    i = skipWs(b, i + 1, end);
    if (b[i] === 125) return i + 1;
    for (;;) {
      if (b[i] !== 34) return NOT_HANDLED;
      i = skipString(b, i, end);
      if (i < 0) return NOT_HANDLED;
      i = skipWs(b, i, end);
      if (b[i] !== 58) return NOT_HANDLED;
      i = skipValue(b, skipWs(b, i + 1, end), end, depth + 1);
      if (i < 0) return NOT_HANDLED;
      i = skipWs(b, i, end);
      if (b[i] === 125) return i + 1;
      if (b[i] !== 44) return NOT_HANDLED;
      i = skipWs(b, i + 1, end);
    }
  }
  return NOT_HANDLED;
}

/**
 * A non-negative integer literal of at most 15 digits at `i` (no sign, fraction or exponent; no leading
 * zero), as `[value, index after]` packed in `out`; NOT_HANDLED otherwise.
 */
export function scanUint(b: Uint8Array, i: number, end: number, out: { value: number }): number {
  const s = i;
  let v = 0;
  while (i < end) {
    const c = b[i]! - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    i++;
  }
  const n = i - s;
  if (n === 0 || n > 15 || (n > 1 && b[s] === 48)) return NOT_HANDLED;
  if (i < end) {
    const c = b[i]!;
    if (c === 46 || c === 101 || c === 69) return NOT_HANDLED;
  }
  out.value = v;
  return i;
}

/** True when bytes [i, i + key.length) equal the ASCII `key` and the next byte is the closing quote. */
export function keyIs(b: Uint8Array, i: number, keyEnd: number, key: string): boolean {
  if (keyEnd - i !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (b[i + k] !== key.charCodeAt(k)) return false;
  return true;
}
