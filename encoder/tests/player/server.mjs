// A static HTTP server on 127.0.0.1 for a DASH directory, the player page and dash.js, whose
// served bandwidth is throttled and can be changed while it runs: the "network" the player's
// ABR reacts to. Used by the test driver (play.mjs) and by the watch server (watch.mjs).
//
// Throttling is one shared pacer for every response body (what a bottleneck link does): bytes
// go out in slices of 1/50 s of the current rate, each slice waiting until the link would have
// carried the ones before it. A rate change applies from the next slice, also to responses
// already under way. Rate 0 means unthrottled.

import { createServer } from 'node:http';
import { open, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.mpd': 'application/dash+xml',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
};

const SLICE_SECONDS = 0.02;

/** Paces bytes through one link of `bitsPerSecond` (0: unthrottled). */
export class Link {
  constructor(bitsPerSecond) {
    this.bps = bitsPerSecond;
    // When the link is next free, in ms of performance.now().
    this.freeAt = 0;
  }

  setRate(bitsPerSecond) {
    this.bps = bitsPerSecond;
  }

  /** Largest slice to send next. */
  sliceBytes() {
    return this.bps > 0 ? Math.max(256, Math.floor((this.bps / 8) * SLICE_SECONDS)) : 1 << 20;
  }

  /** Resolves when `bytes` have crossed the link after everything queued before them. */
  async carry(bytes) {
    if (this.bps <= 0) return;
    const now = performance.now();
    const start = Math.max(now, this.freeAt);
    this.freeAt = start + ((bytes * 8) / this.bps) * 1000;
    const wait = this.freeAt - now;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Starts the server. `routes` maps URL paths to files outside `root` (the page, dash.js) or
 * to `{ json }` values;
 * `/dash/...` serves `root`; `GET /rate?kbps=N` changes the link's rate (for a person with
 * the watch page); every media request is logged in `requests` (path, bytes, ms).
 */
export async function serve({ root, routes, kbps = 0, port = 0 }) {
  const link = new Link(kbps * 1000);
  const requests = [];
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      } else {
        res.destroy();
      }
    });
  });

  async function handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/rate') {
      const k = Number(url.searchParams.get('kbps'));
      if (!Number.isFinite(k) || k < 0) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('kbps must be a number >= 0 (0: unthrottled)\n');
        return;
      }
      link.setRate(k * 1000);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ kbps: k }));
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    let file = routes[url.pathname];
    if (file && typeof file === 'object') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(file.json));
      return;
    }
    let media = false;
    if (!file && url.pathname.startsWith('/dash/')) {
      const rel = normalize(decodeURIComponent(url.pathname.slice('/dash/'.length)));
      if (rel.startsWith('..') || rel.includes(`${sep}..`)) {
        res.writeHead(403).end();
        return;
      }
      file = join(root, rel);
      media = true;
    }
    let info;
    try {
      info = file && (await stat(file));
    } catch {
      info = null;
    }
    if (!info || !info.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: ${url.pathname}\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] || 'application/octet-stream',
      'content-length': info.size,
      // Every fetch crosses the link: a cached segment would tell the ABR nothing.
      'cache-control': 'no-store',
    });
    const started = performance.now();
    const fh = await open(file, 'r');
    try {
      let sent = 0;
      // A player that cancels a download closes the connection: stop there.
      while (sent < info.size && !res.destroyed) {
        const want = media ? Math.min(link.sliceBytes(), info.size - sent) : info.size - sent;
        const buf = Buffer.alloc(want);
        const { bytesRead } = await fh.read(buf, 0, want, sent);
        if (bytesRead === 0) break;
        if (media) await link.carry(bytesRead);
        if (!res.write(buf.subarray(0, bytesRead))) {
          await new Promise((r) => {
            res.once('drain', r);
            res.once('close', r);
          });
        }
        sent += bytesRead;
      }
    } finally {
      await fh.close();
    }
    res.end();
    if (media) {
      requests.push({
        complete: !res.destroyed,
        path: url.pathname.slice('/dash/'.length),
        bytes: info.size,
        ms: performance.now() - started,
        kbps: link.bps / 1000,
      });
    }
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    requests,
    setKbps: (k) => link.setRate(k * 1000),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  };
}
