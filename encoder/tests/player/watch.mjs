// Serves a DASH directory with the dash.js player page for a person to watch (scripts/dash-player.sh):
// the same throttling server as the test's, with the rate set from the page's buttons, from
// the terminal (type a rate in kbit/s and Enter; 0 = unthrottled) or `GET /rate?kbps=N`.
//
//   node watch.mjs --dash DIR --node-modules DIR [--port 8000] [--kbps 0]

import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { serve } from './server.mjs';
import { dashjsFile, playerSettings } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    dash: { type: 'string' },
    'node-modules': { type: 'string', default: join(here, 'node_modules') },
    port: { type: 'string', default: '8000' },
    kbps: { type: 'string', default: '0' },
  },
});
if (!args.dash || !existsSync(join(args.dash, 'manifest.mpd'))) {
  console.error(`usage: node watch.mjs --dash DIR (a 'segment-encode package' output with manifest.mpd) [--port N] [--kbps N]`);
  process.exit(2);
}
const kbps = Number(args.kbps);
const server = await serve({
  root: args.dash,
  routes: {
    '/player.html': join(here, 'player.html'),
    '/dash.all.min.js': dashjsFile(args['node-modules']),
    // The test's ABR settings, so that a person sees what the test checks.
    '/settings.json': { json: playerSettings(1000) },
  },
  kbps,
  port: Number(args.port),
});
console.log(`serving ${args.dash} at ${server.base}/dash/manifest.mpd`);
console.log(`open ${server.base}/player.html?watch   (dash.js; a browser that decodes AV1)`);
console.log(`served rate: ${kbps ? `${kbps} kbit/s` : 'unthrottled'}; type a rate in kbit/s and Enter to change it (0: unthrottled), Ctrl-C to stop`);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const k = Number(line.trim());
  if (line.trim() === '' || !Number.isFinite(k) || k < 0) {
    console.log('a rate in kbit/s, >= 0 (0: unthrottled)');
    return;
  }
  server.setKbps(k);
  console.log(`served rate: ${k ? `${k} kbit/s` : 'unthrottled'}`);
});
// stdin closed (run in the background): keep serving until a signal.
rl.on('close', () => {});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await server.close();
    process.exit(0);
  });
}
