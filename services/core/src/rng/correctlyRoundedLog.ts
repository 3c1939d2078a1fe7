/**
 * Natural logarithm rounded correctly to the nearest double, via double-double arithmetic.
 *
 * Why: NumPy's Gaussian calls C `log` (glibc, correctly rounded in practice) while V8's `Math.log`
 * is off by one ulp for about 1.5% of inputs, which would break bit-exact token-norm-dist lengths.
 */
/** A double-double: hi + lo with |lo| <= ulp(hi) / 2. */
export type DD = [number, number];

const SPLITTER = 134217729; // 2^27 + 1

export function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

export function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

export function twoProd(a: number, b: number): DD {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

export function ddAdd(a: DD, b: DD): DD {
  const [s, e] = twoSum(a[0], b[0]);
  const [t, f] = twoSum(a[1], b[1]);
  const [s1, e1] = quickTwoSum(s, e + t);
  return quickTwoSum(s1, e1 + f);
}

export function ddMul(a: DD, b: DD): DD {
  const [p, e] = twoProd(a[0], b[0]);
  return quickTwoSum(p, e + (a[0] * b[1] + a[1] * b[0]));
}

export function ddDiv(a: DD, b: DD): DD {
  const q1 = a[0] / b[0];
  let r = ddAdd(a, neg(ddMul(b, [q1, 0])));
  const q2 = r[0] / b[0];
  r = ddAdd(r, neg(ddMul(b, [q2, 0])));
  const q3 = r[0] / b[0];
  return ddAdd(quickTwoSum(q1, q2), [q3, 0]);
}

export const neg = (a: DD): DD => [-a[0], -a[1]];

export const LN2: DD = [Math.LN2, 2.3190468138462996e-17];
const SERIES_TERMS = 24;
/** 1/(2j+1) as double-doubles. */
const ODD_RECIPROCALS: DD[] = Array.from({ length: SERIES_TERMS + 1 }, (_, j) => {
  const d = 2 * j + 1;
  const hi = 1 / d;
  const [p, e] = twoProd(hi, d);
  return [hi, (1 - p - e) / d];
});

const view = new DataView(new ArrayBuffer(8));

/** log(x) for finite x > 0, correctly rounded (barring double-double ties, ~2^-100 likely). */
export function correctlyRoundedLog(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return Math.log(x);
  const r = logDD(x);
  return r === null ? Math.log(x) : r[0] + r[1];
}

/** log(x) as a double-double (about 100 correct bits) for finite normal x > 0; null for a subnormal. */
export function logDD(x: number): DD | null {
  view.setFloat64(0, x);
  let k = ((view.getUint32(0) >>> 20) & 0x7ff) - 1023;
  if (k === -1023) return null; // subnormal: never produced by the callers here
  let m = x * 2 ** -k; // exact, m in [1, 2)
  if (m > Math.SQRT2) {
    m /= 2;
    k += 1;
  }
  // log(m) = 2·atanh(s), s = (m − 1)/(m + 1), |s| < 0.172
  const s = ddDiv([m - 1, 0], twoSum(m, 1));
  const t = ddMul(s, s);
  let p = ODD_RECIPROCALS[SERIES_TERMS]!;
  for (let j = SERIES_TERMS - 1; j >= 0; j--) p = ddAdd(ddMul(p, t), ODD_RECIPROCALS[j]!);
  const logM = ddMul(ddMul(s, p), [2, 0]);
  const kLn2 = ddAdd(twoProd(k, LN2[0]), [k * LN2[1], 0]);
  return ddAdd(kLn2, logM);
}
