// The timeline scrubber: a slider (role slider, named "Event") over every position of the
// run, with a tick where each scripted step begins and a mark at each fork, reparent,
// zombie and reap.  The marks come from the events' fields (created, reparent, kind, step,
// and the server's `reaped`), never from their prose.  Dragging jumps, at most one jump
// on its way at a time (the latest position wins), so the server is never flooded; keys:
// ← → step, Home/End the ends, PageUp/PageDown the previous/next scripted step.

const MAX_MARKS = 400;       // per kind: past this, marks that would share a pixel merge

/** What the slider marks an event for (empty: nothing). */
export function eventMarks(ev) {
  const out = [];
  if (ev.created !== null && ev.created !== undefined) out.push('fork');
  if (ev.reparent) out.push('reparent');
  if (ev.kind === 'proc_move_allproc_zombie') out.push('zombie');
  if (ev.reaped !== null && ev.reaped !== undefined) out.push('reap');
  if (ev.violation) out.push('violation');
  return out;
}

/**
 * Positions where a scripted step's work is over (the next one is about to start), 0 and
 * the last position included: what PageUp/PageDown move between, the same commands as
 * the server's `step {by: "command"}` (events.command_bounds).  A step's kernel work
 * (events with no step of their own) and a blocked call it wakes (a wait4 returning,
 * with its own earlier step) belong to it: a command begins with a step index higher
 * than every one before it.
 */
export function stepBoundaries(events) {
  const out = [0];
  let highest = null;
  for (const ev of events) {
    if (ev.step !== null && ev.step !== undefined && (highest === null || ev.step > highest)) {
      if (highest !== null) out.push(ev.seq - 1);
      highest = ev.step;
    }
  }
  if (events.length && out[out.length - 1] !== events.length) out.push(events.length);
  return [...new Set(out)];
}

export class Scrubber {
  /**
   * input: <input type="range" aria-label="Event">; marksEl: the layer the marks go in.
   * actions: {jump(n), step(), back(), playPause()}.
   */
  constructor(input, marksEl, actions) {
    this.input = input;
    this.marksEl = marksEl;
    this.actions = actions;
    this.dragging = false;
    this.inFlight = null;      // the position of the jump on its way, or null
    this.wanted = null;        // where the user dragged to meanwhile
    this.sentAt = 0;
    this.marksKey = null;
    this.boundaries = [0];
    input.addEventListener('pointerdown', () => { this.dragging = true; });
    const release = () => { this.dragging = false; this.request(Number(input.value)); };
    input.addEventListener('pointerup', release);
    input.addEventListener('pointercancel', release);
    input.addEventListener('input', () => this.request(Number(input.value)));
    input.addEventListener('change', () => this.request(Number(input.value)));
    input.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** Ask for position n: now if no jump is on its way (or one has been for a second), else
   *  once the answer to it arrives (answered()). */
  request(n) {
    if (!Number.isFinite(n) || n === this.shown) {
      this.wanted = null;
      return;
    }
    this.wanted = n;
    if (this.inFlight === null || performance.now() - this.sentAt > 1000) this.flush();
  }

  flush() {
    if (this.wanted === null) return;
    this.inFlight = this.wanted;
    this.sentAt = performance.now();
    this.wanted = null;
    this.actions.jump(this.inFlight);
  }

  /** A snapshot arrived: the jump on its way (if any) is answered; send the latest wish. */
  answered() {
    this.inFlight = null;
    if (this.wanted !== null && this.wanted !== this.shown) this.flush();
    else this.wanted = null;
  }

  onKey(e) {
    const k = e.key;
    const n = this.shown ?? 0;
    let to = null;
    if (k === 'ArrowRight' || k === 'ArrowUp') { e.preventDefault(); this.actions.step(); return; }
    if (k === 'ArrowLeft' || k === 'ArrowDown') { e.preventDefault(); this.actions.back(); return; }
    if (k === ' ') { e.preventDefault(); if (!e.repeat) this.actions.playPause(); return; }
    if (k === 'Home') to = 0;
    else if (k === 'End') to = Number(this.input.max);
    else if (k === 'PageDown') to = this.nextStep(n);
    else if (k === 'PageUp') to = this.prevStep(n);
    if (to === null) return;
    e.preventDefault();
    this.request(to);
  }

  /** The next scripted-step boundary after n (PageDown), or the end. */
  nextStep(n) {
    return this.boundaries.find((b) => b > n) ?? Number(this.input.max);
  }

  /** The previous scripted-step boundary before n (PageUp), or 0. */
  prevStep(n) {
    return [...this.boundaries].reverse().find((b) => b < n) ?? 0;
  }

  /** Follow the state: value, range and the marks (rebuilt when the log changed). */
  render(state) {
    const { seq, total } = state;
    this.shown = seq;
    this.input.max = String(total);
    this.input.disabled = !state.doc || total === 0;
    if (!this.dragging && this.inFlight === null) this.input.value = String(seq);
    this.input.setAttribute('aria-valuetext', `Event ${seq} of ${total}`);
    const key = `${state.run}|${state.logVersion}|${total}`;
    if (key !== this.marksKey) {
      this.marksKey = key;
      this.boundaries = stepBoundaries(state.events.slice(0, total));
      this.drawMarks(state.events.slice(0, total), total);
    }
  }

  drawMarks(events, total) {
    const parts = [];
    const at = (n) => (total ? (100 * n) / total : 0);
    const used = new Map();
    const add = (cls, n, title) => {
      // Merge marks that would land on the same spot (runs of thousands of events).
      const slot = `${cls}|${Math.round((at(n) * MAX_MARKS) / 100)}`;
      if (used.has(slot)) return;
      used.set(slot, true);
      parts.push(`<span class="mark ${cls}" style="left:${at(n).toFixed(3)}%" title="${escapeAttr(title)}" data-event="${n}"></span>`);
    };
    for (const b of this.boundaries) {
      if (b > 0 && b < total) add('step', b, `scripted step boundary: position ${b}`);
    }
    for (const ev of events) {
      for (const kind of eventMarks(ev)) add(kind, ev.seq, `event ${ev.seq}: ${kind} · ${ev.summary}`);
    }
    this.marksEl.innerHTML = parts.join('');
  }
}

function escapeAttr(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}
