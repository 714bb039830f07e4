import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { DatongError } from '@datong/core';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export interface ResolvedAddress {
  readonly address: string;
  /** 4 or 6. */
  readonly family: number;
}

/** Resolves a host name to every address it has. Defaults to `dns.lookup(host, { all: true })`. */
export type ResolveHost = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface SafeTargetOptions {
  /** Allows loopback, private and link-local targets. For development and tests only. */
  readonly allowPrivateNetwork: boolean;
}

export interface ResolveOptions extends SafeTargetOptions {
  readonly lookup?: ResolveHost;
}

const defaultResolveHost: ResolveHost = (hostname) => dnsLookup(hostname, { all: true });

// ::a.b.c.d, "IPv4-compatible" addresses (RFC 4291 §2.5.5.1, deprecated). ipaddr.js calls them
// 'unicast'; stacks once tunnelled them to the embedded IPv4 address (RFC 2893, dropped by RFC 4213).
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
// NAT64 well-known prefix (RFC 6052 §2.1): a v6-only host reaches a.b.c.d at 64:ff9b::a.b.c.d.
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/**
 * True when an address must not be a webhook target: anything ipaddr.js does not call 'unicast'
 * (loopback, RFC 1918 private, link-local incl. 169.254.169.254, CGNAT, unspecified, multicast,
 * broadcast, reserved, ::1, fc00::/7, fe80::/10, …), and IPv6 forms that carry such an IPv4
 * address. A string that is not an IP address is forbidden too (fail closed).
 */
export function isForbiddenAddress(ip: string): boolean {
  return forbiddenRange(ip) !== null;
}

/** The name of the forbidden range `ip` is in, or null when it is a public unicast address. */
function forbiddenRange(ip: string): string | null {
  // Only the spellings Node itself accepts: ipaddr.js also reads "0x7f.1" and "2130706433",
  // which no resolver returns and which are safer refused than interpreted.
  if (isIP(ip) === 0) return 'not an IP address';
  // ipaddr.js reads "::a.b.c.d" as the IPv4-mapped ::ffff:a.b.c.d; inet_pton, and so the
  // socket, reads it as the IPv4-compatible ::a.b.c.d (see IPV4_COMPATIBLE).
  if (/^::\d+\.\d+\.\d+\.\d+(?:%.*)?$/.test(ip)) return 'ipv4Compatible';
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(ip);
  } catch {
    return 'not an IP address';
  }
  return addr instanceof ipaddr.IPv4 ? forbiddenIPv4Range(addr) : forbiddenIPv6Range(addr);
}

function forbiddenIPv4Range(addr: ipaddr.IPv4): string | null {
  const range = addr.range();
  return range === 'unicast' ? null : range;
}

function forbiddenIPv6Range(addr: ipaddr.IPv6): string | null {
  const range = addr.range();
  switch (range) {
    case 'unicast':
      return addr.match(IPV4_COMPATIBLE) ? 'ipv4Compatible' : null;
    // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) and ::ffff:0:a.b.c.d (RFC 6145): the socket talks to a.b.c.d.
    case 'ipv4Mapped':
    case 'rfc6145':
      return forbiddenIPv4Range(lastIPv4(addr));
    // The well-known NAT64 prefix is how a v6-only network reaches public IPv4 hosts, so it is
    // judged by the address it carries. The local-use prefix 64:ff9b:1::/48 (RFC 8215) puts the
    // IPv4 address at an operator-chosen position and stays forbidden.
    case 'rfc6052':
      return addr.match(NAT64_WELL_KNOWN) ? forbiddenIPv4Range(lastIPv4(addr)) : range;
    // 6to4 (2002::/16, RFC 3056) and Teredo (2001::/32, RFC 4380) are tunnels that can reach
    // any IPv4 address, private ones included; they are deprecated (RFC 7526) and a public
    // webhook endpoint has no need for them, so they are forbidden whatever they carry.
    default:
      return range;
  }
}

