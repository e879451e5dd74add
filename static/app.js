// Wiring: connects the transport (socket.js), the state (state.js) and the views
// (render.js) to the page's controls, keys and URL.  docs/protocol.md has the messages.
import { connect } from './socket.js';
import { ExplorerState, formatSeed } from './state.js';
import { LogView, TrayView, TreeView, escapeHtml, renderInspector } from './render.js';

const $ = (id) => document.getElementById(id);
const DEFAULT_SCENARIO = 'orphans-and-reapers';
const BASE_MS = 650;
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;

const state = new ExplorerState();
let source = null;         // what the session shows: {name} or {text, name}; reopened after a reconnect
let resyncing = false;     // a resync is on its way: ignore diffs until its snapshot
let editorRun = null;      // the run whose text the editor holds
let noticeTimer = null;

const tree = new TreeView($('tree'), {
  select: (pid) => { state.selected = state.selected === pid ? null : pid; renderAll({ dir: 'select' }); tree.focus(pid); },
  toggle: (pid) => { toggleSet(tree.collapsed, pid); renderAll({ dir: 'layout' }); },
  expand: (pid) => { tree.expanded.add(pid); renderAll({ dir: 'layout' }); },
});
const tray = new TrayView($('tray'), $('overlay'));
const log = new LogView($('log'), (seq) => send('jump', { event: seq }));

const transport = connect({
  connect: onConnect,
  hello: onHello,
  snapshot: onSnapshot,
  diff: onDiff,
  status: onStatus,
  scenario_error: onScenarioError,
  error: onError,
  disconnect: () => notice('Disconnected from the ptree server; reconnecting…', 'warn', 0),
  connect_error: (err) => notice(`Cannot connect: ${err.message}`, 'error', 0),
});

function send(name, data) {
  transport.send(name, data);
}

// -- messages from the server --------------------------------------------------------------

function onConnect() {
  hideNotice();
  // A new connection after a lost one is a new session: reopen what we showed, where we
  // were.  (On the first connection `hello` opens the first scenario.)
  if (source && state.doc) send('open', { ...source, event: state.seq });
}

function onHello(msg) {
  const select = $('scenario');
  select.innerHTML = msg.scenarios.map((s) =>
    `<option value="${escapeHtml(s.name)}">${escapeHtml(s.name)}: ${escapeHtml(s.title)}</option>`).join('');
  if (source) {
    syncPicker();
    return;
  }
  const params = new URLSearchParams(location.search);
  const names = msg.scenarios.map((s) => s.name);
  const wanted = params.get('scenario');
  const name = wanted || (names.includes(DEFAULT_SCENARIO) ? DEFAULT_SCENARIO : names[0]);
  if (!name) {
    $('current').innerHTML = '<span class="muted">No scenarios found: write one in the editor below.</span>';
    return;
  }
  const event = Number.parseInt(params.get('event') || '0', 10);
  openScenario({ name }, Number.isFinite(event) ? event : 0);
}

function onSnapshot(msg) {
  if (!msg.full && msg.run !== state.run) return;  // a jump answer for a run we left
  resyncing = false;
  state.applySnapshot(msg);
  if (msg.full) {
    if (state.run !== editorRun) loadEditor(state.scenario.text);
    editorRun = state.run;
    showRunError();
  }
  renderAll({ dir: 'snapshot' });
}

function onDiff(msg) {
  if (resyncing) return;
  const result = state.applyDiff(msg);
  if (result === 'gap') {
    resyncing = true;
    send('resync');
  } else if (result === 'ok') {
    renderAll({ dir: msg.dir, focus: focusOf(msg) });
  }
}

/** The process an event is about: a process it creates, else its actor. */
function focusOf(msg) {
  for (const op of msg.ops) {
    const m = /^\/procs\/(\d+)$/.exec(op.path);
    if (m && op.op === 'add') return Number(m[1]);
  }
  return actorPid(msg.event);
}

function actorPid(ev) {
  return ev && /^\d+/.test(String(ev.actor)) ? Number.parseInt(ev.actor, 10) : null;
}

function onStatus(msg) {
  state.applyStatus(msg);
  renderControls();
}

function onScenarioError(err) {
  const panel = $('editor-panel');
  panel.open = true;
  if (err.name && err.source !== undefined && err.source !== null) loadEditor(err.source);
  showEditorError(err.line, err.message, 'error');
  notice(`The scenario has an error at line ${err.line}: ${err.message}`, 'error');
}

