// endToEnd: HTTP buy-now → BuyRequested → reservation (SQL) → ItemBought on item-events → stream
// processor → stock-views → gateway → WebSocket push, at a fixed request rate for a fixed time.
// Measured per accepted purchase: from the request's scheduled send to the receipt of the first WebSocket
// stock message whose version includes that sale (its item version, read from SQL purchases.item_version).
// Split at the SQL decision time (purchases.decided_at, the reservation's clock; same machine, same clock).
// Then a sweep of lower rates reports the highest rate whose end-to-end p99 stays within 100 ms.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpuMicrosPer, startCpuSampling } from '../lib/cpu.mjs';
import { runLoad } from '../lib/load.mjs';
import { monotonicMicros } from '../lib/profile.mjs';
import { createSystem } from '../lib/system.mjs';
import { formatInt, formatMs, round, summary } from '../lib/stats.mjs';

const requireFromGateway = createRequire(new URL('../../services/gateway/package.json', import.meta.url));
const { WebSocket } = requireFromGateway('ws');

export const title = 'endToEnd — HTTP request → ItemBought → WebSocket push, at a fixed rate';

const wallClock = () => performance.timeOrigin + performance.now();

export function configure({ quick, overrides }) {
  return {
    rate: overrides.rate ?? (quick ? 500 : 2_000),
    durationSeconds: quick ? 8 : 20,
    // Then lower rates, shorter, each on an item of its own: the highest whose p99 is ≤ 100 ms.
    sweep: {
      rates: overrides.rate ? [] : quick ? [250] : [250, 500, 1_000],
      durationSeconds: quick ? 5 : 10,
    },
    connections: 64,
    webSocketClients: 1,
    measuredFrom:
      'scheduled send of the HTTP request (open loop: a late send still counts from its schedule)',
    measuredTo: 'receipt of the first WebSocket stock message with version ≥ the sale’s item version',
  };
}

/** Opens /ws; resolves with the socket, or with null when the gateway has no such endpoint. */
function openWebSocket(port) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const timer = setTimeout(() => {
      socket.terminate();
      resolve(null);
    }, 5_000);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      response.resume();
      socket.terminate();
      resolve(null);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      if (/Unexpected server response/.test(error.message)) resolve(null);
      else reject(error);
    });
  });
}

/** For a version v: when the first message with version ≥ v arrived (versions may skip: views coalesce). */
function firstCovering(messages) {
  const byVersion = [...messages].sort((a, b) => a.version - b.version);
  const earliest = new Float64Array(byVersion.length);
  let min = Infinity;
  for (let i = byVersion.length - 1; i >= 0; i--) {
    min = Math.min(min, byVersion[i].at);
    earliest[i] = min;
  }
  return (version) => {
    let lo = 0;
    let hi = byVersion.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byVersion[mid].version >= version) hi = mid;
      else lo = mid + 1;
    }
    return lo < byVersion.length ? earliest[lo] : null;
  };
}

/**
 * One rate on a fresh item of the running system: the load, then (bounded) until every accepted sale is
 * decided and pushed; the end-to-end latencies and their split.
 */
