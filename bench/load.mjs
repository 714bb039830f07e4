// A small HTTP load generator on node:http with a keep-alive agent (no extra dependency).
// Bodies are prepared before the clock starts, so the generator does little work per request.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export function makeAgent(sockets) {
  return new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

/** One request; resolves with status and body text (never rejects on HTTP errors). */
export function request(agent, base, method, path, headers, body) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers: body ? { ...headers, 'content-type': 'application/json', 'content-length': body.length } : headers,
      },
      (res) => {
        const parts = [];
        res.on('data', (c) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body) req.end(body);
    else req.end();
  });
}

export function basicAuth(writeKey) {
  return { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` };
}

/**
 * Closed loop: `concurrency` clients each send the next body as soon as their previous answer
 * arrived, until every body was sent once. Times are performance.now() + timeOrigin (epoch ms).
 */
export async function sendAll({ base, path, headers, bodies, concurrency, expectStatus, countAccepted = false }) {
  const agent = makeAgent(concurrency);
  let next = 0;
  let accepted = 0;
  const statuses = {};
  const latencies = [];
  const errors = [];
  const t0 = performance.timeOrigin + performance.now();
  const client = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const s = performance.now();
      try {
        const r = await request(agent, base, 'POST', path, headers, body);
        latencies.push(performance.now() - s);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status !== expectStatus) errors.push(`${r.status} ${r.body.slice(0, 300)}`);
        else if (countAccepted) accepted += JSON.parse(r.body).accepted;
      } catch (e) {
        errors.push(String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const t1 = performance.timeOrigin + performance.now();
  agent.destroy();
  return { startMs: t0, endMs: t1, requests: bodies.length, statuses, accepted, errors: errors.slice(0, 5), errorCount: errors.length, latencies };
}

/**
 * Open loop: sends body i at start + i / perSecond seconds whatever the answers do (paced),
 * with at most `maxInFlight` requests outstanding (beyond that a send waits, and counts as late).
 * Nothing is sent after `stopAfterMs`: a server that fell behind is not given the rest.
 */
export async function sendPaced({ base, path, headers, bodies, perSecond, maxInFlight = 200, stopAfterMs = Number.POSITIVE_INFINITY }) {
  const agent = makeAgent(maxInFlight);
  const interval = 1000 / perSecond;
  const statuses = {};
  const latencies = [];
  const errors = [];
  let accepted = 0;
  let inFlight = 0;
  let late = 0;
  const waiting = [];
  const pending = [];
  const start = performance.now();
  let sent = 0;
  for (let i = 0; i < bodies.length; i++) {
    if (performance.now() - start > stopAfterMs) break;
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -interval) late++;
    while (inFlight >= maxInFlight) await new Promise((r) => waiting.push(r));
    if (performance.now() - start > stopAfterMs) break;
    inFlight++;
    sent++;
    const s = performance.now();
    pending.push(
      request(agent, base, 'POST', path, headers, bodies[i])
        .then((r) => {
          latencies.push(performance.now() - s);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status !== 200) errors.push(`${r.status} ${r.body.slice(0, 300)}`);
          else accepted += JSON.parse(r.body).accepted;
        })
        .catch((e) => errors.push(String(e)))
        .finally(() => {
          inFlight--;
          waiting.shift()?.();
        }),
    );
  }
  const sentBy = performance.now();
  await Promise.all(pending);
  const end = performance.now();
  agent.destroy();
  return {
    startMs: performance.timeOrigin + start,
    sendWindowMs: sentBy - start,
    endMs: performance.timeOrigin + end,
    requests: bodies.length,
    sent,
    late,
    statuses,
    accepted,
    errors: errors.slice(0, 5),
    errorCount: errors.length,
    latencies,
  };
}

/** Closed loop of GETs for `durationMs`; `pathFor()` gives each request's path. */
export async function getLoop({ base, headers, pathFor, concurrency, durationMs }) {
  const agent = makeAgent(concurrency);
  const statuses = {};
  const latencies = [];
  const errors = [];
  const start = performance.now();
  const stopAt = start + durationMs;
  const client = async () => {
    while (performance.now() < stopAt) {
      const s = performance.now();
      try {
        const r = await request(agent, base, 'GET', pathFor(), headers);
        latencies.push(performance.now() - s);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status !== 200) errors.push(`${r.status} ${r.body.slice(0, 300)}`);
      } catch (e) {
        errors.push(String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const ms = performance.now() - start;
  agent.destroy();
  return { ms, requests: latencies.length, statuses, errors: errors.slice(0, 5), errorCount: errors.length, latencies };
}
