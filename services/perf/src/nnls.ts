import { createRequire } from "node:module";

// ml-matrix (about 150 kB of CommonJS) is loaded on the first fit, not when the package is imported:
// every run imports this module through the predictor registry, few runs fit anything, and loading
// it cost about a fifth of a command-line throughput run's start.
const loadPackage = createRequire(import.meta.url);
let mlMatrix: typeof import("ml-matrix") | undefined;
const linearAlgebra = (): typeof import("ml-matrix") => (mlMatrix ??= loadPackage("ml-matrix") as typeof import("ml-matrix"));

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
          const d = x[j]! - z[j]!;
          const a = d > 0 ? x[j]! / d : 0;
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

/**
 * Unconstrained least squares on the passive columns by singular value decomposition (ml-matrix): the
 * minimum-norm solution, singular values below max(rows, cols) · ε · σ_max treated as zero, so collinear
 * or empty columns give finite coefficients instead of the normal equations' blow-up.
 */
function leastSquaresOn(A: readonly number[][], b: readonly number[], passive: readonly boolean[]): number[] {
  const cols = passive.length;
  const idx: number[] = [];
  for (let j = 0; j < cols; j++) if (passive[j]) idx.push(j);
  const z = new Array<number>(cols).fill(0);
  if (idx.length === 0 || A.length === 0) return z;
  const { Matrix, SingularValueDecomposition } = linearAlgebra();
  const sub = new Matrix(A.map((row) => idx.map((j) => row[j]!)));
  const svd = new SingularValueDecomposition(sub, { autoTranspose: true });
  const sol = svd.solve(Matrix.columnVector([...b]));
  idx.forEach((j, p) => {
    const v = sol.get(p, 0);
    z[j] = Number.isFinite(v) ? v : 0;
  });
  return z;
}

/** Numerical rank of a matrix (singular values above max(rows, cols) · ε · σ_max). */
export function numericalRank(A: readonly number[][]): number {
  if (A.length === 0 || A[0]!.length === 0) return 0;
  const { Matrix, SingularValueDecomposition } = linearAlgebra();
  return new SingularValueDecomposition(new Matrix(A.map((r) => [...r])), { autoTranspose: true }).rank;
}