async function measureRate({ system, port, measuring, rate, durationSeconds, connections, progress }) {
  const requests = Math.floor(rate * durationSeconds);
  const itemId = `e2e-${randomUUID().slice(0, 8)}`;
  await system.listItem({ itemId, stock: Math.min(10_000_000, requests + 1_000) });

  const messages = [];
  let otherMessages = 0;
  const onMessage = (data) => {
    const at = wallClock();
    let message;
    try {
      message = JSON.parse(data.toString());
    } catch {
      otherMessages++;
      return;
    }
    if (message.type === 'stock' && message.view?.itemId === itemId)
      messages.push({ version: message.view.version, at });
    else otherMessages++;
  };
  measuring.on('message', onMessage);
  measuring.send(JSON.stringify({ subscribe: [itemId] }));
  await new Promise((resolve) => setTimeout(resolve, 500)); // the subscription is in place

  try {
    progress(`${formatInt(rate)} requests/s for ${durationSeconds} s`);
    const cpuSampling = startCpuSampling(system.namedPids());
    const window = [monotonicMicros()];
    const load = await runLoad(
      {
        mode: 'rate',
        port,
        rate,
        durationMs: durationSeconds * 1000,
        connections,
        recipe: { kind: 'buy', itemId, tag: `${randomUUID().slice(0, 6)}-` },
        drainMs: 15_000,
      },
      {
        boundMs: durationSeconds * 1000 + 15_000,
        onProgress: (p) =>
          progress(
            `${formatInt(p.done)} sent, ${formatInt(p.answered)} answered, backlog ${p.backlog}, ` +
              `${messages.length} WebSocket stock messages, ${(p.elapsedMs / 1000).toFixed(0)} s`,
          ),
      },
    );
    window.push(monotonicMicros());
    const cpu = cpuSampling.stop();
    const scheduledAt = new Float64Array(load.buffers.scheduledAt);
    const answeredAt = new Float64Array(load.buffers.answeredAt);
    const accepted = load.purchaseIds
      .map((id, i) => [id, i])
      .filter(([id]) => id !== undefined && id !== null);

    // Versions of the accepted sales, from SQL, once all are decided and pushed (bounded wait).
    const versions = new Map();
    const decidedAt = new Map();
    const settleDeadline = performance.now() + 20_000;
    let maxVersion = 0;
    while (performance.now() < settleDeadline) {
      const { rows } = await system.pool.query(
        `SELECT purchase_id, item_version, (extract(epoch FROM decided_at) * 1000)::float8 AS decided_ms
           FROM purchases WHERE item_id = $1 AND status = 'confirmed'`,
        [itemId],
      );
      for (const row of rows) {
        versions.set(row.purchase_id, Number(row.item_version));
        decidedAt.set(row.purchase_id, Number(row.decided_ms));
        maxVersion = Math.max(maxVersion, Number(row.item_version));
      }
      const lastSeen = messages.reduce((v, m) => Math.max(v, m.version), 0);
      if (versions.size >= accepted.length && lastSeen >= maxVersion) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const covering = firstCovering(messages);
    const endToEnd = [];
    const toDecision = [];
    const decisionToPush = [];
    const http = [];
    let notPushed = 0;
    let notDecided = 0;
    for (const [purchaseId, i] of accepted) {
      http.push(answeredAt[i] - scheduledAt[i]);
      const version = versions.get(purchaseId);
      if (version === undefined) {
        notDecided++;
        continue;
      }
      const pushedAt = covering(version);
      const decided = decidedAt.get(purchaseId);
      toDecision.push(decided - scheduledAt[i]);
      if (pushedAt === null) {
        notPushed++;
        continue;
      }
      endToEnd.push(pushedAt - scheduledAt[i]);
      decisionToPush.push(pushedAt - decided);
    }
    const e2e = summary(endToEnd);
    progress(
      `${formatInt(rate)}/s: end to end p50 ${formatMs(e2e.p50)}, p99 ${formatMs(e2e.p99)} over ` +
        `${formatInt(e2e.count)} sales (${notPushed} never pushed, ${notDecided} not decided)`,
    );
    return {
      window,
      result: {
        rate,
        itemId,
        requests: load.total,
        answered: load.answered,
        accepted: accepted.length,
        achievedRatePerSecond: round(load.answered / (load.elapsedMs / 1000)),
        answerCounts: load.counts,
        maxClientBacklog: load.maxBacklog,
        webSocketStockMessages: messages.length,
        otherWebSocketMessages: otherMessages,
        notDecided,
        notPushed,
        endToEndMs: e2e,
        httpAnswerMs: summary(http),
        requestToSqlDecisionMs: summary(toDecision),
        sqlDecisionToWebSocketMs: summary(decisionToPush),
        cpu: cpu && { ...cpu, cpuMicrosPerRequest: cpuMicrosPer(cpu, load.answered) },
        unexpected: load.unexpected,
      },
    };
  } finally {
    measuring.off('message', onMessage);
  }
}

/** Every accepted sale decided and pushed, with an end-to-end p99 within the bound. */
const within = (result, boundMs) =>
  result.endToEndMs.count > 0 &&
  result.notPushed === 0 &&
  result.notDecided === 0 &&
  result.endToEndMs.p99 <= boundMs;

export async function run({ quick, servers, progress, overrides, profileDir }) {
  const config = configure({ quick, overrides });
  const system = await createSystem({ name: 'e2e', servers, profileDir: profileDir ?? undefined });
  const sockets = [];
  try {
    progress('starting reservation, stream processor and gateway');
    await Promise.all([system.startReservation(), system.startStreamProcessor()]);
    const { port } = await system.startGateway();
    const probe = await openWebSocket(port);
    if (probe === null) {
      progress('skipped: /ws not available on the gateway');
      return {
        status: 'skipped',
        reason: '/ws not available',
        config,
        table: [{ scenario: 'endToEnd', figure: 'skipped: /ws not available' }],
      };
    }
    sockets.push(probe);
    for (let i = 1; i < config.webSocketClients; i++) sockets.push(await openWebSocket(port));
    const measure = (rate, durationSeconds) =>
      measureRate({
        system,
        port,
        measuring: probe,
        rate,
        durationSeconds,
        connections: config.connections,
        progress,
      });

    const { result, window } = await measure(config.rate, config.durationSeconds);
    const e2e = result.endToEndMs;
    const met = within(result, 100) && config.rate >= 2_000;
    const sweep = [];
    for (const rate of config.sweep.rates) {
      if (rate >= config.rate) continue;
      sweep.push((await measure(rate, config.sweep.durationSeconds)).result);
    }
    const fits = [result, ...sweep].filter((r) => within(r, 100)).map((r) => r.rate);
    const maxRateWithP99Under100Ms = fits.length === 0 ? 0 : Math.max(...fits);
    for (const socket of sockets) socket?.terminate();
    const profiles = profileDir ? await system.profiles([window]) : null;
    return {
      config,
      ...result,
      sweep: sweep.map((r) => ({
        rate: r.rate,
        accepted: r.accepted,
        notDecided: r.notDecided,
        notPushed: r.notPushed,
        endToEndMs: r.endToEndMs,
        httpAnswerMs: r.httpAnswerMs,
        sqlDecisionToWebSocketMs: r.sqlDecisionToWebSocketMs,
        cpuMicrosPerRequest: r.cpu?.cpuMicrosPerRequest ?? null,
      })),
      maxRateWithP99Under100Ms,
      ...(profiles ? { profiles } : {}),
      targets: [
        {
          name: `end to end p99 ≤ 100 ms at 2,000 req/s (run at ${config.rate}/s)`,
          value: e2e.p99,
          met: config.rate >= 2_000 ? met : null,
        },
      ],
      table: [
        {
          scenario: 'endToEnd',
          figure: `p50 ${formatMs(e2e.p50)}, p99 ${formatMs(e2e.p99)} at ${formatInt(config.rate)} req/s (${formatInt(e2e.count)} sales)`,
          baseline: `HTTP answer p99 ${formatMs(result.httpAnswerMs.p99)}; decision→push p99 ${formatMs(result.sqlDecisionToWebSocketMs.p99)}`,
          ratio: `request→decision p99 ${formatMs(result.requestToSqlDecisionMs.p99)}`,
          target: config.rate >= 2_000 ? 'p99 ≤ 100 ms' : 'p99 ≤ 100 ms at 2,000/s (not judged)',
          met: config.rate >= 2_000 ? met : null,
        },
        ...(sweep.length === 0
          ? []
          : [
              {
                scenario: '',
                figure:
                  sweep.map((r) => `${formatInt(r.rate)}/s p99 ${formatMs(r.endToEndMs.p99)}`).join(', ') +
                  ` → highest rate with p99 ≤ 100 ms: ${formatInt(maxRateWithP99Under100Ms)}/s`,
                baseline: '–',
                ratio: '–',
                target: '(report)',
                met: null,
              },
            ]),
      ],
    };
  } finally {
    for (const socket of sockets) socket?.terminate();
    await system.stop();
  }
}
