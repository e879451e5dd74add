// The Kernel source pane: the seed file the current event cites, highlighted (the server's
// Pygments, /api/seed/KEY), with the cited lines marked and scrolled into view.  It follows
// every step, back and jump; an event that cites more than one file gets a button per file;
// one that cites only what is not a seed (kern_sig.c, a rule, the 2014 kern_exit.c) says
// so instead of showing lines.  The server reads every reference (engine/seeds.py): the
// pane gets {refs: [{key, file, ranges, text, label, remark}], others: [{text, why}]}.
//
// Contract (architecture.md "Kernel source pane"): role="region" named "Kernel source",
// the shown file's name in the region, and each marked line has data-line = its number in
// the seed.  Lines not marked carry data-n only.

const seeds = new Map();   // key -> Promise of the /api/seed/KEY answer (each fetched once)

/** The seed `key`, fetched once per page. */
export function loadSeed(key) {
  if (!seeds.has(key)) {
    seeds.set(key, fetch(`/api/seed/${encodeURIComponent(key)}`).then((res) => {
      if (!res.ok) throw new Error(`seed ${key}: HTTP ${res.status}`);
      return res.json();
    }).catch((err) => {
      seeds.delete(key);           // try again next time
      throw err;
    }));
  }
  return seeds.get(key);
}

