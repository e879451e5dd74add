// Rendering: the process tree (d3.stratify + d3.tree, DOM keyed by pid), the dead-LWP
// tray, the event log and the inspector.  Nothing here talks to the server; app.js hands
// each view the state and what just happened (a step forward, a step back, a snapshot).
import {
  BADGE_ABOVE, NODE_H as H, PILL_H, drawProcBody, joinLwps, lwpTitle, lwpWord, nodeWidth, onCpu, pill,
  pillWidth, stateLine,
} from './nodes.js';
import { formatSeed } from './state.js';

const d3 = globalThis.d3;
// prefers-reduced-motion: every fade, arc and delay is kept (no change goes unseen) but
// none lasts more than a fifth of a second.
const REDUCED = globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;
const calm = (ms) => (REDUCED ? Math.min(ms, 200) : ms);

// Geometry of the tree, in tree units (the viewport zooms them).  A node's width comes
// from what it says (nodes.js); generations are as far apart as their labels need.
const GAP_X = 26;         // between the footprints of siblings
const GAP_COUSINS = 44;   // between the footprints of nodes with different parents
const GAP_Y = 30;         // between a generation's lowest label and the next one's highest
const EDGE_LABEL_Y = 30;  // an edge label's centre, above its child's box
const EDGE_LABEL_ABOVE = EDGE_LABEL_Y + PILL_H / 2 + 2;
const MARGIN = 10;        // around the whole tree when fitting it
const MAX_CHILDREN = 24;  // past this many children a parent shows "+N more" (1,000-process trees)
const MAX_LWP_MARKS = 6;
const MORE_W = 150;
const BIG_TREE = 150;     // past this many drawn nodes, only the nodes an event touches animate
const MAX_SCALE = 1.4;    // a small tree is drawn large, but not absurdly so
const FOLLOW_BELOW = 0.3; // a whole-tree fit smaller than this is unreadable: follow instead
const FOLLOW_SCALE = 0.85;
const REGROW = 1.2;       // auto-fit zooms back in once the tree has shrunk by this much
const FOCUS_MARGIN = 24;  // px kept between what an event touches and the view's edge

/** The process tree view. */
export class TreeView {
  constructor(svgEl, handlers) {
    this.svgEl = svgEl;
    this.handlers = handlers;          // {select(pid), toggle(pid), expand(pid), fit(on), settled(seq)}
    this.svg = d3.select(svgEl);
    this.viewport = this.svg.append('g').attr('class', 'viewport');
    this.gTrails = this.viewport.append('g').attr('class', 'trails');
    this.gEdges = this.viewport.append('g').attr('class', 'edges');
    this.gLabels = this.viewport.append('g').attr('class', 'edge-labels');
    this.gNodes = this.viewport.append('g').attr('class', 'nodes');
    this.collapsed = new Set();        // pids whose subtree the user folded
    this.expanded = new Set();         // pids whose "+N more" the user opened
    this.last = new Map();             // id -> {x, y, ppid} as last drawn (animation origins)
    this.autoFit = true;               // the camera is automatic until the user pans or zooms
    this.pinned = false;               // Fit is on: the whole tree stays in view, whatever its size
    this.bounds = null;                // [x0, y0, x1, y1]: everything drawn, labels included
    this.focusPid = null;              // pid the current event is about
    this.touched = [];                 // boxes (tree units) the current event touches: kept in view
    this.reducedMotion = false;        // app.js: prefers-reduced-motion (camera moves at once)
    this.zoom = d3.zoom().scaleExtent([0.05, 3]).on('zoom', (e) => {
      this.viewport.attr('transform', e.transform);
      if (e.sourceEvent) {
        this.goal = null;
        this.setFit(false, false);  // the user took over the camera
      }
    });
    this.svg.call(this.zoom).on('dblclick.zoom', null);
    // The view's size and place, kept current by an observer so fitting never forces a
    // layout.  The browser's zoom (Ctrl +) at load is the base: zooming in draws the tree
    // larger (zoomBoost), it does not refit it into the fewer CSS pixels left.
    this.size = { width: 0, height: 0 };
    this.place = null;
    this.baseDpr = globalThis.devicePixelRatio || 1;
    new ResizeObserver(([entry]) => this.resized(entry.contentRect)).observe(svgEl);
  }

  /** Fit on (pinned: keep the whole tree in view) or off; auto: the camera stays automatic. */
  setFit(pinned, auto = true) {
    this.pinned = pinned;
    this.autoFit = auto;
    this.handlers.fit?.(pinned);
  }

  /** How much larger than at load the browser's zoom wants the page (1 unless Ctrl +). */
  zoomBoost() {
    return Math.max(1, (globalThis.devicePixelRatio || 1) / this.baseDpr);
  }

  /**
   * The view changed size or place (the window, the browser's zoom, a panel above it).
   * Moved, not the tree: the picture keeps its place on the screen (the observer runs
   * after layout and before paint, so nothing jumps), and the camera refits only if what
   * it must show no longer fits.
   */
  resized(rect) {
    const box = this.svgEl.getBoundingClientRect();
    const place = { left: box.left + globalThis.scrollX, top: box.top + globalThis.scrollY };
    const before = this.place;
    this.place = place;
    this.size = { width: rect.width, height: rect.height };
    const dpr = globalThis.devicePixelRatio || 1;
    const zoomed = this.lastDpr !== undefined && dpr !== this.lastDpr;
    this.lastDpr = dpr;
    // A new window size is framed afresh; a panel changing around the tree is not.
    const win = `${globalThis.innerWidth}x${globalThis.innerHeight}`;
    const panel = this.lastWindow === win;
    this.lastWindow = win;
    if (!this.autoFit || !this.bounds) return;
    if (before && panel) {
      const now = this.goal || d3.zoomTransform(this.svgEl);
      const kept = d3.zoomIdentity.translate(now.x + before.left - place.left, now.y + before.top - place.top).scale(now.k);
      if (this.cameraTarget({ from: kept }) === null) {
        this.goal = kept;
        this.svg.interrupt('zoom').call(this.zoom.transform, kept);
        return;
      }
    }
    this.fit(0, { force: !zoomed });
  }

