// Who used the machine's CPU during a phase: per process group (our services by pid, Kafka's JVM, Redis,
// PostgreSQL, the benchmark with its load generator, everything else), from /proc. On a 2-core machine
// carrying everything this, more than any profile of one process, says where a request's time goes.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function readTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[11] utime, fields[12] stime (the 14th and 15th fields of the whole line)
    return { comm, ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function machineTicks() {
  const [, ...numbers] = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/);
  const values = numbers.map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { total: values.reduce((a, b) => a + b, 0), idle };
}

function groupOf(pid, comm, named) {
  if (named.has(pid)) return named.get(pid);
  if (comm === 'java') return 'kafka (java)';
  if (comm.startsWith('redis-server')) return 'redis';
  if (comm === 'postgres') return 'postgresql';
  if (/^(kworker|ksoftirqd|kdamond|rcu_)/.test(comm)) return 'kernel threads';
  return `other: ${comm}`;
}

/**
 * @param {Map<number, string>} named pid → name (services, the benchmark itself)
 * @returns {{ stop(): object }} stop() gives cores used per group over the interval, and the machine's busy share
 */
export function startCpuSampling(named) {
  let available = true;
  const snapshot = () => {
    const perPid = new Map();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const read = readTicks(entry);
      if (read) perPid.set(Number(entry), read);
    }
    return { at: performance.now(), perPid, machine: machineTicks() };
  };
  let before;
  try {
    before = snapshot();
  } catch {
    available = false;
  }
  return {
    stop() {
      if (!available) return null;
      const after = snapshot();
      const seconds = (after.at - before.at) / 1000;
      const groups = {};
      for (const [pid, { comm, ticks }] of after.perPid) {
        const previous = before.perPid.get(pid);
        const used = ticks - (previous && previous.comm === comm ? previous.ticks : 0);
        if (used <= 0) continue;
        const group = groupOf(pid, comm, named);
        groups[group] = (groups[group] ?? 0) + used;
      }
      // The busiest other processes by name, the rest as one group.
      const others = Object.entries(groups)
        .filter(([group]) => group.startsWith('other: '))
        .sort((a, b) => b[1] - a[1]);
      for (const [group, ticks] of others.slice(3)) {
        delete groups[group];
        groups['other processes'] = (groups['other processes'] ?? 0) + ticks;
      }
      const coresUsed = Object.fromEntries(
        Object.entries(groups)
          .sort((a, b) => b[1] - a[1])
          .map(([group, ticks]) => [group, Math.round((ticks / TICKS_PER_SECOND / seconds) * 100) / 100]),
      );
      const total = after.machine.total - before.machine.total;
      const busy = total - (after.machine.idle - before.machine.idle);
      return {
        seconds: Math.round(seconds * 10) / 10,
        machineBusyPercent: Math.round((busy / total) * 1000) / 10,
        coresUsed,
      };
    },
  };
}

/** CPU microseconds per unit of work (a request, a buyer) for each group of a stop() result. */
export function cpuMicrosPer(cpu, units) {
  if (!cpu || units <= 0) return null;
  return Object.fromEntries(
    Object.entries(cpu.coresUsed).map(([group, cores]) => [
      group,
      Math.round((cores * cpu.seconds * 1e6) / units),
    ]),
  );
}
