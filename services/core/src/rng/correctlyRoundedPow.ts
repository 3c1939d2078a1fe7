import { type DD, ddAdd, ddMul, LN2, logDD, neg, twoProd } from "./correctlyRoundedLog.js";

/**
 * x^y rounded correctly to the nearest double for finite x > 0 and finite y, via double-double
 * log and exp: what glibc's `pow` (which NumPy's gamma sampler calls on Linux) gives, where V8's
 * `Math.pow` is off by an ulp for some inputs.
 */
export function correctlyRoundedPow(x: number, y: number): number {
  if (!(x > 0) || !Number.isFinite(x) || !Number.isFinite(y)) return x ** y;
  if (x === 1 || y === 0) return 1;
  const l = logDD(x);
  if (l === null) return x ** y;
  return expDD(ddMul(l, [y, 0]));
}

/** Taylor coefficients 1/j! as double-doubles, j = 0..EXP_TERMS. */
const EXP_TERMS = 27;
const INV_FACTORIALS: DD[] = (() => {
  const out: DD[] = [[1, 0]];
  for (let j = 1; j <= EXP_TERMS; j++) {
    // (1/(j-1)!) / j in double-double: divide by an exact small integer.
    const prev = out[j - 1]!;
    const hi = prev[0] / j;
    const [p, e] = twoProd(hi, j);
    const lo = (prev[0] - p - e + prev[1]) / j;
    out.push([hi, lo]);
  }
  return out;
})();

/** e^a for a double-double a, rounded to a double. */
function expDD(a: DD): number {
  if (a[0] > 709.8) return Infinity;
  if (a[0] < -745.2) return 0;
  // a = k·ln2 + r, |r| <= ln2/2; e^r by its Taylor series (|r|^28/28! < 2^-110).
  const k = Math.round(a[0] / LN2[0]);
  const r = ddAdd(a, neg(ddAdd(twoProd(k, LN2[0]), [k * LN2[1], 0])));
  let p = INV_FACTORIALS[EXP_TERMS]!;
  for (let j = EXP_TERMS - 1; j >= 0; j--) p = ddAdd(ddMul(p, r), INV_FACTORIALS[j]!);
  // Scale by 2^k in two steps (2^k alone may overflow or underflow as a double); exact unless the
  // result is subnormal (then it may be off by an ulp: a gamma draw that small is 0 for every purpose).
  const k1 = Math.trunc(k / 2);
  const rounded = p[0] + p[1];
  return rounded * 2 ** k1 * 2 ** (k - k1);
}
