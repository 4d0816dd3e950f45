/**
 * `kiln serve` as a process under slow and greedy clients (raw sockets: a slow body, slow headers,
 * more connections than allowed, idle kept-alive connections), and where it writes its files.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startServe } from './built-cli.js';
import { customerRecords, MODEL, tempDir, trainPackage } from './fixture.js';

const PREDICT = `/v1/models/${MODEL}/predict`;

/** A raw client socket: what it received, and promises for its first bytes and its close. */
function connect(base: string) {
  const { hostname, port } = new URL(base);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const firstData = new Promise<string>((resolve) =>
    socket.on('data', (chunk) => {
      received += chunk;
      resolve(received);
    }),
  );
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  return { socket, connected, firstData, closed, received: () => received };
}

/** Writes `text` one byte each `everyMs` until the socket closes. */
function dribble(socket: net.Socket, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) return clearInterval(timer);
    socket.write(text[at++]);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

const get = (pathname: string) => `GET ${pathname} HTTP/1.1\r\nHost: kiln\r\n\r\n`;

describe('kiln serve: slow and greedy clients (built CLI)', () => {
  let packageDir: string;
  let body: string;

  beforeAll(async () => {
    packageDir = await trainPackage();
    body = JSON.stringify((await customerRecords(1, 3))[0]);
  });

  it('answers 408 to a body sent a byte per second, within --timeout-ms, and closes the connection', async () => {
    const server = await startServe([
      '--model',
      packageDir,
      '--timeout-ms',
      '1500',
      '--prediction-log',
      'off',
    ]);
    const client = connect(server.base);
    await client.connected;
    const started = performance.now();
    client.socket.write(
      `POST ${PREDICT} HTTP/1.1\r\nHost: kiln\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    dribble(client.socket, body, 1000);
    const answer = await client.firstData;
    const waited = performance.now() - started;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    // Node's own request timeout answers (through Fastify's client error handler), not a route.
    expect(answer).toMatch(/Request Timeout/);
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(1500 + 1000);
    await client.closed;
    expect(await server.stop()).toBe(0);
  });

  it('answers 408 to headers sent a byte at a time, and to a silent connection, soon after --timeout-ms', async () => {
    const server = await startServe([
      '--model',
      packageDir,
      '--timeout-ms',
      '1500',
      '--prediction-log',
      'off',
    ]);
    const silent = connect(server.base);
    const client = connect(server.base);
    await client.connected;
    const started = performance.now();
    dribble(
      client.socket,
      `${get('/healthz')}`.replace('\r\n\r\n', '\r\nX-Slow: ......................'),
      200,
    );
    const answer = await client.firstData;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    // Node checks header deadlines on an interval, which the server keeps at 1 s at most.
    expect(performance.now() - started).toBeLessThan(1500 + 2000);
    await client.closed;
    expect(await silent.firstData).toMatch(/^HTTP\/1\.1 408 /);
    await silent.closed;
    expect(await server.stop()).toBe(0);
  });

  it('caps open connections (KILN_MAX_CONNECTIONS) and closes idle kept-alive ones', async () => {
    process.env.KILN_MAX_CONNECTIONS = '4';
    const server = await startServe(['--model', packageDir, '--prediction-log', 'off']).finally(() => {
      delete process.env.KILN_MAX_CONNECTIONS;
    });
    // Four kept-alive connections, each proven open by an answered request.
    const open = Array.from({ length: 4 }, () => connect(server.base));
    for (const client of open) {
      client.socket.write(get('/healthz'));
      expect(await client.firstData).toMatch(/^HTTP\/1\.1 200 /);
    }
    // A fifth is closed as it arrives, unanswered.
    const extra = connect(server.base);
    extra.socket.write(get('/healthz'));
    await extra.closed;
    expect(extra.received()).toBe('');
    // Once one closes, a new connection is served again.
    open[0].socket.destroy();
    await open[0].closed;
    const response = await fetch(`${server.base}/healthz`, { headers: { connection: 'close' } });
    expect(response.status).toBe(200);
    for (const client of open.slice(1)) client.socket.destroy();
    expect(await server.stop()).toBe(0);
  });

  it('closes an idle kept-alive connection after --keep-alive-timeout-ms, and after --max-requests-per-socket', async () => {
    const server = await startServe([
      '--model',
      packageDir,
      '--prediction-log',
      'off',
      '--keep-alive-timeout-ms',
      '300',
      '--max-requests-per-socket',
      '2',
    ]);
    const idle = connect(server.base);
    idle.socket.write(get('/healthz'));
    expect(await idle.firstData).toMatch(/^HTTP\/1\.1 200 .*keep-alive/is);
    await idle.closed;

    const busy = connect(server.base);
    busy.socket.write(get('/healthz') + get('/healthz'));
    await busy.closed;
    const answers = busy.received().split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 200 .*connection: close/is);
    expect(await server.stop()).toBe(0);
  });

  it("logs into the package's project, not the current folder, and prints where", async () => {
    const project = packageDir.slice(0, packageDir.lastIndexOf(`${path.sep}.kiln${path.sep}`));
    expect(project).not.toBe('');
    const elsewhere = tempDir();
    const server = await startServe(['--model', packageDir], { cwd: elsewhere });
    expect(server.stdout()).toContain(
      `log:      sqlite://${path.join(project, '.kiln', 'predictions.db')}\n`,
    );
    expect(server.stdout()).toContain(`project:  ${project}\n`);
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
    const code = await server.stop();
    expect(code, server.stdout() + server.stderr()).toBe(0);
    expect(existsSync(path.join(elsewhere, '.kiln'))).toBe(false);
    expect(existsSync(path.join(project, '.kiln', 'predictions.db'))).toBe(true);
  });
});
