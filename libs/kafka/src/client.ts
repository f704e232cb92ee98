// The one place a kafkajs instance is built; everything else in the project holds a KafkaClient.
import { Kafka, type RetryOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { createLogCreator, kafkajsLevelFor } from './log-bridge.js';
// Applied on import, before any connection exists (see the module).
import './request-queue-fix.js';

export interface KafkaRetryOptions {
  /** Attempts after the first one. */
  retries?: number;
  initialRetryTimeMs?: number;
  maxRetryTimeMs?: number;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** TCP connect timeout per broker; default 1000 ms. */
  connectionTimeoutMs?: number;
  /** Per request; default 5000 ms. Produce requests use the producer's own, shorter, budget. */
  requestTimeoutMs?: number;
  /** Retries of metadata, admin and consumer requests; low by default so an outage surfaces fast. */
  retry?: KafkaRetryOptions;
}

export interface KafkaClient {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

const DEFAULT_CONNECTION_TIMEOUT_MS = 1000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
const DEFAULT_RETRY: Required<KafkaRetryOptions> = {
  retries: 3,
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 1000,
};

interface ClientInternals {
  kafka: Kafka;
  options: KafkaClientOptions;
}

// The kafkajs instance stays private to this package: a client swap must not reach any service.
const internalsByClient = new WeakMap<KafkaClient, ClientInternals>();

export function toKafkajsRetry(retry: KafkaRetryOptions | undefined, fallback = DEFAULT_RETRY): RetryOptions {
  return {
    retries: retry?.retries ?? fallback.retries,
    initialRetryTime: retry?.initialRetryTimeMs ?? fallback.initialRetryTimeMs,
    maxRetryTime: retry?.maxRetryTimeMs ?? fallback.maxRetryTimeMs,
  };
}

function buildKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    brokers: [...options.brokers],
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    enforceRequestTimeout: true,
    retry: toKafkajsRetry(options.retry),
    logLevel: kafkajsLevelFor(options.logger),
    logCreator: createLogCreator(options.logger),
  });
}

export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  if (options.brokers.length === 0) throw new TypeError('createKafkaClient: brokers must not be empty');
  const client: KafkaClient = Object.freeze({
    brokers: Object.freeze([...options.brokers]),
    clientId: options.clientId,
    logger: options.logger,
    connectionTimeoutMs: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  });
  internalsByClient.set(client, { kafka: buildKafka(options), options });
  return client;
}

function internalsOf(client: KafkaClient): ClientInternals {
  const internals = internalsByClient.get(client);
  if (internals === undefined) throw new TypeError('Not a KafkaClient made by createKafkaClient');
  return internals;
}

/** For this package's modules only; not exported from the package. */
export function kafkaOf(client: KafkaClient): Kafka {
  return internalsOf(client).kafka;
}

/**
 * A kafkajs instance with other timeouts, for the producer whose budget is shorter than the one of
 * admin and consumer requests. Cheap: kafkajs opens connections per producer/consumer, not per instance.
 */
export function kafkaWith(
  client: KafkaClient,
  overrides: Partial<
    Pick<KafkaClientOptions, 'requestTimeoutMs' | 'connectionTimeoutMs' | 'retry' | 'logger'>
  >,
): Kafka {
  const { options } = internalsOf(client);
  return buildKafka({
    ...options,
    requestTimeoutMs: overrides.requestTimeoutMs ?? options.requestTimeoutMs,
    connectionTimeoutMs: overrides.connectionTimeoutMs ?? options.connectionTimeoutMs,
    retry: overrides.retry ?? options.retry,
    logger: overrides.logger ?? options.logger,
  });
}
