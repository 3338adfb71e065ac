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
  /** tree[1] is the root; tree[size + i] is leaf i; -1 where no eligible leaf is below. */
  private tree = new Int32Array(2).fill(-1);
  private num = new Float64Array(0);
  private den = new Float64Array(0);
  private ok = new Uint8Array(0);

  /** Empties the tree for n positions (all ineligible); fill it with set(). */
  reset(n: number): void {
    let size = 1;
    while (size < n) size <<= 1;
    this.size = size;
    this.tree = new Int32Array(2 * size).fill(-1);
    this.num = new Float64Array(n);
    this.den = new Float64Array(n).fill(1);
    this.ok = new Uint8Array(n);
  }

  /** Changes one leaf and replays its path to the root, stopping where the outcome cannot change any more. */
  set(i: number, ok: boolean, num: number, den: number): void {
    const o = ok ? 1 : 0;
    const N = this.num;
    const D = this.den;
    if (this.ok[i] === o && N[i] === num && D[i] === den) return;
    this.ok[i] = o;
    N[i] = num;
    D[i] = den;
    const t = this.tree;
    let k = this.size + i;
    t[k] = o ? i : -1;
    while (k > 1) {
      // play() inlined: this loop is the cost of every counter change.
      const l = t[k & ~1]!;
      const r = t[k | 1]!;
      let w: number;
      if (l < 0) w = r;
      else if (r < 0) w = l;
      else {
        const p = N[r]! * D[l]!;
        const q = N[l]! * D[r]!;
        if (p <= MAX_EXACT && q <= MAX_EXACT) w = p < q ? r : l;
        else w = productLess(N[r]!, D[l]!, N[l]!, D[r]!) ? r : l;
      }
      k >>= 1;
      const before = t[k]!;
      // Same winner, and not the leaf whose load changed: nothing above can change.
      if (w === before && before !== i) return;
      t[k] = w;
    }
  }

  /** The winning position, or -1 when no leaf is eligible. */
  top(): number {
    return this.tree[1]!;
  }

  numAt(i: number): number {
    return this.num[i]!;
  }
}