export class SourcePane {
  /**
   * el: the region.  It holds #source-file, #source-tabs, #source-note and #source-code
   * (the scroller), found by class so a page may hold more than one pane.
   * opts.reducedMotion: scroll at once instead of smoothly.
   */
  constructor(el, { reducedMotion = false } = {}) {
    this.el = el;
    this.fileEl = el.querySelector('.source-file');
    this.tabsEl = el.querySelector('.source-tabs');
    this.noteEl = el.querySelector('.source-note');
    this.codeEl = el.querySelector('.source-code');
    this.reducedMotion = reducedMotion;
    this.lists = new Map();   // key -> the <ol> of that file's lines (kept: scroll stays per file)
    this.shownKey = null;
    this.cite = null;
    this.refIndex = 0;
    this.token = 0;           // a later show() wins over a fetch still on its way
    this.tabsEl.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-ref]');
      if (b) this.showRef(Number(b.dataset.ref), true);
    });
  }

  /**
   * Show what `ev` cites (cite: its reading from the server; refIndex: which reference to
   * scroll to, default the first).  ev null: the boot state.
   */
  show(ev, cite, { refIndex = 0, reveal = false } = {}) {
    this.cite = cite;
    this.event = ev;
    if (!ev) {
      this.showNothing('Boot state: no event yet. Each event shows here the kernel source it runs.');
      return;
    }
    if (ev.kind === 'violation') {
      this.showNothing('The invariant check (kernel-semantics.md section 9) runs after each event; it is not kernel source.');
      return;
    }
    if (!cite || !cite.refs.length) {
      const what = cite?.others?.length
        ? cite.others.map((o) => `${o.text}: ${o.why}`).join('; ')
        : 'nothing';
      this.showNothing(`${ev.kind} cites ${what}. No seed lines to show.`, 'no-seed');
      return;
    }
    this.showRef(Math.min(refIndex, cite.refs.length - 1), reveal);
  }

  /** No lines: a sentence instead, the file list hidden. */
  showNothing(text, cls = '') {
    this.token += 1;
    this.shownKey = null;
    this.el.dataset.seed = '';
    this.fileEl.textContent = 'no seed file';
    this.tabsEl.replaceChildren();
    this.noteEl.textContent = text;
    this.noteEl.className = `source-note ${cls}`;
    this.noteEl.hidden = false;
    this.unmark();
    for (const ol of this.lists.values()) ol.hidden = true;
    this.el.classList.add('empty');
  }

  /** Show reference i of the current citation: its file, every range cited in that file
   *  marked, and the reference's first line in view. */
  async showRef(i, reveal = false) {
    const cite = this.cite;
    const ref = cite.refs[i];
    this.refIndex = i;
    const token = ++this.token;
    this.renderTabs(cite, ref.key);
    this.renderNote(cite, ref);
    this.el.classList.remove('empty');
    if (this.shownKey !== ref.key) this.fileEl.textContent = `${ref.file} (loading…)`;
    let seed;
    try {
      seed = await loadSeed(ref.key);
    } catch (err) {
      if (token === this.token) this.showNothing(`Cannot load the seed ${ref.key} (${err.message}).`, 'error');
      return;
    }
    if (token !== this.token) return;   // a later event is shown already
    this.el.dataset.seed = ref.key;
    this.fileEl.textContent = `${seed.file} · seed ${seed.seed} · ${seed.date} · ${seed.commit}`;
    this.fileEl.title = `${seed.path} at DragonFly BSD commit ${seed.commit} (${seed.date}): ${seed.title}`;
    const ol = this.list(seed);
    for (const [key, other] of this.lists) other.hidden = key !== seed.key;
    this.shownKey = seed.key;
    const lines = new Set();
    for (const r of cite.refs) {
      if (r.key !== ref.key) continue;
      for (const [a, b] of r.ranges) for (let n = a; n <= b; n++) lines.add(n);
    }
    this.mark(ol, lines);
    const first = ref.ranges.length ? ref.ranges[0][0] : null;
    this.scrollTo(ol, first);
    if (reveal) this.el.scrollIntoView?.({ block: 'nearest' });
  }

  /** The file's lines, built once. */
  list(seed) {
    let ol = this.lists.get(seed.key);
    if (ol) return ol;
    ol = document.createElement('ol');
    ol.className = 'src-lines';
    ol.dataset.seed = seed.key;
    // The server's fragments are Pygments spans of escaped text: safe as HTML.
    ol.innerHTML = seed.lines.map(([n, html]) =>
      `<li class="src-line" data-n="${n}"><span class="ln" aria-hidden="true">${n}</span><code>${html || ' '}</code></li>`).join('');
    this.codeEl.appendChild(ol);
    this.lists.set(seed.key, ol);
    return ol;
  }

  mark(ol, lines) {
    this.unmark();
    const els = ol.children;
    const sorted = [...lines].sort((a, b) => a - b);
    for (const n of sorted) {
      const li = els[n - 1];
      if (!li) continue;
      li.classList.add('marked');
      li.setAttribute('data-line', String(n));
      // The edges of each run get a border, so separate ranges read as separate.
      if (!lines.has(n - 1)) li.classList.add('run-start');
      if (!lines.has(n + 1)) li.classList.add('run-end');
    }
    this.marked = sorted.map((n) => els[n - 1]).filter(Boolean);
  }

  unmark() {
    for (const li of this.marked || []) {
      li.classList.remove('marked', 'run-start', 'run-end');
      li.removeAttribute('data-line');
    }
    this.marked = [];
  }

  /** Put line n near the top of the pane (two lines of context above it). */
  scrollTo(ol, n) {
    const li = n ? ol.children[n - 1] : null;
    if (!li) return;
    const box = this.codeEl.getBoundingClientRect();
    const top = Math.max(0, li.getBoundingClientRect().top - box.top + this.codeEl.scrollTop - 2 * li.offsetHeight);
    // A nearby range glides into view; a far one is there at once (a long glide only delays it).
    const far = Math.abs(top - this.codeEl.scrollTop) > 2 * this.codeEl.clientHeight;
    this.codeEl.scrollTo({ top, behavior: this.reducedMotion || far ? 'auto' : 'smooth' });
  }

  renderTabs(cite, key) {
    // One button per file the event cites (a zombie in 2014: kern_exit.c and kern_fork.c).
    const files = [];
    cite.refs.forEach((r, i) => { if (!files.some((f) => f.key === r.key)) files.push({ key: r.key, i, r }); });
    if (files.length < 2) {
      this.tabsEl.replaceChildren();
      return;
    }
    this.tabsEl.replaceChildren(...files.map(({ key: k, i, r }) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.ref = String(i);
      b.textContent = r.text;
      b.setAttribute('aria-pressed', String(k === key));
      return b;
    }));
  }

  /** What the lines cannot say: the function a range is in, a remark, what is not a seed. */
  renderNote(cite, ref) {
    const parts = [];
    const here = cite.refs.filter((r) => r.key === ref.key);
    parts.push(here.map((r) => `${r.label ? `${r.label}: ` : ''}${r.text}${r.remark ? ` (${r.remark})` : ''}`).join(' · '));
    for (const o of cite.others) parts.push(`also ${o.text}: ${o.why}`);
    this.noteEl.textContent = parts.join('; ');
    this.noteEl.className = `source-note${cite.others.length ? ' also' : ''}`;
    this.noteEl.hidden = false;
  }
}
