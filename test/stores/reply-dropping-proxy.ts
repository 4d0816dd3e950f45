/** A TCP proxy for the PostgreSQL fault tests: it can lose exactly one reply after the server did the work. */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface ReplyDroppingProxy {
  port: number;
  /** Connections cut because of dropReplyTo. */
  dropped: number;
  /**
   * The next client message containing `text` reaches the server, but the server's answer does not
   * reach the client: the connection is cut instead, as when a network or server fails right after
   * the work was done.
   */
  dropReplyTo(text: string): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of the server that can lose exactly one reply. */
export async function replyDroppingProxy(upstreamPort: number): Promise<ReplyDroppingProxy> {
  let armed: Buffer | undefined;
  const sockets = new Set<Socket>();
  const proxy: ReplyDroppingProxy = {
    port: 0,
    dropped: 0,
    dropReplyTo(text) {
      armed = Buffer.from(text);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let cutOnReply = false;
    client.on('data', (chunk) => {
      if (armed && chunk.includes(armed)) {
        armed = undefined;
        cutOnReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!cutOnReply) {
        client.write(chunk);
        return;
      }
      proxy.dropped++;
      client.destroy();
      upstream.destroy();
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ]) {
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
      a.on('error', () => {});
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as { port: number }).port;
  return proxy;
}
