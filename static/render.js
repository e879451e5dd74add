// Rendering: the process tree (d3.stratify + d3.tree, DOM keyed by pid), the dead-LWP
// tray, the event log and the inspector.  Nothing here talks to the server; app.js hands
// each view the state and what just happened (a step forward, a step back, a snapshot).
import { drawProcBody, joinLwps, pill, stateLine } from './nodes.js';
import { formatSeed } from './state.js';

const d3 = globalThis.d3;

// Geometry of a process node, in tree units (the viewport zooms them).
const W = 150;            // node width
const H = 66;             // node height
const DX = W + 28;        // horizontal spacing of siblings
const DY = 146;           // vertical spacing of generations (room for badges and labels)
const MAX_CHILDREN = 24;  // past this many children a parent shows "+N more" (1,000-process trees)
const MAX_LWP_MARKS = 8;
const BIG_TREE = 150;
const FOLLOW_BELOW = 0.55;  // a whole-tree fit smaller than this is unreadable: follow instead
const FOLLOW_SCALE = 0.85;     // past this many drawn nodes, only the nodes an event touches animate

/** The process tree view. */
export class TreeView {
  constructor(svgEl, handlers) {
    this.svgEl = svgEl;
    this.handlers = handlers;          // {select(pid), toggle(pid), expand(pid)}
    this.svg = d3.select(svgEl);
    this.viewport = this.svg.append('g').attr('class', 'viewport');
    this.gTrails = this.viewport.append('g').attr('class', 'trails');
    this.gEdges = this.viewport.append('g').attr('class', 'edges');
    this.gLabels = this.viewport.append('g').attr('class', 'edge-labels');
    this.gNodes = this.viewport.append('g').attr('class', 'nodes');
    this.collapsed = new Set();        // pids whose subtree the user folded
    this.expanded = new Set();         // pids whose "+N more" the user opened
    this.last = new Map();             // id -> {x, y, ppid} as last drawn (animation origins)
    this.autoFit = true;               // follow the tree's size until the user pans or zooms
    this.bounds = null;
    this.focusPid = null;              // pid the current event is about (the camera follows it)
    this.zoom = d3.zoom().scaleExtent([0.08, 2.5]).on('zoom', (e) => {
      this.viewport.attr('transform', e.transform);
      if (e.sourceEvent) this.autoFit = false;  // the user took over the camera
    });
    this.svg.call(this.zoom).on('dblclick.zoom', null);
    // The view's size, kept current by an observer so fitting never forces a layout.
    this.size = { width: 0, height: 0 };
    new ResizeObserver(([entry]) => {
      this.size = { width: entry.contentRect.width, height: entry.contentRect.height };
      if (this.autoFit) this.fit(0);
    }).observe(svgEl);
  }

  /**
   * Draw `state` (an ExplorerState).  ctx: {dir: 'forward'|'back'|'snapshot', duration ms,
   * focus: the pid the current event is about}.
   * Returns the LWPs that just left a process for the dead-LWP list, with where their mark
   * was on screen, so the tray can fly them over.
   */
  render(state, ctx) {
    const doc = state.doc;
    const t = this.svg.transition('tree').duration(ctx.duration).ease(d3.easeCubicInOut);
    this.duration = ctx.duration;
    const root = this.layout(doc, state.selected);
    const nodes = root.descendants();
    this.marks = state.violationMarks();
    ctx = { ...ctx, big: nodes.length > BIG_TREE };
    const leaving = this.leavingLwps(doc);
    if (ctx.dir === 'snapshot') this.viewport.selectAll('.exiting').interrupt().remove();

    this.drawNodes(nodes, state, t, ctx);
    this.drawEdges(nodes, state, t, ctx);
    this.drawLabels(nodes, state, t, ctx);

    this.last = new Map(nodes.map((d) => [d.id, { x: d.x, y: d.y, ppid: d.data.ppid }]));
    this.bounds = extent(nodes);
    this.focusPid = ctx.focus ?? null;
    if (this.autoFit) this.fit(ctx.big ? Math.min(ctx.duration, 250) : ctx.duration);
    this.svgEl.setAttribute('data-seq', String(state.seq));
    return leaving;
  }

