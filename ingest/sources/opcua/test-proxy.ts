/**
 * A TCP relay for tests: the hub connects to it instead of the server, so a test can break the network between them
 * (`cut`: both sockets reset, the server keeps its session) or make it silent (`freeze`: bytes are dropped and nothing
 * closes, as with a half-open connection after a cable is pulled).
 */
import net from 'node:net';

export interface TestProxy {
  readonly port: number;
  readonly url: string;
  cut(): void;
  freeze(on: boolean): void;
  close(): Promise<void>;
}

export async function startTestProxy(targetPort: () => number): Promise<TestProxy> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((a) => {
    const b = net.connect(targetPort(), '127.0.0.1');
    sockets.add(a);
    sockets.add(b);
    a.on('data', (d) => {
      if (!frozen) b.write(d);
    });
    b.on('data', (d) => {
      if (!frozen) a.write(d);
    });
    const end = (): void => {
      a.destroy();
      b.destroy();
      sockets.delete(a);
      sockets.delete(b);
    };
    for (const s of [a, b]) {
      s.on('close', end);
      s.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `opc.tcp://127.0.0.1:${port}`,
    cut() {
      for (const s of sockets) s.resetAndDestroy();
    },
    freeze(on) {
      frozen = on;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
