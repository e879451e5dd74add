// Lecture pages (templates/lecture.html): the explorer (app.js, unchanged in what it draws)
// plus what a room needs.  window.ptreeLecture = {room, role, audience_url, max_viewers}
// comes from the server.  The presenter page's controls act on the room (the server routes
// them there); the audience page follows the room, or explores on its own in a private
// session and comes back.  docs/protocol.md ("Lecture rooms") has the messages.
import './app.js';

const L = window.ptreeLecture;
const { state, socket, send } = window.ptree;
const $ = (id) => document.getElementById(id);
const ROOM_MESSAGES = new Set(['snapshot', 'diff', 'status']);
const presenter = L.role === 'presenter';

let mode = 'room';       // 'room': shows the room (presenting or following); 'alone': a private session
let role = L.role;       // the server may make a presenter page a viewer (no key)
let ended = false;       // the lecture ended (or is gone): this page keeps its own copy
let lastRev = -1;        // the newest room change shown: older room messages are stale

// The handshake says who this tab is; a tab that was exploring on its own when the
// connection dropped comes back to its own copy, not to the room.
L.auth = () => ({ lecture: L.room, role: L.role, following: mode === 'room' });

// Room messages carry {room, rev}; a private session's do not.  Show only what belongs to
// the mode this page is in, and never a room message older than one already shown (a late
// joiner's snapshot can cross the diffs broadcast meanwhile).
L.accept = (name, msg) => {
  if (!ROOM_MESSAGES.has(name)) return true;
  const fromRoom = !!msg && typeof msg === 'object' && 'room' in msg;
  if (mode === 'alone') return !fromRoom;
  if (!fromRoom || msg.room !== L.room) return false;
  if (msg.rev < lastRev) return false;
  lastRev = msg.rev;
  return true;
};

socket.on('connect', () => {
  lastRev = -1;
  // Back from a lost connection while exploring alone: reopen that copy where it was.
  if (mode === 'alone') {
    const resume = resumePayload();
    if (resume) send('detach', { resume });
  }
});

socket.on('connect_error', (err) => {
  if (!socket.active) status(`Cannot follow lecture ${L.room}: ${err.message}`, 'error');
});

socket.on('lecture', (info) => {
  role = info.role;
  const was = mode;
  mode = info.following ? 'room' : 'alone';
  if (mode === 'room' && was !== 'room') lastRev = -1;
  if (info.ended || info.gone) ended = true;
  if (typeof info.viewers === 'number') showCount(info.viewers);
  render();
});

socket.on('viewers', (msg) => {
  if (msg.room === L.room) showCount(msg.count);
});

socket.on('lecture_ended', (msg) => {
  if (msg.room !== L.room) return;
  ended = true;
  render(msg.reason);
  // Everyone keeps a copy at the last position: a private session opened where this page is.
  if (mode === 'room') {
    const resume = resumePayload();
    if (resume) send('detach', { resume });
  }
});

/** The `open` that recreates what this page shows: scenario or text, mode, path, event. */
function resumePayload() {
  const sc = state.scenario;
  if (!sc || !state.doc) return null;
  const out = sc.filename === '<editor>' ? { text: sc.text, name: sc.name || '' } : { name: sc.name };
  out.event = state.seq;
  if (state.mode === 'choice') Object.assign(out, { mode: 'choice', choices: state.choice?.trace || [] });
  return out;
}

// -- the banner ------------------------------------------------------------------------------

function showCount(n) {
  const el = $('viewer-count');
  if (el) el.textContent = String(n);
}

function status(text, kind = '') {
  const el = $('lecture-status');
  el.textContent = text;
  el.className = `lecture-status ${kind}`;
}

function render(reason) {
  const following = mode === 'room' && role === 'viewer' && !ended;
  document.body.classList.toggle('lecture-following', following);
  document.body.classList.toggle('lecture-alone', mode === 'alone');
  document.body.classList.toggle('lecture-ended', ended);
  if (presenter) {
    if (ended) status(`You ended lecture ${L.room}. What you see is now your own copy, at event ${state.seq}.`, 'ended');
    else if (role !== 'presenter') status('This browser does not hold the presenter key: it follows the lecture as the audience does.', 'warn');
    $('end-lecture').hidden = ended || role !== 'presenter';
    $('qr-toggle').hidden = ended;
    if (ended) showQr(false);
    return;
  }
  $('explore-alone').hidden = mode === 'alone' || ended;
  $('back-to-lecture').hidden = mode !== 'alone' || ended;
  if (ended) {
    const why = reason === 'expired' || reason === 'gone' ? `Lecture ${L.room} is over` : `The presenter ended lecture ${L.room}`;
    status(state.doc ? `${why}: what you see is your own copy, at event ${state.seq}.` : `${why}.`, 'ended');
  } else if (mode === 'alone') {
    status(`Exploring on your own: lecture ${L.room} goes on without you.`, 'alone');
  } else {
    status(`Following the presenter · lecture ${L.room}`, 'following');
  }
}

if (presenter) {
  $('qr-toggle').addEventListener('click', () => showQr($('lecture-qr').hidden));
  $('qr-close').addEventListener('click', () => showQr(false));
  // Two presses: a lecture is not ended by a slip of the mouse.
  const end = $('end-lecture');
  let armed = null;
  end.addEventListener('click', () => {
    if (armed) {
      clearTimeout(armed);
      armed = null;
      end.textContent = 'End lecture';
      send('end');
      return;
    }
    end.textContent = 'Press again to end';
    armed = setTimeout(() => { armed = null; end.textContent = 'End lecture'; }, 4000);
  });
  showQr(sessionStorage.getItem(`ptree-qr-${L.room}`) !== 'hidden');
} else {
  $('explore-alone').addEventListener('click', () => send('detach'));
  $('back-to-lecture').addEventListener('click', () => send('follow'));
}

/** The big QR code over the stage (shown when the lecture starts; hidden by its button). */
function showQr(show) {
  const panel = $('lecture-qr');
  if (!panel) return;
  placeQr();
  panel.hidden = !show;
  $('qr-toggle').setAttribute('aria-expanded', String(show));
  sessionStorage.setItem(`ptree-qr-${L.room}`, show ? 'shown' : 'hidden');
}

/** The QR panel covers the page under the banner, however tall the bars wrap. */
function placeQr() {
  const panel = $('lecture-qr');
  if (panel) panel.style.top = `${Math.ceil($('lecture').getBoundingClientRect().bottom)}px`;
}
if (presenter) {
  const watch = new ResizeObserver(placeQr);
  watch.observe($('lecture'));
  watch.observe(document.querySelector('header.bar'));
}

// A follower's page only shows: its keys and clicks that would change the view do nothing
// (the buttons are hidden by lecture.css), instead of asking the server and being refused.
const TYPING = new Set(['INPUT', 'TEXTAREA', 'SELECT']);
window.addEventListener('keydown', (e) => {
  if (!document.body.classList.contains('lecture-following') || TYPING.has(e.target.tagName)) return;
  if (['ArrowRight', 'ArrowLeft', ' '].includes(e.key) || /^[1-9]$/.test(e.key)) {
    e.stopImmediatePropagation();
    if (e.key !== ' ' || e.target === document.body) e.preventDefault();
  }
}, true);
window.addEventListener('click', (e) => {
  if (!document.body.classList.contains('lecture-following')) return;
  if (e.target.closest?.('#log li, #choice-buttons button')) {
    e.stopImmediatePropagation();
    e.preventDefault();
  }
}, true);

render();
window.ptree.lecture = { get mode() { return mode; }, get ended() { return ended; }, get role() { return role; } };
