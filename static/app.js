// Wiring: connects the transport (socket.js), the state (state.js) and the views
// (render.js) to the page's controls, keys and URL.  docs/protocol.md has the messages.
import { connect } from './socket.js';
import { ExplorerState, MAX_URL, decodeChoices, decodeText, formatSeed, sessionQuery, tooLongForUrl } from './state.js';
import { LogView, TrayView, TreeView, escapeHtml, renderInspector } from './render.js';
import { Scrubber } from './scrubber.js';
import { SourcePane } from './source.js';

const $ = (id) => document.getElementById(id);
const DEFAULT_SCENARIO = 'orphans-and-reapers';
const BASE_MS = 650;
const REDUCED_MS = 160;     // prefers-reduced-motion: every change still shows, just quickly
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
const SHORT_SCREEN = 900;   // below this height the header starts folded to one line
// A lecture page (lecture.html, lecture.js): the server says what is shown, so the page
// never opens a scenario by itself and its address stays the room's.
const LECTURE = globalThis.ptreeLecture || null;

const state = new ExplorerState();
let source = null;         // what the session shows: {name} or {text, name}; reopened after a reconnect
let resyncing = false;     // a resync is on its way: ignore diffs until its snapshot
let editorRun = null;      // the run whose text the editor holds
let edited = false;        // the user changed the editor's text since it was last loaded
let noticeTimer = null;
let noticeKey = null;      // what the notice shown is about ('connection', 'open', ...)

const tree = new TreeView($('tree'), {
  select: (pid) => { state.selected = state.selected === pid ? null : pid; renderAll({ dir: 'select' }); tree.focus(pid); },
  toggle: (pid) => { toggleSet(tree.collapsed, pid); renderAll({ dir: 'layout' }); },
  expand: (pid) => { tree.expanded.add(pid); renderAll({ dir: 'layout' }); },
  fit: (on) => $('fit').setAttribute('aria-pressed', String(on)),
  // Playing, the server sends the next event once this one has been drawn (docs/protocol.md).
  settled: (seq) => { if (state.playing && !LECTURE && seq === state.seq) send('settled', { seq }); },
});
tree.reducedMotion = reducedMotion;
const tray = new TrayView($('tray'), $('overlay'));
const log = new LogView($('log'), (seq) => jumpTo(seq), (seq) => {
  // A citation clicked: that event, and its source in view in the pane.
  revealSource = true;
  if (seq === state.seq) renderSource();
  else jumpTo(seq);
});
const sourcePane = new SourcePane($('source'), { reducedMotion });
let revealSource = false;   // the next source shown is also scrolled into the page's view
const scrubber = new Scrubber($('scrubber'), $('scrub-marks'), {
  jump: (n) => jumpTo(n), step: () => step(), back: () => back(), playPause: () => playPause(),
});

const transport = connect({
  connect: onConnect,
  hello: onHello,
  snapshot: onSnapshot,
  diff: onDiff,
  status: onStatus,
  scenario_error: onScenarioError,
  error: onError,
  exported: onExported,
  explored: onExplored,
  explore_progress: onExploreProgress,
  open_progress: onOpenProgress,
  log_chunk: onLogChunk,
  disconnect: () => notice('Disconnected from the ptree server; reconnecting…', 'warn', 0, 'connection'),
  connect_error: (err) => notice(`Cannot connect: ${err.message}`, 'error', 0, 'connection'),
});

function send(name, data) {
  transport.send(name, data);
}

// -- messages from the server --------------------------------------------------------------

function onConnect() {
  // Only the connection's own notice: the page's first `hello` (and what it says about
  // the address) can come before this event.
  hideNotice('connection');
  // A new connection after a lost one is a new session: reopen what we showed, where we
  // were.  (On the first connection `hello` opens the first scenario.)
  if (source && state.doc && !LECTURE) send('open', reopening());
}

/** The `open` that puts a new session where this page is (its mode and path too). */
function reopening() {
  const msg = { ...source, event: state.seq };
  if (state.mode === 'choice') Object.assign(msg, { mode: 'choice', choices: state.choice?.trace || [] });
  return msg;
}

function onHello(msg) {
  const select = $('scenario');
  select.innerHTML = msg.scenarios.map((s) =>
    `<option value="${escapeHtml(s.name)}">${escapeHtml(s.name)}: ${escapeHtml(s.title)}</option>`).join('');
  if (source || msg.lecture) {
    syncPicker();
    return;
  }
  // The address says what to open: ?scenario=NAME or ?text=BASE64URL, optionally
  // &choices=BASE64URL (choice mode and its path), and &event=N.
  const params = new URLSearchParams(location.search);
  const names = msg.scenarios.map((s) => s.name);
  const event = Number.parseInt(params.get('event') || '0', 10);
  const opts = {};
  if (params.has('choices')) {
    try {
      opts.choices = decodeChoices(params.get('choices'));
      opts.mode = 'choice';
    } catch (err) {
      notice('The address has a choice-mode path that cannot be read; opening without it.', 'warn', 8000);
    }
  }
  if (params.has('text')) {
    try {
      openScenario({ text: decodeText(params.get('text')), name: 'shared', kind: 'shared' }, Number.isFinite(event) ? event : 0, opts);
      return;
    } catch (err) {
      notice('The address holds scenario text that cannot be read (it was cut short or changed); opening the library instead.', 'error', 0);
    }
  }
  if (/^[0-9a-f]{16}$/.test(params.get('draft') || '')) {
    openScenario({ draft: params.get('draft'), name: 'edited' }, Number.isFinite(event) ? event : 0, opts);
    return;
  }
  // A name not in the list may still open (random-SEED-N-KERNEL is made on request):
  // the server's `not_found` answer is what says a name is mistyped.
  const wanted = params.get('scenario');
  const name = wanted || (names.includes(DEFAULT_SCENARIO) ? DEFAULT_SCENARIO : names[0]);
  if (!name) {
    $('current').innerHTML = '<span class="muted">No scenarios found: write one in the editor below.</span>';
    return;
  }
  openScenario({ name }, Number.isFinite(event) ? event : 0, opts);
}

