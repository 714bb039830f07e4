// Serves the web console (packages/console, a Vite build) at `/`: hashed assets with a long
// cache, index.html with no-cache and a strict Content-Security-Policy, and the single-page
// app's fallback (any other GET outside /v1, /docs and /hooks answers index.html). The console talks to
// the same public /v1 API as everyone else; nothing here touches the database.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ConsoleStaticOptions {
  /** The console's build folder (default: packages/console/dist of this checkout or install). */
  readonly dir?: string;
}

/** Where the built console is: beside the server in a checkout, or the installed @datong/console. */
export function findConsoleDist(): string {
  // packages/server/{src,dist}/http/ → packages/console/dist
  const beside = fileURLToPath(new URL('../../../console/dist', import.meta.url));
  if (existsSync(path.join(beside, 'index.html'))) return beside;
  try {
    const pkg = createRequire(import.meta.url).resolve('@datong/console/package.json');
    const installed = path.join(path.dirname(pkg), 'dist');
    if (existsSync(path.join(installed, 'index.html'))) return installed;
  } catch {
    // Not installed as a package: the checkout layout above is the only place.
  }
  return beside;
}

const NONCE_PLACEHOLDER = /__CSP_NONCE__/g;

/**
 * Scripts only from the console's own origin; styles from it or with this response's nonce
 * (Ant Design injects its CSS-in-JS <style> elements with it); images may be data: URLs
 * (the 2FA QR code); no plugins, no framing, no foreign connections.
 */
export function consoleCsp(nonce: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Datong</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.6">
<h1>The Datong console is not built</h1>
<p>The API is running (<a href="/docs">/docs</a>). To build the web console, run <code>npm run build</code>
in the Datong folder and reload this page; <code>npm start</code> builds it when needed.</p>
<p>控制台尚未构建：请在 Datong 目录运行 <code>npm run build</code> 后刷新本页。</p>
</body></html>`;

/** Registers the console routes. Call after the API routes; they keep precedence over the fallback. */
export async function registerConsole(app: FastifyInstance, opts: ConsoleStaticOptions = {}): Promise<void> {
  const dir = opts.dir ?? findConsoleDist();
  // serve: false — only reply.sendFile; the routes below decide what is served and how it is cached.
  await app.register(fastifyStatic, { serve: false });

  let cached: { mtimeMs: number; html: string } | null = null;
  const indexHtml = (): string | null => {
    const file = path.join(dir, 'index.html');
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      return null;
    }
    if (!cached || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, html: readFileSync(file, 'utf8') };
    return cached.html;
  };

  const sendIndex = (reply: FastifyReply) => {
    const html = indexHtml();
    reply.header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin');
    if (html === null) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    const nonce = randomBytes(16).toString('base64');
    return reply
      .header('content-security-policy', consoleCsp(nonce))
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8')
      .send(html.replace(NONCE_PLACEHOLDER, nonce));
  };

  // The API, its docs and the platforms' push endpoints answer problem+json for unknown paths, never the page.
  const isApiPath = (url: string) => /^\/(v1|docs|hooks)(\/|$|\?)/.test(url);

  app.get('/', { config: { auth: 'public' }, schema: { hide: true } }, async (_req, reply) => sendIndex(reply));

  // Vite names these by content hash: they never change, so browsers keep them for a year.
  app.get('/assets/*', { config: { auth: 'public' }, schema: { hide: true } }, async (req: FastifyRequest, reply) => {
    const file = (req.params as { '*': string })['*'];
    return reply.header('x-content-type-options', 'nosniff').sendFile(`assets/${file}`, dir, { maxAge: '365d', immutable: true });
  });

  app.get('/*', { config: { auth: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const url = req.url;
    if (isApiPath(url)) return reply.callNotFound();
    const rel = (req.params as { '*': string })['*'];
    // Files at the top of the build (favicon.svg): served as they are, cached for an hour.
    if (/^[\w.-]+\.(svg|png|ico|txt|webmanifest)$/.test(rel) && existsSync(path.join(dir, rel))) {
      return reply.header('x-content-type-options', 'nosniff').sendFile(rel, dir, { maxAge: '1h' });
    }
    return sendIndex(reply);
  });
}