  /** Visible rows -> d3 hierarchy, laid out.  Hides folded subtrees and long child lists. */
  layout(doc, selected) {
    const procs = doc.procs;
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
        // Keep the newest children (most likely the ones acting) and the selected one.
        shown = children.slice(-MAX_CHILDREN);
        const sel = children.find((c) => c.pid === selected);
        if (sel && !shown.includes(sel)) shown = [sel, ...shown.slice(1)];
        const hiddenKids = children.filter((c) => !shown.includes(c));
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
    const h = d3.stratify().id((d) => d.id).parentId((d) => d.parentId)(rows);
    d3.tree().nodeSize([DX, DY]).separation((a, b) => (a.parent === b.parent ? 1 : 1.15))(h);
    return h;
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
        view.travel(g, prev, d, ctx.duration);
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
      .attr('role', null).attr('aria-hidden', 'true'), Math.max(ctx.duration, 300) * 1.4)
      .attr('transform', function () { return `${d3.select(this).attr('transform').split(' scale')[0]} scale(0.85)`; });
  }

  /** Where an entering node starts: its parent's old place (a fork grows out of it). */
  origin(d) {
    const parent = d.parent && (this.last.get(d.parent.id) || d.parent);
    return parent ? { x: parent.x, y: parent.y } : d;
  }

  /** Move g from its old place to d along an arc that stays drawn for a moment. */
  travel(g, prev, d, duration) {
    const lift = Math.min(140, 40 + Math.abs(prev.x - d.x) * 0.15);
    const path = `M${prev.x},${prev.y} C${prev.x},${prev.y - DY * 0.8 - lift} ${d.x},${d.y - DY * 0.8 - lift} ${d.x},${d.y}`;
    const trail = this.gTrails.append('path').attr('class', 'trail').attr('d', path);
    const el = trail.node();
    const len = el.getTotalLength();
    const move = Math.max(duration * 1.6, 250);
    trail.attr('stroke-dasharray', `${len} ${len}`).attr('stroke-dashoffset', len)
      .transition().duration(move).ease(d3.easeCubicInOut).attr('stroke-dashoffset', 0)
      .transition().delay(1800).duration(900).style('opacity', 0).remove();
    g.raise().transition('tree').duration(move).ease(d3.easeCubicInOut).style('opacity', 1)
      .attrTween('transform', () => (k) => {
        const p = el.getPointAtLength(k * len);
        return `translate(${p.x},${p.y})`;
      });
  }

  /** (Re)build a node's inside when what it shows changed. */
  drawNode(g, d, state, reapers) {
    if (d.data.kind === 'more') {
      const key = `more|${d.data.count}|${d.data.hidden}`;
      if (g.attr('data-sig') === key) return;
      g.attr('data-sig', key).attr('class', 'node more').attr('role', 'button').attr('tabindex', 0)
        .attr('aria-label', `show ${d.data.count} more children of pid ${d.data.ppid}`);
      g.selectAll('*').remove();
      g.append('rect').attr('x', -W / 2).attr('y', -H / 2 + 8).attr('width', W).attr('height', H - 16).attr('rx', 18);
      g.append('text').attr('class', 'l1').attr('y', 6).text(`+${d.data.count} more`);
      g.append('title').text(`${d.data.count} older children (${d.data.hidden} processes) are folded; click to show them`);
      return;
    }
    const p = d.data.proc;
    const reaper = reapers.get(p.pid);
    const reason = state.edges[String(p.pid)];
    const selected = state.selected === p.pid;
    const marks = this.marks?.get(p.pid) || null;
    const sig = JSON.stringify([p.name, p.ppid, p.state, p.blocked, p.xstat, p.lwps, p.nthreads,
      reaper && [reaper.id, reaper.refs], selected, state.selected === null, d.data.hidden, d.data.nkids, this.collapsed.has(p.pid), reason, marks]);
    if (g.attr('data-sig') === sig) return;
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
    const status = stateLine(p, state.xstatText[String(p.pid)]);
    drawProcBody(g, p, { W, H, status, reaper });
    const freed = [...new Set((marks || []).map((m) => m.tid))]
      .filter((tid) => tid !== null && tid !== undefined && !(p.lwps || {})[String(tid)]);
    joinLwps(g, p, { W, H, ms: this.duration, max: MAX_LWP_MARKS, freed });
    if (marks) {
      // A violated invariant names this process (or one of its LWPs): a red marker.
      const v = g.append('g').attr('class', 'violation-mark').attr('transform', `translate(${-W / 2 + 4},${-H / 2 - 2})`);
      v.append('circle').attr('r', 14);
      v.append('text').attr('y', 6).text('!');
      v.append('title').text(marks.map((m) => `invariant violated at event ${m.seq}: ${m.message}`).join('\n'));
      // And in words under the node (below a sleep label, if there is one).
      const words = `⚠ ${[...new Set(marks.map((m) => m.invariant))].join(', ')}`;
      pill(g, 'violation-label', words, H / 2 + (p.blocked ? 45 : 17), { charW: 9.6 });
    }
    if (d.data.nkids) {
      const folded = this.collapsed.has(p.pid);
      const tg = g.append('g').attr('class', 'fold').attr('transform', `translate(${-W / 2 + 2},${H / 2 - 2})`)
        .on('click', (event) => { event.stopPropagation(); this.handlers.toggle(p.pid); });
      tg.append('circle').attr('r', 9);
      tg.append('text').attr('y', 4).text(folded ? '+' : '−');
      tg.append('title').text(folded ? `show the ${d.data.hidden} processes under pid ${p.pid}` : 'fold this subtree');
      if (folded) {
        g.append('text').attr('class', 'folded').attr('y', H / 2 + (p.blocked ? 44 : 20)).text(`+${d.data.hidden} below`);
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
          .transition('tree').delay(Math.max(ctx.duration * 1.6, 250)).duration(400).style('opacity', 1);
      } else if (this.__to !== to) {
        if (ctx.big) e.interrupt('tree').attr('d', to).style('opacity', 1);
        else e.transition(t).attr('d', to).style('opacity', 1);
      }
      this.__to = to;
    });
    fadeOut(sel.exit(), Math.max(ctx.duration, 300));
  }

  /** The reason on an edge that is not a plain fork. */
  drawLabels(nodes, state, t, ctx) {
    const labelled = nodes.filter((d) => d.parent && d.data.kind === 'proc' && state.edges[d.id]);
    const sel = this.gLabels.selectAll('g.why:not(.exiting)').data(labelled, (d) => d.id);
    // Just above the child, where the curve arrives: siblings' labels never overlap there.
    const at = (d) => `translate(${d.x},${d.y - H / 2 - 30})`;
    const entered = sel.enter().append('g').attr('class', 'why').style('opacity', 0);
    entered.append('rect').attr('rx', 11).attr('height', 24).attr('y', -13);
    entered.append('text').attr('y', 4);
    const all = entered.merge(sel);
    all.attr('data-why-pid', (d) => d.id);
    all.select('text').text((d) => state.edges[d.id]);
    all.select('rect').attr('x', (d) => -state.edges[d.id].length * 4.3 - 10)
      .attr('width', (d) => state.edges[d.id].length * 8.6 + 20);
    const delay = ctx.dir === 'snapshot' ? 0 : Math.max(ctx.duration * 1.6, 250);
    entered.attr('transform', at).transition('tree').delay(delay).duration(400).style('opacity', 1);
    if (ctx.big) sel.attr('transform', at);
    else sel.transition(t).attr('transform', at).style('opacity', 1);
    fadeOut(sel.exit(), 300);
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
   * The automatic camera (until the user pans or zooms): the whole tree when it fits at a
   * readable size; past that (hundreds of processes), a readable zoom centred on the
   * process the current event is about.  whole=true always fits everything (Fit button).
   */
  fit(duration = 500, whole = false) {
    if (!this.bounds) return;
    const { width, height } = this.size;
    if (!width || !height) return;
    // The drawn extent: node boxes plus the badges above and the sleep labels below them.
    const [x0, y0, x1, y1] = this.bounds;
    const left = x0 - W / 2 - 30, right = x1 + W / 2 + 30;
    const top = y0 - H / 2 - 30, bottom = y1 + H / 2 + 60;
    let k = Math.max(0.08, Math.min(1.25, width / (right - left), height / (bottom - top)));
    let tx = width / 2 - ((left + right) / 2) * k;
    let ty = Math.max(0, (height - (bottom - top) * k) / 2) - top * k;
    const focus = this.focusPid !== null && this.last.get(String(this.focusPid));
    if (!whole && k < FOLLOW_BELOW && focus) {
      k = FOLLOW_SCALE;
      tx = width / 2 - focus.x * k;
      ty = height * 0.42 - focus.y * k;
    }
    const target = d3.zoomIdentity.translate(tx, ty).scale(k);
    const now = d3.zoomTransform(this.svgEl);
    if (Math.abs(now.k - k) < 1e-3 && Math.abs(now.x - tx) < 0.5 && Math.abs(now.y - ty) < 0.5) return;
    const s = duration ? this.svg.transition('zoom').duration(duration) : this.svg;
    s.call(this.zoom.transform, target);
  }

  refit() {
    this.autoFit = true;
    this.fit(400, true);
  }

  /** Focus the selected node (keyboard users). */
  focus(pid) {
    this.gNodes.select(`g.node[data-pid="${pid}"]`).node()?.focus();
  }
}

