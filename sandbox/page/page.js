/* global document, window, fetch, EventSource, localStorage, URLSearchParams, requestAnimationFrame, setInterval, CSS */
// The sandbox page: a Slack channel drawn from /sandbox/state, refreshed on every SSE "change".
// Plain DOM, no framework, no innerHTML: every text from the bot or the table is set as text, so
// nothing it contains can run as markup.

const state = {
  data: undefined,
  fetchedAt: 0,
  me: initialUser(),
  openThread: undefined,
  fetching: false,
  dirty: false,
  firstRender: true,
  /** Ephemerals already shown to `me`: a new one is scrolled into view where it landed. */
  seenEphemerals: undefined,
  /** What the main area shows: the #builds channel, or the app (Apps → metal-build). */
  pane: 'channel',
  /** The app's tab: its Home, or its Messages (the direct messages the bot sent `me`). */
  appTab: 'home',
  /** How many of `me`'s direct messages have been seen (the sidebar's unread count). */
  seenDms: undefined,
};

const $ = (id) => document.getElementById(id);

function initialUser() {
  const fromQuery = new URLSearchParams(window.location.search).get('as');
  return fromQuery || localStorage.getItem('metal-build-sandbox-user') || 'U0REQUESTER';
}

/** el('div', { class: 'x', onclick: fn }, child, 'text', …) */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    // Through CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (key === 'style') Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof window.Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---- users ----------------------------------------------------------------------------------

function user(id) {
  const known = state.data?.users.find((u) => u.id === id);
  return known || { id, name: id, color: '#888', initials: '?' };
}

function avatar(id, extraClass) {
  const u = user(id);
  return el('div', { class: `avatar ${extraClass || ''}`, style: { background: u.color }, 'aria-hidden': 'true' }, u.initials);
}

// ---- mrkdwn ---------------------------------------------------------------------------------

const EMOJI = {
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  x: '❌',
  warning: '⚠️',
  rocket: '🚀',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  stopwatch: '⏱️',
  alarm_clock: '⏰',
  package: '📦',
  boom: '💥',
  wave: '👋',
  traffic_light: '🚦',
  construction: '🚧',
  hammer_and_wrench: '🛠️',
  moneybag: '💰',
  money_with_wings: '💸',
  gear: '⚙️',
  tada: '🎉',
  stop_sign: '🛑',
  skull: '💀',
  fire: '🔥',
  arrows_counterclockwise: '🔄',
  large_green_circle: '🟢',
  red_circle: '🔴',
  large_yellow_circle: '🟡',
  white_circle: '⚪',
  black_circle: '⚫',
  large_blue_circle: '🔵',
  cloud: '☁️',
  computer: '💻',
  floppy_disk: '💾',
  mag: '🔍',
  memo: '📝',
  clock3: '🕒',
  spiral_calendar_pad: '🗓️',
  lock: '🔒',
  key: '🔑',
  link: '🔗',
  information_source: 'ℹ️',
  question: '❓',
  exclamation: '❗',
  heavy_plus_sign: '➕',
  thumbsup: '👍',
  '+1': '👍',
  thumbsdown: '👎',
  ghost: '👻',
  zzz: '💤',
  wastebasket: '🗑️',
  inbox_tray: '📥',
  outbox_tray: '📤',
  hourglass_done: '⌛',
};

const decode = (text) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const emojify = (text) => text.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);

/** Plain text with *bold*, _italic_, ~strike~ and line breaks, as nodes. */
function inline(text) {
  const out = [];
  const pattern = /(^|[^A-Za-z0-9*_~])([*_~])(\S(?:[^\n]*?\S)?)\2(?![A-Za-z0-9])/;
  let rest = text;
  for (;;) {
    const m = pattern.exec(rest);
    if (!m) break;
    const start = m.index + m[1].length;
    out.push(...lines(rest.slice(0, start)));
    const tag = m[2] === '*' ? 'b' : m[2] === '_' ? 'i' : 's';
    out.push(el(tag, {}, inline(m[3])));
    rest = rest.slice(m.index + m[0].length);
  }
  out.push(...lines(rest));
  return out;
}

function lines(text) {
  const out = [];
  text.split('\n').forEach((line, i) => {
    if (i > 0) out.push(el('br'));
    if (line) out.push(emojify(line));
  });
  return out;
}

function safeHref(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : undefined;
}