function lastIPv4(addr: ipaddr.IPv6): ipaddr.IPv4 {
  const bytes = addr.toByteArray();
  return new ipaddr.IPv4(bytes.slice(12));
}

/**
 * Parses and checks a webhook URL given by a user. Only http(s), no user name or password, at
 * most 2048 characters (`WEBHOOK_URL_INVALID`). A host that is an IP literal or a `localhost`
 * name is checked here (`WEBHOOK_URL_FORBIDDEN`); other names can only be judged once resolved,
 * which `resolveAndCheck` and `deliverWebhook` do.
 */
export function validateWebhookUrl(raw: string, opts: SafeTargetOptions): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
    throw new DatongError('WEBHOOK_URL_INVALID', `webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new DatongError('WEBHOOK_URL_INVALID', 'webhook URL is not an absolute URL', { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DatongError('WEBHOOK_URL_INVALID', `webhook URL must use http or https, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    // The detail does not repeat the URL: it holds the credentials.
    throw new DatongError('WEBHOOK_URL_INVALID', 'webhook URL must not contain a user name or password');
  }
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) {
    throw new DatongError(
      'WEBHOOK_URL_INVALID',
      `webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters once encoded`,
    );
  }
  if (!opts.allowPrivateNetwork) {
    const host = bareHostname(url.hostname);
    if (isIP(host) !== 0) {
      const range = forbiddenRange(host);
      if (range !== null) throw forbidden(`webhook URL points at ${host}, a ${range} address`, { range });
    } else if (isLocalhostName(host)) {
      throw forbidden(`webhook URL points at ${host}, which always resolves to loopback`, {});
    }
  }
  return url;
}

/**
 * Resolves `hostname` and returns every address it has. Unless `allowPrivateNetwork`, rejects
 * with `WEBHOOK_URL_FORBIDDEN` when ANY address is forbidden: a name with one public and one
 * private address could be connected to either. A name that does not resolve rejects with
 * `WEBHOOK_DELIVERY_FAILED` (transient: DNS may answer later).
 */
export async function resolveAndCheck(hostname: string, opts: ResolveOptions): Promise<string[]> {
  const addresses = await resolveChecked(hostname, opts);
  return addresses.map((a) => a.address);
}

/** `resolveAndCheck` with the address families kept, for a socket `lookup`. */
export async function resolveChecked(hostname: string, opts: ResolveOptions): Promise<ResolvedAddress[]> {
  const host = bareHostname(hostname);
  const literalFamily = isIP(host);
  let addresses: readonly ResolvedAddress[];
  if (literalFamily !== 0) {
    addresses = [{ address: host, family: literalFamily }];
  } else {
    try {
      addresses = await (opts.lookup ?? defaultResolveHost)(host);
    } catch (cause) {
      throw new DatongError('WEBHOOK_DELIVERY_FAILED', `host "${host}" could not be resolved`, { cause });
    }
  }
  if (addresses.length === 0) {
    throw new DatongError('WEBHOOK_DELIVERY_FAILED', `host "${host}" has no addresses`);
  }
  if (!opts.allowPrivateNetwork) {
    for (const { address } of addresses) {
      const range = forbiddenRange(address);
      // The detail, which users may see, does not name the address: that would let anyone
      // map internal DNS names to internal addresses by creating webhooks. Logs get it in meta.
      if (range !== null) {
        throw forbidden(`host "${host}" resolves to a private, loopback, link-local or reserved address`, {
          address,
          range,
        });
      }
    }
  }
  return [...addresses];
}

function forbidden(detail: string, meta: Record<string, unknown>): DatongError {
  return new DatongError('WEBHOOK_URL_FORBIDDEN', detail, { meta });
}

/** `[::1]` → `::1`: WHATWG URL keeps the brackets in `hostname`, `isIP` and DNS do not want them. */
function bareHostname(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

// RFC 6761 §6.3: "localhost." and its subdomains resolve to loopback by definition.
function isLocalhostName(host: string): boolean {
  const lower = host.toLowerCase().replace(/\.$/, '');
  return lower === 'localhost' || lower.endsWith('.localhost');
}
