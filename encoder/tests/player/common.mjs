// What the test driver (play.mjs) and the watch server (watch.mjs) share: Chromium's flags on
// a machine with no network but loopback, where dash.js lies in node_modules, dash.js's ABR
// settings, and the video representations of an MPD.

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

/**
 * Every <Representation> of the MPD's adaptation sets: id, bandwidth, codecs, the set's
 * content type (video, audio) and its MIME type.
 */
export function representations(mpd) {
  const out = [];
  for (const set of mpd.matchAll(/<AdaptationSet\b([^>]*)>([\s\S]*?)<\/AdaptationSet>/g)) {
    const attrs = set[1];
    const setAttr = (name) => (attrs.match(new RegExp(`\\b${name}="([^"]*)"`)) || [])[1];
    for (const r of set[2].matchAll(/<Representation\b([^>]*?)\/?>/g)) {
      const attr = (name) => (r[1].match(new RegExp(`\\b${name}="([^"]*)"`)) || [])[1];
      const mime = attr('mimeType') || setAttr('mimeType') || '';
      out.push({
        id: attr('id'),
        bandwidth: Number(attr('bandwidth')),
        codecs: attr('codecs') || setAttr('codecs'),
        content: setAttr('contentType') || mime.split('/')[0],
        mime,
      });
    }
  }
  return out;
}

/**
 * dash.js settings that make its rung follow the served rate within a few 0.4 s segments,
 * starting at `initialKbps` (the test starts at the top rung, so that a low rate must switch
 * it down).
 *
 * Short buffers keep the player fetching all through a short clip, so what it measures is the
 * rate served now; an arithmetic mean of the last 3 downloads follows a rate change within a
 * few segments (the default EWMA weighs samples by download time, so fast downloads barely
 * move it); only the throughput rule and the buffer safety rule choose (BOLA
 * takes over from it on a full buffer, and the switch-history rule held the top rung back for
 * the rest of a clip after the low phase's drop).
 */
export function playerSettings(initialKbps) {
  return {
    streaming: {
      buffer: {
        bufferTimeDefault: 1.2,
        bufferTimeAtTopQuality: 1.2,
        bufferTimeAtTopQualityLongForm: 1.2,
      },
      // Nothing here comes from a cache (the server says no-store): every download is a sample.
      cacheLoadThresholds: { video: 0, audio: 0 },
      // A download that never completes is retried after 8 s, not dash.js's 20 s (a 0.4 s
      // segment takes under 3 s at the lowest rate served; seen here once under a heavy CPU
      // load, a request that stalled the clip for a minute).
      fragmentRequestTimeout: 8000,
      abr: {
        initialBitrate: { video: initialKbps },
        rules: {
          bolaRule: { active: false },
          l2ARule: { active: false },
          loLPRule: { active: false },
          droppedFramesRule: { active: false },
          switchHistoryRule: { active: false },
          throughputRule: { active: true },
          insufficientBufferRule: { active: true },
          // An abandoned download stops all ABR decisions for 10 s (dash.js's abandonment
          // state), a whole short clip: seen here under CPU load.
          abandonRequestsRule: { active: false },
        },
        throughput: {
          averageCalculationMode: 'throughputCalculationModeArithmeticMean',
          sampleSettings: { vod: 3, enableSampleSizeAdjustment: false },
        },
      },
    },
  };
}
