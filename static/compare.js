// Compare mode: one scenario under the classic (2008-2011) and the reaper (2014) kernel,
// stepped together one scripted step at a time (GET /api/compare?...&step=N), with the
// processes that differ marked ≠ in both panes and listed in words.
import { MiniTree } from './minitree.js';
import {
  fillEvents, fillTitle, firstCited, getJSON, resultText, showError, sourceParams, sourceRegion, syncPicker,
} from './pagekit.js';
import { SourcePane } from './source.js';

const $ = (id) => document.getElementById(id);
const KERNELS = ['classic', 'reaper'];
const source = sourceParams();
const trees = Object.fromEntries(KERNELS.map((k) => [k, new MiniTree($(`tree-${k}`), { idPrefix: k, minScale: 0.5 })]));
// Under each tree, the seed source of the step's events in that kernel: the same step in
// the 2010/2011 sources and in the 2014 ones.
const sources = Object.fromEntries(KERNELS.map((k) => {
  const el = sourceRegion(`Kernel source, ${k}`);
  $(`pane-${k}`).append(el);
  return [k, new SourcePane(el)];
}));

let shown = null;     // the last answer drawn
let wanted = Math.max(0, Number.parseInt(new URLSearchParams(location.search).get('step') || '0', 10) || 0);
let request = 0;      // answers to older requests are dropped

async function go(n, note = '') {
  wanted = n;
  const id = ++request;
  const query = new URLSearchParams(source);
  query.set('step', String(n));
  const answer = await getJSON('/api/compare', query);
  if (id !== request) return;
  if (!answer.ok) {
    showError($('page-error'), answer.message);
    if (!shown && n !== 0 && answer.code === 'bad_request') {
      go(0, `${answer.message}: showing the boot state.`);  // an address with a bad step
      return;
    }
    if (!shown) $('title').textContent = 'Cannot compare this scenario';
    wanted = shown ? shown.step : 0;
    renderControls();
    return;
  }
  showError($('page-error'), note);
  draw(answer.body);
}

function draw(body) {
  shown = body;
  wanted = body.step;
  fillTitle($('title'), body.scenario, ' · shown under both kernels');
  syncPicker($('scenario'), body.scenario.name);
  $('command').replaceChildren();
  if (body.step === 0) {
    $('command').textContent = 'Boot state: proc0 (swapper) and init. Step (→) runs the first step under both kernels.';
  } else {
    const code = document.createElement('code');
    code.textContent = body.command;
    $('command').append(`Step ${body.step}: `, code);
  }
  const marks = { classic: new Map(), reaper: new Map() };
  for (const d of body.diffs) {
    for (const k of KERNELS) {
      if (d.field === 'exists' && !(k === 'classic' ? d.a : d.b)) continue;  // not drawn in this pane
      const m = marks[k];
      m.set(d.pid, m.has(d.pid) ? `${m.get(d.pid)}; ${d.text}` : `Differs between the kernels: ${d.text}`);
    }
  }
  for (const k of KERNELS) {
    const pane = body.panes[k];
    trees[k].render(pane.procs, { marks: marks[k] });
    const result = $(`result-${k}`);
    result.replaceChildren();
    if (pane.result) {
      const code = document.createElement('code');
      code.textContent = pane.result.command;
      result.append('→ ', code, ` ${resultText(pane.result)}`);
      result.classList.toggle('failed', Boolean(pane.result.errno));
    } else {
      result.classList.remove('failed');
      result.textContent = body.step ? '' : 'boot state';
    }
    fillEvents($(`events-${k}`), pane.events, (ev) => sources[k].show(ev, ev.cite, { reveal: true }));
    const ev = firstCited(pane.events);
    sources[k].show(ev, ev?.cite || null);
  }
  const list = $('diffs');
  if (body.diffs.length === 0) {
    const li = document.createElement('li');
    li.className = 'none';
    li.textContent = 'None: the two trees are the same at this step.';
    list.replaceChildren(li);
  } else {
    list.replaceChildren(...body.diffs.map((d) => {
      const li = document.createElement('li');
      li.dataset.pid = String(d.pid);
      li.dataset.field = d.field;
      li.textContent = d.text;
      return li;
    }));
  }
  renderControls();
  const params = new URLSearchParams(source);
  params.set('step', String(body.step));
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

function renderControls() {
  const steps = shown ? shown.steps : 0;
  const n = shown ? shown.step : 0;
  $('position').textContent = `Step ${n} of ${steps}`;
  $('step').disabled = !shown || wanted >= steps;
  $('back').disabled = !shown || wanted <= 0;
  $('reset').disabled = !shown || wanted <= 0;
}

function step() { if (shown && wanted < shown.steps) go(wanted + 1); }
function back() { if (shown && wanted > 0) go(wanted - 1); }

$('step').addEventListener('click', step);
$('back').addEventListener('click', back);
$('reset').addEventListener('click', () => { if (shown) go(0); });
$('scenario').addEventListener('change', (e) => {
  location.assign(`${location.pathname}?${new URLSearchParams({ scenario: e.target.value })}`);
});
const TYPING = new Set(['INPUT', 'TEXTAREA', 'SELECT']);
document.addEventListener('keydown', (e) => {
  if (TYPING.has(e.target.tagName) || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === 'ArrowRight') { e.preventDefault(); step(); }
  else if (e.key === 'ArrowLeft') { e.preventDefault(); back(); }
});

go(wanted);
