// The web console in a real browser (Debian's Chromium) against a real Datong server: sign-in
// with 2FA, a customer found by phone, Segment events on the timeline, a tag, the masked view
// of an ops user, a replay from the dead-letter list, and screenshots of the main pages.
// Runs once, in the PGlite pass of `npm test` (the browser side does not depend on the database).
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt, eventually, launchChromium, newPage, pickOption, screenshot, sendBatch, startServer, totp, type Server } from './support.e2e.js';

const PASSWORD = 'correct horse battery';
const ADMIN = 'admin@datong.example';
const OPS = 'ops@datong.example';

let server: Server;
let browser: Browser;
let admin: Page;
let adminProblems: string[];
let writeKey: string;
let receiver: HttpServer;
let receiverStatus = 500;
const received: string[] = [];

async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto('/login');
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(password);
  await page.locator('button[type=submit]').click();
}

async function lookupId(phone: string): Promise<string> {
  return eventually(async () => (await server.api<{ id: string }>('GET', `/v1/customers/lookup?type=phone&value=${encodeURIComponent(phone)}`)).id, `the customer with ${phone}`);
}

beforeAll(async () => {
  ensureConsoleBuilt();
  receiver = createServer((req, res) => {
    received.push(`${req.method} ${receiverStatus}`);
    req.resume();
    res.statusCode = receiverStatus;
    res.end();
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  // One retry a second later, then dead-lettered: the dead-letter list fills in about a second.
  server = await startServer({ DATONG_WEBHOOK_RETRY_SCHEDULE: '1s', DATONG_WEBHOOK_TIMEOUT_MS: '2000' });
  browser = await launchChromium();
  await server.api('POST', '/v1/users', { email: ADMIN, name: '王芳', roleId: 'admin', password: PASSWORD });
  await server.api('POST', '/v1/users', { email: OPS, name: '陈运营', roleId: 'ops', password: PASSWORD });
  const source = await server.api<{ writeKey: string }>('POST', '/v1/sources', { name: '微信小程序商城', type: 'miniprogram' });
  writeKey = source.writeKey;
  const web = await server.api<{ writeKey: string }>('POST', '/v1/sources', { name: '官网', type: 'web' });
  const t0 = Date.now() - 3 * 86_400_000;
  const at = (h: number) => new Date(t0 + h * 3_600_000).toISOString();
  await sendBatch(server, writeKey, [
    { type: 'identify', userId: 'u-1', timestamp: at(0), traits: { name: '李雷', phone: '138 1234 5678', email: 'lilei@example.com', city: '上海', gender: 'male' } },
    { type: 'track', userId: 'u-1', timestamp: at(1), event: 'Product Viewed', properties: { product_id: 'sku-1001', name: '真丝围巾', price: '399.00' } },
    { type: 'track', userId: 'u-1', timestamp: at(2), event: 'Order Completed', properties: { order_id: 'o-1001', total: '399.00', currency: 'CNY' } },
    { type: 'identify', userId: 'u-2', timestamp: at(3), traits: { name: '韩梅梅', phone: '13900001111', email: 'hanmeimei@example.com', city: '北京' } },
    { type: 'track', userId: 'u-2', timestamp: at(4), event: 'Order Completed', properties: { order_id: 'o-1002', total: '1299.00', currency: 'CNY' } },
    { type: 'identify', userId: 'u-3', timestamp: at(5), traits: { name: '王小明', phone: '13700002222', city: '杭州' } },
    // A visitor and a member, then one message carrying both ids: the two are merged.
    { type: 'identify', anonymousId: 'anon-9', timestamp: at(5), traits: { phone: '13600003333' } },
    { type: 'identify', userId: 'u-9', timestamp: at(5), traits: { name: '周杰', email: 'zhoujie@example.com' } },
    { type: 'track', userId: 'u-9', anonymousId: 'anon-9', timestamp: at(6), event: 'Signed Up' },
    // An invalid phone goes to the quarantine, to be fixed or discarded.
    { type: 'identify', userId: 'u-4', timestamp: at(6), traits: { name: '赵敏', phone: '12' } },
  ]);
  await sendBatch(server, web.writeKey, [{ type: 'page', userId: 'u-1', timestamp: at(8), name: '会员中心', properties: { path: '/member', title: '会员中心' } }]);
  await lookupId('+8613812345678');
  await lookupId('+8613700002222');
  ({ page: admin, problems: adminProblems } = await newPage(browser, server));
  admin.setDefaultTimeout(30_000);
  // Building the console (when the sources are newer than dist/) and starting a server take a while on a busy machine.
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((r) => receiver?.close(r));
});

// A browser session is slower than an API call; these bounds only stop a hung test.
describe('the web console', { timeout: 180_000 }, () => {
  it('signs in, enrols two-step verification with the QR code, and then asks for the code at sign-in', async () => {
    await admin.goto('/');
    await admin.waitForURL(/\/login/);
    await expect.poll(() => admin.locator('h3').first().textContent()).toContain('登录控制台');
    await screenshot(admin, '01-login');

    await signIn(admin, ADMIN);
    await admin.waitForURL(/\/customers/);
    await admin.getByTestId('user-menu').click();
    await admin.getByText('开启两步验证').click();
    await admin.getByTestId('totp-start').click();
    await admin.getByTestId('totp-qr').waitFor();
    const secret = ((await admin.getByTestId('totp-secret').textContent()) ?? '').trim();
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    await screenshot(admin, '02-2fa-qr');
    await admin.getByTestId('totp-confirm-code').fill(totp(secret));
    await admin.getByRole('button', { name: /确认开启/ }).click();
    await admin.getByTestId('recovery-codes').waitFor();
    expect(await admin.getByTestId('recovery-codes').locator('code').count()).toBe(10);
    await admin.getByRole('button', { name: /我已保存/ }).click();

    await admin.getByTestId('user-menu').click();
    await admin.getByText('退出登录').click();
    await admin.waitForURL(/\/login/);

    await signIn(admin, ADMIN);
    await admin.getByTestId('totp-code').waitFor();
    await admin.getByTestId('totp-code').fill('000000');
    await admin.locator('button[type=submit]').click();
    await expect.poll(() => admin.getByTestId('login-error').textContent()).toContain('验证码不正确');
    await screenshot(admin, '03-login-totp');
    // The code of the next 30-second step: the enrolment used the current one, and a step is accepted once.
    await admin.getByTestId('totp-code').fill(totp(secret, Date.now() + 30_000));
    await admin.locator('button[type=submit]').click();
    await admin.waitForURL(/\/customers/);
    expect(await admin.locator('.user-name').textContent()).toContain('王芳');
  });

  it('finds a customer by phone in any format and shows the events sent through the Segment API on the timeline', async () => {
    await admin.goto('/customers');
    await admin.getByTestId('customer-link').first().waitFor();
    await screenshot(admin, '04-customers');
    const [download] = await Promise.all([admin.waitForEvent('download'), (async () => {
      await admin.getByRole('button', { name: /导\s?出/ }).hover();
      await admin.getByText('导出 CSV').click();
    })()]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const search = admin.getByTestId('customer-search').locator('input');
    await search.fill('+86 138-1234-5678');
    await search.press('Enter');
    await expect.poll(() => admin.getByTestId('customer-link').allTextContents()).toEqual(['李雷']);
    await admin.getByTestId('customer-link').click();
    await admin.waitForURL(/\/customers\/cus_/);
    await expect.poll(() => admin.getByTestId('customer-name').textContent()).toBe('李雷');
    await expect.poll(() => admin.getByTestId('timeline-item').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('Order Completed'), expect.stringContaining('Product Viewed'), expect.stringContaining('会员中心')]),
    );
    await screenshot(admin, '05-customer-360');

    // A new event through the Segment API appears once processed.
    await sendBatch(server, writeKey, [{ type: 'track', userId: 'u-1', event: 'Coupon Applied', properties: { coupon: 'SPRING20' } }]);
    const id = await lookupId('+8613812345678');
    await eventually(
      async () => (await server.api<{ data: { event: string | null }[] }>('GET', `/v1/customers/${id}/timeline`)).data.some((e: { event: string | null }) => e.event === 'Coupon Applied'),
      'the new event',
    );
    await admin.reload();
    await expect.poll(() => admin.getByTestId('timeline-item').first().textContent()).toContain('Coupon Applied');

    // Filter the timeline by event type.
    await pickOption(admin, admin.getByTestId('timeline-type'), '页面浏览');
    await expect.poll(() => admin.getByTestId('timeline-item').allTextContents()).toEqual([expect.stringContaining('会员中心')]);
    // And by channel: the page view came from the website, not the mini-program.
    await pickOption(admin, admin.getByTestId('timeline-channel'), '微信小程序');
    await expect.poll(() => admin.getByTestId('timeline').textContent()).toContain('没有符合筛选条件的事件');
    expect(await admin.getByTestId('timeline-item').count()).toBe(0);
    await pickOption(admin, admin.getByTestId('timeline-channel'), '网站');
    await expect.poll(() => admin.getByTestId('timeline-item').allTextContents()).toEqual([expect.stringContaining('会员中心')]);
  });

  it('adds a tag to a customer', async () => {
    const id = await lookupId('+8613812345678');
    await admin.goto(`/customers/${id}`);
    await admin.getByRole('tab', { name: /标签/ }).click();
    await admin.getByTestId('add-tag-select').click();
    await admin.keyboard.type('高价值');
    await admin.keyboard.press('Enter');
    await admin.getByTestId('add-tag').click();
    await expect.poll(() => admin.getByTestId('customer-tag').allTextContents()).toContain('高价值');
    const c = await server.api<{ tags: { name: string; source: string }[] }>('GET', `/v1/customers/${id}`);
    expect(c.tags).toContainEqual(expect.objectContaining({ name: '高价值', source: 'manual' }));
    await screenshot(admin, '06-customer-tags');

    // Custom fields are edited with a form and checked before they are sent.
    await admin.getByTestId('edit-profile').click();
    await admin.getByRole('button', { name: /添加字段/ }).click();
    const row = admin.locator('.ant-modal input[placeholder="字段名"]').last();
    await row.fill('member_level');
    await admin.locator('.ant-modal input[placeholder="值"]').last().fill('金卡');
    await admin.locator('.ant-modal-footer .ant-btn-primary').click();
    await expect.poll(() => admin.locator('.ant-descriptions').first().textContent()).toContain('金卡');
  });

  it('shows the merge history and undoes a merge', async () => {
    const id = await eventually(
      async () => (await server.api<{ id: string; merges: unknown[] }>('GET', '/v1/customers/lookup?type=email&value=zhoujie%40example.com')),
      'the merged customer',
    );
    expect(id.merges.length).toBe(1);
    await admin.goto(`/customers/${id.id}`);
    await admin.getByRole('tab', { name: /身份/ }).click();
    await admin.getByRole('button', { name: /拆\s?分/ }).click();
    await admin.locator('.ant-popconfirm .ant-btn-dangerous, .ant-popover .ant-btn-dangerous').click();
    await expect.poll(() => admin.locator('.ant-message').textContent()).toContain('已拆分');
    const after = await server.api<{ merges: { unmergedAt: string | null }[] }>('GET', `/v1/customers/${id.id}`);
    expect(after.merges[0]?.unmergedAt).not.toBeNull();
    await screenshot(admin, '23-customer-unmerged');
  });

  it('shows an ops user masked personal data, and the full value only on an explicit, audited reveal', async () => {
    const { context, page, problems } = await newPage(browser, server);
    try {
      page.setDefaultTimeout(30_000);
      await signIn(page, OPS);
      await page.waitForURL(/\/customers/);
      const search = page.getByTestId('customer-search').locator('input');
      await search.fill('13812345678');
      await search.press('Enter');
      await expect.poll(() => page.locator('.ant-table-row').first().textContent()).toContain('138****5678');
      expect(await page.locator('tbody').textContent()).not.toContain('13812345678');
      await screenshot(page, '07-customers-masked-ops');
      await page.getByTestId('customer-link').first().click();
      await page.getByTestId('masked-tag').waitFor();
      await expect.poll(() => page.getByTestId('customer-phone').textContent()).toContain('138****5678');
      await screenshot(page, '08-customer-360-masked-ops');
      await page.getByTestId('customer-phone').getByRole('button').click();
      await expect.poll(() => page.getByTestId('customer-phone').textContent()).toContain('+8613812345678');
      // The reveal is in the audit log.
      const audit = await server.api<{ data: { action: string }[] }>('GET', '/v1/audit-log?action=customer.reveal');
      expect(audit.data.length).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('replays a delivery from the dead-letter list once the receiver is fixed', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const hook = await server.api<{ id: string }>('POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/datong`, eventTypes: ['tag.added'], description: 'CRM 同步' });
    const id = await lookupId('+8613700002222');
    await server.api('POST', `/v1/customers/${id}/tags`, { tags: ['新客'] });
    await eventually(
      async () => (await server.api<{ data: { status: string }[] }>('GET', `/v1/webhooks/${hook.id}/deliveries?status=dead`)).data.length > 0,
      'a dead-lettered delivery',
    );
    await admin.goto('/monitor');
    await admin.getByTestId('delivery-view').getByText('死信').click();
    await admin.getByTestId('replay-one').first().waitFor();
    await screenshot(admin, '09-monitor-dead-letter');
    receiverStatus = 200;
    await admin.getByTestId('replay-one').first().click();
    await eventually(
      async () => (await server.api<{ data: { status: string }[] }>('GET', `/v1/webhooks/${hook.id}/deliveries?status=succeeded`)).data.length > 0,
      'the replayed delivery to succeed',
    );
    expect(received).toContain('POST 200');
    await admin.getByTestId('delivery-view').getByText('全部投递').click();
    await expect.poll(() => admin.locator('.ant-table-row').first().textContent()).toContain('成功');
    await screenshot(admin, '10-monitor-after-replay');
  });

  it('builds a rule tag with the form, without typing JSON', async () => {
    await admin.goto('/tags');
    await admin.getByTestId('new-rule').click();
    await admin.getByTestId('rule-name').fill('下过单的客户');
    await admin.getByTestId('rule-tag').fill('已购客户');
    await admin.getByTestId('rule-event').locator('input').fill('Order Completed');
    await expect.poll(() => admin.getByTestId('rule-summary').textContent()).toContain('Order Completed');
    // Before saving: how many customers match now (李雷 and 韩梅梅 ordered in the last 30 days).
    await expect.poll(() => admin.getByTestId('rule-preview-count').getAttribute('data-count')).toBe('2');
    await expect.poll(() => admin.getByTestId('rule-preview').textContent()).toContain('李雷');
    await admin.locator('[data-testid="rule-value"] input, input[data-testid="rule-value"]').fill('2');
    await expect.poll(() => admin.getByTestId('rule-preview-count').getAttribute('data-count')).toBe('0');
    await admin.locator('[data-testid="rule-value"] input, input[data-testid="rule-value"]').fill('1');
    await expect.poll(() => admin.getByTestId('rule-preview-count').getAttribute('data-count')).toBe('2');
    await screenshot(admin, '11-rule-builder');
    await admin.getByTestId('rule-save').click();
    await expect.poll(() => admin.locator('.ant-table-row').filter({ hasText: '下过单的客户' }).count()).toBe(1);
    const rules = await server.api<{ data: { tag: string; condition: unknown }[] }>('GET', '/v1/tag-rules');
    expect(rules.data[0]).toMatchObject({ tag: '已购客户', condition: { type: 'event_count', event: 'Order Completed', op: 'gte', value: 1, withinDays: 30 } });
    await admin.getByRole('tab', { name: '标签', exact: true }).click();
    await expect.poll(() => admin.locator('tbody').first().textContent()).toContain('已购客户');
    await screenshot(admin, '12-tags');
  });

  it('builds a segment with the form (an attribute leaf), previews it, and filters the customers by it', async () => {
    await admin.goto('/segments');
    await admin.getByTestId('new-segment').click();
    await admin.getByTestId('segment-name').fill('上海客户');
    await pickOption(admin, admin.getByTestId('rule-leaf-type'), '客户属性');
    await admin.getByTestId('rule-trait-key').fill('city');
    await admin.getByTestId('rule-trait-value').fill('上海');
    // Only 李雷 lives in 上海.
    await expect.poll(() => admin.getByTestId('rule-preview-count').getAttribute('data-count')).toBe('1');
    await screenshot(admin, '25-segment-builder');
    await admin.getByTestId('segment-save').click();
    await expect.poll(() => admin.locator('.ant-table-row').filter({ hasText: '上海客户' }).count()).toBe(1);
    const segments = await server.api<{ data: { id: string; memberCount: number; condition: unknown }[] }>('GET', '/v1/segments');
    expect(segments.data[0]).toMatchObject({ memberCount: 1, condition: { type: 'trait', key: 'city', op: 'eq', value: '上海' } });
    await screenshot(admin, '26-segments');
    await admin.getByTestId('segment-members').first().click();
    await expect.poll(() => admin.getByTestId('customer-link').allTextContents()).toEqual(['李雷']);
    await expect.poll(() => admin.getByTestId('segment-filter').textContent()).toContain('上海客户');
  });

  it('shows the other pages with their data and empty states, in Chinese and in English', async () => {
    await admin.goto('/monitor?tab=quarantine');
    await expect.poll(() => admin.locator('tbody').first().textContent()).toContain('traits.phone');
    await screenshot(admin, '13-quarantine');
    await admin.goto('/monitor?tab=ingest');
    await admin.locator('.chart-card canvas').first().waitFor();
    await expect.poll(() => admin.locator('.stat-card').first().textContent()).toMatch(/接收\s*[1-9]/);
    await screenshot(admin, '22-monitor-ingest');
    await admin.goto('/connectors');
    await admin.getByTestId('add-connector').first().waitFor();
    await screenshot(admin, '14-connectors');
    await admin.getByTestId('add-connector').first().click();
    await admin.getByTestId('platform-miniprogram').click();
    await admin.getByTestId('app-id').fill('wx0123456789abcdef');
    await admin.getByTestId('app-secret').fill('0123456789abcdef0123456789abcdef');
    await admin.getByTestId('create-connector').click();
    await expect.poll(() => admin.locator('.ant-modal').textContent()).toContain('/v1/miniprogram/');
    await screenshot(admin, '15-connector-created');
    await admin.keyboard.press('Escape');
    // The field mapping: JSONata expressions previewed live against a sample payload.
    await admin.getByTestId('edit-mapping').first().click();
    await admin.getByTestId('mapping-expr').first().fill('$uppercase(buyer_info.buyer_nick)');
    await expect.poll(() => admin.getByTestId('mapping-preview').textContent()).toContain('LILEI');
    await screenshot(admin, '24-connector-mapping');
    await admin.getByTestId('mapping-save').click();
    const connectors = await eventually(
      async () => (await server.api<{ data: { mapping: Record<string, string> }[] }>('GET', '/v1/connectors')).data.find((c) => c.mapping['userId']),
      'the saved mapping',
    );
    expect(connectors.mapping['userId']).toBe('$uppercase(buyer_info.buyer_nick)');
    for (const [tab, name] of [
      ['users', '16-settings-users'],
      ['api-keys', '17-settings-api-keys'],
      ['sources', '18-settings-sources'],
      ['identity-rules', '19-settings-identity-rules'],
      ['audit', '20-settings-audit'],
    ] as const) {
      await admin.goto(`/settings/${tab}`);
      await admin.locator('.app-content .ant-table, .app-content .ant-list').first().waitFor();
      await admin.waitForLoadState('networkidle');
      await screenshot(admin, name);
    }
    await admin.goto('/customers');
    await admin.getByTestId('language-switch').getByText('EN').click();
    await expect.poll(() => admin.locator('.page-title').textContent()).toBe('Customers');
    await screenshot(admin, '21-customers-en');
    await admin.reload();
    await expect.poll(() => admin.locator('.page-title').textContent()).toBe('Customers');
    await admin.getByTestId('language-switch').getByText('中文').click();
    await expect.poll(() => admin.locator('.page-title').textContent()).toBe('客户');
    expect(adminProblems).toEqual([]);
  });
});