/** <@U…>, <#C…|name>, <!here>, <url|text>, <url>. */
function angle(token) {
  const [target, label] = token.split('|');
  if (target.startsWith('@')) {
    const id = target.slice(1);
    return el('span', { class: `mention${id === state.me ? ' me' : ''}` }, `@${label || user(id).name}`);
  }
  // Slack shows <#C…> by the channel's name, as people know it.
  if (target.startsWith('#')) {
    const id = target.slice(1);
    return el('span', { class: 'mention channel-mention', 'data-channel': id }, `#${label || state.data?.channels?.[id] || id}`);
  }
  if (target.startsWith('!')) return el('span', { class: 'mention' }, `@${(label || target.slice(1)).split('^')[0]}`);
  const href = safeHref(decode(target));
  const text = decode(label || target);
  return href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text) : text;
}

function mrkdwn(source) {
  const out = [];
  const text = String(source ?? '');
  const blocks = text.split(/```/);
  blocks.forEach((part, i) => {
    if (i % 2 === 1 && i < blocks.length - 1) {
      out.push(el('pre', {}, decode(part.replace(/^\n/, ''))));
      return;
    }
    const piece = i % 2 === 1 ? '```' + part : part;
    piece.split(/(`[^`\n]+`)/).forEach((chunk) => {
      if (/^`[^`\n]+`$/.test(chunk)) {
        out.push(el('code', {}, decode(chunk.slice(1, -1))));
        return;
      }
      chunk.split(/(<[^<>\n]+>)/).forEach((bit) => {
        if (/^<[^<>\n]+>$/.test(bit)) out.push(angle(bit.slice(1, -1)));
        else if (bit) out.push(...inline(decode(bit)));
      });
    });
  });
  return el('span', { class: 'mrkdwn' }, out);
}

function textObject(t) {
  if (!t) return '';
  return t.type === 'mrkdwn' ? mrkdwn(t.text) : emojify(String(t.text ?? ''));
}

// ---- Block Kit ------------------------------------------------------------------------------

function renderBlocks(blocks, message) {
  return blocks.map((block) => {
    switch (block.type) {
      case 'header':
        return el('div', { class: 'block block-header' }, textObject(block.text));
      case 'section': {
        const main = el(
          'div',
          { class: 'section-main' },
          block.text ? el('div', {}, textObject(block.text)) : null,
          block.fields
            ? el(
                'div',
                { class: 'block-fields' },
                block.fields.map((f) => el('div', {}, textObject(f))),
              )
            : null,
        );
        const accessory = block.accessory?.type === 'button' ? renderButton(block.accessory, block, message) : null;
        return el('div', { class: 'block block-section' }, main, accessory);
      }
      case 'context':
        return el(
          'div',
          { class: 'block block-context' },
          (block.elements || []).map((e) =>
            e.type === 'image' ? el('img', { src: safeHref(e.image_url || ''), alt: e.alt_text || '' }) : el('span', {}, textObject(e)),
          ),
        );
      case 'divider':
        return el('hr', { class: 'block-divider' });
      case 'actions':
        return el(
          'div',
          { class: 'block block-actions' },
          (block.elements || []).map((e) => (e.type === 'button' ? renderButton(e, block, message) : el('span', { class: 'block-unknown' }, `[${e.type}]`))),
        );
      case 'rich_text':
        return el('div', { class: 'block' }, mrkdwn(message.text));
      default:
        return el('div', { class: 'block block-unknown' }, `[${block.type} block]`);
    }
  });
}

function renderButton(element, block, message) {
  const button = el(
    'button',
    { type: 'button', class: `block-button ${element.style || ''}`, 'data-action-id': element.action_id },
    emojify(element.text?.text ?? ''),
  );
  if (element.url) {
    const href = safeHref(element.url);
    if (href) button.addEventListener('click', () => window.open(href, '_blank', 'noopener'));
    return button;
  }
  button.addEventListener('click', () => {
    const send = () => clickButton(button, element, block, message);
    if (element.confirm) openConfirm(element.confirm, element.confirm.style || element.style, send);
    else send();
  });
  return button;
}

async function clickButton(button, element, block, message) {
  button.disabled = true;
  try {
    // A button in the Home tab: Slack sends block_actions from the view, with no channel or message.
    if (message.surface === 'home') {
      await post('/sandbox/home-action', { user: state.me, actionId: element.action_id, value: element.value, text: element.text?.text ?? '' });
      return;
    }
    if (message.surface === 'modal') {
      showNotice('Buttons inside a dialog are not simulated here.');
      return;
    }
    await post('/sandbox/action', {
      user: state.me,
      channel: message.channel,
      messageTs: message.ts,
      ephemeral: Boolean(message.ephemeral),
      actionId: element.action_id,
      blockId: block.block_id,
      value: element.value,
      text: element.text?.text ?? '',
    });
  } finally {
    button.disabled = false;
  }
}