function onError(err) {
  if (err.code === 'expired' && source) {
    notice(err.message, 'warn');
    send('open', { ...source, event: state.seq });
    return;
  }
  notice(`Server: ${err.message}`, err.code === 'busy' ? 'error' : 'warn', err.code === 'busy' ? 0 : 6000);
}

// -- actions -----------------------------------------------------------------------------

function openScenario(src, event = 0) {
  source = src;
  send('open', { ...src, event });
}

function step() { if (state.doc && state.seq < state.total) send('step'); }
function back() { if (state.doc && state.seq > 0) send('back'); }
function playPause() {
  if (!state.doc) return;
  if (state.playing) send('pause');
  else if (state.seq < state.total) send('play', { speed: Number($('speed').value) });
}

$('step').addEventListener('click', step);
$('back').addEventListener('click', back);
$('play').addEventListener('click', playPause);
$('reset').addEventListener('click', () => { if (state.doc) send('reset'); });
$('fit').addEventListener('click', () => tree.refit());
$('speed').addEventListener('change', (e) => {
  if (state.playing) send('speed', { speed: Number($('speed').value) });
  e.target.blur();
});
$('scenario').addEventListener('change', (e) => {
  state.selected = null;
  tree.collapsed.clear();
  tree.expanded.clear();
  tree.autoFit = true;
  openScenario({ name: e.target.value }, 0);
  e.target.blur();  // so → ← and space step the new scenario instead of changing the picker
});
$('run').addEventListener('click', () => {
  hideEditorError();
  state.selected = null;
  tree.autoFit = true;
  const label = source?.name ? `${source.name} (edited)` : 'edited';
  openScenario({ text: $('editor').value, name: label }, 0);
});
$('editor').addEventListener('input', () => renderGutter());
$('editor').addEventListener('scroll', () => { $('gutter').scrollTop = $('editor').scrollTop; });

// → step, ← back, space play/pause: not while typing, and not twice for a focused button.
const TYPING = new Set(['INPUT', 'TEXTAREA', 'SELECT']);
document.addEventListener('keydown', (e) => {
  if (TYPING.has(e.target.tagName) || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === 'ArrowRight') { e.preventDefault(); step(); }
  else if (e.key === 'ArrowLeft') { e.preventDefault(); back(); }
  else if (e.key === ' ') { e.preventDefault(); if (!e.repeat) playPause(); }
});
document.addEventListener('keyup', (e) => {
  // A focused button would also "click" on space's keyup: the keydown above already acted.
  if (e.key === ' ' && e.target.tagName === 'BUTTON') e.preventDefault();
});

// -- drawing -------------------------------------------------------------------------------

function duration(ctx) {
  if (reducedMotion) return 0;
  if (state.playing) return Math.min(BASE_MS, 750 / state.speed);
  return ctx.dir === 'snapshot' ? 450 : BASE_MS;
}

function renderAll(ctx) {
  if (!state.doc) return;
  const ms = duration(ctx);
  const ev = state.currentEvent();
  const actor = actorPid(ev);
  const leaving = tree.render(state, { dir: ctx.dir, duration: ms, focus: ctx.focus ?? actor });
  tray.render(state, leaving, ms);
  // With nothing selected the inspector follows the current event's actor.
  renderInspector($('inspector'), $('inspector-title'), state, state.selected ?? actor);
  renderCurrent(ev);
  renderControls();
  log.render(state);
  syncUrl();
}

function renderCurrent(ev) {
  const sc = state.scenario;
  const profile = sc ? `<span class="kernel-tag" title="kernel profile and race mode">kernel ${escapeHtml(sc.kernel)} · ${escapeHtml(sc.race)}</span>` : '';
  const head = `<div class="title">${escapeHtml(sc?.title || sc?.name || '')}${profile}</div>`;
  if (!ev) {
    const desc = sc?.description ? `<div class="desc">${escapeHtml(sc.description)}</div>` : '';
    $('current').innerHTML = `${head}<div class="ev"><span class="muted">Boot state: proc0 (swapper) and init. Press Step (→) to run the first event.</span></div>${desc}`;
    return;
  }
  const seed = formatSeed(ev.seed);
  const result = ev.result ? `<div class="result">→ step ${ev.result.step} <code>${escapeHtml(ev.result.command)}</code> ${resultText(ev.result)}</div>` : '';
  const violation = ev.violation ? `<div class="violation" role="alert">⚠ Invariant violated: ${escapeHtml(ev.violation)}</div>` : '';
  $('current').innerHTML = `${head}<div class="ev"><span class="kind">${escapeHtml(ev.kind)}</span>` +
    `<span class="who">${escapeHtml(ev.name || ev.actor)}</span> ${escapeHtml(ev.summary)} ` +
    `<span class="seed" title="${escapeHtml(seed.title)}">${escapeHtml(seed.text)}</span></div>${result}${violation}`;
}

