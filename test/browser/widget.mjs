// The chat widget in a real browser: Debian's chromium, driven by
// playwright-core (never a downloaded browser). test/e2e/widget_browser_test.go
// runs it and plays the agent:
//
//   node test/browser/widget.mjs <pageURL> <screenshotPath>
//
// with PARLEY_WIDGET_MESSAGE (what the visitor types), PARLEY_WIDGET_REPLY
// (what the agent answers) and PARLEY_WIDGET_LATER (what the visitor sends
// while offline) in the environment. <pageURL> is a host page on
// another origin than the API, with the one script tag; <pageURL>/control is
// the same page without it. Progress goes to stdout as JSON lines, which the
// Go test waits on: {"step":"sent"}, {"step":"typing"}, then {"step":"done"}.
// Any failed check exits 1.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const [pageURL, screenshot] = process.argv.slice(2);
const message = process.env.PARLEY_WIDGET_MESSAGE;
const reply = process.env.PARLEY_WIDGET_REPLY;
const later = process.env.PARLEY_WIDGET_LATER;
if (!pageURL || !screenshot || !message || !reply || !later) {
  console.error('usage: PARLEY_WIDGET_MESSAGE=... PARLEY_WIDGET_REPLY=... PARLEY_WIDGET_LATER=... node widget.mjs <pageURL> <screenshotPath>');
  process.exit(2);
}
const say = (step, extra = {}) => console.log(JSON.stringify({ step, ...extra }));
const failures = [];
const check = (ok, what) => {
  if (!ok) {
    failures.push(what);
    console.error('FAIL:', what);
  }
};

// Computed styles of the host page's own elements, to compare with and
// without the widget.
function hostStyles() {
  const props = ['color', 'backgroundColor', 'fontFamily', 'fontSize', 'borderTopStyle', 'borderTopColor', 'margin', 'padding', 'display', 'lineHeight'];
  const out = { styleSheets: document.styleSheets.length, headChildren: document.head.children.length };
  for (const sel of ['html', 'body', 'h1', '#host-text', '#host-button', '#host-box']) {
    const cs = getComputedStyle(document.querySelector(sel));
    out[sel] = Object.fromEntries(props.map((p) => [p, cs[p]]));
  }
  return out;
}

// The widget's shadow root, and what the visitor sees in it.
const inWidget = (fn) => `(() => { const root = document.querySelector('[data-parley-widget]').shadowRoot; return (${fn})(root); })()`;

