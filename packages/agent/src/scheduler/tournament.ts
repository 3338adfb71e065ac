/**
 * A tournament (winner) tree over list positions that returns, in O(1), the same destination as the kernel's
 * linear least-load scan, and absorbs a counter change in O(log n).
 *
 * Every leaf holds a load as a fraction num/den (den > 0) and an eligibility bit. The kernel's scans
 * (ip_vs_wlc.c and its siblings) start with the first eligible destination and replace the current best only
 * when a later one is strictly less loaded, comparing `num_best * den_d > num_d * den_best`. Because that
 * comparison is an exact total preorder on fractions, the scan ends on the leftmost destination of least load.
 * Each node here keeps the winner of its range, its left child winning ties; the left child always covers lower
 * positions, so by induction the root is that same leftmost least-loaded destination. The comparison is the
 * kernel's cross multiplication, exact beyond 2^53 (load.ts), never a division.
 *
 * lc uses den = 1, wlc/lblc/lblcr overhead/weight, sed/nq (active+1)/weight; fo and ovf want the greatest weight
 * first, which is the least 1/weight.
 */
import { productLess } from "./load.js";

const MAX_EXACT = Number.MAX_SAFE_INTEGER;

export class Tournament {
  private size = 1;
  /**
   * Per node (1 = root, size + i = leaf i): the winning position (-1 where no eligible leaf is below) and its
   * load. Keeping the winner's load in the node, not only its position, lets a replay read its sibling at a
   * known address instead of chasing a position first: half the dependent loads on the hot path.
   */
  private win = new Int32Array(2).fill(-1);
  private num = new Float64Array(2);
  private den = new Float64Array(2).fill(1);

  /** Empties the tree for n positions (all ineligible); fill it with set(). */
  reset(n: number): void {
    let size = 1;
    while (size < n) size <<= 1;
    this.size = size;
    this.win = new Int32Array(2 * size).fill(-1);
    this.num = new Float64Array(2 * size);
    this.den = new Float64Array(2 * size).fill(1);
  }

  /** Changes one leaf and replays its path to the root, stopping where the outcome cannot change any more. */
  set(i: number, ok: boolean, num: number, den: number): void {
    const W = this.win;
    const N = this.num;
    const D = this.den;
    let k = this.size + i;
    let ci = ok ? i : -1;
    let cn = num;
    let cd = den;
    if (W[k] === ci && N[k] === cn && D[k] === cd) return;
    W[k] = ci;
    N[k] = cn;
    D[k] = cd;
    while (k > 1) {
      // Play the carried winner against the sibling's; the left one (lower positions) keeps ties.
      const s = k ^ 1;
      const si = W[s]!;
      if (si >= 0) {
        const sn = N[s]!;
        const sd = D[s]!;
        if (ci < 0) {
          ci = si;
          cn = sn;
          cd = sd;
        } else if (k & 1 ? !lessLoad(cn, cd, sn, sd) : lessLoad(sn, sd, cn, cd)) {
          ci = si;
          cn = sn;
          cd = sd;
        }
      }
      k >>= 1;
      const before = W[k]!;
      // Same winner, and not the leaf whose load changed: nothing above can change.
      if (ci === before && before !== i) return;
      W[k] = ci;
      N[k] = cn;
      D[k] = cd;
    }
  }

  /** The winning position, or -1 when no leaf is eligible. */
  top(): number {
    return this.win[1]!;
  }

  /** The load numerator last set for position i. */
  numAt(i: number): number {
    return this.num[this.size + i]!;
  }
}

/** a/b < c/d by cross multiplication, exact (load.ts); the common case inline. */
function lessLoad(a: number, b: number, c: number, d: number): boolean {
  const p = a * d;
  const q = c * b;
  if (p <= MAX_EXACT && q <= MAX_EXACT) return p < q;
  return productLess(a, d, c, b);
}
