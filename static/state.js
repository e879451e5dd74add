// State: the page's copy of the server's state document and the position in the run.
// Diffs are RFC 6902 ops applied in place; a diff that does not start where we are (a gap
// in seq) is refused, and the caller asks the server to resync.
import { applyPatch } from './vendor/fast-json-patch/module/core.mjs';

export class ExplorerState {
  constructor() {
    this.run = 0;          // the server's run id: messages from an older run are stale
    this.seq = 0;          // events applied: doc is the state after event `seq`
    this.total = 0;        // M, the number of events in the run
    this.doc = null;       // the state document (architecture.md "State document")
    this.events = [];      // the event log: events[i].seq === i + 1 (no ops)
    this.logTotal = 0;     // its length once every log_chunk has come
    this.edges = {};       // pid -> why its edge exists (orphan, RFNOWAIT, NOCLDWAIT)
    this.xstatText = {};   // pid -> its p_xstat in words, as the server decoded it
    this.scenario = null;  // {name, title, description, kernel, race, text, filename}
    this.runError = null;  // a run-time error that ended the run early, {line, message}
    this.playing = false;
    this.speed = 2;
    this.selected = null;  // pid whose fields the inspector shows
    this.mode = 'auto';    // 'auto' (the scenario's own schedule) or 'choice'
    this.choice = null;    // choice mode: {trace, at, next, actions} at this position
    this.logVersion = 0;   // bumps whenever `events` changes (the log view redraws)
    this.violations = [];  // events with a violation: {seq, violation, marks}
    this.cites = {};       // seed reference -> the server's reading of it (engine/seeds.py)
    this.expects = [];     // every `expect:` of the scenario: {line, ok, message}
  }

  /** The reading of ev's seed reference: from the event (a diff's) or the log's table. */
  citeOf(ev) {
    if (!ev) return null;
    return ev.cite || this.cites[ev.seed] || null;
  }

  /** The event log changed: note it, and index its violations. */
  logChanged() {
    this.logVersion += 1;
    this.violations = this.events.filter((ev) => ev.violation);
  }

  /**
   * pid -> [{tid, invariant, message, seq}] for the violations that have happened by the current
   * event (the tree marks each process or LWP a violation names).
   */
  violationMarks() {
    const out = new Map();
    for (const ev of this.violations) {
      if (ev.seq > this.seq) break;
      for (const m of ev.marks || []) {
        if (!out.has(m.pid)) out.set(m.pid, []);
        out.get(m.pid).push({ tid: m.tid, invariant: m.invariant, message: m.message, seq: ev.seq });
      }
    }
    return out;
  }

  /**
   * Take a log_chunk message {run, from, events}: the next page of a long run's log, after a
   * paged snapshot.  Returns false for another run's or one out of order (a resync's
   * snapshot starts the log again).  The caller redraws (logChanged) when it wants to.
   */
  appendLog(msg) {
    if (msg.run !== this.run || msg.from !== this.events.length) return false;
    for (const ev of msg.events) this.events.push(ev);
    return true;
  }

  /** Take a snapshot message: the whole document at msg.seq. */
  applySnapshot(msg) {
    if (msg.full) {
      this.scenario = msg.scenario;
      this.events = msg.events;
      this.logTotal = msg.log_total ?? msg.events.length;  // the rest follows in log_chunk
      this.cites = { ...msg.cites };
      this.runError = msg.error;
      this.expects = msg.expects || [];
      this.logChanged();
    }
    this.mode = msg.mode || 'auto';
    this.choice = msg.choice || null;
    this.run = msg.run;
    this.doc = msg.doc;
    this.seq = msg.seq;
    this.total = msg.total;
    this.edges = { ...msg.edges };
    this.xstatText = { ...msg.xstat_text };
    this.playing = msg.playing;
    this.speed = msg.speed;
  }