  /**
   * Draw `state` (an ExplorerState).  ctx: {dir: 'forward'|'back'|'snapshot'|..., duration
   * ms, focus: the pid the current event is about, open: a new scenario (fit afresh)}.
   * Returns the LWPs that just left a process for the dead-LWP list, with where their mark
   * was on screen, so the tray can fly them over.
   */
  render(state, ctx) {
    const doc = state.doc;
    this.svgEl.setAttribute('data-settled', 'false');
    const t = this.svg.transition('tree').duration(ctx.duration).ease(d3.easeCubicInOut);
    this.duration = ctx.duration;
    this.marks = state.violationMarks();
    const touched = touchedPids(state.currentEvent(), ctx.focus);
    const root = this.layout(doc, state, withAncestors(touched, doc.procs));
    const nodes = root.descendants();
    ctx = { ...ctx, big: nodes.length > BIG_TREE, delay: 0 };
    const leaving = this.leavingLwps(doc);
    if (ctx.dir === 'snapshot') this.viewport.selectAll('.exiting').interrupt().remove();

    // The camera first: what this event touches (a reparent's whole arc too) must be in
    // view before anything moves.  A reparent waits for the camera, so no zoom runs
    // while it travels.
    this.bounds = extent(nodes);
    this.nodeCount = nodes.length;
    this.focusPid = ctx.focus ?? null;
    const arcs = ctx.dir === 'snapshot' ? [] : this.arcs(nodes);
    this.touched = [...touchedBoxes(nodes, touched), ...arcs];
    if (arcs.length) this.bounds = union(this.bounds, ...arcs);
    if (this.autoFit) {
      const moved = this.fit(ctx.big ? Math.min(ctx.duration, 250) : ctx.duration, { force: Boolean(ctx.open) });
      // A frame's grace: the camera's last step and the arc's first never share a frame.
      if (arcs.length && moved) ctx.delay = moved + 40;
    }

    this.drawNodes(nodes, state, t, ctx);
    this.drawEdges(nodes, state, t, ctx);
    this.drawLabels(nodes, state, t, ctx);

    this.last = new Map(nodes.map((d) => [d.id, { x: d.x, y: d.y, ppid: d.data.ppid }]));
    this.svgEl.setAttribute('data-seq', String(state.seq));
    this.watchSettled(ctx.big ? ctx.duration * 2 + 500 + ctx.delay : null);
    return leaving;
  }

  /** The boxes (tree units) the arcs of this render's reparents sweep: old place, new
   *  place and the top of the curve (travel() draws it). */
  arcs(nodes) {
    const out = [];
    for (const d of nodes) {
      const prev = this.last.get(d.id);
      if (!prev || prev.ppid === d.data.ppid || d.data.kind !== 'proc') continue;
      const top = Math.min(prev.y, d.y) - arcRise(prev, d) * 0.75 - H / 2;
      const half = d.data.fw / 2;
      out.push([Math.min(prev.x, d.x) - half, top, Math.max(prev.x, d.x) + half, Math.max(prev.y, d.y) + H / 2]);
    }
    return out;
  }

  /**
   * Visible rows -> d3 hierarchy, laid out.  Hides folded subtrees and long child lists.
   * Each node gets `w` (its box), `fw` (its footprint: the box or a wider label under or
   * over it), `above` and `below` (how far its badge and labels reach past the box).
   */
  layout(doc, state, keep = new Set()) {
    const procs = doc.procs;
    const selected = state.selected;
    const kids = new Map();
    for (const p of Object.values(procs)) {
      if (p.pid === 0) continue;
      const parent = procs[String(p.ppid)] && p.ppid !== p.pid ? p.ppid : 0;
      if (!kids.has(parent)) kids.set(parent, []);
      kids.get(parent).push(p);
    }
    for (const list of kids.values()) list.sort((a, b) => a.pid - b.pid);

    const rows = [];
    const seen = new Set();
    const root = procs['0'] || { pid: 0, name: 'swapper', ppid: 0, state: 'SACTIVE', lwps: {} };
    const visit = (p, parentId) => {
      seen.add(p.pid);
      const children = kids.get(p.pid) || [];
      const row = { id: String(p.pid), parentId, kind: 'proc', proc: p, ppid: p.ppid,
        nkids: children.length, hidden: 0 };
      rows.push(row);
      if (this.collapsed.has(p.pid)) {
        row.hidden = countDescendants(p.pid, kids);
        markSeen(p.pid, kids, seen);
        return;
      }
      let shown = children;
      if (children.length > MAX_CHILDREN && !this.expanded.has(p.pid)) {
        // Never folded: the processes the current event touches and their ancestors, and
        // the selected one; the rest of the room goes to the newest children.
        const pin = (c) => c.pid === selected || keep.has(c.pid);
        const rest = children.filter((c) => !pin(c));
        const newest = new Set(rest.slice(Math.max(0, rest.length - (MAX_CHILDREN - (children.length - rest.length)))));
        shown = children.filter((c) => pin(c) || newest.has(c));
        const hiddenKids = children.filter((c) => !pin(c) && !newest.has(c));
        let hidden = 0;
        for (const c of hiddenKids) {
          hidden += 1 + countDescendants(c.pid, kids);
          seen.add(c.pid);
          markSeen(c.pid, kids, seen);
        }
        rows.push({ id: `more:${p.pid}`, parentId: row.id, kind: 'more', ppid: p.pid,
          count: hiddenKids.length, hidden });
      }
      for (const c of shown) visit(c, row.id);
    };
    visit(root, null);
    // A process no walk from proc0 reaches (only if an invariant broke): show it under proc0.
    for (const p of Object.values(procs)) {
      if (!seen.has(p.pid)) visit(p, '0');
    }
    for (const row of rows) this.measure(row, state);
    const h = d3.stratify().id((d) => d.id).parentId((d) => d.parentId)(rows);
    // nodeSize 1: separation() is then the distance between centres, in tree units.
    d3.tree().nodeSize([1, 1]).separation((a, b) =>
      (a.data.fw + b.data.fw) / 2 + (a.parent === b.parent ? GAP_X : GAP_COUSINS))(h);
    placeGenerations(h);
    return h;
  }

