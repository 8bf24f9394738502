// The player test's driver: dash.js in headless Chromium (playwright-core) plays a DASH
// directory served by server.mjs, while the served rate goes low, then high. It writes what
// the player said (events, API, the video element's counters) as a JSON report; the Rust
// test (encoder/tests/dash_player.rs) judges it. Every wait is bounded; a wait that runs out
// is written into the report as `timed_out` with the phase, and the report is still written.
//
//   node play.mjs --dash DIR --report FILE [--chromium /usr/bin/chromium]
//                 [--node-modules DIR] [--phase-timeout-s 40] [--limit-s 130]
//
// Phases: `low` serves at the geometric mean of the two lowest video rungs' bandwidths (only
// the lowest fits; plus the lowest audio rung's, if the MPD has audio) until the player
// renders the lowest rung; `high` serves at 8x the top rungs' bandwidths until it renders the
// top video rung; `end` until playback ends. Whatever the MPD holds is played; the rungs
// watched are the video's.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

import { serve } from './server.mjs';
import { chromiumFlags, dashjsFile, playerSettings, representations } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    dash: { type: 'string' },
    report: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    'node-modules': { type: 'string' },
    'phase-timeout-s': { type: 'string', default: '40' },
    'limit-s': { type: 'string', default: '130' },
  },
});
if (!args.dash || !args.report) {
  console.error('usage: node play.mjs --dash DIR --report FILE [--chromium PATH] [--node-modules DIR] [--phase-timeout-s S] [--limit-s S]');
  process.exit(2);
}
const modules = args['node-modules'] || join(here, 'node_modules');
const require = createRequire(join(modules, 'noop.js'));
const { chromium } = require('playwright-core');
const PHASE_MS = Number(args['phase-timeout-s']) * 1000;
const POLL_MS = 100;
// One call into the browser (launch, load, evaluate, close): a hung browser ends the run.
const CALL_MS = 20000;

// Progress on stderr, so that a run killed from outside still says where it was.
const t0 = Date.now();
const step = (what) => console.error(`[play.mjs ${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}`);

/** `promise`, or an error naming `what` after `ms`. */
function bounded(promise, what, ms = CALL_MS) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const mpd = await readFile(join(args.dash, 'manifest.mpd'), 'utf8');
const all = representations(mpd);
const reps = all.filter((r) => r.content === 'video');
if (reps.length < 2) {
  console.error(`${args.dash}/manifest.mpd: ${reps.length} video representation(s); the switch test needs 2 or more`);
  process.exit(2);
}
const byRate = [...reps].sort((a, b) => a.bandwidth - b.bandwidth);
// Other tracks (audio) share the link: their lowest rungs' rates are added to the low rate,
// their top rungs' to the high one.
const others = (pick) => {
  const sets = new Map();
  for (const r of all.filter((x) => x.content !== 'video')) {
    const seen = sets.get(r.content);
    sets.set(r.content, seen === undefined ? r.bandwidth : pick(seen, r.bandwidth));
  }
  return [...sets.values()].reduce((a, b) => a + b, 0);
};
const lowKbps = (Math.sqrt(byRate[0].bandwidth * byRate[1].bandwidth) + others(Math.min)) / 1000;
const highKbps = (8 * (byRate[byRate.length - 1].bandwidth + others(Math.max))) / 1000;

const settings = playerSettings(byRate[byRate.length - 1].bandwidth / 1000);

const report = {
  representations: all,
  low_kbps: lowKbps,
  high_kbps: highKbps,
  phases: [],
  // The player's state at every poll: what the ABR saw.
  samples: [],
  timed_out: null,
  console: [],
  page_errors: [],
};