// ---- confirm dialog -------------------------------------------------------------------------

function openConfirm(confirm, style, onConfirm) {
  const modal = $('modal');
  $('modal-title').textContent = confirm.title?.text ?? 'Are you sure?';
  $('modal-text').replaceChildren(textObject(confirm.text));
  const yes = $('modal-confirm');
  const no = $('modal-deny');
  yes.textContent = confirm.confirm?.text ?? 'Yes';
  no.textContent = confirm.deny?.text ?? 'Cancel';
  yes.className = `block-button ${style === 'danger' ? 'danger' : 'primary'}`;
  const close = () => {
    modal.hidden = true;
    yes.onclick = null;
    no.onclick = null;
    document.removeEventListener('keydown', onKey);
  };
  const onKey = (event) => {
    if (event.key === 'Escape') close();
  };
  yes.onclick = () => {
    close();
    onConfirm();
  };
  no.onclick = close;
  document.addEventListener('keydown', onKey);
  modal.hidden = false;
  yes.focus();
}

// ---- messages -------------------------------------------------------------------------------

function clockTime(iso) {
  return iso ? iso.slice(11, 16) : '';
}

function renderMessage(message, options) {
  const u = user(message.user);
  const body = message.blocks?.length ? renderBlocks(message.blocks, message) : [mrkdwn(message.text)];
  const parentText = message.broadcast ? state.data.timeline.find((m) => m.ts === message.threadTs)?.text : undefined;
  return el(
    'div',
    {
      class: `message${message.ephemeral ? ' ephemeral' : ''}${options.selected ? ' selected' : ''}`,
      'data-ts': message.ts,
      'data-ephemeral': message.ephemeral ? 'true' : undefined,
    },
    avatar(message.user),
    el(
      'div',
      { class: 'message-content' },
      message.ephemeral ? el('div', { class: 'only-you' }, '👁 Only visible to you') : null,
      message.broadcast && !options.inThread
        ? el(
            'div',
            { class: 'broadcast-note' },
            'replied to a thread: ',
            el('a', { onclick: () => openThread(message.threadTs) }, truncate(parentText || 'a thread', 60)),
          )
        : null,
      el(
        'div',
        { class: 'message-head' },
        el('span', { class: 'author' }, u.name),
        u.bot ? el('span', { class: 'app-badge' }, 'APP') : null,
        el('span', { class: 'time', title: message.simTime || '' }, clockTime(message.simTime)),
        message.edited ? el('span', { class: 'edited' }, '(edited)') : null,
      ),
      el('div', { class: 'message-body' }, body),
      !options.inThread && message.replyCount > 0 ? repliesLink(message) : null,
    ),
  );
}

