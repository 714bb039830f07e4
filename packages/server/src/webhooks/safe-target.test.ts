import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { isForbiddenAddress, resolveAndCheck, validateWebhookUrl, type ResolveHost } from './safe-target.js';

const PUBLIC = { allowPrivateNetwork: false } as const;
const PRIVATE_OK = { allowPrivateNetwork: true } as const;

function fixedLookup(...addresses: string[]): ResolveHost {
  return async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

async function rejection(promise: Promise<unknown>): Promise<DatongError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  throw new Error('expected a DatongError');
}

function thrown(fn: () => unknown): DatongError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  throw new Error('expected a DatongError');
}

describe('isForbiddenAddress', () => {
  it.each([
    ['127.0.0.1', 'IPv4 loopback'],
    ['127.255.255.254', 'the whole of 127/8'],
    ['10.0.0.1', 'RFC 1918 10/8'],
    ['172.16.0.1', 'RFC 1918 172.16/12, low end'],
    ['172.31.255.255', 'RFC 1918 172.16/12, high end'],
    ['192.168.1.1', 'RFC 1918 192.168/16'],
    ['169.254.169.254', 'the cloud metadata endpoint (link-local)'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT 100.64/10'],
    ['100.127.255.255', 'the top of 100.64/10'],
    ['0.0.0.0', 'unspecified (Linux connects it to localhost)'],
    ['0.1.2.3', '0/8 "this network"'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved 240/4'],
    ['192.0.2.1', 'TEST-NET-1'],
    ['198.18.0.1', 'benchmarking 198.18/15'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fc00::1', 'unique local fc00::/7'],
    ['fd12:3456:789a::1', 'unique local fd00::/8'],
    ['fe80::1', 'IPv6 link-local'],
    ['fe80::1%eth0', 'IPv6 link-local with a zone id'],
    ['ff02::1', 'IPv6 multicast'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback in hex'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata endpoint'],
    ['::ffff:0:10.0.0.1', 'RFC 6145 IPv4-translated private'],
    ['::127.0.0.1', 'deprecated IPv4-compatible loopback'],
    ['::8.8.8.8', 'deprecated IPv4-compatible, whatever it carries (ipaddr.js alone reads it as mapped)'],
    ['0:0:0:0:0:0:8.8.8.8', 'deprecated IPv4-compatible, spelled out'],
    ['64:ff9b::10.0.0.1', 'NAT64 carrying a private address'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 carrying 169.254.169.254'],
    ['64:ff9b:1::a00:1', 'local-use NAT64 (RFC 8215)'],
    ['2002:a00:1::1', '6to4 carrying 10.0.0.1'],
    ['2002:7f00:1::1', '6to4 carrying 127.0.0.1'],
    ['2002:808:808::1', '6to4 even when it carries a public address'],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'Teredo (client 10.0.0.1)'],
    ['not-an-ip', 'something that is not an address (fail closed)'],
    ['0x7f.0.0.1', 'a hex IPv4 spelling no resolver returns'],
    ['2130706433', 'a 32-bit integer IPv4 spelling'],
    ['', 'the empty string'],
  ])('forbids %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    ['8.8.8.8', 'public IPv4'],
    ['1.1.1.1', 'public IPv4'],
    ['100.63.255.255', 'just below 100.64/10'],
    ['100.128.0.0', 'just above 100.64/10'],
    ['172.15.255.255', 'just below 172.16/12'],
    ['172.32.0.0', 'just above 172.16/12'],
    ['2001:4860:4860::8888', 'public IPv6'],
    ['2606:4700:4700::1111', 'public IPv6'],
    ['::ffff:8.8.8.8', 'IPv4-mapped public'],
    ['64:ff9b::808:808', 'NAT64 carrying a public address (how v6-only networks reach IPv4)'],
  ])('allows %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('validateWebhookUrl', () => {
  it('returns the parsed URL of a public https endpoint', () => {
    const url = validateWebhookUrl('https://hooks.example.com/datong?x=1', PUBLIC);
    expect(url.href).toBe('https://hooks.example.com/datong?x=1');
  });

  it.each([
    ['not a URL', 'hooks.example.com/datong'],
    ['ftp', 'ftp://hooks.example.com/'],
    ['file', 'file:///etc/passwd'],
    ['javascript', 'javascript:alert(1)'],
    ['a user name', 'https://user@hooks.example.com/'],
    ['a password', 'https://:pw@hooks.example.com/'],
    ['more than 2048 characters', `https://hooks.example.com/${'a'.repeat(2048)}`],
  ])('rejects %s with WEBHOOK_URL_INVALID', (_case, raw) => {
    expect(thrown(() => validateWebhookUrl(raw, PRIVATE_OK)).code).toBe('WEBHOOK_URL_INVALID');
  });

  it('accepts a URL of exactly 2048 characters', () => {
    const prefix = 'https://hooks.example.com/';
    const raw = prefix + 'a'.repeat(2048 - prefix.length);
    expect(validateWebhookUrl(raw, PUBLIC).href).toHaveLength(2048);
  });

  it('does not repeat credentials in the error', () => {
    const e = thrown(() => validateWebhookUrl('https://admin:hunter2@hooks.example.com/', PUBLIC));
    expect(e.message).not.toContain('hunter2');
    expect(e.message).not.toContain('admin');
  });

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/',
    'http://0.0.0.0/',
    // WHATWG URL normalizes these IPv4 spellings to 127.0.0.1 before we look at them.
    'http://2130706433/',
    'http://0x7f.0.0.1/',
    'http://127.1/',
    'http://localhost:3000/',
    'http://api.localhost/',
    'http://LOCALHOST./',
  ])('refuses %s at once with WEBHOOK_URL_FORBIDDEN', (raw) => {
    expect(thrown(() => validateWebhookUrl(raw, PUBLIC)).code).toBe('WEBHOOK_URL_FORBIDDEN');
  });

  it('allows loopback targets when allowPrivateNetwork is on', () => {
    expect(validateWebhookUrl('http://127.0.0.1:8080/hook', PRIVATE_OK).port).toBe('8080');
  });

  it('leaves host names to the resolver', () => {
    // Only the resolved address can be judged: a name can point anywhere, and change.
    expect(validateWebhookUrl('http://internal.example.com/', PUBLIC).hostname).toBe('internal.example.com');
  });
});

describe('resolveAndCheck', () => {
  it('returns every address of a host that resolves to public addresses only', async () => {
    const lookup = fixedLookup('8.8.8.8', '2001:4860:4860::8888');
    await expect(resolveAndCheck('hooks.example.com', { ...PUBLIC, lookup })).resolves.toEqual([
      '8.8.8.8',
      '2001:4860:4860::8888',
    ]);
  });

  it.each(['10.0.0.1', '169.254.169.254', '127.0.0.1', '::1', '::ffff:192.168.0.1'])(
    'rejects a host that resolves to %s with WEBHOOK_URL_FORBIDDEN',
    async (address) => {
      const e = await rejection(resolveAndCheck('hooks.example.com', { ...PUBLIC, lookup: fixedLookup(address) }));
      expect(e.code).toBe('WEBHOOK_URL_FORBIDDEN');
    },
  );

  it('rejects a host when ANY of its addresses is forbidden', async () => {
    // The socket may connect to any of them, so one bad address spoils the name.
    const e = await rejection(
      resolveAndCheck('hooks.example.com', { ...PUBLIC, lookup: fixedLookup('8.8.8.8', '10.0.0.1') }),
    );
    expect(e.code).toBe('WEBHOOK_URL_FORBIDDEN');
  });

  it('keeps the resolved address out of the user-facing detail and in meta', async () => {
    // Naming it would let anyone map internal DNS names to internal addresses.
    const e = await rejection(resolveAndCheck('db.corp', { ...PUBLIC, lookup: fixedLookup('10.1.2.3') }));
    expect(e.detail).not.toContain('10.1.2.3');
    expect(e.meta).toMatchObject({ address: '10.1.2.3', range: 'private' });
  });

  it('allows private addresses when allowPrivateNetwork is on', async () => {
    await expect(resolveAndCheck('db.corp', { ...PRIVATE_OK, lookup: fixedLookup('10.1.2.3') })).resolves.toEqual([
      '10.1.2.3',
    ]);
  });

  it('checks an IP literal without resolving it', async () => {
    const lookup: ResolveHost = async () => {
      throw new Error('must not be called');
    };
    expect((await rejection(resolveAndCheck('[::1]', { ...PUBLIC, lookup }))).code).toBe('WEBHOOK_URL_FORBIDDEN');
    await expect(resolveAndCheck('8.8.8.8', { ...PUBLIC, lookup })).resolves.toEqual(['8.8.8.8']);
  });

  it('rejects a host that does not resolve with the transient WEBHOOK_DELIVERY_FAILED', async () => {
    const lookup: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    };
    const e = await rejection(resolveAndCheck('nowhere.example', { ...PUBLIC, lookup }));
    expect(e.code).toBe('WEBHOOK_DELIVERY_FAILED');
    expect(e.transient).toBe(true);
  });

  it('rejects a host with no addresses', async () => {
    const e = await rejection(resolveAndCheck('empty.example', { ...PUBLIC, lookup: fixedLookup() }));
    expect(e.code).toBe('WEBHOOK_DELIVERY_FAILED');
  });

  it('resolves through node:dns by default', async () => {
    // "localhost" is answered from /etc/hosts, so this sends no DNS query and no traffic.
    const e = await rejection(resolveAndCheck('localhost', PUBLIC));
    expect(e.code).toBe('WEBHOOK_URL_FORBIDDEN');
  });
});
