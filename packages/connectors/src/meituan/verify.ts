import { DatongError } from '@datong/core';
import { timingSafeEqualStr } from '../kit/crypto.js';
import type { InboundRequest, InboundResult, PlatformReply, VerifyContext } from '../kit/connector.js';
import type { MeituanConfig } from './config.js';
import { meituanMessageFromParams } from './messages.js';
import { meituanSig, urlForSigning } from './sign.js';

/*
 * Verification of a Meituan push, over the request exactly as received. Pure: no I/O, time from
 * ctx.now.
 *
 * - Parameters: the query string of the URL plus, for a POST, the application/x-www-form-urlencoded
 *   body, each value form-decoded once ("+" is a space, %XX are UTF-8 bytes), which is what a
 *   servlet's getParameter gives the Java SDK. A parameter named twice is refused: its signed
 *   value would be ambiguous.
 * - Signature: sig = md5(push URL + "?" + sorted name=value joined by "&" + app_secret), lower-case
 *   hex (sign.ts), over every parameter but sig. The push URL is Datong's public URL of this
 *   connector (ctx.publicUrl) without a query string: the URL the merchant pasted into the Meituan
 *   developer centre. Compared in constant time.
 * - app_id must be this connector's app; timestamp (epoch seconds) must lie within the replay
 *   window below.
 * - Reply: {"data":"ok"}, the answer Meituan's push docs ask for; anything else makes Meituan retry.
 * - A request with no parameter at all is the reachability check the developer centre makes when a
 *   push URL is saved: it is answered {"data":"ok"} and nothing is stored (handshake). Any request
 *   with a parameter must be signed.
 */

/** How old a push may be. Meituan re-sends pushes that were not acknowledged; 15 minutes covers its retries. */
export const MEITUAN_MAX_AGE_SECONDS = 15 * 60;
/** How far in the future a push timestamp may be (clock skew). */
export const MEITUAN_MAX_SKEW_SECONDS = 5 * 60;

export const MEITUAN_SUCCESS_REPLY: PlatformReply = Object.freeze({
  status: 200,
  contentType: 'application/json; charset=utf-8',
  body: '{"data":"ok"}',
});

/**
 * The answer to a rejected push, in the shape of Meituan's own error answers. Any answer other than
 * {"data":"ok"} counts as a failed delivery for Meituan, which retries it; a 5xx says the failure
 * is on Datong's side.
 */
export function meituanFailureReply(code: string): PlatformReply {
  const status =
    code === 'CONNECTOR_SIGNATURE_INVALID' || code === 'CONNECTOR_REPLAY_REJECTED'
      ? 401
      : code === 'MESSAGE_INVALID'
        ? 400
        : code === 'CONNECTOR_CONFIG_INVALID'
          ? 500
          : 503;
  return {
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({ data: 'ng', error: { code, msg: 'push not accepted' } }),
  };
}

const FORM_TYPE = 'application/x-www-form-urlencoded';
const SIG = /^[0-9a-fA-F]{32}$/;
const SECONDS = /^\d{1,12}$/;
const MAX_PARAMS = 500;

function invalid(detail: string): DatongError {
  return new DatongError('MESSAGE_INVALID', `Meituan push: ${detail}`, { meta: { platform: 'meituan' } });
}

/** Query and form parameters of a push, form-decoded once, in arrival order. */
export function meituanPushParams(req: InboundRequest): [string, string][] {
  const list: [string, string][] = [];
  const mark = req.url.indexOf('?');
  if (mark !== -1) {
    const query = req.url.slice(mark + 1).split('#', 1)[0] ?? '';
    for (const entry of new URLSearchParams(query)) list.push(entry);
  }
  if (req.rawBody.length > 0) {
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
    if (type !== '' && type !== FORM_TYPE) throw invalid(`content type ${type} is not ${FORM_TYPE}`);
    for (const entry of new URLSearchParams(req.rawBody.toString('utf8'))) list.push(entry);
  }
  return list;
}

function requireSecret(config: MeituanConfig): void {
  // Fail closed even when a caller hands over a config object that skipped parseConfig.
  if (typeof config.appSecret !== 'string' || config.appSecret === '' || typeof config.appId !== 'string') {
    throw new DatongError('CONNECTOR_CONFIG_INVALID', 'Meituan config has no appSecret: pushes cannot be verified', {
      extensions: { errors: [{ pointer: '/appSecret', message: 'is required' }] },
    });
  }
}

function pushUrl(publicUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(publicUrl);
  } catch {
    throw new DatongError('CONNECTOR_CONFIG_INVALID', 'the public URL of this connector is not an absolute URL', {
      meta: { platform: 'meituan' },
    });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new DatongError('CONNECTOR_CONFIG_INVALID', 'the public URL of this connector must use http or https', {
      meta: { platform: 'meituan' },
    });
  }
  return urlForSigning(publicUrl);
}

/**
 * Verifies one Meituan push and turns it into one PlatformMessage (or the URL-check handshake).
 * Throws DatongError CONNECTOR_CONFIG_INVALID (no secret), MESSAGE_INVALID (not a form push,
 * repeated parameter), CONNECTOR_SIGNATURE_INVALID (sig missing or wrong, app_id of another app),
 * CONNECTOR_REPLAY_REJECTED (timestamp outside the window).
 */
export function verifyMeituanPush(req: InboundRequest, config: MeituanConfig, ctx: VerifyContext): InboundResult {
  requireSecret(config);
  const url = pushUrl(ctx.publicUrl);
  const list = meituanPushParams(req);
  if (list.length === 0) return { kind: 'handshake', reply: MEITUAN_SUCCESS_REPLY };
  if (list.length > MAX_PARAMS) throw invalid(`more than ${MAX_PARAMS} parameters`);

  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of list) {
    if (Object.hasOwn(params, name)) throw invalid(`parameter ${name} appears more than once`);
    params[name] = value;
  }

  const sig = params['sig'];
  if (sig === undefined || !SIG.test(sig)) {
    throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'Meituan push has no valid sig parameter', {
      meta: { platform: 'meituan' },
    });
  }
  const expected = meituanSig(url, list, config.appSecret);
  if (!timingSafeEqualStr(expected, sig.toLowerCase())) {
    throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'Meituan push sig does not match', {
      meta: { platform: 'meituan', signedUrl: url },
    });
  }
  if (params['app_id'] !== config.appId) {
    throw new DatongError('CONNECTOR_SIGNATURE_INVALID', 'Meituan push is for another app_id', {
      meta: { platform: 'meituan' },
    });
  }
  const timestamp = params['timestamp'];
  if (timestamp === undefined || !SECONDS.test(timestamp)) {
    throw new DatongError('CONNECTOR_REPLAY_REJECTED', 'Meituan push has no valid timestamp', { meta: { platform: 'meituan' } });
  }
  const age = Math.floor(ctx.now.getTime() / 1000) - Number(timestamp);
  if (age > MEITUAN_MAX_AGE_SECONDS || age < -MEITUAN_MAX_SKEW_SECONDS) {
    throw new DatongError('CONNECTOR_REPLAY_REJECTED', `Meituan push timestamp is ${age} s away from now`, {
      meta: { platform: 'meituan', ageSeconds: age },
    });
  }

  // fromEntries defines own properties, so a parameter named __proto__ stays a plain field.
  return { kind: 'messages', messages: [meituanMessageFromParams(Object.fromEntries(list))] };
}
