import { describe, expect, it } from 'vitest';
import { uuid7 } from '../../src/util/uuid7.js';

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuid7', () => {
  it('is a version 7, variant 10 UUID carrying its millisecond timestamp', () => {
    for (const now of [0, 1, 2 ** 16 - 1, 2 ** 16, 1_795_000_000_123, 2 ** 48 - 1]) {
      const id = uuid7(now);
      expect(id).toMatch(FORMAT);
      expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(now);
    }
  });

  it('sorts by time across milliseconds and never repeats', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => uuid7(1_795_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 10; i < ids.length; i += 10) expect(ids[i - 1] < ids[i]).toBe(true);
    // More than one pool of random bytes was drawn: the ids stay unique past a refill.
    expect(new Set(ids.map((id) => id.slice(14))).size).toBe(ids.length);
  });
});
