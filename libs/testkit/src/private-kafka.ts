// A Kafka broker of one's own, for a test or run that stops, restarts or fills it: infra/bin's scripts on
// free ports with a temporary run folder, so the broker every other suite shares is never touched.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { inheritedEnv } from './config.js';
import { startKafkaFaultProxy, type KafkaFaultProxy } from './kafka-fault-proxy.js';

const run = promisify(execFile);
/** From src/ and dist/ alike: the repository's infra/bin, whose scripts run the broker from Maven's jars. */
const INFRA_BIN = fileURLToPath(new URL('../../../infra/bin/', import.meta.url));

/**
 * `count` distinct TCP ports on 127.0.0.1 that nothing listens on right now. All are held open together
 * while they are chosen: asked one after another, the system may hand out the same port twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => {
              const address = server.address();
              if (typeof address === 'object' && address !== null) resolve(address.port);
              else reject(new Error('the system gave no port'));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      ),
    );
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

export interface PrivateKafkaOptions {
  /** The broker's JVM heap; default 512m (a second broker on a small machine). */
  heap?: string;
  /** How long start() waits for the broker to answer metadata requests; default 90 s. */
  readyTimeoutMs?: number;
  /**
   * Put a fault proxy in front of the broker: the broker advertises the proxy's port, so every client
   * (bootstrapped on `brokers`) talks through it, and `proxy` fails their requests on demand.
   */
  faultProxy?: boolean;
}

export interface PrivateKafka {
  /** host:port, as KAFKA_BROKERS takes it (the fault proxy's, when there is one). */
  readonly brokers: string;
  /** Present with `faultProxy: true`. */
  readonly proxy?: KafkaFaultProxy;
  /** Its configuration, data and server.log; removed by close(). */
  readonly runDir: string;
  /** Stops the broker (a clean shutdown); its data and ports stay, for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same ports with the same topics; resolves once it answers metadata. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the broker and removes its run folder. */
  close(): Promise<void>;
}

/** Starts a single-node broker on free ports; resolves once it answers metadata requests. */
export async function startPrivateKafka(options: PrivateKafkaOptions = {}): Promise<PrivateKafka> {
  if (!existsSync(join(INFRA_BIN, 'kafka-start.sh')))
    throw new Error(`a private Kafka broker needs infra/bin/kafka-start.sh, not found in ${INFRA_BIN}`);
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const [port, controllerPort, proxyPort] = (await freePorts(3)) as [number, number, number];
  const proxy = options.faultProxy
    ? await startKafkaFaultProxy({ listenPort: proxyPort, target: { host: '127.0.0.1', port } })
    : undefined;
  const brokers = `127.0.0.1:${proxy?.port ?? port}`;
  const runDir = mkdtempSync(join(tmpdir(), 'buy-now-kafka-'));
  const pidFile = join(runDir, 'kafka.pid');
  const env = {
    // The scripts need the machine's PATH, JAVA_HOME and HOME (Maven's cache) besides these.
    ...inheritedEnv(),
    KAFKA_PORT: String(port),
    KAFKA_ADVERTISED_PORT: String(proxy?.port ?? port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_RUN_DIR: runDir,
    KAFKA_BROKERS: brokers,
    KAFKA_HEAP: options.heap ?? '512m',
  };
  const script = async (name: string) => {
    try {
      await run('bash', [join(INFRA_BIN, name)], { env, maxBuffer: 4 * 1024 * 1024 });
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string };
      throw new Error(
        `${name} failed (broker log: ${join(runDir, 'server.log')}): ${output.stderr ?? ''}${output.stdout ?? ''}`,
        { cause: error },
      );
    }
  };
  const runningPid = (): number | undefined => {
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  // A test process that ends without close() must not leave a JVM behind.
  const killOnExit = () => {
    const pid = runningPid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  const start = async () => {
    await script('kafka-start.sh');
    // kafka-start.sh uses a port someone else already listens on as it is: that broker is not ours.
    if (runningPid() === undefined)
      throw new Error(`port ${port} belongs to another process: the private broker could not start`);
    await waitUntilAnswering(brokers, readyTimeoutMs);
  };
  const stop = () => script('kafka-stop.sh');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await stop();
    } finally {
      process.off('exit', killOnExit);
      rmSync(runDir, { recursive: true, force: true });
      await proxy?.close();
    }
  };

  process.on('exit', killOnExit);
  try {
    await start();
  } catch (error) {
    await close().catch(() => undefined); // the start-up error is the one worth reporting
    throw error;
  }
  return {
    brokers,
    ...(proxy ? { proxy } : {}),
    runDir,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    close,
  };
}

/** The port opens before the broker can serve requests: waits for a metadata answer. */
async function waitUntilAnswering(brokers: string, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'private-kafka-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the private Kafka broker on ${brokers} did not answer within ${timeoutMs} ms`, {
    cause: lastError,
  });
}