function onSnapshot(msg) {
  if (!msg.full && msg.run !== state.run) return;  // a jump answer for a run we left
  dropPendingDiffs();
  resyncing = false;
  const opened = msg.full && msg.run !== state.run;
  state.applySnapshot(msg);
  if (msg.full && LECTURE) {
    source = msg.scenario.filename === '<editor>' ? { text: msg.scenario.text, name: msg.scenario.name } : { name: msg.scenario.name };
  }
  if (msg.full && source && msg.scenario.filename === '<editor>' && !LECTURE) {
    // Editor text (or a draft the server keeps): the page holds the text itself, and the
    // draft id that a short address names.
    source = { ...source, text: msg.scenario.text, draft: msg.scenario.draft || source.draft || undefined };
  }
  if (msg.full) {
    hideNotice('open');
    if (state.run !== editorRun) {
      loadEditor(state.scenario.text);
      if (!editorRun) restoreUnsaved();
    }
    editorRun = state.run;
    showRunError();
    renderExpects();
  }
  renderAll({ dir: 'snapshot', open: opened });
  scrubber.answered();
}

// A long run's log comes in pages after its snapshot (docs/protocol.md, log_chunk): the
// log, the timeline's marks and the violations are redrawn at most every LOG_REDRAW_MS
// while it arrives, and once more at its end.
const LOG_REDRAW_MS = 250;
let logRedrawn = 0;

function onLogChunk(msg) {
  if (!state.appendLog(msg)) return;
  const done = state.events.length >= state.logTotal;
  if (!done && performance.now() - logRedrawn < LOG_REDRAW_MS) return;
  logRedrawn = performance.now();
  state.logChanged();
  log.render(state);
  scrubber.render(state);
  renderCurrent(state.currentEvent());
  if (done) renderSource();
}

function onDiff(msg) {
  if (msg.by === 'command' || pendingDiffs.length || pendingTimer !== null) queueDiff(msg);
  else applyDiff(msg);
}

function applyDiff(msg, pace) {
  if (resyncing) return;
  const result = state.applyDiff(msg);
  if (result === 'gap') {
    resyncing = true;
    dropPendingDiffs();
    send('resync');
  } else if (result === 'ok') {
    renderAll({ dir: msg.dir, focus: focusOf(msg), pace });
  }
}

// -- step sizes: a command's events shown one after another ---------------------------------
// `step {by: "command"}` answers with every event of the command at once; each is shown
// for COMMAND_MS before the next (and a diff arriving meanwhile waits its turn, in order).
const COMMAND_MS = 340;
const pendingDiffs = [];
let pendingTimer = null;

function queueDiff(msg) {
  pendingDiffs.push(msg);
  if (pendingTimer === null) showPendingDiff();
}

function showPendingDiff() {
  pendingTimer = null;
  const msg = pendingDiffs.shift();
  if (!msg) return;
  const pace = msg.by === 'command' ? (reducedMotion ? REDUCED_MS : COMMAND_MS) : 0;
  applyDiff(msg, pace || undefined);
  if (pace || pendingDiffs.length) pendingTimer = setTimeout(showPendingDiff, pace);
}

function dropPendingDiffs() {
  pendingDiffs.length = 0;
  clearTimeout(pendingTimer);
  pendingTimer = null;
}

function stepBy(by) { if (state.doc && state.seq < state.total) send('step', { by }); }
function backBy(by) { if (state.doc && state.seq > 0) send('back', { by }); }

/** The process an event is about: the one it created (fork), else its actor.  Going back
 *  the event is the one undone, whose created process is gone again: its actor. */
function focusOf(msg) {
  const ev = msg.event;
  if (!ev) return null;
  return (msg.dir === 'back' ? null : ev.created) ?? ev.pid ?? null;
}

function onStatus(msg) {
  state.applyStatus(msg);
  renderControls();
}

function onScenarioError(err) {
  hideNotice('open');
  const panel = $('editor-panel');
  panel.open = true;
  if (err.name && err.source !== undefined && err.source !== null) loadEditor(err.source);
  else saveUnsaved();      // the text that failed is still the user's unsaved work
  showEditorError(err.line, err.message, 'error');
  notice(`The scenario has an error at line ${err.line}: ${err.message}`, 'error');
}

function onError(err) {
  if (err.code === 'expired' && source) {
    notice(err.message, 'warn');
    send('open', reopening());
    return;
  }
  if (err.event === 'explore') exploreDone(`Explore: ${err.message}`);
  if (err.event === 'open') hideNotice('open');
  if (err.event === 'open' && err.code === 'not_found' && !state.doc) {
    showOpenFailure(err.message);
    return;
  }
  notice(`Server: ${err.message}`, err.code === 'busy' ? 'error' : 'warn', 0);
}

/** Nothing could be opened (a mistyped ?scenario=, a draft that is gone): say so where the
 *  scenario would be, with the way on. */