  /** A row's box width, footprint and reach above and below its box (see layout). */
  measure(row, state) {
    if (row.kind === 'more') {
      Object.assign(row, { w: MORE_W, fw: MORE_W, above: 0, below: 0 });
      return;
    }
    const p = row.proc;
    const marks = this.marks?.get(p.pid) || null;
    row.status = stateLine(p, state.xstatText[String(p.pid)]);
    row.freed = [...new Set((marks || []).map((m) => m.tid))]
      .filter((tid) => tid !== null && tid !== undefined && !(p.lwps || {})[String(tid)]);
    row.w = nodeWidth(p, row.status, { freed: row.freed, max: MAX_LWP_MARKS });
    let fw = row.w;
    let below = 0;
    if (p.blocked) {
      fw = Math.max(fw, pillWidth(`sleeps in ${p.blocked}`));
      below += PILL_H + 6;
    }
    if (marks) {
      row.violationWords = violationWords(marks, row.freed);
      fw = Math.max(fw, pillWidth(row.violationWords));
      below += PILL_H + 6;
    }
    if (this.collapsed.has(p.pid)) below += 26;
    const edge = state.edges[String(p.pid)];
    if (edge) fw = Math.max(fw, pillWidth(edge));
    row.fw = fw;
    row.below = below;
    row.above = edge ? EDGE_LABEL_ABOVE : BADGE_ABOVE;
  }

  drawNodes(nodes, state, t, ctx) {
    const view = this;
    const reapers = state.ownedReapers();
    const sel = this.gNodes.selectAll('g.node:not(.exiting)').data(nodes, (d) => d.id);

    const entered = sel.enter().append('g')
      .attr('class', 'node')
      .attr('transform', (d) => `${translate(this.origin(d))} scale(0.25)`)
      .style('opacity', 0)
      .on('click', (event, d) => {
        if (d.data.kind === 'more') this.handlers.expand(d.data.ppid);
        else this.handlers.select(d.data.proc.pid);
      })
      .on('keydown', (event, d) => {
        if (event.key === 'Enter') {
          event.preventDefault();
          if (d.data.kind === 'more') this.handlers.expand(d.data.ppid);
          else this.handlers.select(d.data.proc.pid);
        }
      });

    const all = entered.merge(sel);
    all.each(function (d) { view.drawNode(d3.select(this), d, state, reapers); });

    // Fork: the child grows out of its parent.  Others glide to their new place; a
    // reparented process travels along a visible arc from its old parent to its new one.
    entered.transition(t).attr('transform', (d) => translate(d)).style('opacity', 1);
    sel.each(function (d) {
      const prev = view.last.get(d.id);
      const g = d3.select(this);
      if (prev && prev.ppid !== d.data.ppid && d.data.kind === 'proc' && ctx.dir !== 'snapshot') {
        view.travel(g, prev, d, ctx.duration, ctx.delay);
      } else if (!prev || prev.x !== d.x || prev.y !== d.y) {
        // Only nodes that moved get a transition.  In a big tree a fork shifts most nodes
        // a little: they jump, so each frame stays cheap and the new child's growth is
        // what the eye follows.
        if (ctx.big) g.interrupt('tree').attr('transform', translate(d)).style('opacity', 1);
        else g.transition(t).attr('transform', translate(d)).style('opacity', 1);
      }
    });

    // Reaped (or folded away): fade where it stands.
    fadeOut(sel.exit()
      .classed('exiting', true)
      .attr('role', null).attr('aria-hidden', 'true'), calm(Math.max(ctx.duration, 300) * 1.4))
      .attr('transform', function () { return `${d3.select(this).attr('transform').split(' scale')[0]} scale(0.85)`; });
  }

  /** Where an entering node starts: its parent's old place (a fork grows out of it). */
  origin(d) {
    const parent = d.parent && (this.last.get(d.parent.id) || d.parent);
    return parent ? { x: parent.x, y: parent.y } : d;
  }

  /** Move g from its old place to d along an arc that stays drawn for a moment. */
  travel(g, prev, d, duration, delay = 0) {
    const rise = arcRise(prev, d);
    const path = `M${prev.x},${prev.y} C${prev.x},${prev.y - rise} ${d.x},${d.y - rise} ${d.x},${d.y}`;
    const trail = this.gTrails.append('path').attr('class', 'trail').attr('d', path);
    const el = trail.node();
    const len = el.getTotalLength();
    const move = calm(Math.max(duration * 1.6, 250));
    trail.attr('stroke-dasharray', `${len} ${len}`).attr('stroke-dashoffset', len)
      .transition().delay(delay).duration(move).ease(d3.easeCubicInOut).attr('stroke-dashoffset', 0)
      .transition().delay(1800).duration(900).style('opacity', 0).remove();
    g.raise().transition('tree').delay(delay).duration(move).ease(d3.easeCubicInOut).style('opacity', 1)
      .attrTween('transform', () => (k) => {
        const p = el.getPointAtLength(k * len);
        return `translate(${p.x},${p.y})`;
      });
  }