const server = await serve({
  root: args.dash,
  routes: {
    '/player.html': join(here, 'player.html'),
    '/dash.all.min.js': dashjsFile(modules),
  },
  kbps: lowKbps,
});
const profile = await mkdtemp(join(tmpdir(), 'mezz-chromium-'));
let browser;
// The whole run is bounded too: past the limit the report is written with what was seen.
const limit = setTimeout(async () => {
  report.driver_error = `the run passed ${args['limit-s']} s (stuck in: ${report.phases.length} phases done)`;
  step(report.driver_error);
  report.requests = server.requests;
  await writeFile(args.report, JSON.stringify(report, null, 2) + '\n').catch(() => {});
  process.exit(1);
}, Number(args['limit-s']) * 1000);
try {
  step(`serving ${args.dash} at ${server.base}; launching ${args.chromium}`);
  // A fresh profile of our own, removed afterwards.
  browser = await bounded(chromium.launchPersistentContext(profile, {
    executablePath: args.chromium,
    headless: true,
    args: chromiumFlags(),
    timeout: CALL_MS,
  }), 'launching Chromium');
  const page = await bounded(browser.newPage(), 'opening a page');
  page.setDefaultTimeout(CALL_MS);
  page.on('console', (m) => report.console.push(`${m.type()}: ${m.text()}`.slice(0, 500)));
  page.on('pageerror', (e) => report.page_errors.push(String(e)));
  await bounded(page.goto(`${server.base}/player.html`), 'loading the player page');
  // MSE's own verdict on each representation's type, before dash.js asks the same.
  report.mse_supported = await bounded(page.evaluate((rs) => rs.map((r) => ({
    id: r.id,
    content: r.content,
    type: `${r.mime}; codecs="${r.codecs}"`,
    supported: MediaSource.isTypeSupported(`${r.mime}; codecs="${r.codecs}"`),
  })), all), 'asking MediaSource about the codecs');
  step('starting dash.js');
  await bounded(page.evaluate(([url, s]) => window.startPlayer(url, s), [`${server.base}/dash/manifest.mpd`, settings]), 'starting dash.js');

  const state = () => bounded(page.evaluate(() => window.mezzState()), "reading the player's state");
  const events = () => bounded(page.evaluate(() => window.mezz.events), "reading the player's events");
  // Polls until `done(state, events of this phase)`, a fatal player error, or the phase's
  // time is up.
  async function phase(name, kbps, done) {
    step(`phase ${name}: ${kbps.toFixed(1)} kbit/s`);
    server.setKbps(kbps);
    const started = Date.now();
    const from = (await events()).length;
    for (;;) {
      const s = await state();
      const ev = (await events()).slice(from);
      report.samples.push({
        phase: name, media_s: s.current_time, representation: s.representation,
        throughput_kbps: s.throughput_kbps, buffer_s: s.buffer_s,
      });
      const fatal = ev.some((e) => e.kind === 'error' || e.kind === 'playback_error') || s.media_error;
      const reached = done(s, ev);
      // Playback over before the phase's goal: nothing more can happen.
      const over = name !== 'end' && s.ended;
      if (reached || fatal || over || Date.now() - started > PHASE_MS) {
        report.phases.push({
          name, kbps, reached, ms: Date.now() - started, media_s: s.current_time,
          representation: s.representation,
        });
        if (!reached && !fatal) report.timed_out = over ? `${name} (playback ended first)` : name;
        return reached && !fatal;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  const index = (s, rep) => s.representations.find((r) => r.id === rep.id)?.index;
  const rendered = (ev, i) => i !== undefined && ev.some((e) => e.kind === 'quality_rendered' && e.to === i);
  const loaded = (ev, i) => ev.filter((e) => e.kind === 'segment_loaded' && e.segment_type === 'MediaSegment' && e.representation === i).length;
  const [lowest, top] = [byRate[0], byRate[byRate.length - 1]];
  // low: the lowest rung on screen and three of its segments fetched at the low rate; high:
  // the top rung on screen again; end: playback over.
  const ok =
    (await phase('low', lowKbps, (s, ev) => rendered(ev, index(s, lowest)) && loaded(ev, index(s, lowest)) >= 3)) &&
    (await phase('high', highKbps, (s, ev) => rendered(ev, index(s, top)))) &&
    (await phase('end', highKbps, (s, ev) => s.ended || ev.some((e) => e.kind === 'playback_ended')));
  report.completed = ok;
  report.final = await state();
  report.events = await events();
  report.errors = await bounded(page.evaluate(() => window.mezz.errors), "reading the player's errors");
  step(`done: ${JSON.stringify(report.phases)}`);
} catch (e) {
  report.driver_error = String(e && e.stack ? e.stack : e);
} finally {
  if (browser) await bounded(browser.close(), 'closing Chromium').catch(() => {});
  report.requests = server.requests;
  await server.close();
  await rm(profile, { recursive: true, force: true });
}
clearTimeout(limit);
await writeFile(args.report, JSON.stringify(report, null, 2) + '\n');
if (report.driver_error) {
  console.error(report.driver_error);
  process.exit(1);
}