function showOpenFailure(message) {
  $('current').innerHTML = `<div class="open-failure" role="alert"><b>${escapeHtml(message)}</b> ` +
    'Choose a scenario in the <a href="/gallery">gallery</a> (or the Scenario list above), ' +
    'or write one in the editor below.</div>';
  notice(message, 'error', 0);
}

// -- actions -----------------------------------------------------------------------------

function openScenario(src, event = 0, opts = {}) {
  source = src;
  // Edited text too long for an address is kept by the server as a draft (`keep`), whose
  // short id the address then names (docs/protocol.md "Addresses").
  const keep = src.text !== undefined && !LECTURE && tooLongForUrl(src.text);
  send('open', { ...src, event, ...opts, ...(keep ? { keep: true } : {}) });
}

function step() { if (state.doc && state.seq < state.total) send('step'); }
function back() { if (state.doc && state.seq > 0) send('back'); }
/** Go to position n (clamped): the log, the timeline and the keys use it. */
function jumpTo(n) { if (state.doc) send('jump', { event: Math.max(0, Math.min(n, state.total)) }); }
function playPause() {
  if (!state.doc) return;
  if (state.playing) send('pause');
  else if (state.seq < state.total) send('play', { speed: Number($('speed').value), wait: !LECTURE });
}

$('step').addEventListener('click', step);
$('back').addEventListener('click', back);
$('step-command').addEventListener('click', () => stepBy('command'));
$('back-command').addEventListener('click', () => backBy('command'));
$('play').addEventListener('click', playPause);
$('reset').addEventListener('click', () => { if (state.doc) send('reset'); });
$('fit').addEventListener('click', () => tree.refit());
$('projector').addEventListener('click', () => setProjector(!document.body.classList.contains('projector')));
$('help').addEventListener('click', () => showHelp(true));
$('help-close').addEventListener('click', () => showHelp(false));
$('help-overlay').addEventListener('click', (e) => { if (e.target === $('help-overlay')) showHelp(false); });
$('header-toggle').addEventListener('click', () => setHeaderOpen(!headerOpen));
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
  const base = source?.name && source.text === undefined ? source.name : state.scenario?.title;
  const label = base ? `${base.replace(/ \(edited\)$/, '')} (edited)` : 'edited';
  clearUnsaved();
  openScenario({ text: $('editor').value, name: label, kind: 'edited' }, 0, $('choice-mode').checked ? { mode: 'choice' } : {});
});
$('choice-mode').addEventListener('change', (e) => {
  if (!source) return;
  // A `schedule: choice` file is one interleaving: both modes show the same events, so
  // the position is kept; any other file starts again at the boot state.
  const keep = state.scenario?.schedule === 'choice' ? state.seq : 0;
  openScenario(source, keep, e.target.checked ? { mode: 'choice' } : {});
});
$('choice-buttons').addEventListener('click', (e) => {
  const button = e.target.closest('button[data-label]');
  if (button) send('choose', { label: button.dataset.label });
});
$('export').addEventListener('click', () => { if (state.doc && state.seq > 0) send('export'); });
$('share').addEventListener('click', share);
$('share-close').addEventListener('click', () => { $('share-box').hidden = true; });
$('explore').addEventListener('click', () => {
  if (!state.doc) return;
  const max = Number($('explore-states').value);
  $('explore').disabled = true;
  exploring = { run: state.run, max };
  $('explore-results').innerHTML = `<p class="muted explore-status">Exploring every interleaving of this scenario (up to ${max.toLocaleString('en')} states)…</p>` +
    '<p class="explore-progress" aria-live="polite"></p>' +
    '<button id="explore-cancel" type="button" title="Stop the search; what it found so far is shown">Cancel</button>';
  send('explore', { max_states: max });
});
$('explore-results').addEventListener('click', (e) => {
  if (e.target.closest('#explore-cancel')) {
    e.target.closest('#explore-cancel').disabled = true;
    e.target.closest('#explore-cancel').textContent = 'Cancelling…';
    send('explore_cancel');
    return;
  }
  const button = e.target.closest('button[data-trace]');
  if (!button) return;
  const found = lastExplore?.violations[Number(button.dataset.trace)];
  if (!found) return;
  state.selected = null;
  tree.autoFit = true;
  // The trace is a `schedule: choice` file: opened at its last event, the violation.
  openScenario({ text: found.text, name: `trace to ${found.invariant}`, kind: 'trace' }, Number.MAX_SAFE_INTEGER,
    $('choice-mode').checked ? { mode: 'choice' } : {});
});
$('editor').addEventListener('input', () => { edited = true; renderGutter(); saveUnsaved(); });
$('editor').addEventListener('scroll', () => { $('gutter').scrollTop = $('editor').scrollTop; });