  /** (Re)build a node's inside when what it shows changed. */
  drawNode(g, d, state, reapers) {
    const W = d.data.w;
    if (d.data.kind === 'more') {
      const key = `more|${d.data.count}|${d.data.hidden}`;
      if (g.attr('data-sig') === key) return;
      g.attr('data-sig', key).attr('class', 'node more').attr('role', 'button').attr('tabindex', 0)
        .attr('aria-label', `show ${d.data.count} more children of pid ${d.data.ppid}`);
      g.selectAll('*').remove();
      g.append('rect').attr('x', -W / 2).attr('y', -H / 2 + 10).attr('width', W).attr('height', H - 20).attr('rx', 18);
      g.append('text').attr('class', 'l1').attr('y', 8).text(`+${d.data.count} more`);
      g.append('title').text(`${d.data.count} older children (${d.data.hidden} processes) are folded; click to show them`);
      return;
    }
    const p = d.data.proc;
    const reaper = reapers.get(p.pid);
    const reason = state.edges[String(p.pid)];
    const selected = state.selected === p.pid;
    const marks = this.marks?.get(p.pid) || null;
    const sig = JSON.stringify([p.name, p.ppid, p.state, p.blocked, p.xstat, p.lwps, p.nthreads,
      reaper && [reaper.id, reaper.refs], selected, state.selected === null, d.data.hidden, d.data.nkids,
      this.collapsed.has(p.pid), reason, marks, W]);
    if (g.attr('data-sig') === sig) return;
    // A process that changes state (a zombie above all) fades to its new colours from
    // the ones it had: the box is rebuilt below, so CSS alone would swap them in a frame.
    const oldBox = g.attr('data-state') && g.attr('data-state') !== p.state ? g.select(':scope > rect.box').node() : null;
    const from = oldBox && colours(oldBox);
    g.attr('data-sig', sig)
      .attr('class', `node proc ${p.state.toLowerCase()}${p.blocked ? ' blocked' : ''}${selected ? ' selected' : ''}${reaper ? ' reaper' : ''}${marks ? ' violated' : ''}`)
      .attr('data-violation', marks ? [...new Set(marks.map((m) => m.message))].join('; ') : null)
      .attr('role', 'treeitem')
      .attr('aria-label', `pid ${p.pid} ${p.name}`)
      .attr('aria-level', d.depth + 1)
      .attr('aria-selected', selected ? 'true' : 'false')
      .attr('aria-expanded', d.data.nkids ? String(!this.collapsed.has(p.pid)) : null)
      // One node in the tab order (the selected one, else init); Enter selects.
      .attr('tabindex', selected || (state.selected === null && p.pid === 1) ? 0 : -1)
      .attr('data-pid', p.pid)
      .attr('data-ppid', p.ppid)
      .attr('data-state', p.state);
    const status = d.data.status;
    drawProcBody(g, p, { W, H, status, reaper });
    if (from) fadeColours(g.select(':scope > rect.box'), from, calm(Math.max(this.duration * 1.4, 700)));
    joinLwps(g, p, { W, H, ms: this.duration, max: MAX_LWP_MARKS, freed: d.data.freed });
    if (marks) {
      // A violated invariant names this process (or one of its LWPs): a red marker.
      const v = g.append('g').attr('class', 'violation-mark').attr('transform', `translate(${-W / 2 + 4},${-H / 2 - 2})`);
      v.append('circle').attr('r', 14);
      v.append('text').attr('y', 7).text('!');
      v.append('title').text(marks.map((m) => `invariant violated at event ${m.seq}: ${m.message}`).join('\n'));
      // And in words under the node (below a sleep label, if there is one), naming the LWP.
      pill(g, 'violation-label', d.data.violationWords, H / 2 + PILL_H / 2 + 4 + (p.blocked ? PILL_H + 6 : 0));
    }
    if (d.data.nkids) {
      const folded = this.collapsed.has(p.pid);
      const tg = g.append('g').attr('class', 'fold').attr('transform', `translate(${-W / 2 + 2},${H / 2 - 2})`)
        .on('click', (event) => { event.stopPropagation(); this.handlers.toggle(p.pid); });
      tg.append('circle').attr('r', 10);
      tg.append('text').attr('y', 5).text(folded ? '+' : '−');
      tg.append('title').text(folded ? `show the ${d.data.hidden} processes under pid ${p.pid}` : 'fold this subtree');
      if (folded) {
        g.append('text').attr('class', 'folded').attr('y', H / 2 + d.data.below - 6).text(`+${d.data.hidden} below`);
      }
    }
    g.append('title').text(`pid ${p.pid} ${p.name}: ${status}${p.blocked ? `, sleeping in ${p.blocked}` : ''}` +
      (reason ? `; parent ${p.ppid} because: ${reason}` : ''));
  }

  drawEdges(nodes, state, t, ctx) {
    const links = nodes.filter((d) => d.parent);
    const sel = this.gEdges.selectAll('path.edge:not(.exiting)').data(links, (d) => d.id);
    const link = (s, d) => d3.linkVertical()({ source: [s.x, s.y + H / 2], target: [d.x, d.y - H / 2] });
    const cls = (d) => `edge${state.edges[d.id] ? ' why' : ''}${d.data.kind === 'more' ? ' to-more' : ''}`;
    sel.enter().append('path')
      .attr('class', cls)
      .attr('d', (d) => { const o = this.origin(d); return link(o, { x: o.x, y: o.y + H }); })
      .style('opacity', 0)
      .each(function (d) { this.__to = link(d.parent, d); })
      .transition(t).attr('d', (d) => link(d.parent, d)).style('opacity', 1);
    const view = this;
    sel.each(function (d) {
      const prev = view.last.get(d.id);
      const e = d3.select(this);
      const c = cls(d);
      if (this.getAttribute('class') !== c) this.setAttribute('class', c);
      const to = link(d.parent, d);
      if (prev && prev.ppid !== d.data.ppid && ctx.dir !== 'snapshot') {
        // The old edge vanishes at once; the new one appears when the move ends.
        e.interrupt('tree').style('opacity', 0).attr('d', to)
          .transition('tree').delay(ctx.delay + calm(Math.max(ctx.duration * 1.6, 250))).duration(calm(400)).style('opacity', 1);
      } else if (this.__to !== to) {
        if (ctx.big) e.interrupt('tree').attr('d', to).style('opacity', 1);
        else e.transition(t).attr('d', to).style('opacity', 1);
      }
      this.__to = to;
    });
    fadeOut(sel.exit(), calm(Math.max(ctx.duration, 300)));
  }

  /** The reason on an edge that is not a plain fork. */
  drawLabels(nodes, state, t, ctx) {
    const labelled = nodes.filter((d) => d.parent && d.data.kind === 'proc' && state.edges[d.id]);
    const sel = this.gLabels.selectAll('g.why:not(.exiting)').data(labelled, (d) => d.id);
    // Just above the child, where the curve arrives: siblings' labels never overlap there
    // (layout gives each node room for its label).
    const at = (d) => `translate(${d.x},${d.y - H / 2 - EDGE_LABEL_Y})`;
    const entered = sel.enter().append('g').attr('class', 'why').style('opacity', 0);
    entered.append('rect').attr('rx', PILL_H / 2).attr('height', PILL_H).attr('y', -PILL_H / 2);
    entered.append('text').attr('y', 5.5);
    const all = entered.merge(sel);
    all.attr('data-why-pid', (d) => d.id);
    all.select('text').text((d) => state.edges[d.id]);
    all.select('rect').attr('x', (d) => -pillWidth(state.edges[d.id]) / 2)
      .attr('width', (d) => pillWidth(state.edges[d.id]));
    const delay = ctx.dir === 'snapshot' ? 0 : ctx.delay + calm(Math.max(ctx.duration * 1.6, 250));
    entered.attr('transform', at).transition('tree').delay(delay).duration(calm(400)).style('opacity', 1);
    if (ctx.big) sel.attr('transform', at);
    else sel.transition(t).attr('transform', at).style('opacity', 1);
    fadeOut(sel.exit(), calm(300));
  }