function resultText(r) {
  if (r.blocked) return `is still blocked in ${escapeHtml(r.blocked)}`;
  if (r.errno) return `fails: <b>${escapeHtml(r.errno)}</b>`;
  if (r.ret === null || r.ret === undefined) return 'does not return';
  const extra = r.status !== null && r.status !== undefined ? ` (status ${r.status})` : '';
  const info = r.info ? ` ${escapeHtml(JSON.stringify(r.info))}` : '';
  return `returns <b>${escapeHtml(String(r.ret))}</b>${extra}${info}`;
}

function renderControls() {
  $('position').textContent = `Event ${state.seq} of ${state.total}`;
  $('back').disabled = state.seq <= 0;
  $('step').disabled = state.seq >= state.total;
  $('reset').disabled = state.seq <= 0;
  const play = $('play');
  play.textContent = state.playing ? 'Pause' : 'Play';
  play.disabled = !state.playing && state.seq >= state.total;
  play.classList.toggle('playing', state.playing);
  syncPicker();
}

function syncPicker() {
  const select = $('scenario');
  if (source?.name && !source.text && [...select.options].some((o) => o.value === source.name)) {
    select.value = source.name;
  }
}

// The address follows the position, at most a few times a second: browsers throttle (and
// warn about) rapid history updates, and the address bar need not follow every frame.
let urlTimer = null;
function syncUrl() {
  if (urlTimer === null) urlTimer = setTimeout(writeUrl, 250);
}

function writeUrl() {
  urlTimer = null;
  const params = new URLSearchParams();
  if (source?.name && !source.text) params.set('scenario', source.name);
  params.set('event', String(state.seq));
  const url = `${location.pathname}?${params}`;
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

// -- the editor ------------------------------------------------------------------------------

function loadEditor(text) {
  $('editor').value = text || '';
  hideEditorError();
  renderGutter();
}

function renderGutter(errorLine = Number($('gutter').dataset.errorLine || 0)) {
  const n = $('editor').value.split('\n').length;
  const lines = [];
  for (let i = 1; i <= n; i++) lines.push(i === errorLine ? `<span class="err">${i}</span>` : String(i));
  $('gutter').innerHTML = lines.join('\n');
  $('gutter').scrollTop = $('editor').scrollTop;
}

function showEditorError(line, message, kind) {
  const box = $('editor-error');
  box.hidden = false;
  box.className = `editor-error ${kind}`;
  box.textContent = `Line ${line}: ${message}`;
  $('gutter').dataset.errorLine = String(line);
  renderGutter(line);
  // Put the caret on the offending line and scroll it into view.
  const ed = $('editor');
  const lines = ed.value.split('\n');
  const start = lines.slice(0, Math.max(0, line - 1)).reduce((n, l) => n + l.length + 1, 0);
  ed.setSelectionRange(start, start + (lines[line - 1] || '').length);
  ed.scrollTop = Math.max(0, (line - 4) * parseFloat(getComputedStyle(ed).lineHeight || '20'));
}

function hideEditorError() {
  $('editor-error').hidden = true;
  delete $('gutter').dataset.errorLine;
  renderGutter(0);
}

function showRunError() {
  const err = state.runError;
  if (!err) return;
  showEditorError(err.line, `${err.message} (the run stops before this step)`, 'warn');
  notice(`The run stopped early at line ${err.line}: ${err.message}`, 'warn', 8000);
}

// -- notices ---------------------------------------------------------------------------------

function notice(text, kind = 'info', ms = 5000) {
  const el = $('notice');
  el.hidden = false;
  el.className = `notice ${kind}`;
  el.textContent = text;
  clearTimeout(noticeTimer);
  if (ms) noticeTimer = setTimeout(hideNotice, ms);
}

function hideNotice() {
  $('notice').hidden = true;
}

function toggleSet(set, value) {
  if (set.has(value)) set.delete(value);
  else set.add(value);
}

// For tests, the benchmark and the curious: the live objects.
window.ptree = { state, send, socket: transport.socket, tree };
