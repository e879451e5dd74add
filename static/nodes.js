// The process node every tree of the app draws (the explorer's TreeView and the compare
// and quiz MiniTree): its box, "PID NAME", the state line, the sub-reaper badge, the sleep
// label and one labelled mark per LWP.  The LWP row persists inside the node's <g> and is
// joined by tid, so an LWP that appears, changes state or exits animates instead of
// snapping.  Each view adds its own decorations (violation markers, fold buttons, ≠ marks)
// after.
//
// Sizes are in tree units and chosen for a projector: a view that fits a tree of up to 15
// processes into a 1024×768 screen keeps its scale at 2/3 or more, which puts "PID NAME"
// at 16 CSS px and an LWP mark at 14 (tests/e2e/test_lecture_view.py holds it to that).
// A node is as wide as what it says (nodeWidth), so a zombie's exit status or three
// labelled LWPs widen their own box instead of every box.
const d3 = globalThis.d3;

export const STATE_TEXT = { SIDL: 'SIDL · forking', SACTIVE: 'SACTIVE', SSTOP: 'SSTOP · stopped', SZOMB: 'SZOMB · zombie' };

export const NODE_H = 82;           // box height
export const MIN_W = 132;           // narrowest box
const L1_FONT = 'bold 24px "DejaVu Sans", sans-serif';     // must match .node .l1 in ptree.css
const L2_FONT = '15px "DejaVu Sans", sans-serif';          // .node .l2
const LWP_FONT = 'bold 14px "DejaVu Sans", sans-serif';    // .lwp text
const PILL_FONT = 'bold 15px "DejaVu Sans", sans-serif';   // .sleep text, .violation-label text
const PAD = 14;                     // text to box edge
const CHIP_H = 21;                  // an LWP mark's height
const CHIP_GAP = 5;
const MAX_LWP_MARKS = 6;
export const BADGE_ABOVE = 16;      // the sub-reaper badge and violation marker rise this far above a box
export const PILL_H = 26;           // a label under a box (sleep, violation)

// -- text widths (a canvas measures without touching the layout) ----------------------------

const measureCtx = typeof document !== 'undefined' ? document.createElement('canvas').getContext('2d') : null;
const widths = new Map();

/** Width of `text` in `font`, cached: nodes are re-measured at every render. */
export function textWidth(text, font) {
  const key = `${font}|${text}`;
  let w = widths.get(key);
  if (w === undefined) {
    measureCtx.font = font;
    w = measureCtx.measureText(text).width;
    if (widths.size > 5000) widths.clear();
    widths.set(key, w);
  }
  return w;
}

/** The state line: the state, or a zombie's exit status as the server decoded it. */
export function stateLine(p, xstatText) {
  return p.state === 'SZOMB' && xstatText ? `zombie · ${xstatText}` : STATE_TEXT[p.state] || p.state;
}

// -- LWPs --------------------------------------------------------------------------------------

/**
 * What an LWP is doing, in the words its mark shows: running, asleep in what, stopped,
 * exiting; once cpu_thread_exit set TDF_EXITING, whether it is still on its CPU (the race
 * of rule 40 turns on that), and td_refs when something holds a reference.
 */
export function lwpWord(l) {
  const flags = l.tdflags || [];
  let word;
  if (l.exit === 'SWITCHED_OUT') word = 'switched out';
  else if (l.exit === 'EXITING') word = flags.includes('TDF_RUNNING') ? 'TDF_EXITING on CPU' : 'TDF_EXITING preempted';
  else if (l.exit === 'WEXIT') word = 'exiting';
  else if (l.state === 'LSSLEEP' || l.blocked) word = `asleep ${l.blocked || ''}`.trim();
  else if (l.state === 'LSSTOP') word = 'stopped';
  else word = 'running';
  return l.td_refs ? `${word} · refs ${l.td_refs}` : word;
}

/** Still on (or due back on) its CPU: exited but not switched out for the last time. */
export function onCpu(l) {
  return Boolean(l.exit) && l.exit !== 'SWITCHED_OUT';
}

function lwpText(l) {
  return `${l.tid} ${lwpWord(l)}`;
}