  /** LWPs gone from a process and now on the dead-LWP list, with their on-screen place. */
  leavingLwps(doc) {
    const dead = new Set((doc.deadlwps || []).map((l) => `${l.pid}/${l.tid}`));
    const out = [];
    if (!dead.size) return out;
    this.gNodes.selectAll('g.node.proc g.lwp').each(function () {
      const pid = this.parentNode.parentNode.getAttribute('data-pid');
      const tid = this.getAttribute('data-tid');
      const key = `${pid}/${tid}`;
      const p = doc.procs[pid];
      if (dead.has(key) && !(p && p.lwps && p.lwps[tid])) out.push({ key, from: this.getBoundingClientRect() });
    });
    return out;
  }

  /**
   * The automatic camera (until the user pans or zooms) holds still: it moves only when
   * what it must show is no longer in view, or the user asks (Fit, a new scenario).
   * What it must show: the whole tree while that is readable at this size (and always
   * with Fit on); past that (hundreds of processes), the processes the current event
   * touches, at a readable zoom.  The browser's zoom (Ctrl +) draws everything larger.
   * opts.whole: Fit pressed; opts.force: frame afresh even if all is in view (a new
   * scenario, a resize).  Returns how long the move takes (0: it held).
   */
  fit(duration = 500, { whole = false, force = false } = {}) {
    const target = this.cameraTarget({ whole, force });
    if (!target) return 0;
    this.goal = target;
    const ms = this.reducedMotion ? Math.min(duration, 120) : duration;
    if (ms) this.svg.transition('zoom').duration(ms).call(this.zoom.transform, target);
    else this.svg.interrupt('zoom').call(this.zoom.transform, target);
    return ms;
  }

  /** Where the camera should go, or null where it is (or `from`) already does. */
  cameraTarget({ whole = false, force = false, from = null } = {}) {
    if (!this.bounds) return null;
    const { width, height } = this.size;
    if (!width || !height) return null;
    // Where the camera is going (a move may still run), else where it is.
    const now = from || this.goal || d3.zoomTransform(this.svgEl);
    const [x0, y0, x1, y1] = this.bounds;
    const tree = [x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN];
    const fitK = Math.min(MAX_SCALE, width / (tree[2] - tree[0]), height / (tree[3] - tree[1]));
    const boost = whole || this.pinned ? 1 : this.zoomBoost();
    if (whole || this.pinned || (fitK >= FOLLOW_BELOW && boost === 1)) {
      const held = !force && !whole && now.k * REGROW >= fitK && now.k <= fitK * 1.001;
      if (held && this.inView(now, tree)) return null;
      // Grown a little past an edge: pan as little as brings it back, at the same zoom.
      return held ? this.frame(tree, now.k, now, true) : this.frame(tree, fitK, now);
    }
    // Too large to show whole at a readable size (or zoomed by the browser): keep what
    // the event touches in view, else the whole tree at the largest readable zoom.
    const k = fitK * boost >= FOLLOW_BELOW ? Math.min(MAX_SCALE, fitK * boost) : FOLLOW_SCALE * boost;
    const fits = (tree[2] - tree[0]) * k <= width + 0.5 && (tree[3] - tree[1]) * k <= height + 0.5;
    const want = fits || !this.touched.length ? tree : union(...this.touched);
    const pad = FOCUS_MARGIN / k;
    const padded = [want[0] - pad, want[1] - pad, want[2] + pad, want[3] + pad];
    const steady = Math.abs(now.k - k) / k < 0.05;
    if (!force && steady && this.inView(now, padded)) return null;
    // The touched boxes, as large as k allows, placed where they are now if they can be.
    const room = Math.min(width / (padded[2] - padded[0]), height / (padded[3] - padded[1]));
    return this.frame(padded, steady && room >= now.k ? now.k : Math.min(k, room), now, true);
  }

  /** The transform that shows box at scale k: centred, or (nudge) moved as little as
   *  the box needs to come into view. */
  frame([left, top, right, bottom], k, now, nudge = false) {
    const { width, height } = this.size;
    let tx = width / 2 - ((left + right) / 2) * k;
    let ty = (height - (bottom - top) * k) / 2 - top * k;
    if (nudge && Math.abs(now.k - k) < 1e-3) {
      tx = clamp(now.x, -left * k, width - right * k);
      ty = clamp(now.y, -top * k, height - bottom * k);
    }
    if (Math.abs(now.k - k) < 1e-3 && Math.abs(now.x - tx) < 0.5 && Math.abs(now.y - ty) < 0.5) return null;
    return d3.zoomIdentity.translate(tx, ty).scale(k);
  }

  /** Whether the box [x0, y0, x1, y1] (tree units) is wholly visible under transform tr. */
  inView(tr, [x0, y0, x1, y1]) {
    const { width, height } = this.size;
    return tr.applyX(x0) >= -0.5 && tr.applyY(y0) >= -0.5 && tr.applyX(x1) <= width + 0.5 && tr.applyY(y1) <= height + 0.5;
  }

  /** Fit pressed: the whole tree in view, and kept so after every step until the user
   *  pans or zooms. */
  refit() {
    this.setFit(true);
    this.fit(400, { whole: true });
    this.watchSettled();
  }

  /**
   * data-settled="true" on the SVG once no transition of the tree or its camera runs (the
   * reparent trail aside, which lingers on purpose): tests and screenshots wait on it
   * instead of sleeping.  A big tree is not walked every frame: it settles after `ms`.
   */
  watchSettled(ms = null) {
    cancelAnimationFrame(this.settleFrame);
    clearTimeout(this.settleTimer);
    const done = () => {
      this.svgEl.setAttribute('data-settled', 'true');
      this.handlers.settled?.(Number(this.svgEl.getAttribute('data-seq')));
    };
    this.svgEl.setAttribute('data-settled', 'false');
    if (ms !== null) {
      this.settleTimer = setTimeout(done, ms);
      return;
    }
    const busy = () => this.svgEl.__transition ||
      [...this.svgEl.querySelectorAll('.nodes *, .edges *, .edge-labels *, .nodes, .edges')].some((el) => el.__transition);
    const check = () => {
      if (busy()) this.settleFrame = requestAnimationFrame(check);
      else done();
    };
    this.settleFrame = requestAnimationFrame(check);
  }