function truncate(text, n) {
  const plain = decode(String(text))
    .replace(/[*_~`]/g, '')
    .replace(/<@([A-Z0-9]+)(\|[^>]*)?>/g, (_, id) => `@${user(id).name}`);
  return plain.length > n ? `${plain.slice(0, n - 1)}…` : plain;
}

function repliesLink(message) {
  const replies = state.data.threads[message.ts] || [];
  const people = [...new Set(replies.map((r) => r.user))].slice(0, 3);
  const last = replies[replies.length - 1];
  return el(
    'button',
    { type: 'button', class: 'replies-link', onclick: () => openThread(message.ts), 'data-thread': message.ts },
    people.map((id) => avatar(id, 'mini-avatar')),
    `${message.replyCount} ${message.replyCount === 1 ? 'reply' : 'replies'}`,
    last ? el('span', { class: 'muted' }, `Last reply ${clockTime(last.simTime)}`) : null,
  );
}

function openThread(ts) {
  state.openThread = ts;
  render();
  const body = $('thread-body');
  body.scrollTop = body.scrollHeight;
}

function nearBottom(node) {
  return node.scrollHeight - node.scrollTop - node.clientHeight < 60;
}

function renderChannel() {
  const list = $('messages');
  const stick = state.firstRender || nearBottom(list);
  const timeline = state.data.timeline;
  if (timeline.length === 0) {
    list.replaceChildren(
      el(
        'div',
        { class: 'empty' },
        el('b', {}, 'This is the very beginning of #builds.'),
        el('br'),
        'Type ',
        el('code', {}, '/metal-build main abc1234'),
        ' below as Riley, then switch to Avery (top right) and approve.',
      ),
    );
  } else {
    list.replaceChildren(...timeline.map((m) => renderMessage(m, { selected: m.ts === state.openThread })));
  }
  if (stick) list.scrollTop = list.scrollHeight;
}

function renderThread() {
  const panel = $('thread');
  const parent = state.data.timeline.find((m) => m.ts === state.openThread && !m.broadcast);
  if (!state.openThread || !parent) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const body = $('thread-body');
  const stick = nearBottom(body);
  const replies = state.data.threads[parent.ts] || [];
  body.replaceChildren(
    renderMessage(parent, { inThread: true }),
    el('div', { class: 'reply-count' }, `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`),
    ...replies.map((m) => renderMessage(m, { inThread: true })),
  );
  if (stick) body.scrollTop = body.scrollHeight;
}

/**
 * An ephemeral reply (to a click, a command) appears where it was posted: in the thread when it
 * carries thread_ts, in the channel otherwise; it is scrolled into view and briefly marked, so a
 * refusal is never left out of sight at the bottom of a list.
 */
function revealNewEphemerals() {
  const d = state.data;
  const all = [...d.timeline, ...Object.values(d.threads).flat()].filter((m) => m.ephemeral);
  const seen = state.seenEphemerals;
  state.seenEphemerals = new Set(all.map((m) => m.ts));
  // The first view (and a switch of person) shows history as it is, without jumping around.
  if (!seen) return;
  const fresh = all.filter((m) => !seen.has(m.ts)).sort((a, b) => Number(a.ts) - Number(b.ts));
  const newest = fresh[fresh.length - 1];
  if (!newest) return;
  if (newest.threadTs && d.threads[newest.threadTs] && state.openThread !== newest.threadTs) {
    state.openThread = newest.threadTs;
    drawn.channel = undefined;
    renderChannel();
    renderThread();
  }
  // On a phone the thread panel covers the channel: a reply posted in the channel (the bot gave no
  // thread_ts) would land out of sight behind it, so the panel steps aside.
  if (!newest.threadTs && state.openThread && window.getComputedStyle($('thread')).position === 'fixed') {
    state.openThread = undefined;
    drawn.channel = undefined;
    renderChannel();
    renderThread();
  }
  const where = newest.threadTs ? $('thread-body') : $('messages');
  const node = where.querySelector(`.message[data-ts="${CSS.escape(newest.ts)}"]`);
  if (!node) return;
  node.scrollIntoView({ block: 'nearest' });
  node.classList.add('just-posted');
  setTimeout(() => node.classList.remove('just-posted'), 2500);
}

// ---- the app: Home, Messages, and the modals the bot opens ----------------------------------

function showPane(pane) {
  state.pane = pane;
  $('nav-channel').classList.toggle('active', pane === 'channel');
  $('nav-app').classList.toggle('active', pane === 'app');
  $('app-pane').hidden = pane !== 'app';
  document.querySelector('main.channel:not(.app-pane)').hidden = pane !== 'channel';
  if (pane === 'app') void openTab(state.appTab);
  else render();
}

/** Opening a tab of the app is what Slack reports to it: app_home_opened with that tab. */
async function openTab(tab) {
  state.appTab = tab;
  render();
  await post('/sandbox/home', { user: state.me, tab });
}

function renderApp() {
  const d = state.data;
  const dms = d.directMessages || [];
  if (state.pane === 'app' && state.appTab === 'messages') state.seenDms = dms.length;
  if (state.seenDms === undefined) state.seenDms = 0;
  const unread = Math.max(0, dms.length - state.seenDms);
  $('dm-unread').hidden = unread === 0;
  $('dm-unread').textContent = String(unread);
  // On a phone the sidebar is hidden: the header's way to the app carries the count.
  document.querySelector('.channel-header .pane-switch[data-pane="app"]').textContent = unread ? `metal-build (${unread})` : 'metal-build';
  for (const tab of document.querySelectorAll('[data-tab]')) tab.setAttribute('aria-pressed', tab.getAttribute('data-tab') === state.appTab ? 'true' : 'false');
  for (const body of document.querySelectorAll('[data-tab-body]')) body.hidden = body.getAttribute('data-tab-body') !== state.appTab;

  const home = $('home-view');
  home.replaceChildren(
    ...(d.home
      ? renderBlocks(d.home.blocks || [], { surface: 'home', text: '' })
      : [el('div', { class: 'empty' }, 'Nothing published yet: the bot draws Home when it is opened.')]),
  );

  const list = $('dm-messages');
  const stick = nearBottom(list);
  list.replaceChildren(
    ...(dms.length
      ? dms.map((m) => renderMessage(m, { inThread: true }))
      : [el('div', { class: 'empty' }, 'No messages yet. The bot writes here to the requester when their build ends or is about to be stopped.')]),
  );
  if (stick) list.scrollTop = list.scrollHeight;
}

/** One input block of a modal as a form field: a text input or a select, with its label, hint and error. */
function viewField(block) {
  const element = block.element || {};
  const id = `view-field-${block.block_id}`;
  const control =
    element.type === 'static_select'
      ? el(
          'select',
          { id, name: block.block_id },
          el('option', { value: '' }, element.placeholder?.text ?? 'Select…'),
          (element.options || []).map((o) =>
            el('option', { value: o.value, selected: element.initial_option?.value === o.value }, emojify(String(o.text?.text ?? o.value))),
          ),
        )
      : el('input', { id, name: block.block_id, type: 'text', value: element.initial_value ?? '', placeholder: element.placeholder?.text });
  return el(
    'div',
    { class: 'view-field', 'data-block-id': block.block_id },
    el('label', { for: id }, block.label?.text ?? block.block_id, block.optional ? el('span', { class: 'muted' }, ' (optional)') : null),
    control,
    block.hint ? el('div', { class: 'hint-text' }, textObject(block.hint)) : null,
    el('div', { class: 'field-error' }),
  );
}

function renderViewModal() {
  const view = state.data.modal;
  const modal = $('view-modal');
  if (!view) {
    modal.hidden = true;
    return;
  }
  $('view-modal-title').textContent = view.title?.text ?? '';
  $('view-modal-error').textContent = '';
  $('view-modal-body').replaceChildren(
    ...(view.blocks || []).map((block) => (block.type === 'input' ? viewField(block) : renderBlocks([block], { surface: 'modal', text: '' }))).flat(),
  );
  $('view-modal-close').textContent = view.close?.text ?? 'Close';
  $('view-modal-submit').hidden = !view.submit;
  $('view-modal-submit').textContent = view.submit?.text ?? 'Submit';
  modal.setAttribute('data-view-id', view.id);
  modal.setAttribute('data-callback-id', view.callback_id ?? '');
  modal.hidden = false;
}

async function submitViewModal(event) {
  event.preventDefault();
  const view = state.data?.modal;
  if (!view) return;
  const values = {};
  for (const field of document.querySelectorAll('#view-modal-body [name]')) if (field.value !== '') values[field.name] = field.value;
  for (const error of document.querySelectorAll('#view-modal-body .field-error')) error.textContent = '';
  $('view-modal-error').textContent = '';
  const submit = $('view-modal-submit');
  submit.disabled = true;
  try {
    const response = await fetch('/sandbox/view', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: state.me, viewId: view.id, values }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      $('view-modal-error').textContent = answer.error || `the dialog could not be sent (${response.status})`;
      return;
    }
    // Slack shows the app's errors under their fields and keeps the dialog open.
    for (const [blockId, message] of Object.entries(answer.errors || {})) {
      const target = document.querySelector(`#view-modal-body [data-block-id="${CSS.escape(blockId)}"] .field-error`);
      if (target) target.textContent = message;
      else $('view-modal-error').textContent = message;
    }
    if (answer.status !== 200) $('view-modal-error').textContent = `We had some trouble connecting (the app answered ${answer.status}).`;
  } finally {
    submit.disabled = false;
  }
}

