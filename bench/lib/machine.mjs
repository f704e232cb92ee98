// What the figures were measured on: the machine and the versions of everything in the path.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const TICK_MICROS = 1e6 / 100; // /proc CPU times are in clock ticks of 10 ms (USER_HZ 100)

function processCpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
}

/**
 * What waking a process costs on this machine, the unit that every per-message cost of the system is
 * made of: the CPU (user + system) of one empty timer wake-up of this process, and of one 64-byte round
 * trip between two Node processes over loopback TCP (both ends summed), paced at 100 per second (each
 * message wakes an idle process) and back to back (the processes stay awake). On a virtual machine the
 * paced figures can be many times the back-to-back ones; the figures of a run are read against them.
 */
export async function wakeupCosts() {
  const timerWakeups = 500;
  const before = process.cpuUsage();
  for (let i = 0; i < timerWakeups; i++) await sleep(2);
  const timer = process.cpuUsage(before);

  const peer = spawn(process.execPath, [new URL('./echo-peer.mjs', import.meta.url).pathname], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise((resolve, reject) => {
      peer.once('error', reject);
      peer.stdout.once('data', (chunk) => resolve(Number(chunk.toString().trim())));
    });
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const message = Buffer.alloc(64, 1);
    const roundTrip = () =>
      new Promise((resolve) => {
        let received = 0;
        const onData = (chunk) => {
          received += chunk.length;
          if (received < message.length) return;
          socket.off('data', onData);
          resolve();
        };
        socket.on('data', onData);
        socket.write(message);
      });
    const measure = async (count, gapMs) => {
      const peerBefore = processCpuMicros(peer.pid);
      const selfBefore = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        await roundTrip();
        if (gapMs > 0) await sleep(gapMs);
      }
      const self = process.cpuUsage(selfBefore);
      return Math.round((self.user + self.system + processCpuMicros(peer.pid) - peerBefore) / count);
    };
    await measure(200, 0); // warm both ends up
    const paced = await measure(300, 10);
    const backToBack = await measure(5_000, 0);
    socket.destroy();
    return {
      timerWakeupMicros: Math.round((timer.user + timer.system) / timerWakeups),
      roundTripMicrosPaced100PerSecond: paced,
      roundTripMicrosBackToBack: backToBack,
      note: 'CPU of both processes per round trip; the paced figure includes the timer wake-up of the sender',
    };
  } finally {
    peer.stdin.end();
    peer.kill();
  }
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