/** Fade a selection out and remove it.  Pending moves are cancelled first: d3 only removes
 *  an element whose transitions have all ended, and a removed process must not linger. */
function fadeOut(sel, ms) {
  return sel.classed('exiting', true).interrupt('tree').interrupt().transition().duration(ms).style('opacity', 0).remove();
}

function translate(d) {
  return `translate(${d.x},${d.y})`;
}

function extent(nodes) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const d of nodes) {
    x0 = Math.min(x0, d.x); x1 = Math.max(x1, d.x);
    y0 = Math.min(y0, d.y); y1 = Math.max(y1, d.y);
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

/** The dead-LWP tray: LWPs that exited and wait for the reaper task to dispose of them. */
export class TrayView {
  constructor(listEl, overlayEl) {
    this.list = d3.select(listEl);
    this.overlay = overlayEl;
  }

  render(state, leaving, duration) {
    const items = state.doc.deadlwps || [];
    const flying = new Set(leaving.map((l) => l.key));
    const sel = this.list.selectAll('li:not(.exiting)').data(items, (d) => `${d.pid}/${d.tid}`);
    fadeOut(sel.exit().classed('disposed', true), Math.max(duration, 300) * 1.4);
    const entered = sel.enter().append('li')
      .attr('data-dead-pid', (d) => d.pid)
      .attr('data-dead-tid', (d) => d.tid)
      .style('opacity', (d) => (flying.has(`${d.pid}/${d.tid}`) ? 0 : 1));
    const all = entered.merge(sel);
    all.html((d) => {
      const p = state.proc(d.pid);
      const name = p ? p.name : `pid ${d.pid}`;
      const exit = d.exit ? ` · ${d.exit}` : '';
      return `<span class="dot"></span><b>${escapeHtml(name)}</b> pid ${d.pid} · tid ${d.tid}${escapeHtml(exit)}`;
    }).attr('title', (d) => `LWP ${d.tid} of pid ${d.pid} has exited; the reaper task (reaplwps) will lwp_wait for it and lwp_dispose it`);
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
    const ms = Math.max(duration * 1.5, 250);
    const anim = dot.animate([
      { transform: `translate(${x0}px, ${y0}px)` },
      { transform: `translate(${(x0 + x1) / 2}px, ${Math.min(y0, y1) - 60}px)`, offset: 0.4 },
      { transform: `translate(${x1}px, ${y1}px)` },
    ], { duration: ms, easing: 'ease-in-out' });
    anim.onfinish = () => { dot.remove(); li.style.opacity = 1; };
    anim.oncancel = anim.onfinish;
  }
}

/** The event log: one entry per event, with its kernel function, summary and seed. */
export class LogView {
  constructor(listEl, onJump) {
    this.list = listEl;
    this.onJump = onJump;
    this.window = [0, 0];   // [first seq, last seq] of the entries in the DOM
    this.version = -1;      // the state's logVersion the entries show
    this.current = null;
    listEl.addEventListener('click', (e) => {
      const li = e.target.closest('li[data-seq]');
      if (li) this.onJump(Number(li.dataset.seq));
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
    if (state.logVersion !== this.version || needWindow) {
      this.version = state.logVersion;
      this.fill(events, seq);
    }
    const old = this.list.querySelector('li[aria-current]');
    if (old) old.removeAttribute('aria-current');
    const li = this.list.querySelector(`li[data-seq="${seq}"]`);
    if (li) {
      li.setAttribute('aria-current', 'step');
      // Scrolling needs layout: do it with the next frame's, not by forcing one now.
      cancelAnimationFrame(this.scrollFrame);
      this.scrollFrame = requestAnimationFrame(() => li.scrollIntoView({ block: 'nearest' }));
    }
  }

  fill(events, seq) {
    let first = 1;
    let last = events.length;
    if (events.length > LogView.WINDOW) {
      first = Math.max(1, seq - LogView.WINDOW / 2);
      last = Math.min(events.length, first + LogView.WINDOW - 1);
    }
    this.window = [first, last];
    const parts = [];
    if (first > 1) parts.push(`<li class="gap">… ${first - 1} earlier events</li>`);
    for (let s = first; s <= last; s++) parts.push(entryHtml(events[s - 1]));
    if (last < events.length) parts.push(`<li class="gap">… ${events.length - last} later events</li>`);
    this.list.innerHTML = parts.join('');
  }
}

function entryHtml(ev) {
  const seed = formatSeed(ev.seed);
  const where = ev.line ? ` · line ${ev.line}` : '';
  const violation = ev.violation ? `<span class="violation">⚠ Invariant violated: ${escapeHtml(ev.violation)}</span>` : '';
  return `<li data-seq="${ev.seq}" tabindex="0" class="${ev.violation ? 'violated' : ''}">` +
    `<span class="seq">${ev.seq}</span>` +
    `<span class="kind">${escapeHtml(ev.kind)}</span>` +
    `<span class="who">${escapeHtml(ev.name || ev.actor || '')}${where}</span>` +
    // A violation event's summary is its violation: said once, in the red line.
    `${ev.kind === 'violation' ? '' : `<span class="summary">${escapeHtml(ev.summary)}</span>`}${violation}` +
    `<span class="seed" title="${escapeHtml(seed.title)}">${escapeHtml(seed.text)}</span></li>`;
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
