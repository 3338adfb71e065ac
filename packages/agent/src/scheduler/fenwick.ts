/**
 * A Fenwick (binary indexed) tree of weights over list positions, for twos: the kernel walks the whole list
 * subtracting weights until a random number is used up (ip_vs_twos.c), which is the first position whose
 * running weight total reaches that number. `lowerBound` finds the same position in O(log n).
 */
export class Fenwick {
  private n = 0;
  private tree = new Float64Array(1);
  private value = new Float64Array(0);
  private top = 1;
  total = 0;

  reset(values: ArrayLike<number>): void {
    const n = values.length;
    this.n = n;
    this.tree = new Float64Array(n + 1);
    this.value = Float64Array.from(values);
    this.total = 0;
    for (let i = 1; i <= n; i++) {
      const v = this.value[i - 1]!;
      this.total += v;
      this.tree[i]! += v;
      const parent = i + (i & -i);
      if (parent <= n) this.tree[parent]! += this.tree[i]!;
    }
    let top = 1;
    while (top * 2 <= n) top *= 2;
    this.top = top;
  }

  set(i: number, v: number): void {
    const delta = v - this.value[i]!;
    if (delta === 0) return;
    this.value[i] = v;
    this.total += delta;
    for (let k = i + 1; k <= this.n; k += k & -k) this.tree[k]! += delta;
  }

  /** The first position whose inclusive prefix sum is ≥ target (target ≥ 1, ≤ total); -1 if none. */
  lowerBound(target: number): number {
    if (target > this.total || this.n === 0) return -1;
    let pos = 0;
    let rest = target;
    for (let step = this.top; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.n && this.tree[next]! < rest) {
        pos = next;
        rest -= this.tree[next]!;
      }
    }
    return pos;
  }
}
