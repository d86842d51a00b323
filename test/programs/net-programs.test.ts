// Network programs end to end, as users run them: the C HTTP server (guests/net/http_server.c)
// compiled to WASI under `drawbridge run --listen`, served to real clients on loopback (curl,
// and wrk for 10 s with zero errors); the same server making its own socket (socket, bind,
// listen through include/drawbridge/net.h); the C client talking to a server of this test;
// refused connects and listens. Loopback only, every run bounded in time.

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = process.execPath;
const SERVER = join(ROOT, 'build/guests/net/http_server.wasm');
const CLIENT = join(ROOT, 'build/guests/net/client.wasm');
const UDP_ECHO = join(ROOT, 'build/guests/net/udp_echo.wasm');
// The CLI from source (the built dist/ may be older than this checkout).
const CLI = `const { main } = await import(${JSON.stringify(join(ROOT, 'src/cli/main.ts'))}); process.exit(await main(process.argv.slice(1)));`;

function drawbridge(args: string[]): ChildProcess {
  return spawn(NODE, ['--input-type=module', '-e', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function runDrawbridge(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NODE, ['--input-type=module', '-e', CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the server; resolves with its port once it printed "listening on ADDR:PORT". */
function startServer(args: string[]): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = drawbridge(args);
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function curl(args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync('curl', ['-s', '--max-time', '10', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

const haveTools = spawnSync('curl', ['--version']).status === 0 && spawnSync('wrk', ['--version']).error === undefined;

describe('network programs under drawbridge run', () => {
  before(() => {
    assert.ok(existsSync(SERVER) && existsSync(CLIENT) && existsSync(UDP_ECHO), 'guests not built: node scripts/build-guests.ts');
    assert.ok(haveTools, 'curl and wrk are needed: apt-get install -y curl wrk (.ci/run does it)');
  });

  it('serves curl on a pre-opened listener (--listen 127.0.0.1:0): GET, POST with a body, 404, keep-alive', async () => {
    const s = await startServer(['run', '--listen', '127.0.0.1:0', SERVER]);
    try {
      const base = `http://127.0.0.1:${s.port}`;
      const get = curl(['-i', base + '/']);
      assert.equal(get.status, 0);
      assert.match(get.stdout, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(get.stdout, /\r\n\r\nhello from drawbridge\n$/);
      const body = 'x'.repeat(5000);
      assert.equal(curl(['--data-binary', body, base + '/echo']).stdout, body);
      assert.equal(curl(['-o', '/dev/null', '-w', '%{http_code}', base + '/missing']).stdout, '404');
      // Two requests on one connection (curl reuses it): both answered.
      const two = spawnSync('curl', ['-s', '-v', '--max-time', '10', base + '/', base + '/'], { encoding: 'utf8' });
      assert.equal(two.stdout, 'hello from drawbridge\n'.repeat(2));
      assert.match(two.stderr, /Re-using existing connection|Reusing existing/i);
    } finally {
      await stop(s.child);
    }
  });

  it('wrk for 10 s: zero errors, every response 2xx', async () => {
    const s = await startServer(['run', '--listen', '127.0.0.1:0', SERVER]);
    try {
      const r = spawnSync('wrk', ['-t', '2', '-c', '32', '-d', '10s', '--timeout', '5s', `http://127.0.0.1:${s.port}/`], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
      assert.ok(requests > 1000, `only ${requests} requests:\n${r.stdout}`);
      assert.doesNotMatch(r.stdout, /Socket errors|Non-2xx/, r.stdout);
    } finally {
      await stop(s.child);
    }
  });

  it('the server makes its own socket (socket, bind, listen) with a listen grant from the manifest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-net-'));
    const manifest = join(dir, 'net.toml');
    writeFileSync(manifest, '[network]\nlisten = ["127.0.0.1:*"]\n');
    const s = await startServer(['run', '--manifest', manifest, SERVER, '127.0.0.1', '0', 'max=1']);
    assert.equal(curl([`http://127.0.0.1:${s.port}/`]).stdout, 'hello from drawbridge\n');
    await new Promise((r) => s.child.on('exit', r));
    assert.equal(s.child.exitCode, 0);
    assert.match(s.output(), /served 1/);
  });

  it('the C client talks to a server of this test (getaddrinfo, connect, send, half-close, recv)', async () => {
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      let got = '';
      sock.on('data', (c) => (got += c.toString()));
      sock.on('end', () => sock.end(`you said ${got}`)); // answers after the client's half-close
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await new Promise<{ status: number | null; out: string }>((resolve) => {
        const c = drawbridge(['run', '--connect', `localhost:${port}`, CLIENT, 'talk', 'localhost', String(port), 'hello']);
        let out = '';
        c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        c.on('exit', (status) => resolve({ status, out }));
      });
      assert.equal(r.out, `peer: 127.0.0.1:${port}\nreply: you said hello\n`);
      assert.equal(r.status, 0);
    } finally {
      server.close();
    }
  });

  it('a C UDP echo server (bind, recvfrom, sendto) answers Node dgram clients, each at its own address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'db-net-'));
    const manifest = join(dir, 'udp.toml');
    writeFileSync(manifest, '[network]\nlisten = ["127.0.0.1:0"]\nconnect = ["127.0.0.1:*"]\n');
    const s = await startServer(['run', '--manifest', manifest, UDP_ECHO, '127.0.0.1', '0', 'max=4']);
    const clients = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
    try {
      const ask = (c: dgram.Socket, text: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no answer to ${text}: ${s.output()}`)), 10_000);
          c.once('message', (m) => {
            clearTimeout(timer);
            resolve(m.toString());
          });
          c.send(text, s.port, '127.0.0.1');
        });
      assert.equal(await ask(clients[0]!, 'one'), 'echo:one');
      assert.equal(await ask(clients[1]!, 'two'), 'echo:two');
      assert.equal(await ask(clients[0]!, 'three'), 'echo:three');
      assert.equal(await ask(clients[1]!, ''), 'echo:'); // an empty datagram is one too
      await new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.on('exit', r)));
      assert.equal(s.child.exitCode, 0, s.output());
      assert.match(s.output(), /served 4\n/);
    } finally {
      for (const c of clients) c.close();
      await stop(s.child);
    }
  });

  it('UDP refusals: bind without a listen grant, sendto without a connect grant (EPERM)', async () => {
    let r = runDrawbridge(['run', UDP_ECHO, '127.0.0.1', '0']);
    assert.equal(r.stdout, 'bind: EPERM\n');
    assert.equal(r.status, 3);
    r = runDrawbridge(['run', '--listen', '127.0.0.1:5', UDP_ECHO, '127.0.0.1', '0']); // port 5 only
    assert.equal(r.stdout, 'bind: EPERM\n');
    // Bound (listen grant), but no grant to send to the client's address: the answer is refused.
    const dir = mkdtempSync(join(tmpdir(), 'db-net-'));
    writeFileSync(join(dir, 'm.toml'), '[network]\nlisten = ["127.0.0.1:0"]\nconnect = ["10.0.0.0/8:*"]\n');
    const s = await startServer(['run', '--manifest', join(dir, 'm.toml'), UDP_ECHO, '127.0.0.1', '0']);
    const c = dgram.createSocket('udp4');
    try {
      c.send('x', s.port, '127.0.0.1');
      await new Promise((res) => (s.child.exitCode !== null ? res(null) : s.child.on('exit', res)));
      assert.equal(s.child.exitCode, 3);
      assert.match(s.output(), /sendto: EPERM\n$/);
    } finally {
      c.close();
      await stop(s.child);
    }
  });

  it('refusals: connect and listen without a grant (EPERM), a closed port (ECONNREFUSED), a taken one (EADDRINUSE)', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    try {
      // No grant at all: default deny (the lookup of a name is refused too).
      let r = runDrawbridge(['run', CLIENT, 'talk', '127.0.0.1', String(port), 'x']);
      assert.equal(r.stdout, 'connect: EPERM\n');
      assert.equal(r.status, 3);
      r = runDrawbridge(['run', CLIENT, 'talk', 'localhost', String(port), 'x']);
      assert.match(r.stdout, /^getaddrinfo: /);
      // A grant for another port does not cover this one.
      r = runDrawbridge(['run', '--connect', `127.0.0.1:${port + 1}`, CLIENT, 'talk', '127.0.0.1', String(port), 'x']);
      assert.equal(r.stdout, 'connect: EPERM\n');
      r = runDrawbridge(['run', CLIENT, 'listen', '127.0.0.1', '0']);
      assert.equal(r.stdout, 'listen: EPERM\n');
      // Granted, but the port is taken by this test's server.
      r = runDrawbridge(['run', '--connect', '127.0.0.1:*', '--listen', '127.0.0.1:1', CLIENT, 'listen', '127.0.0.1', String(port)]);
      assert.equal(r.stdout, 'listen: EPERM\n'); // --listen 127.0.0.1:1 grants port 1 only
      const dir = mkdtempSync(join(tmpdir(), 'db-net-'));
      writeFileSync(join(dir, 'm.toml'), '[network]\nlisten = ["127.0.0.1:*"]\nconnect = ["127.0.0.1:*"]\n');
      r = runDrawbridge(['run', '--manifest', join(dir, 'm.toml'), CLIENT, 'listen', '127.0.0.1', String(port)]);
      assert.equal(r.stdout, 'listen: EADDRINUSE\n');
      r = runDrawbridge(['run', '--manifest', join(dir, 'm.toml'), CLIENT, 'listen', '127.0.0.1', '0']);
      assert.match(r.stdout, /^listen: OK port=\d+\n$/);
      await new Promise<void>((res) => closed.close(() => res()));
      r = runDrawbridge(['run', '--manifest', join(dir, 'm.toml'), CLIENT, 'talk', '127.0.0.1', String(port), 'x']);
      assert.equal(r.stdout, 'connect: ECONNREFUSED\n');
      // Bad flags are the CLI's to refuse.
      r = runDrawbridge(['run', '--listen', 'localhost:80', CLIENT]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--listen localhost:80: expected ADDR:PORT/);
    } finally {
      closed.close();
    }
  });
});