function lwpClass(l) {
  return `lwp ${String(l.state).toLowerCase()}${l.exit ? ' lwp-exit' : ''}${l.blocked ? ' asleep' : ''}` +
    `${onCpu(l) ? ' on-cpu' : ''}`;
}

/** The mark's tooltip: every thread field, in words. */
export function lwpTitle(l) {
  const parts = [`tid ${l.tid}: ${l.state}`];
  if (l.blocked) parts.push(`asleep in ${l.blocked}`);
  if (l.exit) parts.push(`exit ${l.exit}`);
  if (l.tdflags?.length) parts.push(l.tdflags.join('|'));
  if (l.td_refs) parts.push(`td_refs ${l.td_refs}`);
  if (onCpu(l)) parts.push(l.tdflags?.includes('TDF_RUNNING') ? 'still on its CPU' : 'preempted: it will run again to finish its switch');
  return parts.join(', ');
}

function chipWidth(text) {
  return Math.ceil(textWidth(text, LWP_FONT)) + 27;   // dot, gap, text, padding
}

/** The LWPs a node shows marks for, in tid order, and how many it leaves out. */
function shownLwps(p, max) {
  const lwps = Object.values(p.lwps || {}).sort((a, b) => a.tid - b.tid);
  return { shown: lwps.slice(0, max), extra: Math.max(0, lwps.length - max) };
}

// -- sizes ---------------------------------------------------------------------------------

/**
 * How wide p's box must be for its label, its state line and its LWP row (opts.freed:
 * freed tids that get a mark of their own; opts.max: marks before "+N").
 */
export function nodeWidth(p, status, { freed = [], max = MAX_LWP_MARKS } = {}) {
  const { shown, extra } = shownLwps(p, max);
  let row = shown.reduce((w, l) => w + chipWidth(lwpText(l)) + CHIP_GAP, 0);
  if (extra) row += 34;
  row += freed.reduce((w, tid) => w + chipWidth(`${tid} FREED`) + CHIP_GAP, 0);
  const text = Math.max(textWidth(`${p.pid} ${p.name}`, L1_FONT),
    textWidth(status, L2_FONT));
  return Math.ceil(Math.max(MIN_W, text + 2 * PAD, row - CHIP_GAP + 2 * 10));
}

/** Width of a pill with `text` (labels under or on edges). */
export function pillWidth(text) {
  return Math.ceil(textWidth(text, PILL_FONT)) + 24;
}

/** A rounded label centred at y under (or over) the box. */
export function pill(g, cls, text, y) {
  const w = pillWidth(text);
  const b = g.append('g').attr('class', cls).attr('transform', `translate(0,${y})`);
  b.append('rect').attr('x', -w / 2).attr('y', -PILL_H / 2).attr('width', w).attr('height', PILL_H).attr('rx', PILL_H / 2);
  b.append('text').attr('y', 5.5).text(text);
  return b;
}

/**
 * Redraw the node's body (everything but its LWP row) for process p.
 * opts: {W, H, status (the state line), reaper ({id, refs, flags} of the node it owns, or
 * null), sleepY (where the sleep label goes, default under the box)}.
 */
export function drawProcBody(g, p, { W, H = NODE_H, status, reaper = null, sleepY = H / 2 + PILL_H / 2 + 4 }) {
  g.selectChildren(':not(.lwps)').remove();
  g.append('rect').attr('class', 'box').attr('x', -W / 2).attr('y', -H / 2).attr('width', W).attr('height', H).attr('rx', 10);
  g.append('text').attr('class', 'l1').attr('y', -H / 2 + 28).text(`${p.pid} ${p.name}`);
  g.append('text').attr('class', 'l2').attr('y', -H / 2 + 48).text(status);
  if (reaper) {
    const badge = g.append('g').attr('class', 'badge').attr('transform', `translate(${W / 2 - 8},${-H / 2})`);
    const text = `R ${reaper.refs}`;
    const bw = Math.ceil(textWidth(text, PILL_FONT)) + 18;
    badge.append('rect').attr('x', -bw).attr('y', -BADGE_ABOVE).attr('width', bw).attr('height', 26).attr('rx', 13);
    badge.append('text').attr('x', -bw / 2).attr('y', 2).text(text);
    badge.append('title').text(`sub-reaper: owns reaper node ${reaper.id}, refs ${reaper.refs}` +
      (reaper.flags?.length ? ` (${reaper.flags.join('|')})` : ''));
  }
  if (p.blocked) pill(g, 'sleep', `sleeps in ${p.blocked}`, sleepY);
}

