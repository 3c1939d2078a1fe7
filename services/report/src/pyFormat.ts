/**
 * Python number formatting for byte-compatible reports: `f"{x:.4f}"`, `f"{x:.4E}"`, `f"{x:9.2e}"`
 * and `repr(float)`. JavaScript's toFixed/toExponential round ties up; Python rounds the exact binary
 * value half-to-even, so we round the exact decimal expansion ourselves.
 */

/** Exact decimal expansion of a finite x ≥ 1e-9 as integer and fraction digit strings. */
function expansion(a: number): { int: string; frac: string } {
  if (a >= 1e21) return { int: BigInt(a).toString(), frac: "" };
  // toFixed(100) is exact for every double ≥ 2^-48 (at most 100 fractional binary-derived digits).
  const [int, frac] = a.toFixed(100).split(".") as [string, string];
  return { int, frac };
}

/** Rounds a digit string to `keep` digits, half to even; may return keep + 1 digits on carry. */
function roundDigits(digits: string, keep: number): string {
  if (digits.length <= keep) return digits.padEnd(keep, "0");
  const head = digits.slice(0, keep);
  const next = digits.charCodeAt(keep) - 48;
  let up = next > 5;
  if (next === 5) {
    const restNonZero = /[1-9]/.test(digits.slice(keep + 1));
    const lastOdd = keep > 0 && (head.charCodeAt(keep - 1) - 48) % 2 === 1;
    up = restNonZero || lastOdd;
  }
  if (!up) return head;
  const out = head.split("");
  let i = keep - 1;
  while (i >= 0 && out[i] === "9") out[i--] = "0";
  if (i < 0) return `1${out.join("")}`;
  out[i] = String.fromCharCode(out[i]!.charCodeAt(0) + 1);
  return out.join("");
}

const signOf = (x: number): string => (x < 0 || Object.is(x, -0) ? "-" : "");

function nonFinite(x: number, upper: boolean): string {
  const s = Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  return upper ? s.toUpperCase() : s;
}

/** Python `f"{x:.{digits}f}"`. */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return nonFinite(x, false);
  const a = Math.abs(x);
  if (a < 1e-9) return signOf(x) + a.toFixed(digits); // no ties possible this small
  const { int, frac } = expansion(a);
  const rounded = roundDigits(int + frac, int.length + digits);
  const intLen = rounded.length - digits;
  const intPart = rounded.slice(0, intLen).replace(/^0+(?=\d)/, "");
  return signOf(x) + (digits > 0 ? `${intPart}.${rounded.slice(intLen)}` : intPart);
}

/** Python `f"{x:.{digits}e}"` (or `E` with `upper`): exponent signed, at least two digits. */
export function formatExp(x: number, digits: number, upper = false): string {
  if (!Number.isFinite(x)) return nonFinite(x, upper);
  const a = Math.abs(x);
  let mantissa: string;
  let exp: number;
  if (a === 0) {
    mantissa = "0".repeat(digits + 1);
    exp = 0;
  } else if (a < 1e-9) {
    const [m, e] = a.toExponential(digits).split("e") as [string, string];
    mantissa = m.replace(".", "");
    exp = Number(e);
  } else {
    const { int, frac } = expansion(a);
    const all = int + frac;
    const first = all.search(/[1-9]/);
    exp = int.length - 1 - first;
    mantissa = roundDigits(all.slice(first), digits + 1);
    if (mantissa.length > digits + 1) {
      mantissa = mantissa.slice(0, digits + 1);
      exp += 1;
    }
  }
  const body = digits > 0 ? `${mantissa[0]}.${mantissa.slice(1)}` : mantissa;
  const expStr = `${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return `${signOf(x)}${body}${upper ? "E" : "e"}${expStr}`;
}

/** Python `repr(float(x))`: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
export function pyFloatRepr(x: number): string {
  if (!Number.isFinite(x)) return nonFinite(x, false);
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [m, e] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = m.replace(".", "");
  const decpt = Number(e) + 1;
  let body: string;
  if (decpt <= -4 || decpt > 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const exp = decpt - 1;
    body = `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (decpt <= 0) {
    body = `0.${"0".repeat(-decpt)}${digits}`;
  } else if (decpt >= digits.length) {
    body = `${digits}${"0".repeat(decpt - digits.length)}.0`;
  } else {
    body = `${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  return signOf(x) + body;
}
