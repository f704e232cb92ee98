// A Prometheus registry per process with the default Node metrics and a common prefix.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  counter<L extends string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram<L extends string>(
    name: string,
    help: string,
    labelNames?: readonly L[],
    buckets?: number[],
  ): Histogram<L>;
  /** Prometheus text exposition, for GET /metrics. */
  render(): Promise<string>;
  readonly contentType: string;
}

const PREFIX = 'buynow_';

export function createMetrics(service: string, options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  return {
    registry,
    counter: (name, help, labelNames = []) =>
      new Counter({ name: PREFIX + name, help, labelNames, registers: [registry] }),
    gauge: (name, help, labelNames = []) =>
      new Gauge({ name: PREFIX + name, help, labelNames, registers: [registry] }),
    histogram: (name, help, labelNames = [], buckets) =>
      new Histogram({
        name: PREFIX + name,
        help,
        labelNames,
        registers: [registry],
        ...(buckets ? { buckets } : {}),
      }),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/** What a consumer reports after each batch; matches the Kafka library's batch stats. */
export interface ConsumedBatchStats {
  topic: string;
  partition: number;
  records: number;
  deadLettered: number;
  durationMs: number;
  lag: number;
}

/**
 * The metrics every consumer shares: records handled and dead-lettered, batch size and time, and the
 * lag (records behind the high watermark) of each partition it owns, labelled by consumer group.
 * Register once per process; the returned function gives one observer per consumer group.
 */
export function createConsumerMetrics(
  metrics: Metrics,
): (group: string) => (stats: ConsumedBatchStats) => void {
  const records = metrics.counter('consumer_records_total', 'Records handled by a consumer', [
    'group',
    'topic',
  ]);
  const deadLettered = metrics.counter(
    'consumer_dead_letters_total',
    'Records sent to the dead-letter topic',
    ['group', 'topic'],
  );
  const batchRecords = metrics.histogram(
    'consumer_batch_records',
    'Records per consumed batch',
    ['group'],
    [1, 10, 50, 100, 250, 500, 1000, 5000],
  );
  const batchSeconds = metrics.histogram(
    'consumer_batch_seconds',
    'From fetch to commit of one batch',
    ['group'],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  );
  const lag = metrics.gauge('consumer_lag', 'Records behind the high watermark, per partition', [
    'group',
    'topic',
    'partition',
  ]);
  return (group) => (stats) => {
    records.inc({ group, topic: stats.topic }, stats.records);
    if (stats.deadLettered > 0) deadLettered.inc({ group, topic: stats.topic }, stats.deadLettered);
    batchRecords.observe({ group }, stats.records);
    batchSeconds.observe({ group }, stats.durationMs / 1000);
    lag.set({ group, topic: stats.topic, partition: String(stats.partition) }, stats.lag);
  };
}
