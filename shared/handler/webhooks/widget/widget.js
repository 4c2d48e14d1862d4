/*
 * Parley chat widget: plain JavaScript, no framework, no build step.
 *
 * A site embeds it with one tag:
 *   <script src="https://<api>/chat/<workspace id>/widget.js" async></script>
 * and may add data-email plus data-identifier-hash (the hex HMAC-SHA256 of the
 * email under the workspace's identity secret, computed on the site's server)
 * for a signed-in visitor, and data-open to open the chat on load.
 *
 * The API and the workspace come from the script's own src. Everything renders
 * in a shadow root with its own styles; message text is set with textContent.
 * Protocol: see the web chat routes in openapi.json and the real-time protocol
 * (frames are JSON arrays of events).
 */
(() => {
  'use strict';

  const script = document.currentScript ||
    [...document.scripts].find((s) => /\/chat\/[^/]+\/widget\.js(\?|$)/.test(s.src));
  const match = script && new URL(script.src, location.href).pathname.match(/^(.*)\/chat\/([^/]+)\/widget\.js$/);
  if (!match) return;
  const src = new URL(script.src, location.href);
  const workspace = decodeURIComponent(match[2]);
  const chatURL = src.origin + match[1] + '/chat/' + encodeURIComponent(workspace);
  const loaded = (window.__parleyWidgets = window.__parleyWidgets || {});
  if (loaded[workspace]) return; // embedded twice
  loaded[workspace] = true;

  const data = script.dataset;
  const identity = { email: data.email || '', hash: data.identifierHash || '' };
  const openOnLoad = 'open' in data && data.open !== 'false';

  const HEARTBEAT = 30e3; // presence: the server keeps a visitor online ~2 min per beat
  const POLL = 5e3; // history polling while the WebSocket is down
  const PING = 5 * 60e3; // keeps the socket from idling out
  const TYPING_EVERY = 3e3; // at most one typing frame per 3 s
  const TYPING_SHOWN = 6e3; // the agent's typing indicator fades without news
  const PAGE = 100;
  const DEFAULTS = { title: 'Chat with us', greeting: '', color: '#2563eb', webSocketUrl: '', emailCapture: true };

  // ---- storage: one visitor per workspace and identity on this device ----

  const storeKey = 'parley:' + workspace + (identity.email ? ':' + identity.email.toLowerCase() : '');
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(storeKey)) || {};
  } catch { /* storage blocked: this page view only */ }
  if (!Array.isArray(saved.outbox)) saved.outbox = [];
  const save = () => {
    try {
      localStorage.setItem(storeKey, JSON.stringify(saved));
    } catch { /* storage blocked or full */ }
  };

  // ---- HTTP ----

  class HTTPError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || (status ? 'Request failed (' + status + ')' : 'No connection'));
      this.status = status;
    }
  }
  // transient failures are retried: no connection, rate limits, server errors.
  const transient = (e) => !e.status || e.status === 429 || e.status >= 500;

  async function call(method, path, body, auth = true) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) headers.Authorization = 'Bearer ' + saved.token;
    let res;
    try {
      res = await fetch(chatURL + path, {
        method, headers, credentials: 'omit', cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      setOnline(false);
      throw new HTTPError(0);
    }
    const out = await res.json().catch(() => null);
    setOnline(res.ok || !transient(res));
    if (!res.ok) throw new HTTPError(res.status, out);
    return out;
  }

  // ---- DOM helpers (no innerHTML: text always goes through textContent) ----

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    el.append(...kids);
    return el;
  }
  const SVG = 'http://www.w3.org/2000/svg';
  function icon(d) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.append(path);
    return svg;
  }
  const ICON_CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2zm3 6v2h10V9H7zm0-3v2h10V6H7zm0 6v2h7v-2H7z';
  const ICON_CLOSE = 'M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7l-1.4-1.4L9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z';
  const ICON_SEND = 'M3 20.5V14l9-2-9-2V3.5L22 12 3 20.5z';

  const CSS = `
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
button,input,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}
.root{--accent:#2563eb;--on-accent:#fff;position:fixed;right:20px;bottom:20px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2937;text-align:left}
.launcher{position:relative;display:grid;place-items:center;width:56px;height:56px;padding:0;border:0;border-radius:50%;background:var(--accent);color:var(--on-accent);box-shadow:0 4px 14px rgba(0,0,0,.25);transition:transform .15s}
.launcher:hover{transform:scale(1.05)}
.launcher svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}
.panel{position:absolute;right:0;bottom:72px;display:flex;flex-direction:column;width:370px;height:min(580px,calc(100vh - 112px));overflow:hidden;border-radius:14px;background:#fff;box-shadow:0 12px 40px rgba(0,0,0,.25)}
header{display:flex;align-items:center;gap:8px;padding:14px 12px 14px 18px;background:var(--accent);color:var(--on-accent)}
h2{flex:1;margin:0;font-size:16px;font-weight:600}
.icon{display:grid;place-items:center;width:34px;height:34px;padding:0;border:0;border-radius:8px;background:transparent;color:inherit}
.icon:hover{background:rgba(127,127,127,.2)}
.icon svg{width:20px;height:20px;fill:currentColor}
.banner{padding:8px 16px;background:#fef3c7;color:#78350f;font-size:13px}
.log{flex:1;display:flex;flex-direction:column;gap:8px;overflow-y:auto;padding:16px;background:#f9fafb}
.msg{position:relative;max-width:82%;padding:8px 12px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere}
.msg[data-direction=in]{align-self:flex-end;border-bottom-right-radius:4px;background:var(--accent);color:var(--on-accent)}
.msg[data-direction=out]{align-self:flex-start;border:1px solid #e5e7eb;border-bottom-left-radius:4px;background:#fff}
.msg[data-state=sending],.msg[data-state=queued]{opacity:.65}
.msg[data-state=failed]{box-shadow:0 0 0 2px #dc2626}
.meta{display:block;margin-top:2px;font-size:11px;opacity:.75}
.typing{padding:2px 16px 6px;background:#f9fafb;color:#6b7280;font-size:12px;font-style:italic}
.email{display:grid;gap:6px;padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff;font-size:13px}
.row{display:flex;gap:6px}
input{flex:1;min-width:0;padding:7px 10px;border:1px solid #d1d5db;border-radius:8px;background:#fff}
.btn{padding:7px 12px;border:0;border-radius:8px;background:var(--accent);color:var(--on-accent);font-weight:600}
.link{padding:0;border:0;background:none;color:#1d4ed8;text-decoration:underline}
.status{margin:0;color:#4b5563}
.status[data-error]{color:#b91c1c}
.composer{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff}
textarea{flex:1;min-height:38px;max-height:120px;padding:8px 10px;border:1px solid #d1d5db;border-radius:10px;background:#fff;resize:none}
.send{display:grid;place-items:center;width:40px;height:38px;padding:0;border:0;border-radius:10px;background:var(--accent);color:var(--on-accent)}
.send svg{width:20px;height:20px;fill:currentColor}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.root{right:12px;bottom:12px}.panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}}
@media (prefers-reduced-motion:reduce){.launcher{transition:none}}
`;

  // ---- the widget's DOM ----

  // The host element is the only thing added to the page. Its inline
  // !important style outranks any rule of the page's, so the page cannot
  // restyle it either (a page's "div { ... }" or "* { ... }").
  const host = h('parley-chat', { 'data-parley-widget': workspace,
    style: 'all:initial!important;display:block!important;position:fixed!important;right:0!important;bottom:0!important;width:0!important;height:0!important;z-index:2147483000!important' });
  const shadow = host.attachShadow({ mode: 'open' });
  const title = h('h2', { id: 'parley-title' });
  const closeButton = h('button', { type: 'button', class: 'icon', 'aria-label': 'Close chat', 'data-testid': 'close', onclick: () => close() }, icon(ICON_CLOSE));
  const banner = h('div', { class: 'banner', role: 'status', 'data-testid': 'offline', part: 'offline', hidden: true,
    text: 'You are offline. Your messages will be sent when the connection is back.' });
  const greeting = h('div', { class: 'msg', 'data-direction': 'out', 'data-testid': 'greeting', hidden: true });
  const log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Conversation', tabindex: '0', 'data-testid': 'log', part: 'log' }, greeting);
  const typing = h('div', { class: 'typing', role: 'status', 'data-testid': 'typing', part: 'typing', hidden: true, text: 'Agent is typing…' });

  const emailStatus = h('p', { class: 'status', role: 'status', 'data-testid': 'email-status' });
  const emailInput = h('input', { type: 'email', required: true, autocomplete: 'email', maxlength: '254', placeholder: 'you@example.com', 'aria-label': 'Your email address', 'data-testid': 'email-input' });
  const emailRow = h('div', { class: 'row' }, emailInput, h('button', { type: 'submit', class: 'btn', 'data-testid': 'email-submit', text: 'Save' }));
  const codeInput = h('input', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '12', 'aria-label': 'Code from the email', 'data-testid': 'code-input' });
  const codeRow = h('div', { class: 'row', hidden: true }, codeInput, h('button', { type: 'button', class: 'btn', 'data-testid': 'code-submit', text: 'Verify', onclick: () => verifyCode() }));
  const verifyButton = h('button', { type: 'button', class: 'link', hidden: true, 'data-testid': 'email-verify', text: 'Verify this address with a code', onclick: () => sendCode() });
  const emailHint = h('p', { class: 'status', text: 'Leave your email to get our replies there too.' });
  const emailForm = h('form', { class: 'email', 'aria-label': 'Your email address', 'data-testid': 'email-form', part: 'email-form', hidden: true, novalidate: true, onsubmit: (e) => { e.preventDefault(); leaveEmail(); } },
    emailHint, emailRow, verifyButton, codeRow, emailStatus);

  const input = h('textarea', { rows: '1', maxlength: '5000', placeholder: 'Write a message…', 'aria-label': 'Write a message', 'data-testid': 'input', part: 'input' });
  const composer = h('form', { class: 'composer', 'data-testid': 'composer', onsubmit: (e) => { e.preventDefault(); submit(); } },
    input, h('button', { type: 'submit', class: 'send', 'aria-label': 'Send', 'data-testid': 'send', part: 'send' }, icon(ICON_SEND)));

  const panel = h('div', { id: 'parley-panel', class: 'panel', role: 'dialog', 'aria-label': DEFAULTS.title, 'data-testid': 'panel', part: 'panel', hidden: true },
    h('header', null, title, closeButton), banner, log, typing, emailForm, composer);
  const badge = h('span', { class: 'badge', 'data-testid': 'unread', hidden: true });
  const launcher = h('button', { type: 'button', class: 'launcher', 'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'parley-panel', 'data-testid': 'launcher', part: 'launcher', onclick: () => (panel.hidden ? open() : close()) },
    icon(ICON_CHAT), badge);
  const root = h('div', { class: 'root' }, panel, launcher);
  shadow.append(h('style', { text: CSS }), root);

  // ---- settings ----

  let settings = { ...DEFAULTS };
  function applySettings(s) {
    settings = { ...DEFAULTS, ...s };
    title.textContent = settings.title;
    panel.setAttribute('aria-label', settings.title);
    greeting.textContent = settings.greeting;
    greeting.hidden = !settings.greeting;
    if (/^#[0-9a-f]{6}$/i.test(settings.color)) {
      root.style.setProperty('--accent', settings.color);
      root.style.setProperty('--on-accent', onAccent(settings.color));
    }
    renderEmail();
  }
  // onAccent is the text colour that reads best on the accent (WCAG luminance).
  function onAccent(hex) {
    const n = parseInt(hex.slice(1), 16);
    const [r, g, b] = [n >> 16, (n >> 8) & 255, n & 255].map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? '#111827' : '#ffffff';
  }

  // ---- online state ----

  let reachable = true;
  function setOnline(ok) {
    reachable = ok;
    banner.hidden = ok && navigator.onLine !== false;
  }
  window.addEventListener('offline', () => setOnline(false));
  window.addEventListener('online', () => {
    setOnline(reachable);
    retry = 0;
    clearTimeout(retryTimer);
    connect();
    flush();
    sync();
  });

  // ---- the panel ----

  let unread = 0;
  function open() {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', 'Close chat');
    markSeen();
    scrollDown(true);
    input.focus();
    if (saved.token && !pollTimer && !sockOpen) sync();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', unread ? 'Open chat, ' + unread + ' unread' : 'Open chat');
    launcher.focus();
  }
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !panel.hidden) {
      e.stopPropagation();
      close();
    } else if (e.key === 'Tab' && panel.contains(shadow.activeElement)) {
      // Tab cycles within the open panel; Esc leaves it.
      const items = [...panel.querySelectorAll('button,input,textarea,[tabindex="0"]')].filter((el) => !el.disabled && el.getClientRects().length);
      const first = items[0], last = items[items.length - 1];
      if (e.shiftKey && shadow.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && shadow.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  });
  function setUnread(n) {
    unread = n;
    badge.textContent = n > 9 ? '9+' : String(n);
    badge.hidden = !n;
    if (panel.hidden) launcher.setAttribute('aria-label', n ? 'Open chat, ' + n + ' unread' : 'Open chat');
  }
  // seen is the newest agent message the visitor has had on screen.
  function markSeen() {
    const newest = [...log.querySelectorAll('[data-direction=out][data-id]')].pop();
    if (newest && (!saved.seen || newest.dataset.id > saved.seen)) {
      saved.seen = newest.dataset.id;
      save();
    }
    setUnread(0);
  }
  function scrollDown(force) {
    if (force || log.scrollHeight - log.scrollTop - log.clientHeight < 80) log.scrollTop = log.scrollHeight;
  }

  // ---- messages ----

  const byId = new Map(); // server id -> element
  const pending = new Map(); // clientMessageId -> element
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

  function bubble(direction, body) {
    const el = h('div', { class: 'msg', 'data-testid': 'message', 'data-direction': direction, part: 'message' },
      h('span', { class: 'sr', text: direction === 'in' ? 'You: ' : 'Agent: ' }),
      h('span', { 'data-testid': 'body', text: body }),
      h('span', { class: 'meta' }));
    return el;
  }
  function setState(el, state, note) {
    if (!el) return;
    el.dataset.state = state;
    const meta = el.lastChild;
    meta.textContent = note || { sending: 'Sending…', queued: 'Waiting for a connection…', failed: 'Not sent' }[state] || '';
  }
  function stamp(el, m) {
    el.dataset.id = m.id;
    el.dataset.state = 'sent';
    const at = new Date(m.createdAt);
    el.lastChild.textContent = isNaN(at) ? '' : timeFormat.format(at);
    if (!isNaN(at)) el.lastChild.title = at.toLocaleString();
  }
  // place keeps server messages in id (ULID, so time) order, before the
  // ones still on their way.
  function place(el) {
    const id = el.dataset.id;
    let before = null;
    if (id) {
      for (const other of log.querySelectorAll('[data-testid=message]')) {
        if (!other.dataset.id || other.dataset.id > id) {
          before = other;
          break;
        }
      }
    }
    log.insertBefore(el, before);
  }
  // addServer shows a message from the history, a poll or the socket, once.
  function addServer(m) {
    if (!m || !m.id || byId.has(m.id) || (m.direction !== 'in' && m.direction !== 'out')) return;
    let el = null;
    if (m.direction === 'in') {
      // The visitor's own message, seen before its POST answered.
      for (const [cid, candidate] of pending) {
        if (candidate.dataset.state === 'sending' && candidate.querySelector('[data-testid=body]').textContent === m.body) {
          el = candidate;
          pending.delete(cid);
          break;
        }
      }
    }
    if (el) el.remove();
    else el = bubble(m.direction, m.body || '');
    stamp(el, m);
    byId.set(m.id, el);
    place(el);
    if (m.direction === 'out') {
      setTyping(false);
      if (panel.hidden || document.hidden) {
        if (!saved.seen || m.id > saved.seen) setUnread(unread + 1);
      } else {
        markSeen();
      }
    }
    hasThread = true;
    renderEmail();
    scrollDown(m.direction === 'in');
  }

  // ---- sending: the outbox survives reloads and outages ----

  let hasThread = false;
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));

  function submit() {
    const body = input.value.trim();
    if (!body) return;
    input.value = '';
    autosize();
    const item = { cid: newId(), body };
    saved.outbox.push(item);
    save();
    showPending(item, 'sending');
    flush();
    input.focus();
  }
  function showPending(item, state) {
    const el = bubble('in', item.body);
    pending.set(item.cid, el);
    setState(el, state);
    log.append(el);
    scrollDown(true);
  }
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
  }
  let lastTyping = 0;
  input.addEventListener('input', () => {
    autosize();
    const now = Date.now();
    if (input.value.trim() && sockOpen && now - lastTyping >= TYPING_EVERY) {
      lastTyping = now;
      sendFrame({ type: 'typing' });
    }
  });

  let flushing = false, flushTimer = 0, flushRetry = 0;
  async function flush() {
    if (flushing) return;
    flushing = true;
    clearTimeout(flushTimer);
    try {
      let renewed = false;
      while (saved.outbox.length) {
        const item = saved.outbox[0];
        const el = pending.get(item.cid);
        setState(el, 'sending');
        try {
          await ensureSession();
          await identify();
          const m = await call('POST', '/messages', { body: item.body, clientMessageId: item.cid });
          saved.outbox.shift();
          save();
          flushRetry = 0;
          pending.delete(item.cid);
          const known = byId.get(m.id); // a poll may have shown it already
          if (known && el && known !== el) el.remove();
          else if (!known && el) {
            stamp(el, m);
            byId.set(m.id, el);
          } else if (!known) addServer(m);
          if (!hasThread) heartbeat(); // the first message made the thread: show the visitor online
          hasThread = true;
          renderEmail();
        } catch (e) {
          if (e.status === 401 && !renewed) {
            renewed = true; // the token is no longer valid: start over as a new visitor
            resetVisitor();
            continue;
          }
          if (transient(e)) {
            setState(el, 'queued');
            flushTimer = setTimeout(flush, Math.min(30e3, 2e3 * 2 ** flushRetry++));
            return;
          }
          saved.outbox.shift();
          save();
          pending.delete(item.cid);
          setState(el, 'failed', 'Not sent: ' + e.message);
        }
      }
    } finally {
      flushing = false;
    }
  }

  // ---- the visitor ----

  let sessionPromise = null;
  function ensureSession() {
    if (saved.token) return Promise.resolve();
    sessionPromise = sessionPromise || call('POST', '/sessions', undefined, false).then((s) => {
      saved.visitorId = s.visitorId;
      saved.token = s.token;
      save();
      connect();
    }).finally(() => { sessionPromise = null; });
    return sessionPromise;
  }
  function resetVisitor() {
    saved = { outbox: saved.outbox };
    save();
    tail = '';
    if (sock) sock.close(1000);
  }

  // identify proves a signed-in visitor's email with the site's hash, once.
  let identifyFailed = false;
  async function identify() {
    if (!identity.email || !identity.hash || identifyFailed || saved.identified === identity.email) return;
    try {
      const r = await call('POST', '/email', { email: identity.email, identifierHash: identity.hash });
      saved.identified = identity.email;
      saved.email = r.email;
      saved.verified = r.verified;
      save();
    } catch (e) {
      if (transient(e) || e.status === 401) throw e;
      identifyFailed = true; // a wrong hash: chat on as an anonymous visitor
      console.warn('Parley chat: the site\'s identity for this visitor was refused:', e.message);
    }
  }

  // ---- email capture: leave an address, then prove it with an emailed code ----

  let emailStep = 'ask';
  function renderEmail() {
    if (saved.email && emailStep === 'ask') {
      // An address left on an earlier visit: hide it once proved.
      emailStep = saved.verified ? 'known' : 'claimed';
      if (!saved.verified) say('Replies will also go to ' + saved.email + ' once you verify it.');
    }
    const signedIn = identity.email && identity.hash && !identifyFailed;
    emailForm.hidden = !settings.emailCapture || signedIn || !hasThread || emailStep === 'known';
    emailHint.hidden = emailRow.hidden = emailStep !== 'ask';
    verifyButton.hidden = emailStep !== 'claimed';
    codeRow.hidden = emailStep !== 'code';
  }
  function say(text, error) {
    emailStatus.textContent = text;
    emailStatus.toggleAttribute('data-error', !!error);
  }
  async function emailCall(path, body, next) {
    try {
      await ensureSession();
      return await call('POST', path, body);
    } catch (e) {
      say(e.status === 0 ? 'No connection; try again in a moment.' : e.message, true);
      return null;
    } finally {
      renderEmail();
      next && next.focus();
    }
  }
  async function leaveEmail() {
    const email = emailInput.value.trim();
    if (!emailInput.checkValidity() || !email) {
      say('Please enter a valid email address.', true);
      return emailInput.focus();
    }
    const r = await emailCall('/email', { email });
    if (!r) return;
    saved.email = r.email;
    saved.verified = r.verified;
    save();
    emailStep = r.verified ? 'done' : 'claimed';
    say(r.verified ? 'Thanks! We will reply to ' + r.email + '.' : 'Thanks! Replies will also go to ' + r.email + ' once you verify it.');
    renderEmail();
    (r.verified ? input : verifyButton).focus();
  }
  async function sendCode() {
    if (!(await emailCall('/email/code', { email: saved.email }))) return;
    emailStep = 'code';
    say('We sent a code to ' + saved.email + '. Enter it here.');
    renderEmail();
    codeInput.focus();
  }
  async function verifyCode() {
    const code = codeInput.value.trim();
    if (!code) return codeInput.focus();
    if (!(await emailCall('/email/verify', { email: saved.email, code }))) return;
    saved.verified = true;
    save();
    emailStep = 'done';
    say('✓ ' + saved.email + ' is verified.');
    renderEmail();
    input.focus();
  }

  // ---- history and polling ----

  // tail is the cursor of the history's last page (oldest first): a poll
  // reads from there, so it never rereads the whole thread.
  let tail = '', syncing = null, pollTimer = 0;
  function sync() {
    if (!saved.token) return Promise.resolve();
    syncing = syncing || (async () => {
      try {
        let cursor = tail;
        for (;;) {
          const q = new URLSearchParams({ limit: PAGE });
          if (cursor) q.set('cursor', cursor);
          const page = await call('GET', '/messages?' + q);
          page.items.forEach(addServer);
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        tail = cursor;
      } catch (e) {
        if (e.status === 401) resetVisitor();
        else if (e.status === 400) tail = ''; // a cursor from another key: read again
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  }
  function startPolling() {
    if (!pollTimer) pollTimer = setInterval(() => { if (!document.hidden || !panel.hidden) sync(); }, POLL);
  }
  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = 0;
  }

  // ---- presence ----

  function heartbeat() {
    if (saved.token && !document.hidden) call('POST', '/heartbeat').catch(() => {});
  }
  setInterval(heartbeat, HEARTBEAT);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    if (!panel.hidden) markSeen();
    heartbeat();
    if (!sockOpen) sync();
  });

  // ---- live: the WebSocket, with polling while it is down ----

  let sock = null, sockOpen = false, retry = 0, retryTimer = 0, pingTimer = 0, typingTimer = 0;
  function connect() {
    if (!saved.token || sock) return;
    if (!settings.webSocketUrl || !window.WebSocket) return startPolling();
    let url;
    try {
      url = new URL(settings.webSocketUrl);
    } catch {
      return startPolling();
    }
    url.searchParams.set('workspace', workspace);
    url.searchParams.set('token', saved.token);
    const s = (sock = new WebSocket(url));
    s.onopen = () => {
      sockOpen = true;
      retry = 0;
      setOnline(true);
      // The sync contract: connect, catch up since the last message seen,
      // then trust the socket.
      sync().then(() => { if (sockOpen && sock === s) stopPolling(); });
      pingTimer = setInterval(() => sendFrame({ type: 'ping' }), PING);
    };
    s.onmessage = (e) => {
      let events;
      try {
        events = JSON.parse(e.data);
      } catch {
        return;
      }
      (Array.isArray(events) ? events : [events]).forEach(onEvent);
    };
    s.onclose = () => {
      clearInterval(pingTimer);
      if (sock !== s) return;
      sock = null;
      sockOpen = false;
      setTyping(false);
      if (!saved.token) return;
      startPolling();
      retryTimer = setTimeout(connect, Math.min(30e3, 1e3 * 2 ** retry++) * (0.5 + Math.random() / 2));
    };
  }
  function sendFrame(frame) {
    if (sockOpen && sock) sock.send(JSON.stringify(frame));
  }
  function onEvent(ev) {
    if (!ev || typeof ev !== 'object') return;
    if (ev.type === 'message.created' && ev.message) addServer(ev.message);
    else if (ev.type === 'typing' && ev.from === 'agent') setTyping(true);
  }
  function setTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) typingTimer = setTimeout(() => setTyping(false), TYPING_SHOWN);
  }

  // ---- start ----

  async function start() {
    if (!document.body) await new Promise((r) => document.addEventListener('DOMContentLoaded', r, { once: true }));
    let s = null;
    for (let wait = 2e3; !s; wait = Math.min(wait * 2, 60e3)) {
      try {
        const res = await fetch(chatURL + '/widget', { credentials: 'omit' });
        if (res.status === 404) return console.warn('Parley chat: web chat is not enabled for workspace ' + workspace);
        if (res.ok) s = await res.json();
        else throw new Error(res.status);
      } catch {
        // Unreachable: show the widget offline, and keep trying.
        if (!host.isConnected) {
          applySettings({});
          document.body.append(host);
          setOnline(false);
          saved.outbox.forEach((item) => showPending(item, 'queued'));
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    setOnline(true);
    applySettings(s);
    if (!host.isConnected) {
      document.body.append(host);
      saved.outbox.forEach((item) => showPending(item, 'queued'));
    }
    if (saved.token) {
      sync();
      heartbeat();
      connect();
    }
    if (saved.outbox.length) flush();
    if (openOnLoad) open();
  }
  start();
})();
