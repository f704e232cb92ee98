// What the figures were measured on: the machine and the versions of everything in the path.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import { REPO_ROOT } from './services.mjs';

export function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    note: 'one machine carries Kafka, Redis, PostgreSQL, the services and the load generator',
  };
}

export const loadAverage = () => os.loadavg().map((n) => Math.round(n * 100) / 100);

export async function versions(servers) {
  const pom = readFileSync(new URL('infra/kafka/pom.xml', `file://${REPO_ROOT}`), 'utf8');
  const kafka = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1] ?? 'unknown';
  const client = new pg.Client({ connectionString: servers.databaseUrl });
  await client.connect();
  let postgresql;
  try {
    postgresql = (await client.query('SHOW server_version')).rows[0].server_version;
  } finally {
    await client.end();
  }
  const redis = new Redis(servers.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  let redisVersion;
  try {
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
  // The versions the services actually load: resolved from their own workspaces.
  const fromGateway = createRequire(`${REPO_ROOT}services/gateway/package.json`);
  const fromKafkaLib = createRequire(`${REPO_ROOT}libs/kafka/package.json`);
  const versionOf = (require, name) =>
    JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  return {
    node: process.version,
    kafka,
    postgresql,
    redis: redisVersion,
    fastify: versionOf(fromGateway, 'fastify'),
    ioredis: versionOf(fromGateway, 'ioredis'),
    ws: versionOf(fromGateway, 'ws'),
    kafkajs: versionOf(fromKafkaLib, 'kafkajs'),
  };
}

/**
 * Who the servers are right now: a different answer after a scenario means one of them restarted under it
 * (other suites on a shared machine do that), and its figures are not to be trusted.
 */
export async function infrastructureIncarnation(servers) {
  const incarnation = {};
  try {
    const pid = readFileSync(new URL('infra/.run/kafka/kafka.pid', `file://${REPO_ROOT}`), 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    incarnation.kafka = `${pid}@${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    incarnation.kafka = 'unknown';
  }
  try {
    const redis = new Redis(servers.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    try {
      incarnation.redis = /run_id:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
    } finally {
      redis.disconnect();
    }
  } catch {
    incarnation.redis = 'unreachable';
  }
  try {
    const client = new pg.Client({ connectionString: servers.databaseUrl });
    await client.connect();
    try {
      incarnation.postgresql = String(
        (await client.query('SELECT pg_postmaster_start_time() AS t')).rows[0].t,
      );
    } finally {
      await client.end();
    }
  } catch {
    incarnation.postgresql = 'unreachable';
  }
  return incarnation;
}

export function restartedBetween(before, after) {
  return Object.keys(before).filter((server) => before[server] !== after[server]);
}