  /** Focus the selected node (keyboard users). */
  focus(pid) {
    this.gNodes.select(`g.node[data-pid="${pid}"]`).node()?.focus();
  }
}

/** The words under a violated node: the invariants, and the LWPs they name. */
function violationWords(marks, freed) {
  const names = [...new Set(marks.map((m) => m.invariant))].join(', ');
  const tids = [...new Set(marks.map((m) => m.tid).filter((tid) => tid !== null && tid !== undefined))];
  const which = tids.length ? ` · LWP ${tids.join(', ')}${tids.every((tid) => freed.includes(tid)) ? ' freed' : ''}` : '';
  return `⚠ ${names}${which}`;
}

/**
 * Put each generation below the last by what its nodes need: the tallest reach below
 * the boxes above (sleep and violation labels) and above the boxes below (edge labels,
 * badges), plus a gap for the edges.  A tree without labels is drawn compact.
 */
function placeGenerations(root) {
  const below = [];
  const above = [];
  root.each((d) => {
    below[d.depth] = Math.max(below[d.depth] || 0, d.data.below);
    above[d.depth] = Math.max(above[d.depth] || 0, d.data.above);
  });
  const ys = [0];
  for (let i = 1; i < below.length; i++) {
    ys[i] = ys[i - 1] + H + below[i - 1] + GAP_Y + above[i];
  }
  root.each((d) => { d.y = ys[d.depth]; });
}

/** An element's painted fill and stroke. */
function colours(el) {
  const cs = getComputedStyle(el);
  return { fill: cs.fill, stroke: cs.stroke };
}

/** Take sel from the colours `from` to the ones its classes give it, over ms. */
function fadeColours(sel, from, ms) {
  const to = colours(sel.node());
  if (to.fill === from.fill && to.stroke === from.stroke) return;
  sel.style('fill', from.fill).style('stroke', from.stroke)
    .transition('fade').duration(ms).ease(d3.easeCubicInOut)
    .style('fill', to.fill).style('stroke', to.stroke)
    .on('end', function () { d3.select(this).style('fill', null).style('stroke', null); });
}

/** Fade a selection out and remove it.  Pending moves are cancelled first: d3 only removes
 *  an element whose transitions have all ended, and a removed process must not linger. */
function fadeOut(sel, ms) {
  return sel.classed('exiting', true).interrupt('tree').interrupt().transition().duration(ms).style('opacity', 0).remove();
}

/** How high a reparent's arc rises above its ends (travel and the camera share it). */
function arcRise(prev, d) {
  return H + 40 + Math.min(140, 40 + Math.abs(prev.x - d.x) * 0.15);
}

/** The pids the event touches: its actor, the process it created, a reparent's child and
 *  both parents (and the view's focus). */
function touchedPids(ev, focus) {
  const out = new Set();
  const add = (pid) => { if (pid !== null && pid !== undefined) out.add(pid); };
  add(focus);
  if (ev) {
    add(ev.pid);
    add(ev.created);
    if (ev.reparent) { add(ev.reparent.pid); add(ev.reparent.from); add(ev.reparent.to); }
  }
  return out;
}

/** pids and every ancestor of them (what a "+N more" fold must not hide). */
function withAncestors(pids, procs) {
  const out = new Set();
  for (let pid of pids) {
    while (pid !== undefined && pid !== null && !out.has(pid) && procs[String(pid)]) {
      out.add(pid);
      const p = procs[String(pid)];
      if (p.ppid === pid) break;
      pid = p.ppid;
    }
  }
  return out;
}

/** Each drawn touched process's box, labels included, in tree units. */
function touchedBoxes(nodes, pids) {
  if (!pids.size) return [];
  return nodes.filter((d) => d.data.kind === 'proc' && pids.has(d.data.proc.pid)).map((d) => extent([d]));
}

function union(...boxes) {
  return boxes.reduce((a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]);
}

function clamp(v, lo, hi) {
  return lo > hi ? (lo + hi) / 2 : Math.min(hi, Math.max(lo, v));
}

function translate(d) {
  return `translate(${d.x},${d.y})`;
}

/** Everything the nodes draw, labels included, as [x0, y0, x1, y1] in tree units. */
function extent(nodes) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const d of nodes) {
    const half = d.data.fw / 2;
    x0 = Math.min(x0, d.x - half); x1 = Math.max(x1, d.x + half);
    y0 = Math.min(y0, d.y - H / 2 - d.data.above); y1 = Math.max(y1, d.y + H / 2 + d.data.below);
  }
  return [x0, y0, x1, y1];
}

function countDescendants(pid, kids) {
  let n = 0;
  const stack = [...(kids.get(pid) || [])];
  while (stack.length) {
    const p = stack.pop();
    n += 1;
    stack.push(...(kids.get(p.pid) || []));
  }
  return n;
}

function markSeen(pid, kids, seen) {
  const stack = [...(kids.get(pid) || [])];
  while (stack.length) {
    const p = stack.pop();
    seen.add(p.pid);
    stack.push(...(kids.get(p.pid) || []));
  }
}

/** The dead-LWP tray: LWPs that exited and wait for the reaper task to dispose of them,
 *  each labelled with its process and what the thread is doing (still on its CPU, or
 *  switched out for good), and the LWPs a violation says were freed while still running. */
export class TrayView {
  constructor(listEl, overlayEl) {
    this.list = d3.select(listEl);
    this.overlay = overlayEl;
  }

  render(state, leaving, duration) {
    const items = [...(state.doc.deadlwps || []), ...freedLwps(state)];
    const flying = new Set(leaving.map((l) => l.key));
    const key = (d) => `${d.freed ? 'freed:' : ''}${d.pid}/${d.tid}`;
    const sel = this.list.selectAll('li:not(.exiting)').data(items, key);
    fadeOut(sel.exit().classed('disposed', true), calm(Math.max(duration, 300) * 1.4));
    const entered = sel.enter().append('li')
      .attr('data-dead-pid', (d) => (d.freed ? null : d.pid))
      .attr('data-dead-tid', (d) => (d.freed ? null : d.tid))
      .attr('data-freed-pid', (d) => (d.freed ? d.pid : null))
      .attr('data-freed-tid', (d) => (d.freed ? d.tid : null))
      .style('opacity', (d) => (flying.has(`${d.pid}/${d.tid}`) ? 0 : 1));
    const all = entered.merge(sel);
    all.attr('class', (d) => (d.freed ? 'freed' : onCpu(d) ? 'on-cpu' : 'switched-out'))
      .html((d) => {
        const p = state.proc(d.pid);
        const who = `<b>${escapeHtml(p ? p.name : `pid ${d.pid}`)}</b> <span class="muted">(${d.pid})</span>`;
        if (d.freed) {
          return `<span class="dot"></span>${who} · <b>tid ${d.tid}</b> · <span class="what">freed while on its CPU: ${escapeHtml(d.invariant)}</span>`;
        }
        return `<span class="dot"></span>${who} · <b>tid ${d.tid}</b> · <span class="what">${escapeHtml(lwpWord(d))}</span>`;
      })
      .attr('title', (d) => (d.freed ? d.message
        : `LWP ${d.tid} of pid ${d.pid} has exited (${lwpTitle(d)}); the reaper task (reaplwps) will lwp_wait for it and lwp_dispose it`));
    for (const l of leaving) this.fly(l, duration);
  }