/**
 * Join p's LWPs (at most `max` marks, then "+N") into the node's persistent LWP row, keyed
 * by tid (data-tid): new ones grow, changed ones change in place, gone ones shrink away.
 * Each mark is a chip with the tid and what the thread is doing (lwpWord).
 * `freed`: tids a violation names that no longer exist (drawn as red crossed chips,
 * data-freed-tid: the LWP the reaper freed while it still ran).  ms: the transition's
 * duration.
 */
export function joinLwps(g, p, { W, H = NODE_H, ms = 0, max = MAX_LWP_MARKS, freed = [] }) {
  let row = g.select(':scope > g.lwps');
  if (row.empty()) row = g.append('g').attr('class', 'lwps');
  const { shown, extra } = shownLwps(p, max);
  const xs = [];
  let x = 0;
  for (const l of shown) { xs.push(x); x += chipWidth(lwpText(l)) + CHIP_GAP; }
  const extraX = x;
  if (extra) x += 34;
  const freedX = x;
  x += freed.reduce((w, tid) => w + chipWidth(`${tid} FREED`) + CHIP_GAP, 0);
  // The row is centred in the box, on its lower part.
  row.attr('transform', `translate(${-(x - CHIP_GAP) / 2},${H / 2 - CHIP_H / 2 - 7})`).raise();
  const at = (l, i) => `translate(${xs[i]},0)`;
  const sel = row.selectAll('g.lwp:not(.freed):not(.leaving)').data(shown, (l) => l.tid);
  sel.exit().classed('leaving', true).attr('data-tid', null)
    .transition().duration(ms).attr('transform', function () { return `${d3.select(this).attr('transform')} scale(0.01)`; })
    .style('opacity', 0).remove();
  const entered = sel.enter().append('g').attr('transform', (l, i) => `${at(l, i)} scale(0.01)`);
  entered.append('rect').attr('class', 'chip').attr('y', -CHIP_H / 2).attr('height', CHIP_H).attr('rx', CHIP_H / 2);
  entered.append('circle').attr('cx', 11).attr('r', 5);
  entered.append('text').attr('class', 'lwp-label').attr('x', 20).attr('y', 5);
  entered.append('title');
  const all = entered.merge(sel)
    .attr('class', lwpClass)
    .attr('data-tid', (l) => l.tid)
    .attr('data-lwp-state', lwpWord);
  all.select('rect.chip').attr('width', (l) => chipWidth(lwpText(l)));
  all.select('text.lwp-label').text(lwpText);
  all.select('title').text(lwpTitle);
  all.transition().duration(ms).attr('transform', at);
  row.selectAll('.lwp-extra').remove();
  if (extra) {
    row.append('text').attr('class', 'lwp-extra more-lwps').attr('x', extraX).attr('y', 5).text(`+${extra}`);
  }
  let fx = freedX;
  for (const tid of freed) {
    const text = `${tid} FREED`;
    const w = chipWidth(text);
    const m = row.append('g').attr('class', 'lwp freed lwp-extra').attr('data-freed-tid', tid)
      .attr('transform', `translate(${fx},0)`);
    m.append('rect').attr('class', 'chip').attr('y', -CHIP_H / 2).attr('height', CHIP_H).attr('rx', CHIP_H / 2).attr('width', w);
    m.append('path').attr('d', 'M7,-4L15,4M15,-4L7,4');
    m.append('text').attr('class', 'lwp-label').attr('x', 20).attr('y', 5).text(text);
    m.append('title').text(`tid ${tid}: freed by the reaper while it was still on its CPU (use-after-free)`);
    fx += w + CHIP_GAP;
  }
}
