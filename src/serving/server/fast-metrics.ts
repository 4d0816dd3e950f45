/**
 * Counters and histograms for the request path, formatted by a prom-client `Registry`. prom-client's
 * own labelled children validate and hash their labels on every observation; these resolve a child
 * once (by a caller-held reference or a string key) and then observe with a bucket search and two
 * additions, which matters at thousands of requests per second.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

abstract class FastMetric<C> {
  readonly aggregator = 'sum';
  private readonly children = new Map<string, { labels: Labels; child: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    // prom-client formats any registered object that has a name, help, type and get().
    registry.registerMetric(this as never);
  }

  abstract readonly type: 'counter' | 'histogram';
  protected abstract create(): C;
  protected abstract values(labels: Labels, child: C): MetricValue[];

  /** The child for these label values; `key` must identify them (e.g. the values joined). */
  child(labels: Labels, key = JSON.stringify(labels)): C {
    let entry = this.children.get(key);
    if (!entry) {
      entry = { labels, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  async get() {
    const values: MetricValue[] = [];
    for (const { labels, child } of this.children.values()) values.push(...this.values(labels, child));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class FastCounter extends FastMetric<CounterChild> {
  readonly type = 'counter';

  protected create(): CounterChild {
    return new CounterChild();
  }

  protected values(labels: Labels, child: CounterChild): MetricValue[] {
    return [{ labels, value: child.value }];
  }
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    if (i < bounds.length) this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class FastHistogram extends FastMetric<HistogramChild> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, registry);
  }

  protected create(): HistogramChild {
    return new HistogramChild(this.buckets);
  }

  /** Cumulative buckets with `le`, then +Inf, sum and count, as Prometheus expects. */
  protected values(labels: Labels, child: HistogramChild): MetricValue[] {
    const values: MetricValue[] = [];
    let cumulative = 0;
    this.buckets.forEach((bound, i) => {
      cumulative += child.counts[i];
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: child.count });
    values.push({ metricName: `${this.name}_sum`, labels, value: child.sum });
    values.push({ metricName: `${this.name}_count`, labels, value: child.count });
    return values;
  }
}
