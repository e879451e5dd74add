// A small process tree for compare and quiz mode: d3.stratify + d3.tree over {pid, ppid}
// rows, DOM keyed by pid, scaled to its SVG through the viewBox (no pan or zoom).  Nodes
// keep the explorer's DOM contract: role treeitem, aria-label "pid N NAME", data-pid,
// data-ppid, data-state.  A marked node (compare mode: it differs in the other kernel)
// gets a visible ≠ badge, data-differs and an accessible description.
import { BADGE_ABOVE, NODE_H as H, PILL_H, drawProcBody, joinLwps, nodeWidth } from './nodes.js';

const d3 = globalThis.d3;

// The explorer's node (nodes.js: as wide as what it says, labelled LWP marks), scaled to
// the SVG by its viewBox.
const GAP_X = 22;       // between siblings' boxes
const DY = H + 34 + PILL_H;   // generation spacing: room for a sleep label and the edge
const PAD = 16;
const ROOT = '__root';
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;

const STATE_TEXT = { SIDL: 'SIDL · forking', SACTIVE: 'SACTIVE', SSTOP: 'SSTOP · stopped', SZOMB: 'SZOMB · zombie' };
/** What a node's second line says: the state, or a zombie's exit status (the server
 *  sends it decoded as `xstat_text`). */
export function stateText(p) {
  if (p.state === 'SZOMB' && p.xstat_text) return `zombie · ${p.xstat_text}`;
  return STATE_TEXT[p.state] || p.state;
}

/** A tree in words, for screen readers and tooltips: "init (1); sh (2) under init, ...". */
export function treeWords(rows) {
  const names = new Map(rows.map((r) => [r.pid, r.name]));
  return rows.map((r) => {
    const parent = names.has(r.ppid) && r.ppid !== r.pid ? ` under ${names.get(r.ppid)} (${r.ppid})` : '';
    return `${r.name} (${r.pid})${parent}, ${r.state}`;
  }).join('; ');
}

/**
 * The scale of a tree drawn at lecture size (quiz mode): 1 at 1024 px wide or less, so
 * the smallest label (an LWP mark's 14 tree units) is 14 CSS px, up to 1.5 on a wide
 * screen (about 1.37 at 1920 px).
 */
export function lectureScale(width = window.innerWidth) {
  return Math.max(1, Math.min(1.5, width / 1400));
}

export class MiniTree {
  /**
   * svgEl: an <svg role="tree">.  options: {idPrefix: for description ids, height: {scale,
   * min, max} to size the SVG to the tree (else CSS sizes it)}.
   */
  constructor(svgEl, options = {}) {
    this.svgEl = svgEl;
    this.svg = d3.select(svgEl).attr('preserveAspectRatio', 'xMidYMin meet');
    this.prefix = options.idPrefix || svgEl.id || 'tree';
    this.height = options.height || null;
    this.minScale = options.minScale || 0;
    this.gEdges = this.svg.append('g').attr('class', 'edges');
    this.gNodes = this.svg.append('g').attr('class', 'nodes');
  }

  /** Draw rows [{pid, name, ppid, state, ...}]; marks: Map pid -> description of why it is marked. */
  render(rows, { marks = new Map(), duration = 450 } = {}) {
    const ms = reducedMotion ? 0 : duration;
    const root = layout(rows);
    const nodes = root.descendants().filter((d) => d.id !== ROOT);
    const links = nodes.filter((d) => d.parent && d.parent.id !== ROOT);
    const levelBase = root.id === ROOT ? 0 : 1;
    const t = this.svg.transition().duration(ms);
    this.fit(nodes);

    const edge = (d) => d3.linkVertical()({ source: [d.parent.x, d.parent.y + H / 2], target: [d.x, d.y - H / 2] });
    const paths = this.gEdges.selectAll('path.edge').data(links, (d) => d.id);
    paths.exit().remove();
    paths.enter().append('path').attr('class', 'edge').attr('d', edge).style('opacity', 0)
      .transition(t).style('opacity', 1);
    paths.transition(t).attr('d', edge).style('opacity', 1);

    const sel = this.gNodes.selectAll('g.node:not(.exiting)').data(nodes, (d) => d.id);
    sel.exit().classed('exiting', true)
      .attr('role', null).attr('aria-label', null).attr('data-pid', null).attr('aria-hidden', 'true')
      .transition(t).style('opacity', 0).remove();
    const entered = sel.enter().append('g')
      .attr('transform', (d) => `translate(${d.x},${d.y})`).style('opacity', 0);
    entered.transition(t).style('opacity', 1);
    const all = entered.merge(sel);
    sel.transition(t).attr('transform', (d) => `translate(${d.x},${d.y})`).style('opacity', 1);
    const view = this;
    all.each(function (d) { view.drawNode(d3.select(this), d, d.depth + levelBase, marks.get(d.data.row.pid), ms); });
    this.svgEl.dataset.count = String(nodes.length);
  }

