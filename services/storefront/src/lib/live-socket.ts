// The live-views WebSocket of the same origin: sends what the page wants on every (re)connect and hands
// each frame to the page. Reconnects with a growing pause after a drop.

export type LiveFrame = { type: string } & Record<string, unknown>;

export interface LiveSocket {
  send(message: Record<string, unknown>): void;
}

export function openLiveSocket(
  onOpenMessages: () => Record<string, unknown>[],
  onFrame: (frame: LiveFrame) => void,
  onState: (connected: boolean) => void,
): LiveSocket {
  let socket: WebSocket | undefined;
  let pause = 500;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const connect = () => {
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener('open', () => {
      pause = 500;
      onState(true);
      for (const message of onOpenMessages()) ws.send(JSON.stringify(message));
    });
    ws.addEventListener('message', (event) => {
      try {
        onFrame(JSON.parse(String(event.data)) as LiveFrame);
      } catch {
        // not JSON: nothing we can show
      }
    });
    ws.addEventListener('close', () => {
      onState(false);
      setTimeout(connect, pause);
      pause = Math.min(pause * 2, 10_000);
    });
  };
  connect();
  return {
    send(message) {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    },
  };
}