// → step, ← back (one event), Shift+→ / Shift+← (one scripted command), space play/pause, Home/End, PageUp/PageDown (by scripted step), and the
// view's keys (the help overlay lists them all): not while typing, and not twice for a
// focused button.  The timeline slider handles its own keys (scrubber.js).
const TYPING = new Set(['INPUT', 'TEXTAREA', 'SELECT']);
document.addEventListener('keydown', (e) => {
  if (!$('help-overlay').hidden) {
    if (e.key === 'Escape' || e.key === '?') { e.preventDefault(); showHelp(false); }
    return;
  }
  // A checkbox (Choice mode) keeps the arrows and digits; its space toggles it.
  const checkbox = e.target.type === 'checkbox';
  if ((TYPING.has(e.target.tagName) && !checkbox) || e.ctrlKey || e.metaKey || e.altKey) return;
  if (checkbox && e.key === ' ') return;
  // In the source pane the paging keys scroll the code, as in any scroller.
  const inSource = Boolean(e.target.closest?.('.source-code'));
  const key = e.key;
  if (key === 'ArrowRight' && e.shiftKey) { e.preventDefault(); stepBy('command'); }
  else if (key === 'ArrowLeft' && e.shiftKey) { e.preventDefault(); backBy('command'); }
  else if (key === 'ArrowRight') { e.preventDefault(); step(); }
  else if (key === 'ArrowLeft') { e.preventDefault(); back(); }
  else if (key === ' ') { e.preventDefault(); if (!e.repeat) playPause(); }
  else if ((key === 'Home' || key === 'End' || key === 'PageUp' || key === 'PageDown') && !inSource) {
    e.preventDefault();
    const to = { Home: 0, End: state.total, PageUp: scrubber.prevStep(state.seq), PageDown: scrubber.nextStep(state.seq) }[key];
    scrubber.request(to);
  }
  else if (/^[1-9]$/.test(key) && state.mode === 'choice') {
    // 1-9: the n-th runnable action, as its button says.
    const action = state.choice?.actions?.[Number(key) - 1];
    if (action) { e.preventDefault(); send('choose', { label: action.label }); }
  }
  else if (key === '?') { e.preventDefault(); showHelp(true); }
  else if (key === 'f' || key === 'F') { e.preventDefault(); tree.refit(); }
  else if (key === 'p' || key === 'P') { e.preventDefault(); setProjector(!document.body.classList.contains('projector')); }
  else if (key === 'h' || key === 'H') { e.preventDefault(); setHeaderOpen(!headerOpen); }
  else if (key === 's' || key === 'S') { e.preventDefault(); $('source').querySelector('.source-code').focus(); }
  else if (key === 'Escape' && state.selected !== null) { e.preventDefault(); state.selected = null; renderAll({ dir: 'select' }); }
});
document.addEventListener('keyup', (e) => {
  // A focused button would also "click" on space's keyup: the keydown above already acted.
  if (e.key === ' ' && e.target.tagName === 'BUTTON') e.preventDefault();
});

// -- drawing -------------------------------------------------------------------------------

function duration(ctx) {
  if (reducedMotion) return REDUCED_MS;
  if (ctx.pace) return ctx.pace;
  if (state.playing) return Math.min(BASE_MS, 750 / state.speed);
  return ctx.dir === 'snapshot' ? 450 : BASE_MS;
}

function renderAll(ctx) {
  if (!state.doc) return;
  const ms = duration(ctx);
  const ev = state.currentEvent();
  const actor = ev?.pid ?? null;
  const leaving = tree.render(state, { dir: ctx.dir, duration: ms, focus: ctx.focus ?? actor, open: ctx.open });
  tray.render(state, leaving, ms);
  // With nothing selected the inspector follows the current event's actor (projector
  // mode shows it only for a process someone clicked).
  document.body.classList.toggle('has-selection', state.selected !== null);
  renderInspector($('inspector'), $('inspector-title'), state, state.selected ?? actor);
  renderCurrent(ev);
  renderControls();
  log.render(state);
  renderScriptMark();
  if (ctx.dir !== 'select' && ctx.dir !== 'layout') renderSource();
  syncUrl();
  if (!$('share-box').hidden) showShare(false);  // an open link follows the session
}

function renderCurrent(ev) {
  const sc = state.scenario;
  const profile = sc ? `<span class="kernel-tag" title="kernel profile and race mode">kernel ${escapeHtml(sc.kernel)} · ${escapeHtml(sc.race)}</span>` : '';
  const head = `<div class="title">${escapeHtml(sc?.title || sc?.name || '')}${profile}</div>`;
  if (!ev) {
    const desc = sc?.description ? `<div class="desc">${escapeHtml(sc.description)}</div>` : '';
    const next = state.mode === 'choice' && state.total === 0
      ? 'Choose the first action below.' : 'Press Step (→) to run the first event, or Command » (Shift+→) for the whole first step.';
    $('current').innerHTML = `${head}<div class="ev"><span class="muted">Boot state: proc0 (swapper) and init. ${next}</span></div>${desc}`;
    return;
  }
  const seed = formatSeed(state.citeOf(ev));
  const result = ev.result ? `<div class="result">→ step ${ev.result.step} <code>${escapeHtml(ev.result.command)}</code> ${resultText(ev.result)}</div>` : '';
  const violation = ev.violation ? `<div class="violation" role="alert">⚠ Invariant violated: ${escapeHtml(ev.violation)}</div>` : '';
  if (ev.kind === 'violation') {
    // The invariant check's own event: its summary is the violation, shown once, in red.
    $('current').innerHTML = `${head}<div class="ev"><span class="kind">violation</span>` +
      `<span class="who">event ${ev.seq}</span> the invariant check after event ${ev.seq - 1} failed</div>${violation}`;
    return;
  }
  $('current').innerHTML = `${head}<div class="ev"><span class="kind">${escapeHtml(ev.kind)}</span>` +
    `<span class="who">${escapeHtml(ev.name || ev.actor)}</span> ${escapeHtml(ev.summary)} ` +
    `<button type="button" class="seed cite" title="${escapeHtml(seed.title)}\n(click: show in the Kernel source pane)">${escapeHtml(seed.text)}</button></div>${result}${violation}`;
}