// ---- sandbox panel --------------------------------------------------------------------------

/** The table's size, the slots item, and what the other bookkeeping items are (not listed). */
function tableNote(d) {
  const t = d.table || { total: d.rows.length, shown: d.rows.length, slots: [] };
  return el(
    'div',
    { class: 'table-note', 'data-table-total': t.total },
    t.total > t.shown ? el('div', { class: 'muted' }, `The newest ${t.shown} of ${t.total} builds (GET /sandbox/state?limit=n shows more).`) : null,
    el(
      'details',
      { 'data-key': 'table:bookkeeping' },
      el('summary', {}, `Bookkeeping items · slots held: ${t.slots.length ? t.slots.join(', ') : 'none'}`),
      el(
        'ul',
        { class: 'bookkeeping' },
        el(
          'li',
          {},
          el('code', {}, '#slots'),
          ': the BuildIDs holding one of the MAX_CONCURRENT_BUILDS slots, claimed at approval, given back when the machine is gone.',
        ),
        el('li', {}, el('code', {}, '#request#<trigger>'), ': one per slash command, so a Slack retry of the same command makes no second build (kept a day).'),
        el(
          'li',
          {},
          el('code', {}, '#click#<action_ts>#<user>#<action>'),
          ': one per button click, so a replay of the same signed click changes nothing (kept a day).',
        ),
        el('li', {}, el('code', {}, '#stray#<instance>'), ': a machine the watchdog found without a live build, so it is reported and terminated once.'),
        el('li', {}, el('code', {}, '#release#v<version>'), ': the release lock: the one build that may publish that version (For, ClaimedAt, PublishedAt).'),
        el(
          'li',
          {},
          el('code', {}, '#durations#<instance type>'),
          ': the times of the last 10 completed builds of that type; their median is the expected duration on the card.',
        ),
        el(
          'li',
          {},
          el('code', {}, '#month#<YYYY-MM>'),
          ": the month's spend: each ended build's final cost counted once, and the budget holds of approvals and extensions (/metal-build costs reads it).",
        ),
        el('li', { class: 'muted' }, 'Not listed here; the DynamoDB command printed at start (aws dynamodb scan …) shows every item.'),
      ),
    ),
  );
}

