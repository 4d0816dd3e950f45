/**
 * Seeded pseudo-random numbers (xoshiro128**, seeded through splitmix32) so splits, searches and
 * bootstraps are reproducible from the run's seed alone.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * Uniform integer in [0, n) for n < 2^21 from one 32-bit draw, without bias (Lemire's multiply and
   * reject): half the cost of `int` where millions of draws are made (bootstrap resampling).
   */
  below(n: number): number {
    if (!(n >= 1 && n < 2_097_152 && Number.isInteger(n)))
      throw new Error(`below(n) needs an integer 1 <= n < 2^21, got ${n}`);
    let m = this.nextUint32() * n;
    let low = m % 4294967296;
    if (low < n) {
      const threshold = (4294967296 - n) % n;
      while (low < threshold) {
        m = this.nextUint32() * n;
        low = m % 4294967296;
      }
    }
    return Math.floor(m / 4294967296);
  }

  /**
   * Fills `out` with the draws `below(n)` would return one by one, with the generator's state in
   * locals: the bootstrap draws n per replicate, 20 million for 1,000 replicates of 20,000 rows.
   */
  fillBelow(n: number, out: Int32Array): void {
    if (!(n >= 1 && n < 2_097_152 && Number.isInteger(n)))
      throw new Error(`below(n) needs an integer 1 <= n < 2^21, got ${n}`);
    let { s0, s1, s2, s3 } = this;
    const threshold = (4294967296 - n) % n;
    for (let i = 0; i < out.length; i++) {
      let m: number;
      // Lemire's multiply and reject, as in below(): m < 2^53, so the product and its low word are exact.
      do {
        const x = Math.imul(s1, 5);
        const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        m = result * n;
      } while (m >>> 0 < threshold);
      out[i] = (m / 4294967296) | 0;
    }
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A child generator whose stream does not overlap this one's use (per fold, per trial). */
  fork(stream: number): Random {
    return new Random((this.nextUint32() ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