function resultText(r) {
  if (r.blocked) return `is still blocked in ${escapeHtml(r.blocked)}`;
  if (r.errno) return `fails: <b>${escapeHtml(r.errno)}</b>`;
  if (r.ret === null || r.ret === undefined) return 'does not return';
  const extra = r.status_text ? ` (${escapeHtml(r.status_text)})` : '';
  const info = r.info ? ` ${escapeHtml(JSON.stringify(r.info))}` : '';
  return `returns <b>${escapeHtml(String(r.ret))}</b>${extra}${info}`;
}

/** The Kernel source pane follows the current event. */
function renderSource() {
  const ev = state.currentEvent();
  sourcePane.show(ev, state.citeOf(ev), { reveal: revealSource });
  revealSource = false;
}

function renderControls() {
  $('position').textContent = `Event ${state.seq} of ${state.total}`;
  scrubber.render(state);
  $('back').disabled = state.seq <= 0;
  $('step').disabled = state.seq >= state.total;
  $('step-command').disabled = state.seq >= state.total;
  $('back-command').disabled = state.seq <= 0;
  $('reset').disabled = state.seq <= 0;
  const play = $('play');
  play.textContent = state.playing ? 'Pause' : 'Play';
  play.disabled = !state.playing && state.seq >= state.total;
  play.classList.toggle('playing', state.playing);
  $('export').disabled = state.seq <= 0;
  $('choice-mode').checked = state.mode === 'choice';
  renderChoices();
  syncPicker();
}

/** Choice mode: one button per action that can run at this position (TLA+ Spectacle). */
function renderChoices() {
  const panel = $('choices');
  panel.hidden = state.mode !== 'choice' || !state.choice;
  if (panel.hidden) return;
  const { actions, at, next, trace } = state.choice;
  const key = JSON.stringify([state.run, state.seq, actions, at, next, trace.length]);
  if (panel.dataset.key === key) return;
  panel.dataset.key = key;
  let hint;
  if (at === null) hint = 'This action also broke an invariant: Step (→) to see it.';
  else if (!actions.length) hint = 'Nothing can run any more: this interleaving has ended.';
  else if (next) hint = `The path goes on with “${next}” (Step →); choosing another action starts a new branch from here.`;
  else hint = 'Keys 1–9 choose too.';
  $('choices-hint').textContent = `${at === null ? '' : `after ${at} of ${trace.length} chosen actions · `}${hint}`;
  const focused = document.activeElement?.closest?.('#choice-buttons') ? document.activeElement.dataset.label : null;
  $('choice-buttons').innerHTML = actions.map((a, i) =>
    `<button type="button" class="action ${a.kind}${a.label === next ? ' next' : ''}" data-label="${escapeHtml(a.label)}" ` +
    `title="${i < 9 ? `key ${i + 1} · ` : ''}${a.kind === 'kernel' ? 'kernel work' : 'a scripted step'}${a.label === next ? ' · next on the recorded path' : ''}">` +
    `${escapeHtml(a.label)}</button>`).join('');
  // Keep the keyboard where it was: on the same action, else on the first one.
  if (focused !== null) {
    const again = [...$('choice-buttons').querySelectorAll('button')].find((b) => b.dataset.label === focused)
      || $('choice-buttons').querySelector('button');
    again?.focus();
  }
}

const SHOWN_KIND = { edited: 'Edited text', trace: 'Explore trace', file: 'File', shared: 'Shared text' };

/** The Scenario box names what is shown: the library file, or (an option of its own)
 *  the edited text, Explore trace, dropped file or shared text, with its title. */
function syncPicker() {
  const select = $('scenario');
  let shown = select.querySelector('option[data-shown]');
  if (source?.name && source.text === undefined && !source.draft && [...select.options].some((o) => o.value === source.name)) {
    shown?.remove();
    select.value = source.name;
    return;
  }
  if (!source || !state.scenario) return;
  const kind = SHOWN_KIND[source.kind] || 'Edited text';
  const label = `${kind}: ${state.scenario.title || source.name || 'untitled'}`;
  if (!shown) {
    shown = document.createElement('option');
    shown.dataset.shown = '';
    shown.value = '';
    shown.disabled = true;
    select.prepend(shown);
  }
  if (shown.textContent !== label) shown.textContent = label;
  select.value = '';
  shown.selected = true;
}

// The address follows the position, at most a few times a second: browsers throttle (and
// warn about) rapid history updates, and the address bar need not follow every frame.
let urlTimer = null;
function syncUrl() {
  if (urlTimer === null) urlTimer = setTimeout(writeUrl, 250);
}