function simNow() {
  const d = state.data;
  if (!d) return undefined;
  return new Date(Date.parse(d.now) + (Date.now() - state.fetchedAt) * d.speed);
}

function duration(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  const h = Math.floor(minutes / 60);
  return h > 0 ? `${h} h ${String(minutes % 60).padStart(2, '0')} min` : `${minutes} min`;
}

function renderClock() {
  const now = simNow();
  if (!now) return;
  $('clock').textContent = `${now.toISOString().slice(0, 10)} ${now.toISOString().slice(11, 19)} UTC`;
  for (const node of document.querySelectorAll('[data-age-from]')) {
    const end = node.getAttribute('data-age-to');
    node.textContent = duration((end ? Date.parse(end) : now.getTime()) - Date.parse(node.getAttribute('data-age-from')));
  }
}

function kv(pairs) {
  return el(
    'div',
    { class: 'kv' },
    pairs.filter(([, v]) => v !== undefined && v !== '').flatMap(([k, v]) => [el('span', {}, k), el('span', {}, v)]),
  );
}

function renderPanel() {
  const d = state.data;
  const configured = d.configuredSpeed ?? d.speed;
  const pause = $('pause');
  pause.textContent = d.paused ? 'Resume' : 'Pause';
  pause.setAttribute('aria-pressed', d.paused ? 'true' : 'false');
  pause.hidden = configured <= 0;
  $('speed').textContent = d.paused
    ? 'Paused: simulated time stands still until Resume; the +min buttons still move it.'
    : configured <= 0
      ? 'Paused: time moves only with these buttons (or POST /sandbox/clock).'
      : d.speed < configured
        ? `${d.speed}× real time while nothing runs (waiting on people); ${configured}× while a machine is live, ` +
          `one simulated minute every ${+(60 / configured).toFixed(2)} s. The watchdog runs every simulated minute.`
        : `${d.speed}× real time while a machine is live: one simulated minute every ${+(60 / d.speed).toFixed(2)} s; ` +
          'the watchdog runs every simulated minute.';
  $('speed').setAttribute('data-rate', String(d.speed));

  const outcome = $('outcome');
  if (outcome.options.length === 0) outcome.replaceChildren(...d.outcomes.map((o) => el('option', { value: o.id }, o.label)));
  if (document.activeElement !== outcome) outcome.value = d.outcome;
  $('outcome-help').textContent = d.outcomes.find((o) => o.id === d.outcome)?.description ?? '';

  $('instances').replaceChildren(
    ...(d.instances.length
      ? d.instances.map((i) =>
          el(
            'div',
            { class: 'card', 'data-instance': i.instanceId },
            el('div', { class: 'card-title' }, el('code', {}, i.instanceId), el('span', { class: `badge ${i.state}` }, i.state)),
            kv([
              ['type', i.instanceType],
              ['zone', i.availabilityZone],
              ['build', i.buildId],
              ['age', el('span', { 'data-age-from': i.launchTime, 'data-age-to': i.endedAt })],
            ]),
          ),
        )
      : [el('div', { class: 'none' }, 'No instances yet. One is launched when a build is approved.')]),
  );

  $('rows').replaceChildren(
    tableNote(d),
    ...(d.rows.length
      ? d.rows.map((row) =>
          el(
            'div',
            { class: 'card', 'data-row': row.BuildID },
            el('div', { class: 'card-title' }, el('code', {}, row.BuildID), row.Status ? el('span', { class: `badge ${row.Status}` }, row.Status) : null),
            row.Status
              ? kv([
                  ['branch', row.BuildBranch],
                  ['phase', row.Phase],
                  ['instance', row.InstanceState],
                  ['estimate', row.CostEstimate !== undefined ? `$${Number(row.CostEstimate).toFixed(2)}` : undefined],
                  ['actual', row.ActualCost !== undefined ? `$${Number(row.ActualCost).toFixed(2)}` : undefined],
                ])
              : null,
            el('details', { 'data-key': `row:${row.BuildID}` }, el('summary', {}, 'item'), el('pre', {}, JSON.stringify(row, null, 2))),
          ),
        )
      : [el('div', { class: 'none' }, 'Empty. A row appears when a build is requested.')]),
  );

  $('sns').replaceChildren(
    ...(d.sns.length
      ? [...d.sns]
          .reverse()
          .map((n, i) =>
            el(
              'div',
              { class: 'card' },
              el('div', { class: 'card-title' }, el('span', {}, n.subject), el('span', { class: `badge ${n.severity}` }, n.severity)),
              el('div', { class: 'muted' }, `${clockTime(n.at)} · ${n.buildId} · ${n.status}`),
              el('details', { 'data-key': `sns:${d.sns.length - i}` }, el('summary', {}, 'message'), el('pre', {}, n.message)),
            ),
          )
      : [el('div', { class: 'none' }, 'No notifications yet.')]),
  );

  $('deliveries').replaceChildren(
    ...(d.deliveries.length
      ? [...d.deliveries]
          .reverse()
          .map((e) =>
            el(
              'div',
              { class: 'card' },
              el(
                'div',
                { class: 'card-title' },
                el('span', {}, `${e.detailType} → ${e.target}`),
                e.outcome === 'ok' ? null : el('span', { class: 'badge FAILED' }, e.outcome),
              ),
              el('div', { class: 'muted' }, `${clockTime(e.at)} · ${e.source}${e.buildId ? ` · ${e.buildId}` : ''}`),
              e.error ? el('pre', {}, e.error) : null,
            ),
          )
      : [el('div', { class: 'none' }, 'Nothing delivered yet.')]),
  );
}

