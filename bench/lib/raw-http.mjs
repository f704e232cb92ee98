// A minimal keep-alive HTTP/1.1 client connection for the load generator: one request at a time per
// socket, no pipelining. Far cheaper per request than node:http's client, so the load generator takes
// less of the machine's two cores from the system it measures. Only what our servers send is parsed:
// a status line, headers, and a Content-Length or chunked body.
import { connect } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');

export class HttpConnection {
  /** @param {number} port on 127.0.0.1 */
  constructor(port) {
    this.port = port;
    this.socket = null;
    this.pending = null; // { resolve, reject }
    this.chunks = [];
    this.buffered = 0;
    this.closed = false;
  }

  #open() {
    const socket = connect({ host: '127.0.0.1', port: this.port });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.#onData(chunk));
    const fail = (error) => {
      if (this.socket === socket) this.socket = null;
      this.chunks = [];
      this.buffered = 0;
      const pending = this.pending;
      this.pending = null;
      pending?.reject(error ?? new Error('connection closed'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the server')));
    this.socket = socket;
  }

  /**
   * Sends one request and resolves with { status, body } (body: string, '' when empty).
   * @param {string} head request line and headers, ending with an empty line
   * @param {string} [body]
   */
  request(head, body) {
    if (this.closed) return Promise.reject(new Error('connection closed by the client'));
    if (this.pending) return Promise.reject(new Error('one request at a time per connection'));
    if (this.socket === null) this.#open();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(body === undefined ? head : head + body);
    });
  }

  #onData(chunk) {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const data = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    const headerEnd = data.indexOf(HEADER_END);
    if (headerEnd < 0) return this.#keep(data);
    const head = data.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const bodyStart = headerEnd + 4;
    let body;
    let end;
    const lengthAt = lower.indexOf('\r\ncontent-length:');
    if (lengthAt >= 0) {
      const lineEnd = lower.indexOf('\r\n', lengthAt + 2);
      const length = Number(lower.slice(lengthAt + 17, lineEnd < 0 ? undefined : lineEnd).trim());
      end = bodyStart + length;
      if (data.length < end) return this.#keep(data);
      body = data.toString('utf8', bodyStart, end);
    } else if (lower.includes('\r\ntransfer-encoding: chunked')) {
      const parsed = parseChunked(data, bodyStart);
      if (parsed === null) return this.#keep(data);
      ({ body, end } = parsed);
    } else {
      body = '';
      end = bodyStart;
    }
    // One request at a time: anything after the response would be a protocol error on our side.
    this.chunks = [];
    this.buffered = 0;
    const pending = this.pending;
    this.pending = null;
    if (lower.includes('\r\nconnection: close')) {
      const socket = this.socket;
      this.socket = null;
      socket?.destroy();
    }
    pending?.resolve({ status, body });
    return undefined;
  }

  #keep(data) {
    this.chunks = [data];
    this.buffered = data.length;
  }

  close() {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
  }
}

function parseChunked(data, start) {
  const parts = [];
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return null;
    const size = parseInt(data.toString('latin1', at, lineEnd), 16);
    if (size === 0) {
      const end = lineEnd + 4;
      return data.length < end ? null : { body: Buffer.concat(parts).toString('utf8'), end };
    }
    const chunkEnd = lineEnd + 2 + size;
    if (data.length < chunkEnd + 2) return null;
    parts.push(data.subarray(lineEnd + 2, chunkEnd));
    at = chunkEnd + 2;
  }
}

/** The request head of a JSON POST. */
export function jsonPostHead(port, path, bodyBytes, headers = '') {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `${headers}Content-Length: ${bodyBytes}\r\n\r\n`
  );
}

export function getHead(port, path) {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
}
