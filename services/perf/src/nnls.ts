/**
 * Non-negative least squares (Lawson–Hanson active set): minimize ‖A·x − b‖² subject to x ≥ 0.
 * A is row-major (rows × cols); small column counts only (dense normal equations).
 */
export function nnls(A: readonly number[][], b: readonly number[], maxIter = 500): number[] {
  const rows = A.length;
  const cols = rows > 0 ? A[0]!.length : 0;
  const x = new Array<number>(cols).fill(0);
  const passive = new Array<boolean>(cols).fill(false);
  const tol = 1e-12;

  const residual = (v: readonly number[]): number[] => {
    const r = new Array<number>(rows);
    for (let i = 0; i < rows; i++) {
      let s = b[i]!;
      for (let j = 0; j < cols; j++) s -= A[i]![j]! * v[j]!;
      r[i] = s;
    }
    return r;
  };
  const gradient = (r: readonly number[]): number[] => {
    const w = new Array<number>(cols).fill(0);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) w[j]! += A[i]![j]! * r[i]!;
    return w;
  };

  for (let iter = 0; iter < maxIter; iter++) {
    const w = gradient(residual(x));
    let best = -1;
    let bestW = tol;
    for (let j = 0; j < cols; j++) {
      if (!passive[j] && w[j]! > bestW) {
        bestW = w[j]!;
        best = j;
      }
    }
    if (best < 0) break;
    passive[best] = true;
    for (let inner = 0; inner < maxIter; inner++) {
      const z = leastSquaresOn(A, b, passive);
      let allPositive = true;
      for (let j = 0; j < cols; j++) if (passive[j] && z[j]! <= tol) allPositive = false;
      if (allPositive) {
        for (let j = 0; j < cols; j++) x[j] = passive[j] ? z[j]! : 0;
        break;
      }
      let alpha = Infinity;
      for (let j = 0; j < cols; j++) {
        if (passive[j] && z[j]! <= tol) {
          const a = x[j]! / (x[j]! - z[j]!);
          if (a < alpha) alpha = a;
        }
      }
      for (let j = 0; j < cols; j++) x[j] = x[j]! + alpha * (z[j]! - x[j]!);
      for (let j = 0; j < cols; j++) {
        if (passive[j] && Math.abs(x[j]!) <= tol) {
          passive[j] = false;
          x[j] = 0;
        }
      }
    }
  }
  return x;
}

/** Unconstrained least squares on the passive columns (normal equations, Gaussian elimination). */
function leastSquaresOn(A: readonly number[][], b: readonly number[], passive: readonly boolean[]): number[] {
  const cols = passive.length;
  const idx: number[] = [];
  for (let j = 0; j < cols; j++) if (passive[j]) idx.push(j);
  const n = idx.length;
  const M = Array.from({ length: n }, () => new Array<number>(n + 1).fill(0));
  for (const row of A.keys()) {
    const a = A[row]!;
    for (let p = 0; p < n; p++) {
      const ap = a[idx[p]!]!;
      if (ap === 0) continue;
      for (let q = 0; q < n; q++) M[p]![q]! += ap * a[idx[q]!]!;
      M[p]![n]! += ap * b[row]!;
    }
  }
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    const d = M[c]![c]!;
    if (Math.abs(d) < 1e-300) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / d;
      if (f === 0) continue;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const z = new Array<number>(cols).fill(0);
  for (let p = 0; p < n; p++) {
    const d = M[p]![p]!;
    z[idx[p]!] = Math.abs(d) < 1e-300 ? 0 : M[p]![n]! / d;
  }
  return z;
}