  /** A dot travels from the LWP's mark in its process to its tray entry. */
  fly(l, duration) {
    const [pid, tid] = l.key.split('/');
    const li = this.list.select(`li[data-dead-pid="${pid}"][data-dead-tid="${tid}"]`).node();
    if (!li) return;
    const to = li.querySelector('.dot').getBoundingClientRect();
    const box = this.overlay.getBoundingClientRect();
    const dot = document.createElement('div');
    dot.className = 'flying-lwp';
    this.overlay.appendChild(dot);
    const x0 = l.from.left + l.from.width / 2 - box.left, y0 = l.from.top + l.from.height / 2 - box.top;
    const x1 = to.left + to.width / 2 - box.left, y1 = to.top + to.height / 2 - box.top;
    const ms = calm(Math.max(duration * 1.5, 250));
    const anim = dot.animate([
      { transform: `translate(${x0}px, ${y0}px)` },
      { transform: `translate(${(x0 + x1) / 2}px, ${Math.min(y0, y1) - 60}px)`, offset: 0.4 },
      { transform: `translate(${x1}px, ${y1}px)` },
    ], { duration: ms, easing: 'ease-in-out' });
    anim.onfinish = () => { dot.remove(); li.style.opacity = 1; };
    anim.oncancel = anim.onfinish;
  }
}

/** LWPs a violation names that neither their process nor the dead-LWP list holds any more:
 *  the reaper freed them while they still ran (the use-after-free of rule 40). */
function freedLwps(state) {
  const out = [];
  for (const [pid, marks] of state.violationMarks()) {
    const p = state.proc(pid);
    for (const m of marks) {
      if (m.tid === null || m.tid === undefined || p?.lwps?.[String(m.tid)]) continue;
      if ((state.doc.deadlwps || []).some((l) => l.pid === pid && l.tid === m.tid)) continue;
      if (!out.some((o) => o.pid === pid && o.tid === m.tid)) {
        out.push({ pid, tid: m.tid, freed: true, invariant: m.invariant, message: m.message });
      }
    }
  }
  return out;
}

/** The event log: one entry per event, with its kernel function, summary and seed. */
/**
 * Kinds that are the kernel's own bookkeeping rather than what a scenario scripts: an
 * LWP's teardown and last switch, the dead-LWP reaper's work, a reaper-node reference
 * dropped.  "Hide internal kernel events" hides an event of these kinds unless it opens
 * its scripted step (the command's own syscall entry), carries the step's result (its
 * return) or a violation (docs/protocol.md, "Step sizes").
 */
export const INTERNAL_KINDS = new Set(['lwp_exit', 'cpu_thread_exit', 'lwkt_switch', 'lwkt_wait_free',
  'lwp_dispose', 'reaper_drop']);

export function isInternal(ev, opensStep) {
  return INTERNAL_KINDS.has(ev.kind) && !opensStep && !ev.result && !ev.violation;
}

export class LogView {
  constructor(listEl, onJump, onCite = onJump) {
    this.list = listEl;
    this.onJump = onJump;
    this.onCite = onCite;     // a click on an entry's citation: go there and show its source
    this.window = [0, 0];   // [first seq, last seq] of the entries in the DOM
    this.version = -1;      // the state's logVersion the entries show
    this.current = null;
    this.items = [];        // the entries' <li>, items[i] being seq window[0] + i
    this.marked = null;     // the seq whose past/next/future classes the entries show
    this.showFuture = false;   // list events after the next one too (a spoiler in a lecture)
    this.hideInternal = false; // hide INTERNAL_KINDS events (isInternal)
    listEl.addEventListener('click', (e) => {
      const li = e.target.closest('li[data-seq]');
      if (!li) return;
      if (e.target.closest('.cite')) this.onCite(Number(li.dataset.seq));
      else this.onJump(Number(li.dataset.seq));
    });
    listEl.addEventListener('keydown', (e) => {
      const li = e.target.closest('li[data-seq]');
      if (li && e.key === 'Enter') { e.preventDefault(); this.onJump(Number(li.dataset.seq)); }
    });
  }

  // Very long runs keep a window of entries around the current one in the DOM.
  static WINDOW = 3000;

  render(state) {
    const events = state.events;
    const seq = state.seq;
    const [lo, hi] = this.window;
    const needWindow = events.length > LogView.WINDOW && (seq < lo + 200 || seq > hi - 200);
    this.list.classList.toggle('hide-future', !this.showFuture);
    this.list.classList.toggle('hide-internal', this.hideInternal);
    if (state.logVersion !== this.version || needWindow) {
      this.version = state.logVersion;
      this.fill(events, seq, state);
    }
    this.markTime(seq);
    const old = this.list.querySelector('li[aria-current]');
    if (old) old.removeAttribute('aria-current');
    const li = this.item(seq);
    if (li) {
      li.setAttribute('aria-current', 'step');
      // Scrolling needs layout: do it with the next frame's, not by forcing one now.
      cancelAnimationFrame(this.scrollFrame);
      this.scrollFrame = requestAnimationFrame(() => li.scrollIntoView({ block: 'nearest' }));
    }
  }

  item(seq) {
    return this.items[seq - this.window[0]] || null;
  }

