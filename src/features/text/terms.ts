/**
 * Term → id hash table looked up by a range of a string, so an n-gram is never built as a string unless
 * it is new. A JavaScript Map would need the substring (an allocation per n-gram) and its hash; here the
 * hash is computed over the range, a probe reads one 8-byte slot, and the term's characters are
 * compared in one code-unit pool: about twice as fast as a Map on char n-grams.
 */
export class TermIndex {
  /** Slot k: [hash, id + 1], id + 1 = 0 for an empty slot. */
  private slots = new Int32Array(2 * 1024);
  private mask = 1023;
  /** Term id's code units are pool[offsets[id] .. offsets[id + 1]). */
  private pool = new Uint16Array(8192);
  private offsets = new Int32Array(1025);
  private readonly strings: string[] = [];

  /** Terms by id, in insertion order. */
  get terms(): readonly string[] {
    return this.strings;
  }

  get size(): number {
    return this.strings.length;
  }

  /** Id of `text.slice(start, end)`, or -1. */
  get(text: string, start: number, end: number): number {
    const hash = hashRange(text, start, end);
    const { slots, pool, offsets, mask } = this;
    for (let k = hash & mask; ; k = (k + 1) & mask) {
      const id = slots[2 * k + 1] - 1;
      if (id < 0) return -1;
      if (slots[2 * k] !== hash) continue;
      const from = offsets[id];
      if (offsets[id + 1] - from !== end - start) continue;
      const shift = from - start;
      let i = start;
      while (i < end && pool[shift + i] === text.charCodeAt(i)) i++;
      if (i === end) return id;
    }
  }

  /** Id of `text.slice(start, end)`, added with the next id if new. */
  add(text: string, start: number, end: number): number {
    const found = this.get(text, start, end);
    if (found >= 0) return found;
    const id = this.strings.length;
    const from = this.offsets[id];
    const to = from + end - start;
    if (to > this.pool.length) this.pool = grown(this.pool, to);
    if (id + 2 > this.offsets.length) this.offsets = grown(this.offsets, id + 2);
    for (let i = start; i < end; i++) this.pool[from + i - start] = text.charCodeAt(i);
    this.offsets[id + 1] = to;
    this.strings.push(text.slice(start, end));
    // At most half full, so probe runs stay short.
    if (2 * (id + 1) > this.mask + 1) this.rehash(2 * (this.mask + 1));
    this.place(hashRange(text, start, end), id);
    return id;
  }

  private place(hash: number, id: number): void {
    let k = hash & this.mask;
    while (this.slots[2 * k + 1] !== 0) k = (k + 1) & this.mask;
    this.slots[2 * k] = hash;
    this.slots[2 * k + 1] = id + 1;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(2 * size);
    this.mask = size - 1;
    for (let at = 0; at < old.length; at += 2) if (old[at + 1] !== 0) this.place(old[at], old[at + 1] - 1);
  }
}

function grown<A extends Uint16Array | Int32Array>(array: A, needed: number): A {
  const bigger = new (array.constructor as new (length: number) => A)(Math.max(2 * array.length, needed));
  bigger.set(array);
  return bigger;
}

/** FNV-1a over UTF-16 code units. */
function hashRange(text: string, start: number, end: number): number {
  let hash = -2128831035;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash;
}
