import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver on 127.0.0.1: answers each request with the next status from `statuses`
 * (the last one repeats), and records what it got.
 */
export async function startReceiver(statuses: number[] = [200]) {
  const received: Received[] = [];
  let calls = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.statusCode = statuses[Math.min(calls++, statuses.length - 1)];
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/kiln?token=abc`,
    received,
    setStatuses(next: number[]) {
      statuses = next;
      calls = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
