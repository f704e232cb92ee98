// The send policy of one live connection, against a socket whose unsent bytes the test sets: strictly
// increasing versions per item, latest-wins coalescing above the soft limit, the final state once the
// socket drains, and a close (1013) above the hard limit.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CloseCode,
  createLiveConnection,
  type LiveConnection,
  type LiveSocket,
} from '../src/adapters/ws/live-connection.js';

class FakeSocket implements LiveSocket {
  bufferedAmount = 0;
  readyState = 1;
  readonly sent: string[] = [];
  closedWith: [number, string] | undefined;
  terminated = false;
  send(data: string) {
    this.sent.push(data);
  }
  close(code: number, reason: string) {
    this.closedWith = [code, reason];
    this.readyState = 2;
  }
  terminate() {
    this.terminated = true;
    this.readyState = 3;
  }
}

const policy = { softLimitBytes: 1_000, hardLimitBytes: 10_000, flushIntervalMs: 100, closeGraceMs: 5_000 };

let socket: FakeSocket;
let connection: LiveConnection;
let gone: number;
const frame = (itemId: string, version: number) => `${itemId}@${version}`;
const offer = (itemId: string, version: number) =>
  connection.offerStock(itemId, version, frame(itemId, version));

beforeEach(() => {
  vi.useFakeTimers();
  socket = new FakeSocket();
  gone = 0;
  connection = createLiveConnection({ id: 1, socket, policy, onGone: () => gone++ });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('a live connection', () => {
  it('sends each item strictly newer versions only', () => {
    offer('a', 1);
    offer('a', 3);
    offer('a', 2);
    offer('a', 3);
    offer('b', 1);
    expect(socket.sent).toEqual(['a@1', 'a@3', 'b@1']);
  });

  it('holds updates back above the soft limit, latest per item wins, and sends them once drained', () => {
    offer('a', 1);
    socket.bufferedAmount = 5_000;
    offer('a', 2);
    offer('b', 1);
    offer('a', 3);
    offer('a', 4);
    expect(socket.sent).toEqual(['a@1']);
    expect(connection.heldBack()).toBe(2);

    vi.advanceTimersByTime(500);
    expect(socket.sent).toEqual(['a@1']);

    socket.bufferedAmount = 0;
    vi.advanceTimersByTime(100);
    expect(socket.sent).toEqual(['a@1', 'b@1', 'a@4']);
    expect(connection.heldBack()).toBe(0);
    // Nothing older comes after the final state.
    offer('a', 3);
    expect(socket.sent.at(-1)).toBe('a@4');
  });

  it('keeps the order of an item: a new update waits behind the held ones even once drained', () => {
    socket.bufferedAmount = 2_000;
    offer('a', 1);
    socket.bufferedAmount = 0;
    offer('b', 1);
    expect(socket.sent).toEqual(['a@1', 'b@1']);
  });

  it('closes with 1013 above the hard limit, leaves the fan-out at once, and cuts the socket after the grace', () => {
    offer('a', 1);
    socket.bufferedAmount = 20_000;
    offer('a', 2);
    expect(socket.closedWith).toEqual([CloseCode.tryAgainLater, 'too slow: unsent data over the limit']);
    expect(gone).toBe(1);
    expect(connection.isOpen()).toBe(false);
    offer('a', 3);
    connection.send('purchase');
    expect(socket.sent).toEqual(['a@1']);
    expect(socket.terminated).toBe(false);
    vi.advanceTimersByTime(5_000);
    expect(socket.terminated).toBe(true);
    expect(gone).toBe(1);
  });

  it('notices the hard limit while holding back, on the flush timer', () => {
    socket.bufferedAmount = 5_000;
    offer('a', 1);
    socket.bufferedAmount = 50_000;
    vi.advanceTimersByTime(100);
    expect(socket.closedWith?.[0]).toBe(1013);
  });

  it('sends a subscribed-again item afresh once forgotten', () => {
    offer('a', 5);
    connection.forgetUnwanted((itemId) => itemId !== 'a');
    offer('a', 5);
    expect(socket.sent).toEqual(['a@5', 'a@5']);
  });

  it('leaves the fan-out once when the client closes', () => {
    connection.closed();
    connection.closed();
    expect(gone).toBe(1);
    offer('a', 1);
    expect(socket.sent).toEqual([]);
  });
});
