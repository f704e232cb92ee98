// Where a process spent its CPU: self time of a V8 .cpuprofile (node --cpu-prof) grouped by function and
// by owner (our packages, each dependency, Node internals, GC), in shares of the busy (non-idle) time.
import { readFileSync } from 'node:fs';

/** Microseconds of the monotonic clock V8 stamps profiles with (the same in every process of the machine). */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

function ownerOf(url) {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1];
  const ours = /\/(services|libs)\/([^/]+)\//.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return url.replace(/^file:\/\//, '');
}

const SPECIAL = { '(garbage collector)': 'garbage collector', '(program)': '(program)' };

/**
 * @param {string} path
 * @param {{ top?: number, windows?: [number, number][] }} options windows: only samples taken inside these
 *   [start, end] intervals count, in microseconds of the monotonic clock (process.hrtime.bigint() / 1000n
 *   in any process of the machine: the clock V8 stamps profiles with)
 */
export function summariseProfile(path, { top = 15, windows } = {}) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const inside = windows ? (t) => windows.some(([start, end]) => t >= start && t <= end) : () => true;
  const selfMicros = new Map();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (inside(at)) selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
  });
  // Native work (socket writes, JSON, crypto) and Node internals are charged to the nearest calling
  // package: "ioredis 30%" then means ioredis and everything it made Node and V8 do.
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const callerOwner = (id) => {
    for (let at = id; at !== undefined; at = parentOf.get(at)) {
      const url = nodes.get(at).callFrame.url;
      if (url && !url.startsWith('node:')) return ownerOf(url);
    }
    return null;
  };
  const byCaller = new Map();
  const byFunction = new Map();
  const byOwner = new Map();
  let busy = 0;
  let idle = 0;
  for (const [id, micros] of selfMicros) {
    const { callFrame } = nodes.get(id);
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += micros;
      continue;
    }
    busy += micros;
    const owner = SPECIAL[name] ?? ownerOf(callFrame.url);
    const file = callFrame.url ? callFrame.url.replace(/^.*\/(node_modules|services|libs)\//, '$1/') : '';
    const key = `${name} ${file ? `${file}:${callFrame.lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
    const caller = SPECIAL[name] ?? callerOwner(id) ?? owner;
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + micros);
  }
  const share = (micros) => Math.round((micros / busy) * 1000) / 10;
  const rank = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, selfMs: Math.round(micros / 1000), percentOfBusy: share(micros) }));
  const windowMicros = windows ? windows.reduce((sum, [start, end]) => sum + (end - start), 0) : busy + idle;
  return {
    file: path,
    windowMs: Math.round(windowMicros / 1000),
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    /** Share of the window the main thread was running JavaScript, GC or native code (not idle). */
    mainThreadBusyPercent: Math.round((busy / windowMicros) * 1000) / 10,
    byOwner: rank(byOwner),
    byCallingPackage: rank(byCaller),
    topFunctions: rank(byFunction),
  };
}