function renderUsers() {
  const select = $('user-switch');
  const people = state.data.users.filter((u) => !u.bot);
  if (select.options.length !== people.length) select.replaceChildren(...people.map((u) => el('option', { value: u.id }, `${u.name} (${u.role})`)));
  select.value = state.me;
}

/** Redraw a part only when its data changed: a redraw under the pointer would swallow a click. */
const drawn = {};
function changed(part, data) {
  const key = JSON.stringify(data);
  if (drawn[part] === key) return false;
  drawn[part] = key;
  return true;
}

/** Keep open <details> open across a redraw. */
function keepOpen(container, draw) {
  const open = new Set([...container.querySelectorAll('details[open]')].map((d) => d.getAttribute('data-key')));
  draw();
  for (const d of container.querySelectorAll('details[data-key]')) if (open.has(d.getAttribute('data-key'))) d.open = true;
}

function render() {
  const d = state.data;
  if (!d) return;
  renderUsers();
  const view = [state.me, state.openThread, d.users, d.timeline, d.threads];
  if (changed('channel', view)) {
    renderChannel();
    renderThread();
    revealNewEphemerals();
  }
  if (changed('panel', [d.speed, d.paused, d.outcome, d.instances, d.rows, d.sns, d.deliveries])) keepOpen($('sandbox-panel'), renderPanel);
  if (changed('app', [state.me, state.pane, state.appTab, d.home, d.directMessages, d.users])) renderApp();
  if (changed('modal', [state.me, d.modal])) renderViewModal();
  renderClock();
  state.firstRender = false;
}

// ---- server ---------------------------------------------------------------------------------

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) showNotice(answer.error || `${path} answered ${response.status}`);
  return answer;
}

