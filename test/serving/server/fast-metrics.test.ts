import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from '../../../src/serving/server/fast-metrics.js';

describe('fast metrics in a prom-client registry', () => {
  it('format histograms with cumulative buckets, +Inf, sum and count per child', async () => {
    const registry = new Registry();
    const histogram = new FastHistogram('t_seconds', 'test', [0.1, 1], registry);
    const a = histogram.child({ stage: 'a' });
    for (const v of [0.05, 0.1, 0.5, 3]) a.observe(v);
    histogram.child({ stage: 'b' }).observe(0.2);
    expect(histogram.child({ stage: 'a' })).toBe(a);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{stage="a",le="0.1"} 2');
    expect(text).toContain('t_seconds_bucket{stage="a",le="1"} 3');
    expect(text).toContain('t_seconds_bucket{stage="a",le="+Inf"} 4');
    expect(text).toContain('t_seconds_sum{stage="a"} 3.65');
    expect(text).toContain('t_seconds_count{stage="a"} 4');
    expect(text).toContain('t_seconds_bucket{stage="b",le="0.1"} 0');
    expect(text).toContain('t_seconds_bucket{stage="b",le="1"} 1');
  });

  it('format counters and keep one child per key', async () => {
    const registry = new Registry();
    const counter = new FastCounter('t_total', 'test', registry);
    counter.child({ status: '200' }, '200').inc();
    counter.child({ status: '200' }, '200').inc(2);
    counter.child({ status: '404' }, '404').inc();
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_total counter');
    expect(text).toContain('t_total{status="200"} 3');
    expect(text).toContain('t_total{status="404"} 1');
  });
});
