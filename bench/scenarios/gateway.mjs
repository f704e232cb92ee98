// gateway: accepted buy-now requests/s and latency through the whole gateway (JSON schema, the Redis Lua
// gate, the durable Kafka publish with acks=all) with reservation and stream processor running, against
// a bare Fastify route in a process of its own, in alternating phases of the same run. The load generator
// runs in a worker thread: a fixed number of keep-alive connections, each sending its next request as
// soon as the previous one is answered, for a fixed time.
import { randomUUID } from 'node:crypto';
import { startCpuSampling } from '../lib/cpu.mjs';
import { runLoad } from '../lib/load.mjs';
import { monotonicMicros } from '../lib/profile.mjs';
import { startService } from '../lib/services.mjs';
import { createSystem, freePort } from '../lib/system.mjs';
import { formatInt, formatMs, ratio, round, summary } from '../lib/stats.mjs';

export const title = 'gateway — accepted buy-now/s (durable publish on) vs a bare Fastify route';

export function configure({ quick, overrides }) {
  return {
    phaseSeconds: overrides.seconds ?? (quick ? 3 : 10),
    rounds: quick ? 1 : 2,
    warmUpSeconds: quick ? 1 : 3,
    connections: overrides.connections ?? 64,
    stock: 10_000_000,
    perBuyerLimit: 1,
    baseline:
      'bare Fastify app (same Fastify version, own process, default options): POST /items/:id/buy-now → 202 {"status":"pending"}, no work',
    alsoMeasured: 'GET /healthz of the gateway (near-bare route of the same process)',
    phaseOrder:
      'per round: bare Fastify, gateway buy-now, gateway /healthz; then once gateway buy-now with 4× the connections (reported, not in the ratio)',
  };
}

async function phase(label, { port, recipe, okStatuses, seconds, connections, progress, system }) {
  const cpu = startCpuSampling(system.namedPids());
  const startedUs = monotonicMicros();
  const result = await runLoad(
    {
      mode: 'closed',
      port,
      connections,
      durationMs: seconds * 1000,
      maxRequests: 10_000_000,
      recipe,
      okStatuses,
    },
    {
      boundMs: seconds * 1000,
      onProgress: (p) =>
        progress(`${label}: ${formatInt(p.ok)} ok, ${formatInt((p.ok * 1000) / p.elapsedMs)}/s so far`),
    },
  );
  return {
    ...result,
    window: [startedUs, monotonicMicros()],
    cpu: cpu.stop(),
    latencies: new Float64Array(result.buffers.latencies),
  };
}

const percent = (fraction) => (fraction === null ? '–' : `${(fraction * 100).toFixed(1)}%`);

function combine(phases) {
  const okCount = phases.reduce((n, p) => n + p.okCount, 0);
  const elapsedMs = phases.reduce((n, p) => n + p.elapsedMs, 0);
  const counts = {};
  for (const p of phases) for (const [k, v] of Object.entries(p.counts)) counts[k] = (counts[k] ?? 0) + v;
  const all = new Float64Array(okCount);
  let at = 0;
  for (const p of phases) {
    all.set(p.latencies, at);
    at += p.latencies.length;
  }
  const latency = summary(all);
  // CPU of every process over these phases: cores used on average, and CPU time per answered request.
  const cpuPhases = phases.filter((p) => p.cpu);
  const cpuSeconds = cpuPhases.reduce((n, p) => n + p.cpu.seconds, 0);
  const coreSeconds = {};
  for (const p of cpuPhases) {
    for (const [group, cores] of Object.entries(p.cpu.coresUsed)) {
      coreSeconds[group] = (coreSeconds[group] ?? 0) + cores * p.cpu.seconds;
    }
  }
  const cpu =
    cpuSeconds > 0
      ? {
          machineBusyPercent: round(
            cpuPhases.reduce((n, p) => n + p.cpu.machineBusyPercent * p.cpu.seconds, 0) / cpuSeconds,
            1,
          ),
          coresUsed: Object.fromEntries(
            Object.entries(coreSeconds).map(([g, cs]) => [g, round(cs / cpuSeconds, 2)]),
          ),
          cpuMicrosPerOkRequest: Object.fromEntries(
            Object.entries(coreSeconds).map(([g, cs]) => [g, round((cs * 1e6) / Math.max(1, okCount))]),
          ),
        }
      : null;
  return {
    okPerSecond: round((okCount * 1000) / elapsedMs),
    okCount,
    seconds: round(elapsedMs / 1000, 2),
    counts,
    latencyMs: { p50: latency.p50, p99: latency.p99, p999: latency.p999, max: latency.max },
    cpu,
    unexpected: phases.flatMap((p) => p.unexpected).slice(0, 5),
  };
}