function writeUrl() {
  urlTimer = null;
  if (LECTURE) return;
  // The whole session when it fits (reload reopens it), else as much as fits.
  const projector = document.body.classList.contains('projector');
  const here = where();
  const fits = (q) => location.origin.length + location.pathname.length + 1 + q.length <= MAX_URL;
  // The whole session; else the draft the server keeps in place of the text; else as
  // much as fits.
  const tries = [here, { ...here, text: null }, { ...here, text: null, choices: null }];
  const query = tries.map((w) => sessionQuery({ ...w, projector })).find(fits)
    || sessionQuery({ ...here, text: null, draft: null, choices: null, projector });
  const url = `${location.pathname}?${query}`;
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

/** What a URL needs to reopen this session: source, choice-mode path, event. */
function where() {
  return {
    name: source?.text === undefined && !source?.draft ? source?.name : null,
    text: source?.text,
    draft: source?.draft,
    choices: state.mode === 'choice' ? state.choice?.trace || [] : null,
    event: state.seq,
  };
}

// -- the lecture-hall view: projector mode, the header, the keys overlay -----------------------

let headerOpen = true;

/** Projector mode: high contrast, larger type, the inspector only for a clicked process. */
function setProjector(on) {
  document.body.classList.toggle('projector', on);
  $('projector').setAttribute('aria-pressed', String(on));
  if (state.doc) syncUrl();
}

/** The header: the whole scenario title, event and description, or just the event's line. */
function setHeaderOpen(open) {
  headerOpen = open;
  $('current').classList.toggle('collapsed', !open);
  $('header-toggle').setAttribute('aria-expanded', String(open));
}

let helpReturn = null;
function showHelp(show) {
  const el = $('help-overlay');
  if (show) {
    helpReturn = document.activeElement;
    el.hidden = false;
    $('help-close').focus();
  } else {
    el.hidden = true;
    helpReturn?.focus?.();
  }
}

$('current').addEventListener('click', (e) => {
  if (e.target.closest('.cite')) {
    revealSource = true;
    renderSource();
  }
});

{
  const params = new URLSearchParams(location.search);
  if (params.get('projector') === '1') setProjector(true);
  setHeaderOpen(window.innerHeight >= SHORT_SCREEN);
}

// -- the log's options and the current step in the scenario text -------------------------------

/** Log options, remembered in localStorage: future events (off by default: no spoilers in
 *  a lecture) and internal kernel events (render.js isInternal). */
const LOG_OPTIONS = { future: ['log-future', 'showFuture'], internal: ['log-internal', 'hideInternal'] };
for (const [name, [id, field]] of Object.entries(LOG_OPTIONS)) {
  const box = $(id);
  box.checked = readOption(`ptree-log-${name}`);
  log[field] = box.checked;
  box.addEventListener('change', () => {
    log[field] = box.checked;
    writeOption(`ptree-log-${name}`, box.checked);
    if (state.doc) log.render(state);
  });
}

function readOption(key) {
  try { return localStorage.getItem(key) === '1'; } catch (err) { return false; }
}

function writeOption(key, on) {
  try { localStorage.setItem(key, on ? '1' : '0'); } catch (err) { /* storage refused: this page only */ }
}

/** The scenario line of the current event (the step it belongs to; kernel work with no
 *  line of its own keeps the line of the step before it), or null at the boot state. */
function currentLine() {
  for (let s = state.seq; s > 0; s--) {
    const line = state.events[s - 1]?.line;
    if (line) return line;
  }
  return null;
}

/** Mark the current step's line in the scenario text, and keep it in view, while the
 *  editor holds the text that ran (edited text has other lines: no mark). */
function renderScriptMark({ follow = true } = {}) {
  const mark = $('script-mark');
  const ed = $('editor');
  const line = currentLine();
  if (!line || !state.scenario || ed.value !== (state.scenario.text || '')) {
    mark.hidden = true;
    delete mark.dataset.line;
    return;
  }
  const style = getComputedStyle(ed);
  const lh = parseFloat(style.lineHeight) || 1.4 * parseFloat(style.fontSize);
  const top = parseFloat(style.paddingTop) + (line - 1) * lh;
  const ev = state.currentEvent();
  mark.hidden = false;
  mark.dataset.line = String(line);
  mark.dataset.step = String(ev?.step ?? '');
  mark.title = `the current step${ev?.step ? ` (step ${ev.step})` : ''}: line ${line}`;
  // Keep the line in view, unless someone is typing there.
  if (follow && document.activeElement !== ed && ed.clientHeight > 0 &&
      (top < ed.scrollTop || top + lh > ed.scrollTop + ed.clientHeight)) {
    ed.scrollTop = Math.max(0, top - ed.clientHeight / 3);
  }
  mark.style.top = `${top - ed.scrollTop + ed.offsetTop}px`;
  mark.style.height = `${lh}px`;
}

$('editor').addEventListener('scroll', () => renderScriptMark({ follow: false }));
$('editor').addEventListener('input', () => renderScriptMark({ follow: false }));
$('editor-panel').addEventListener('toggle', () => renderScriptMark());

// -- export and share --------------------------------------------------------------------------

function onExported(msg) {
  const blob = new Blob([msg.text], { type: 'application/x-yaml' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = msg.filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  const what = msg.mode === 'choice' ? 'the actions chosen so far, under schedule: choice' : 'the steps run so far';
  notice(`Exported ${msg.filename} (${what}, at event ${msg.event}); \`ptree run ${msg.filename}\` replays it.`, 'info', 8000);
}

function share() {
  if (state.doc) showShare(true);
}

/** Show the link to this session (copy: also put it on the clipboard, where allowed). */
function showShare(copy) {
  let url = `${location.origin}${location.pathname}?${sessionQuery(where())}`;
  if (url.length > MAX_URL && source?.draft) url = `${location.origin}${location.pathname}?${sessionQuery({ ...where(), text: null })}`;
  const box = $('share-box');
  box.hidden = false;
  const msg = $('share-msg');
  if (url.length > MAX_URL) {
    $('share-url').value = '';
    $('share-url').hidden = true;
    const text = `This session is too large to share as a link: ${url.length.toLocaleString('en')} characters, ` +
      `and links are limited to ${MAX_URL.toLocaleString('en')}. Use Export to save it as a file instead.`;
    if (msg.textContent === text) return;  // said once, not again at every step
    msg.setAttribute('role', 'alert');
    msg.className = 'share-msg error';
    msg.textContent = text;
    return;
  }
  $('share-url').hidden = false;
  if (!copy && $('share-url').value === url) return;
  $('share-url').value = url;
  msg.setAttribute('role', 'status');
  msg.className = 'share-msg';
  msg.textContent = 'This link reopens the session at this event.';
  if (!copy) return;
  $('share-url').select();
  navigator.clipboard?.writeText(url).then(
    () => { msg.textContent = 'Link copied: it reopens the session at this event.'; },
    () => {});  // no clipboard (permissions): the link is selected for copying by hand
}

// -- explore -------------------------------------------------------------------------------

let lastExplore = null;
let exploring = null;      // {run, max}: a search of this tab is running

/** How far the search has got (explore_progress, at most 4 a second). */
function onExploreProgress(msg) {
  const el = $('explore-results').querySelector('.explore-progress');
  if (!exploring || !el) return;
  const pct = Math.min(100, Math.round((100 * msg.states) / msg.max_states));
  el.textContent = `${msg.states.toLocaleString('en')} states (${pct}% of the limit), depth ${msg.depth}, ` +
    `${msg.rate.toLocaleString('en')} states/s, ${msg.frontier.toLocaleString('en')} waiting · ${Math.round(msg.seconds)} s`;
}

function onExplored(msg) {
  lastExplore = msg;
  exploring = null;
  const n = msg.states.toLocaleString('en');
  const scope = msg.complete
    ? `every interleaving was explored (${n} states, ${msg.transitions.toLocaleString('en')} transitions)`
    : msg.stopped === 'cancelled'
      ? `the search was cancelled after ${n} states (depth ${msg.depth}), so it is not complete`
      : `the search stopped at its limit of ${msg.max_states.toLocaleString('en')} states, so it is not complete`;
  let html;
  if (!msg.violations.length) {
    html = `<p class="explore-none">No violation in ${n} states: ${scope}.</p>`;
  } else {
    html = `<p class="explore-found">${msg.violations.length} invariant${msg.violations.length > 1 ? 's' : ''} violated; ${scope}.</p><ul class="explore-list">` +
      msg.violations.map((v, i) => `<li><button type="button" data-trace="${i}">Open trace</button>` +
        `<span class="muted">shortest trace: ${v.trace.length} actions</span>` +
        `<span class="violation">⚠ ${escapeHtml(v.message)}</span></li>`).join('') + '</ul>';
  }
  exploreDone(`${html}<p class="muted">${escapeHtml(msg.title)} · ${msg.seconds} s</p>`, true);
}

function exploreDone(content, isHtml = false) {
  exploring = null;
  $('explore').disabled = false;
  if (isHtml) $('explore-results').innerHTML = content;
  else $('explore-results').textContent = content;
  // The results take room from the event log: keep its current entry in view.
  requestAnimationFrame(() => $('log').querySelector('li[aria-current]')?.scrollIntoView({ block: 'nearest' }));
}

// -- opening a long scenario ----------------------------------------------------------------

/** The server is computing the run of a scenario it had not opened before. */
function onOpenProgress(msg) {
  const of = msg.steps ? ` (step ${(msg.step ?? 0).toLocaleString('en')} of ${msg.steps.toLocaleString('en')})` : '';
  notice(`Opening ${msg.name}: ${msg.events.toLocaleString('en')} events computed so far${of}, ${Math.round(msg.seconds)} s…`, 'info', 0, 'open');
}

// -- the editor ------------------------------------------------------------------------------

function loadEditor(text) {
  edited = false;
  $('editor').value = text || '';
  hideEditorError();
  renderGutter();
}

function renderGutter(errorLine = Number($('gutter').dataset.errorLine || 0)) {
  const n = $('editor').value.split('\n').length;
  // The expect: results belong to the text that ran: shown while the editor holds it.
  const marks = new Map(editorMatchesRun() ? state.expects.map((x) => [x.line, x]) : []);
  const lines = [];
  for (let i = 1; i <= n; i++) {
    const x = marks.get(i);
    if (i === errorLine) lines.push(`<span class="err">${i}</span>`);
    else if (x) {
      const why = x.ok ? 'expect: held' : `expect: failed: ${x.message}`;
      lines.push(`<span class="expect-${x.ok ? 'ok' : 'fail'}" data-line="${i}" title="${escapeHtml(why)}">${x.ok ? '✓' : '✗'}${i}</span>`);
    } else lines.push(String(i));
  }
  $('gutter').innerHTML = lines.join('\n');
  $('gutter').scrollTop = $('editor').scrollTop;
}

function editorMatchesRun() {
  return Boolean(state.scenario) && $('editor').value === state.scenario.text;
}

/** The `expect:` results of the run, as `ptree check` reports them: a mark at each line
 *  in the gutter, and a line per expectation under the editor (failures first). */
function renderExpects() {
  const box = $('editor-expects');
  const all = editorMatchesRun() ? state.expects : [];
  box.hidden = !all.length;
  renderGutter();
  if (!all.length) { box.innerHTML = ''; return; }
  const failed = all.filter((x) => !x.ok);
  const head = failed.length
    ? `${failed.length} of ${all.length} expectations failed`
    : `All ${all.length} expectations held`;
  box.className = `editor-expects ${failed.length ? 'fail' : 'ok'}`;
  box.innerHTML = `<b>${head}</b><ul>` + [...failed, ...all.filter((x) => x.ok)].map((x) =>
    `<li class="expect-${x.ok ? 'ok' : 'fail'}" data-line="${x.line}"><button type="button" class="linklike">line ${x.line}</button> ` +
    `${x.ok ? '✓ held' : `✗ ${escapeHtml(x.message)}`}</li>`).join('') + '</ul>';
  if (failed.length && !LECTURE) $('editor-panel').open = true;
}

$('editor-expects').addEventListener('click', (e) => {
  const li = e.target.closest('li[data-line]');
  if (li) goToLine(Number(li.dataset.line));
});

function goToLine(line) {
  const ed = $('editor');
  const lines = ed.value.split('\n');
  const start = lines.slice(0, Math.max(0, line - 1)).reduce((n, l) => n + l.length + 1, 0);
  ed.focus();
  ed.setSelectionRange(start, start + (lines[line - 1] || '').length);
  ed.scrollTop = Math.max(0, (line - 4) * parseFloat(getComputedStyle(ed).lineHeight || '20'));
}

// -- unsaved edits: kept in local storage, asked about before leaving ----------------------------

const UNSAVED_KEY = 'ptree.unsaved-editor';

/** What the editor's text was loaded from, so restored edits go back to the same place. */
function editorBase() {
  return state.scenario ? `${state.scenario.filename}\n${state.scenario.text}` : '';
}

function saveUnsaved() {
  try {
    if (editorMatchesRun()) localStorage.removeItem(UNSAVED_KEY);
    else localStorage.setItem(UNSAVED_KEY, JSON.stringify({ base: editorBase(), text: $('editor').value }));
  } catch (err) { /* storage full or refused: the beforeunload question still guards */ }
}

function clearUnsaved() {
  try { localStorage.removeItem(UNSAVED_KEY); } catch (err) { /* nothing kept */ }
}

/** After a reload: edits made to this same scenario and never run come back. */
function restoreUnsaved() {
  let kept = null;
  try { kept = JSON.parse(localStorage.getItem(UNSAVED_KEY) || 'null'); } catch (err) { kept = null; }
  if (!kept || kept.base !== editorBase() || kept.text === state.scenario.text) return;
  $('editor').value = kept.text;
  edited = true;
  $('editor-panel').open = true;
  renderGutter();
  notice('Your unsaved edits to this scenario were restored in the editor (Run edited scenario runs them).', 'info', 8000);
}

window.addEventListener('beforeunload', (e) => {
  if (LECTURE || !edited || editorMatchesRun()) return;
  e.preventDefault();
  e.returnValue = '';     // the browser asks whether to leave with unsaved edits
});


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

/** Show a notice.  Warnings and errors stay until dismissed (×) or replaced; info
 *  notices go after `ms`.  `key` names what it is about, so only that can take it away. */
function notice(text, kind = 'info', ms = 5000, key = null) {
  const el = $('notice');
  el.hidden = false;
  el.className = `notice ${kind}`;
  el.setAttribute('role', kind === 'info' ? 'status' : 'alert');
  $('notice-text').textContent = text;
  noticeKey = key;
  clearTimeout(noticeTimer);
  if (ms && kind === 'info') noticeTimer = setTimeout(() => hideNotice(key), ms);
}

/** Hide the notice: any (no key), or only one about `key`. */
function hideNotice(key = null) {
  if (key !== null && noticeKey !== key) return;
  clearTimeout(noticeTimer);
  $('notice').hidden = true;
  noticeKey = null;
}

$('notice-close').addEventListener('click', () => hideNotice());

function toggleSet(set, value) {
  if (set.has(value)) set.delete(value);
  else set.add(value);
}

// -- files: a scenario or an strace log, dropped on the page or chosen --------------------------

const MAX_FILE_TEXT = 1_000_000;   // what the server takes in one `open` (events.py MAX_TEXT)

/** Put a file's text in the editor and open it, as Run edited scenario does: the server
 *  opens a scenario as it is, and converts strace output first (as ptree import-strace). */
async function openFile(file) {
  if (!file) return;
  const text = await file.text();
  if (text.length > MAX_FILE_TEXT) {
    notice(`${file.name} is too large to open here (${text.length.toLocaleString('en')} characters; ` +
      `the limit is ${MAX_FILE_TEXT.toLocaleString('en')}): convert it with \`ptree import-strace\` instead.`, 'error', 0);
    return;
  }
  $('editor-panel').open = true;
  loadEditor(text);
  state.selected = null;
  tree.autoFit = true;
  openScenario({ text, name: file.name, kind: 'file' }, 0, $('choice-mode').checked ? { mode: 'choice' } : {});
  notice(`Opened ${file.name}.`, 'info', 4000);
}

function dragsFiles(e) {
  return [...(e.dataTransfer?.types || [])].includes('Files');
}

document.addEventListener('dragover', (e) => {
  if (!dragsFiles(e)) return;
  e.preventDefault();
  document.body.classList.add('dropping');
});
document.addEventListener('dragleave', (e) => {
  if (!e.relatedTarget) document.body.classList.remove('dropping');
});
document.addEventListener('drop', (e) => {
  const file = e.dataTransfer?.files?.[0];
  document.body.classList.remove('dropping');
  if (!file) return;
  e.preventDefault();
  openFile(file);
});
$('open-file').addEventListener('change', (e) => {
  openFile(e.target.files[0]);
  e.target.value = '';
});

// For tests, the benchmark and the curious: the live objects.
window.ptree = { state, send, socket: transport.socket, tree, where, sourcePane, scrubber };