  /** Classes past / next / future by the position: only the entries between the old and
   *  the new position change, so a step costs one or two entries, not the whole list. */
  markTime(seq) {
    const [first, last] = this.window;
    const from = this.marked === null ? first : Math.max(first, Math.min(this.marked, seq));
    const to = this.marked === null ? last : Math.min(last, Math.max(this.marked, seq) + 1);
    for (let s = from; s <= to; s++) {
      const li = this.item(s);
      if (!li) continue;
      li.classList.toggle('next', s === seq + 1);
      li.classList.toggle('future', s > seq + 1);
    }
    this.marked = seq;
  }

  fill(events, seq, state) {
    let first = 1;
    let last = events.length;
    if (events.length > LogView.WINDOW) {
      // While a long log is still arriving the position can lie past its loaded end.
      first = Math.max(1, Math.min(seq - LogView.WINDOW / 2, events.length - LogView.WINDOW + 1));
      last = Math.min(events.length, first + LogView.WINDOW - 1);
    }
    this.window = [first, last];
    // A step opens with the first event of a step index higher than all before it.
    let highest = 0;
    for (let s = 1; s < first; s++) highest = Math.max(highest, events[s - 1].step ?? 0);
    const parts = [];
    if (first > 1) parts.push(`<li class="gap">… ${first - 1} earlier events</li>`);
    for (let s = first; s <= last; s++) {
      const ev = events[s - 1];
      const opens = ev.step !== null && ev.step !== undefined && ev.step > highest;
      if (opens) highest = ev.step;
      parts.push(entryHtml(ev, state, isInternal(ev, opens)));
    }
    if (last < events.length) parts.push(`<li class="gap later">… ${events.length - last} later events</li>`);
    if (state.logTotal > events.length) {
      parts.push(`<li class="gap loading">Loading the log: ${events.length.toLocaleString('en')} of ${state.logTotal.toLocaleString('en')} events…</li>`);
    }
    this.list.innerHTML = parts.join('');
    this.items = [...this.list.querySelectorAll('li[data-seq]')];
    this.marked = null;
  }
}

function entryHtml(ev, state, internal) {
  const seed = formatSeed(state.citeOf(ev));
  const where = ev.line ? ` · line ${ev.line}` : '';
  const violation = ev.violation ? `<span class="violation">⚠ Invariant violated: ${escapeHtml(ev.violation)}</span>` : '';
  const cls = [ev.violation ? 'violated' : '', internal ? 'internal' : ''].filter(Boolean).join(' ');
  return `<li data-seq="${ev.seq}" tabindex="0" class="${cls}">` +
    `<span class="seq">${ev.seq}</span>` +
    `<span class="kind">${escapeHtml(ev.kind)}</span>` +
    `<span class="who">${escapeHtml(ev.name || ev.actor || '')}${where}</span>` +
    // A violation event's summary is its violation: said once, in the red line.
    `${ev.kind === 'violation' ? '' : `<span class="summary">${escapeHtml(ev.summary)}</span>`}${violation}` +
    // The citation opens in the Kernel source pane (its lines marked there).
    (seed.text ? `<button type="button" class="seed cite" tabindex="-1" title="${escapeHtml(seed.title)}\n(click: show in the Kernel source pane)">${escapeHtml(seed.text)}</button>` : '') +
    '</li>';
}

/** The inspector: every field of the selected process, unknown keys included. */
export function renderInspector(el, titleEl, state, pid) {
  if (pid === null || pid === undefined) {
    titleEl.textContent = 'Inspector';
    el.innerHTML = '<p class="muted">Click a process to see every field of it.</p>';
    return;
  }
  const p = state.proc(pid);
  if (!p) {
    titleEl.textContent = `Inspector: pid ${pid}`;
    el.innerHTML = `<p class="muted">pid ${pid} does not exist at this event (not yet forked, or reaped).</p>`;
    return;
  }
  titleEl.textContent = `Inspector: pid ${p.pid} ${p.name}`;
  const rows = Object.entries(p).map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${fieldHtml(k, v, state, p.pid)}</td></tr>`);
  const node = Object.values(state.doc.reapers || {}).find((r) => r.owner === p.pid);
  if (node) {
    rows.push(`<tr><th scope="row">owns reaper node</th><td>${fieldHtml('node', node, state)}</td></tr>`);
  }
  if (state.edges[String(p.pid)]) {
    rows.push(`<tr><th scope="row">why this parent</th><td>${escapeHtml(state.edges[String(p.pid)])}</td></tr>`);
  }
  el.innerHTML = `<table class="fields">${rows.join('')}</table>`;
}

function fieldHtml(key, value, state, pid) {
  if (value === null || value === undefined) return '<span class="muted">null</span>';
  if (key === 'lwps' && typeof value === 'object') {
    // One column per LWP, one row per field: narrow enough for the side panel.
    const lwps = Object.values(value).sort((a, b) => a.tid - b.tid);
    if (!lwps.length) return '<span class="muted">none</span>';
    const keys = [...new Set(lwps.flatMap((l) => Object.keys(l)))].filter((k) => k !== 'tid');
    const head = `<tr><th>tid</th>${lwps.map((l) => `<th>${scalar(l.tid)}</th>`).join('')}</tr>`;
    const body = keys.map((k) => `<tr><th>${escapeHtml(k)}</th>${lwps.map((l) => `<td>${listOrScalar(l[k])}</td>`).join('')}</tr>`).join('');
    return `<table class="sub">${head}${body}</table>`;
  }
  if ((key === 'ppid' || key === 'reaper') && typeof value === 'number') {
    const q = state.proc(value);
    return `${value}${q ? ` <span class="muted">(${escapeHtml(q.name)})</span>` : ''}`;
  }
  if (key === 'xstat' && state.xstatText[String(pid)]) {
    return `${value} <span class="muted">(${escapeHtml(state.xstatText[String(pid)])})</span>`;
  }
  if (Array.isArray(value)) return value.length ? value.map(scalar).join(', ') : '<span class="muted">[]</span>';
  if (typeof value === 'object') {
    return `<table class="sub">${Object.entries(value).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${scalar(v)}</td></tr>`).join('')}</table>`;
  }
  return scalar(value);
}

function listOrScalar(v) {
  return Array.isArray(v) ? (v.length ? v.map(scalar).join(', ') : '<span class="muted">[]</span>') : scalar(v);
}

function scalar(v) {
  if (v === null || v === undefined) return '<span class="muted">null</span>';
  if (typeof v === 'object') return escapeHtml(JSON.stringify(v));
  return escapeHtml(String(v));
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
