// What the test driver (play.mjs) and the watch server (watch.mjs) share: Chromium's flags on
// a machine with no network but loopback, where dash.js lies in node_modules, and the video
// representations of an MPD.

import { join } from 'node:path';

/** Headless Chromium as root on a closed network: no sandbox, no GPU, no background calls. */
export function chromiumFlags() {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
  ];
}

/** dash.js's browser build (UMD: a plain <script> defines `dashjs`). */
export function dashjsFile(nodeModules) {
  return join(nodeModules, 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js');
}

/** Every <Representation> of the MPD's video adaptation sets: id, bandwidth, codecs. */
export function representations(mpd) {
  const out = [];
  for (const set of mpd.matchAll(/<AdaptationSet\b([^>]*)>([\s\S]*?)<\/AdaptationSet>/g)) {
    const attrs = set[1];
    if (!/contentType="video"|mimeType="video\//.test(attrs)) continue;
    for (const r of set[2].matchAll(/<Representation\b([^>]*?)\/?>/g)) {
      const attr = (name) => (r[1].match(new RegExp(`\\b${name}="([^"]*)"`)) || [])[1];
      out.push({
        id: attr('id'),
        bandwidth: Number(attr('bandwidth')),
        codecs: attr('codecs') || (attrs.match(/\bcodecs="([^"]*)"/) || [])[1],
      });
    }
  }
  return out;
}