const profile = mkdtempSync(join(tmpdir(), 'parley-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.PARLEY_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1024, height: 720 },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => console.error(`[browser ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => {
    console.error('[browser page error]', e);
    check(false, 'the page threw: ' + e.message);
  });

  // The host page alone, then with the widget.
  await page.goto(new URL('control', pageURL).href);
  const before = await page.evaluate(hostStyles);
  await page.goto(pageURL);

  const launcher = page.locator('[data-testid=launcher]');
  const panel = page.locator('[data-testid=panel]');
  const input = page.locator('[data-testid=input]');
  await launcher.waitFor({ state: 'visible' });
  check(await panel.isHidden(), 'the panel is closed on load');
  check((await launcher.getAttribute('aria-expanded')) === 'false', 'the launcher says the panel is collapsed');

  // The visitor opens it and sends a message.
  await launcher.click();
  await panel.waitFor({ state: 'visible' });
  check((await panel.getAttribute('role')) === 'dialog' && !!(await panel.getAttribute('aria-label')), 'the panel is a labelled dialog');
  check((await page.locator('[data-testid=log]').getAttribute('role')) === 'log', 'the conversation is a log');
  check((await page.locator('[data-testid=log]').getAttribute('aria-live')) === 'polite', 'the log is aria-live polite');
  check((await page.evaluate(inWidget((root) => root.activeElement && root.activeElement.dataset.testid))) === 'input', 'opening focuses the composer');
  await input.fill(message.slice(0, 20));
  await input.press('Shift+Enter'); // a newline, not a send
  check((await input.inputValue()).includes('\n'), 'Shift+Enter adds a newline');
  await input.fill(message);
  await input.press('Enter');
  const sent = page.locator('[data-testid=message][data-direction=in][data-state=sent]', { hasText: message });
  await sent.waitFor();
  check((await input.inputValue()) === '', 'the composer is cleared after sending');
  say('sent');

  // The agent (the Go test) sees it on the agent's socket, starts typing...
  const typing = page.locator('[data-testid=typing]');
  await typing.waitFor({ state: 'visible' });
  say('typing');

  // ...and replies through the API: the reply appears in the widget.
  const answer = page.locator('[data-testid=message][data-direction=out]', { hasText: reply });
  await answer.waitFor();
  check((await answer.locator('[data-testid=body]').textContent()) === reply, 'the reply is shown as sent, as text');
  check(await typing.isHidden(), 'the typing indicator goes when the reply comes');
  const order = await page.locator('[data-testid=message] [data-testid=body]').allTextContents();
  check(order.length === 2 && order[0] === message && order[1] === reply, 'the thread reads message then reply: ' + JSON.stringify(order));
  // The visitor starts typing: the agent sees it (the Go test checks).
  await input.fill('Thanks');
  await input.fill('');

  // Keyboard: Esc closes and returns focus to the launcher; Enter reopens.
  await input.press('Escape');
  await panel.waitFor({ state: 'hidden' });
  check((await page.evaluate(inWidget((root) => root.activeElement && root.activeElement.dataset.testid))) === 'launcher', 'Esc returns focus to the launcher');
  await page.keyboard.press('Enter');
  await panel.waitFor({ state: 'visible' });
  // Tab cycles inside the open panel.
  for (let i = 0; i < 8; i++) await page.keyboard.press('Tab');
  check(await page.evaluate(inWidget((root) => !!root.activeElement && root.querySelector('[data-testid=panel]').contains(root.activeElement))), 'Tab stays in the panel');
  await input.focus();

  // Styles: the host's button rule does not reach the launcher, and the
  // widget changed nothing of the host's.
  const widget = await page.evaluate(inWidget((root) => {
    const cs = getComputedStyle(root.querySelector('[data-testid=launcher]'));
    const bubble = getComputedStyle(root.querySelector('[data-testid=message][data-direction=out]'));
    return { launcherBackground: cs.backgroundColor, launcherFont: cs.fontFamily, launcherBorder: cs.borderTopStyle, bubbleColor: bubble.color, bubbleBorder: bubble.borderTopStyle };
  }));
  const after = await page.evaluate(hostStyles);
  check(widget.launcherBackground !== 'rgb(255, 0, 0)', 'the host page\'s button rule leaked into the launcher: ' + widget.launcherBackground);
  check(!/comic/i.test(widget.launcherFont), 'the host page\'s font leaked into the widget: ' + widget.launcherFont);
  check(widget.bubbleBorder !== 'dotted', 'the host page\'s div rule leaked into a message bubble');
  check(after['#host-button'].backgroundColor === 'rgb(255, 0, 0)', 'the host button is still red: ' + after['#host-button'].backgroundColor);
  check(JSON.stringify(after) === JSON.stringify(before), 'the widget changed the host page\'s styles:\n before ' + JSON.stringify(before) + '\n after  ' + JSON.stringify(after));

  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });

  // Offline: a banner, and the composer queues what the visitor sends,
  // then sends it once when the connection is back.
  const banner = page.locator('[data-testid=offline]');
  check(await banner.isHidden(), 'no offline banner while online');
  await context.setOffline(true);
  await banner.waitFor({ state: 'visible' });
  await input.fill(later);
  await input.press('Enter');
  await page.locator('[data-testid=message][data-direction=in][data-state=queued]', { hasText: later }).waitFor();
  await context.setOffline(false);
  await page.locator('[data-testid=message][data-direction=in][data-state=sent]', { hasText: later }).waitFor();
  await banner.waitFor({ state: 'hidden' });
  check((await page.locator('[data-testid=message]', { hasText: later }).count()) === 1, 'the queued message shows once');

  // The same device keeps its thread: a reload shows the history.
  await page.reload();
  await launcher.waitFor({ state: 'visible' });
  await launcher.click();
  await page.locator('[data-testid=message][data-direction=out]', { hasText: reply }).waitFor();
  await page.locator('[data-testid=message][data-direction=in]', { hasText: later }).waitFor();
  const restored = await page.locator('[data-testid=message] [data-testid=body]').allTextContents();
  check(JSON.stringify(restored) === JSON.stringify([message, reply, later]), 'a reload restores the history: ' + JSON.stringify(restored));

  say('done', { widget, hostButton: after['#host-button'].backgroundColor, restored: restored.length });
} catch (e) {
  console.error(e);
  failures.push(String(e && e.message));
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failures.length ? 1 : 0);