export async function run({ quick, servers, progress, profileDir, overrides }) {
  const config = configure({ quick, overrides });
  const system = await createSystem({ name: 'gw', servers, profileDir: profileDir ?? undefined });
  let phases;
  try {
    progress('starting reservation, stream processor, gateway and a bare Fastify app');
    await Promise.all([system.startReservation(), system.startStreamProcessor()]);
    const { port } = await system.startGateway();
    const barePort = await freePort();
    system.services.push(await startService({ kind: 'bare-fastify', env: { PORT: String(barePort) } }));
    const itemId = `gw-${randomUUID().slice(0, 8)}`;
    await system.listItem({ itemId, stock: config.stock, perBuyerLimit: config.perBuyerLimit });
    const run = randomUUID().slice(0, 6);
    const buy = (tag) => ({ kind: 'buy', itemId, tag: `${run}-${tag}-` });
    const bare = { kind: 'post', path: `/items/${itemId}/buy-now`, body: { buyerId: 'someone' } };
    const healthz = { kind: 'get', path: '/healthz' };
    const common = { connections: config.connections, progress, system };

    progress(`warming up both for ${config.warmUpSeconds} s each (not measured)`);
    const warmUp = await phase('warm-up gateway', {
      ...common,
      port,
      recipe: buy('w'),
      okStatuses: [202],
      seconds: config.warmUpSeconds,
    });
    await phase('warm-up bare', {
      ...common,
      port: barePort,
      recipe: bare,
      okStatuses: [202],
      seconds: config.warmUpSeconds,
    });

    phases = { bare: [], gateway: [], healthz: [] };
    for (let round = 0; round < config.rounds; round++) {
      const r = `round ${round + 1}/${config.rounds}`;
      phases.bare.push(
        await phase(`${r} bare Fastify`, {
          ...common,
          port: barePort,
          recipe: bare,
          okStatuses: [202],
          seconds: config.phaseSeconds,
        }),
      );
      phases.gateway.push(
        await phase(`${r} gateway buy-now`, {
          ...common,
          port,
          recipe: buy(`r${round}`),
          okStatuses: [202],
          seconds: config.phaseSeconds,
        }),
      );
      phases.healthz.push(
        await phase(`${r} gateway /healthz`, {
          ...common,
          port,
          recipe: healthz,
          okStatuses: [200],
          seconds: config.phaseSeconds,
        }),
      );
    }
    // Not part of the ratio: the same load with four times the connections says whether the gateway is
    // bound by its latency (each request waits for the broker's acknowledgement) or by CPU.
    const wide = await phase(`gateway buy-now, ${config.connections * 4} connections`, {
      ...common,
      connections: config.connections * 4,
      port,
      recipe: buy('wide'),
      okStatuses: [202],
      seconds: config.phaseSeconds,
    });
    const gatewayWide = { connections: config.connections * 4, ...combine([wide]) };
    const gateway = combine(phases.gateway);
    const bareFastify = combine(phases.bare);
    const gatewayHealthz = combine(phases.healthz);

    // Did deciding keep pace? Time until SQL has sold every accepted unit (warm-up included).
    const accepted = warmUp.okCount + gateway.okCount + gatewayWide.okCount;
    const drainStarted = performance.now();
    let sold = 0;
    while (performance.now() - drainStarted < (quick ? 20_000 : 60_000)) {
      const { rows } = await system.pool.query('SELECT sold FROM items WHERE item_id = $1', [itemId]);
      sold = Number(rows[0]?.sold ?? 0);
      if (sold >= accepted) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const decidedBacklog = {
      acceptedIncludingWarmUp: accepted,
      soldInSql: sold,
      allDecidedAfterLoadMs: sold >= accepted ? Math.round(performance.now() - drainStarted) : null,
    };

    const gatewayVsBareFastify = ratio(gateway.okPerSecond, bareFastify.okPerSecond);
    const gatewayVsHealthz = ratio(gateway.okPerSecond, gatewayHealthz.okPerSecond);
    progress(
      `gateway ${formatInt(gateway.okPerSecond)} accepted/s (p99 ${formatMs(gateway.latencyMs.p99)}), ` +
        `bare Fastify ${formatInt(bareFastify.okPerSecond)}/s, /healthz ${formatInt(gatewayHealthz.okPerSecond)}/s ` +
        `→ ${gatewayVsBareFastify}`,
    );
    // CPU per accepted purchase during the measured buy-now phases: the gateway's own, and every process
    // of the system summed (not the load generator, the bare Fastify baseline or unrelated processes).
    const perAccepted = gateway.cpu?.cpuMicrosPerOkRequest ?? null;
    const cpu = perAccepted && {
      cpuMicrosPerAcceptedPurchaseTotal: Object.entries(perAccepted)
        .filter(([group]) => !['benchmark + load generator', 'bare-fastify'].includes(group))
        .filter(([group]) => !group.startsWith('other'))
        .reduce((sum, [, micros]) => sum + micros, 0),
      gatewayCpuMicrosPerAccepted: perAccepted.gateway ?? null,
    };
    // Only the measured buy-now phases: the profiles say where the time of an accepted purchase goes.
    const profiles = profileDir ? await system.profiles(phases.gateway.map((p) => p.window)) : null;
    return {
      config,
      gateway,
      bareFastify,
      gatewayHealthz,
      gatewayWithMoreConnections: gatewayWide,
      decidedBacklog,
      cpu,
      ...(profiles ? { profiles } : {}),
      ratios: { gatewayVsBareFastify, gatewayVsHealthz },
      targets: [
        {
          name: 'gateway ≥ 40% of bare Fastify',
          value: gatewayVsBareFastify,
          met: gatewayVsBareFastify >= 0.4,
        },
        {
          name: 'CPU per accepted purchase, every process of the system ≤ 200 µs',
          value: cpu?.cpuMicrosPerAcceptedPurchaseTotal ?? null,
          met: cpu ? cpu.cpuMicrosPerAcceptedPurchaseTotal <= 200 : null,
        },
        {
          name: 'gateway CPU per accepted purchase ≤ 60 µs',
          value: cpu?.gatewayCpuMicrosPerAccepted ?? null,
          met: cpu?.gatewayCpuMicrosPerAccepted == null ? null : cpu.gatewayCpuMicrosPerAccepted <= 60,
        },
      ],
      table: [
        {
          scenario: 'gateway',
          figure: `${formatInt(gateway.okPerSecond)} accepted/s, p50 ${formatMs(gateway.latencyMs.p50)} p99 ${formatMs(gateway.latencyMs.p99)} p99.9 ${formatMs(gateway.latencyMs.p999)}`,
          baseline: `bare Fastify ${formatInt(bareFastify.okPerSecond)}/s (p99 ${formatMs(bareFastify.latencyMs.p99)})`,
          ratio: `gatewayVsBareFastify ${gatewayVsBareFastify?.toFixed(3)} (${percent(gatewayVsBareFastify)})`,
          target: '≥ 0.40',
          met: gatewayVsBareFastify >= 0.4,
        },
        {
          scenario: '',
          figure: '',
          baseline: `gateway /healthz ${formatInt(gatewayHealthz.okPerSecond)}/s`,
          ratio: `gatewayVsHealthz ${gatewayVsHealthz?.toFixed(3)} (${percent(gatewayVsHealthz)})`,
        },
        {
          scenario: '',
          figure: `with ${gatewayWide.connections} connections: ${formatInt(gatewayWide.okPerSecond)} accepted/s, p99 ${formatMs(gatewayWide.latencyMs.p99)}`,
          ratio: `vs bare ${ratio(gatewayWide.okPerSecond, bareFastify.okPerSecond)?.toFixed(3)} (${percent(ratio(gatewayWide.okPerSecond, bareFastify.okPerSecond))})`,
        },
      ],
    };
  } finally {
    await system.stop();
  }
}
