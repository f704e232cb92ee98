// A process that echoes every byte sent to it over loopback TCP: the other end of the machine probe's
// round trips (bench/lib/machine.mjs). Prints its port, exits when its parent closes stdin.
import { createServer } from 'node:net';

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