  /**
   * Take a diff message {run, seq, from, dir, event, ops, edges, xstat_text}.  Returns 'stale' (an
   * older run: ignore it), 'gap' (it does not start at our seq: resync) or 'ok'.
   */
  applyDiff(msg) {
    if (msg.run !== this.run) return 'stale';
    if (msg.from !== this.seq || !this.doc) return 'gap';
    try {
      applyPatch(this.doc, msg.ops, false, true);
    } catch (err) {
      return 'gap';  // our copy disagrees with the server's: start again from a snapshot
    }
    this.seq = msg.seq;
    this.total = msg.total;
    this.playing = msg.playing;
    this.choice = msg.choice || null;
    if (msg.new) {
      // Choice mode: an event the log does not have yet (the path grew or branched).
      this.events.length = msg.seq - 1;
      this.events.push(msg.event);
      this.logChanged();
    }
    if (msg.event?.cite) this.cites[msg.event.seed] = msg.event.cite;
    mergeInto(this.edges, msg.edges);
    mergeInto(this.xstatText, msg.xstat_text);
    return 'ok';
  }

  /** Take a status message {seq, total, playing, speed}. */
  applyStatus(msg) {
    if (msg.run !== this.run) return;
    this.playing = msg.playing;
    this.speed = msg.speed;
  }

  /** The event that produced the current state (null at the boot state). */
  currentEvent() {
    return this.seq > 0 ? this.events[this.seq - 1] || null : null;
  }

  proc(pid) {
    return this.doc?.procs?.[String(pid)] || null;
  }

  /** pid -> the reaper node it owns (sub-reaper badges). */
  ownedReapers() {
    const out = new Map();
    for (const node of Object.values(this.doc?.reapers || {})) {
      if (node.owner !== null && node.owner !== undefined) out.set(node.owner, node);
    }
    return out;
  }
}

/** An event's citation made readable: {text, title}.  `cite` is the server's reading of
 *  the event's seed reference (engine/seeds.py); the page parses no reference itself. */
export function formatSeed(cite) {
  if (!cite) return { text: '', title: '' };
  return { text: cite.text, title: cite.title || cite.text };
}

/** Apply a {key: value or null} change set: null deletes the key. */
function mergeInto(target, changes) {
  for (const [key, value] of Object.entries(changes || {})) {
    if (value === null || value === '') delete target[key];
    else target[key] = value;
  }
}

// -- shareable URLs ----------------------------------------------------------------------------

/** The longest address Share hands out (and the page keeps in its address bar): the
 *  default server (eventlet) refuses request lines over 8,192 bytes. */
export const MAX_URL = 8000;

/** UTF-8 text as base64url without padding (safe in a query string). */
export function encodeText(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The inverse of encodeText; throws on anything that is not base64url of UTF-8. */
export function decodeText(code) {
  if (!/^[A-Za-z0-9_-]*$/.test(code)) throw new Error('not base64url');
  let b64 = code.replace(/-/g, '+').replace(/_/g, '/');
  while (b64.length % 4) b64 += '=';
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/** A choice-mode path (action labels, which never hold a newline) for the URL. */
export function encodeChoices(labels) {
  return encodeText(labels.join('\n'));
}

/** Whether an address holding `text` would pass MAX_URL (then the server keeps it as a
 *  draft and the address names its id).  `room`: characters the rest of it takes. */
export function tooLongForUrl(text, room = 600) {
  return Math.ceil(new TextEncoder().encode(text).length * 4 / 3) + room > MAX_URL;
}

export function decodeChoices(code) {
  const text = decodeText(code);
  return text === '' ? [] : text.split('\n');
}

/**
 * The query that reopens a session: `scenario=NAME` (a library file), `text=BASE64URL`
 * (edited text) or `draft=ID` (edited text the server keeps, when the text would make the
 * address too long), then `choices=BASE64URL` in choice mode, then `event=N`.
 */
export function sessionQuery({ name, text, draft, choices, event, projector = false }) {
  const params = new URLSearchParams();
  if (text !== undefined && text !== null) params.set('text', encodeText(text));
  else if (draft) params.set('draft', draft);
  else if (name) params.set('scenario', name);
  if (choices) params.set('choices', encodeChoices(choices));
  params.set('event', String(event));
  if (projector) params.set('projector', '1');   // the address bar keeps the view too
  return params.toString();
}