  fit(nodes) {
    if (!nodes.length) return;
    const xs = nodes.map((d) => d.x);
    const ys = nodes.map((d) => d.y);
    const x0 = Math.min(...nodes.map((d) => d.x - d.data.w / 2)) - PAD;
    const y0 = Math.min(...ys) - H / 2 - BADGE_ABOVE - PAD;
    const w = Math.max(...nodes.map((d) => d.x + d.data.w / 2)) - x0 + PAD;
    const h = Math.max(...ys) - Math.min(...ys) + H + BADGE_ABOVE + PILL_H + 2 * PAD;
    this.svg.attr('viewBox', `${x0} ${y0} ${w} ${h}`);
    // A wide tree stays readable: at least minScale, and its box scrolls sideways.
    if (this.minScale) this.svgEl.style.minWidth = `${Math.round(w * this.minScale)}px`;
    if (this.height) {
      // One scale for every tree of the page (as long as it fits), so sizes compare.
      const { scale = 0.7, max = 420 } = this.height;
      const k = Math.min(scale, max / h);
      this.svgEl.style.width = `${Math.round(w * k)}px`;
      this.svgEl.style.height = `${Math.round(h * k)}px`;
    }
  }

  drawNode(g, d, level, mark, ms) {
    const p = d.data.row;
    g.attr('class', `node proc ${String(p.state).toLowerCase()}${p.blocked ? ' blocked' : ''}${mark ? ' differs' : ''}`)
      .attr('role', 'treeitem')
      .attr('aria-label', `pid ${p.pid} ${p.name}`)
      .attr('aria-level', level)
      .attr('data-pid', p.pid)
      .attr('data-ppid', p.ppid)
      .attr('data-state', p.state)
      .attr('data-differs', mark ? 'true' : null)
      .attr('aria-describedby', mark ? `${this.prefix}-why-${p.pid}` : null);
    const W = d.data.w;
    drawProcBody(g, p, { W, H, status: stateText(p), reaper: p.reaper_node });
    joinLwps(g, p, { W, H, ms });
    if (mark) {
      const m = g.append('g').attr('class', 'diff-mark').attr('transform', `translate(${-W / 2},${-H / 2})`);
      m.append('circle').attr('r', 14);
      m.append('text').attr('y', 6).text('≠');
      g.append('desc').attr('id', `${this.prefix}-why-${p.pid}`).text(mark);
    }
    g.append('title').text(`pid ${p.pid} ${p.name}: ${stateText(p)}${p.blocked ? `, sleeping in ${p.blocked}` : ''}${mark ? `. ${mark}` : ''}`);
  }
}

/** rows -> a laid-out d3 hierarchy; a process whose parent is not drawn hangs from a hidden root. */
function layout(rows) {
  const pids = new Set(rows.map((r) => r.pid));
  const data = [...rows].sort((a, b) => a.pid - b.pid).map((r) => ({
    id: String(r.pid), parentId: r.ppid !== r.pid && pids.has(r.ppid) ? String(r.ppid) : ROOT, row: r,
    w: nodeWidth(r, stateText(r)),
  }));
  const tops = data.filter((d) => d.parentId === ROOT);
  if (tops.length === 1) tops[0].parentId = null;
  else data.push({ id: ROOT, parentId: null, row: null, w: 0 });
  const h = d3.stratify().id((d) => d.id).parentId((d) => d.parentId)(data);
  // nodeSize 1: separation() is the distance between centres, from the boxes' widths.
  d3.tree().nodeSize([1, DY]).separation((a, b) =>
    (a.data.w + b.data.w) / 2 + (a.parent === b.parent ? GAP_X : 2 * GAP_X))(h);
  return h;
}
