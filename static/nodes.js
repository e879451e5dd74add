// The process node every tree of the app draws (the explorer's TreeView and the compare
// and quiz MiniTree): its box, "PID NAME", the state line, the sub-reaper badge, the sleep
// label and one mark per LWP.  The LWP row persists inside the node's <g> and is joined by
// tid, so an LWP that appears, changes state or exits animates instead of snapping.
// Each view adds its own decorations (violation markers, fold buttons, ≠ marks) after.
const d3 = globalThis.d3;

export const STATE_TEXT = { SIDL: 'SIDL · forking', SACTIVE: 'SACTIVE', SSTOP: 'SSTOP · stopped', SZOMB: 'SZOMB · zombie' };
const LWP_GAP = 15;

/** The state line: the state, or a zombie's exit status as the server decoded it. */
export function stateLine(p, xstatText) {
  return p.state === 'SZOMB' && xstatText ? `zombie · ${xstatText}` : STATE_TEXT[p.state] || p.state;
}

/** A rounded label centred at y under (or over) the box. */
export function pill(g, cls, text, y, { charW = 9.2 } = {}) {
  const b = g.append('g').attr('class', cls).attr('transform', `translate(0,${y})`);
  b.append('rect').attr('x', -text.length * charW / 2 - 10).attr('y', -12)
    .attr('width', text.length * charW + 20).attr('height', 24).attr('rx', 12);
  b.append('text').attr('y', 5).text(text);
  return b;
}

/**
 * Redraw the node's body (everything but its LWP row) for process p.
 * opts: {W, H, status (the state line), reaper ({id, refs, flags} of the node it owns, or
 * null), sleepY (where the sleep label goes, default H/2 + 17)}.
 */
export function drawProcBody(g, p, { W, H, status, reaper = null, sleepY = H / 2 + 17 }) {
  g.selectChildren(':not(.lwps)').remove();
  g.append('rect').attr('class', 'box').attr('x', -W / 2).attr('y', -H / 2).attr('width', W).attr('height', H).attr('rx', 9);
  g.append('text').attr('class', 'l1').attr('y', -H / 2 + 23).text(`${p.pid} ${p.name}`);
  g.append('text').attr('class', 'l2').attr('y', -H / 2 + 42).text(status);
  if (reaper) {
    const badge = g.append('g').attr('class', 'badge').attr('transform', `translate(${W / 2 - 6},${-H / 2 - 4})`);
    badge.append('rect').attr('x', -44).attr('y', -12).attr('width', 56).attr('height', 24).attr('rx', 12);
    badge.append('text').attr('x', -16).attr('y', 5).text(`R ${reaper.refs}`);
    badge.append('title').text(`sub-reaper: owns reaper node ${reaper.id}, refs ${reaper.refs}` +
      (reaper.flags?.length ? ` (${reaper.flags.join('|')})` : ''));
  }
  if (p.blocked) pill(g, 'sleep', `sleeps in ${p.blocked}`, sleepY);
}

function lwpClass(l) {
  return `lwp ${String(l.state).toLowerCase()}${l.exit ? ' lwp-exit' : ''}${l.blocked ? ' asleep' : ''}`;
}

function lwpTitle(l) {
  return `tid ${l.tid}: ${l.state}${l.exit ? `, ${l.exit}` : ''}${l.blocked ? `, sleeps in ${l.blocked}` : ''}`;
}

/**
 * Join p's LWPs (at most `max` marks, then "+N") into the node's persistent LWP row, keyed
 * by tid (data-tid): new ones grow, changed ones change in place, gone ones shrink away.
 * `freed`: tids a violation names that no longer exist (drawn as red crosses,
 * data-freed-tid).  ms: the transition's duration.
 */
export function joinLwps(g, p, { W, H, ms = 0, max = 8, freed = [] }) {
  let row = g.select(':scope > g.lwps');
  if (row.empty()) row = g.append('g').attr('class', 'lwps');
  row.attr('transform', `translate(${-W / 2 + 16},${H / 2 - 12})`).raise();
  const lwps = Object.values(p.lwps || {}).sort((a, b) => a.tid - b.tid);
  const shown = lwps.slice(0, max);
  const at = (i) => `translate(${i * LWP_GAP},0)`;
  const sel = row.selectAll('g.lwp:not(.freed):not(.leaving)').data(shown, (l) => l.tid);
  sel.exit().classed('leaving', true).attr('data-tid', null)
    .transition().duration(ms).attr('transform', function () { return `${d3.select(this).attr('transform')} scale(0.01)`; })
    .style('opacity', 0).remove();
  const entered = sel.enter().append('g').attr('transform', (l, i) => `${at(i)} scale(0.01)`);
  entered.append('circle').attr('r', 5.5);
  entered.append('title');
  const all = entered.merge(sel)
    .attr('class', lwpClass)
    .attr('data-tid', (l) => l.tid);
  all.select('title').text(lwpTitle);
  all.transition().duration(ms).attr('transform', (l, i) => at(i));
  row.selectAll('.lwp-extra').remove();
  if (lwps.length > max) {
    row.append('text').attr('class', 'lwp-extra more-lwps').attr('x', max * LWP_GAP - 4).attr('y', 4).text(`+${lwps.length - max}`);
  }
  const x0 = shown.length * LWP_GAP + (lwps.length > max ? 18 : 0);
  freed.forEach((tid, i) => {
    const m = row.append('g').attr('class', 'lwp freed lwp-extra').attr('data-freed-tid', tid)
      .attr('transform', `translate(${x0 + i * 17},0)`);
    m.append('circle').attr('r', 7);
    m.append('path').attr('d', 'M-4,-4L4,4M4,-4L-4,4');
    m.append('title').text(`tid ${tid}: freed while it was still running (use-after-free)`);
  });
}