function showNotice(text) {
  // A local, client-side line, as Slack shows its own "not a valid command" notes.
  const list = $('messages');
  list.append(
    el(
      'div',
      { class: 'message ephemeral' },
      avatar('U0BOT'),
      el('div', {}, el('div', { class: 'only-you' }, '👁 Only visible to you'), el('div', { class: 'message-body' }, text)),
    ),
  );
  list.scrollTop = list.scrollHeight;
}

async function refresh() {
  if (state.fetching) {
    state.dirty = true;
    return;
  }
  state.fetching = true;
  try {
    const response = await fetch(`/sandbox/state?user=${encodeURIComponent(state.me)}`);
    if (response.ok) {
      state.data = await response.json();
      state.fetchedAt = Date.now();
      render();
    }
  } finally {
    state.fetching = false;
    if (state.dirty) {
      state.dirty = false;
      void refresh();
    }
  }
}

function connect() {
  const stream = new EventSource('/sandbox/stream');
  stream.addEventListener('change', () => void refresh());
  stream.addEventListener('open', () => void refresh());
}

// ---- wiring ---------------------------------------------------------------------------------

const HINTS = ['/metal-build main abc1234', '/metal-build status', '/metal-build list', '/metal-build help'];

function setup() {
  $('composer-hints').replaceChildren(
    el('span', {}, 'Try:'),
    ...HINTS.map((hint) =>
      el(
        'button',
        {
          type: 'button',
          class: 'hint',
          onclick: () => {
            $('composer-input').value = hint;
            $('composer-input').focus();
          },
        },
        hint,
      ),
    ),
  );
  $('composer').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('composer-input');
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    const slash = /^\/metal-build(?:\s+([\s\S]*))?$/.exec(text);
    if (slash) {
      await post('/sandbox/slash', { user: state.me, text: slash[1] ?? '' });
    } else if (text.startsWith('/')) {
      showNotice(`${text.split(/\s/)[0]} is not a valid command here. This sandbox has one: /metal-build.`);
    } else {
      showNotice('Only /metal-build commands are read in this sandbox channel.');
    }
  });
  $('user-switch').addEventListener('change', (event) => {
    state.me = event.target.value;
    localStorage.setItem('metal-build-sandbox-user', state.me);
    state.firstRender = true;
    state.seenEphemerals = undefined;
    state.seenDms = undefined;
    if (state.pane === 'app') void openTab(state.appTab);
    else void refresh();
  });
  $('thread-close').addEventListener('click', () => {
    state.openThread = undefined;
    render();
  });
  $('panel-toggle').addEventListener('click', () => $('app').setAttribute('data-panel', 'open'));
  $('panel-close').addEventListener('click', () => $('app').setAttribute('data-panel', 'none'));
  for (const button of document.querySelectorAll('[data-advance]')) {
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await post('/sandbox/clock', { advanceMinutes: Number(button.getAttribute('data-advance')) });
        await refresh();
      } finally {
        button.disabled = false;
      }
    });
  }
  for (const link of document.querySelectorAll('[data-pane]'))
    link.addEventListener('click', (event) => {
      event.preventDefault();
      showPane(link.getAttribute('data-pane'));
    });
  for (const tab of document.querySelectorAll('[data-tab]')) tab.addEventListener('click', () => void openTab(tab.getAttribute('data-tab')));
  $('view-modal-form').addEventListener('submit', (event) => void submitViewModal(event));
  $('view-modal-close').addEventListener('click', () => void post('/sandbox/view-close', { user: state.me }));
  $('pause').addEventListener('click', async () => {
    const button = $('pause');
    button.disabled = true;
    try {
      await post('/sandbox/pause', { paused: !state.data?.paused });
      await refresh();
    } finally {
      button.disabled = false;
    }
  });
  $('outcome').addEventListener('change', (event) => void post('/sandbox/outcome', { outcome: event.target.value }));
  // "GitHub: push tag" (sandbox/github-push.ts): a signed push to the bot; the commit statuses GitHub received.
  const githubStatuses = async () => {
    const { statuses = [] } = await (await fetch('/sandbox/github/statuses')).json().catch(() => ({}));
    $('github-statuses').replaceChildren(...statuses.map((s) => el('div', {}, `${s.sha.slice(0, 7)} ${s.state}: ${s.description ?? ''}`)));
  };
  $('github-push').addEventListener('click', () => void post('/sandbox/github/push', {}).then(githubStatuses));
  setInterval(() => void githubStatuses(), 2000);
  setInterval(() => requestAnimationFrame(renderClock), 500);
  connect();
}

setup();
