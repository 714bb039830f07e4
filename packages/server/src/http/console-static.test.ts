import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { registerConsole } from './console-static.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fakeBuild(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'datong-console-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><meta name="csp-nonce" content="__CSP_NONCE__"><script type="module" src="/assets/app-1a2b3c.js"></script>',
  );
  writeFileSync(path.join(dir, 'assets', 'app-1a2b3c.js'), 'console.log(1)');
  writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

async function app(dir: string): Promise<FastifyInstance> {
  const a = Fastify();
  a.setNotFoundHandler((req, reply) => reply.code(404).type('application/problem+json').send({ code: 'ROUTE_NOT_FOUND', instance: req.url }));
  a.get('/v1/things', async () => ({ data: [] }));
  a.get('/docs', async () => 'docs');
  await registerConsole(a, { dir });
  return a;
}

describe('the console at /', () => {
  it('answers index.html with no-cache, a strict CSP and a fresh nonce each time', async () => {
    const a = await app(fakeBuild());
    const r1 = await a.inject({ method: 'GET', url: '/' });
    const r2 = await a.inject({ method: 'GET', url: '/' });
    expect(r1.statusCode).toBe(200);
    expect(r1.headers['content-type']).toMatch(/^text\/html/);
    expect(r1.headers['cache-control']).toBe('no-cache');
    const csp = String(r1.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(r1.body).toContain(`content="${nonce}"`);
    expect(r1.body).not.toContain('__CSP_NONCE__');
    expect(r2.headers['content-security-policy']).not.toBe(csp);
  });

  it('falls back to index.html for the single-page app routes, not for the API or the docs', async () => {
    const a = await app(fakeBuild());
    const deep = await a.inject({ method: 'GET', url: '/customers/cus_123?tab=timeline' });
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('/assets/app-1a2b3c.js');
    expect((await a.inject({ method: 'GET', url: '/v1/things' })).json()).toEqual({ data: [] });
    const api404 = await a.inject({ method: 'GET', url: '/v1/nope' });
    expect(api404.statusCode).toBe(404);
    expect(api404.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    expect((await a.inject({ method: 'GET', url: '/docs/nope' })).statusCode).toBe(404);
    expect((await a.inject({ method: 'GET', url: '/hooks/youzan/nope' })).statusCode).toBe(404);
    expect((await a.inject({ method: 'POST', url: '/customers' })).statusCode).toBe(404);
  });

  it('serves hashed assets with a long immutable cache, and a missing asset is a 404 (not the page)', async () => {
    const a = await app(fakeBuild());
    const js = await a.inject({ method: 'GET', url: '/assets/app-1a2b3c.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['cache-control']).toMatch(/max-age=31536000/);
    expect(js.headers['cache-control']).toMatch(/immutable/);
    expect((await a.inject({ method: 'GET', url: '/assets/gone-000.js' })).statusCode).toBe(404);
    const icon = await a.inject({ method: 'GET', url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toMatch(/svg/);
  });

  it('says clearly that the console is not built when its folder is empty', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'datong-console-empty-'));
    dirs.push(dir);
    const a = await app(dir);
    const r = await a.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build');
    expect((await a.inject({ method: 'GET', url: '/v1/things' })).statusCode).toBe(200);
  });
});
