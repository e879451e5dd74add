// Quiz mode: for each scripted step, either "here is the tree and the next command: which
// tree comes out?" (predict) or "here are the trees before and after: which command was
// it?" (which); or once, "here are all the steps: which tree is left?" (final).  Questions
// come from GET /api/quiz without their answers; the server checks a choice (GET
// /api/quiz/answer), says what the step really did and what each wrong option stands for.
// ?seed=N fixes the answer positions, so an address reproduces the quiz.
import { MiniTree, lectureScale, treeWords } from './minitree.js';
import {
  fillEvents, fillTitle, firstCited, getJSON, resultText, showError, sourceParams, sourceRegion, syncPicker,
} from './pagekit.js';
import { SourcePane } from './source.js';

const $ = (id) => document.getElementById(id);
const LETTERS = 'ABCDEFGH';
const params = new URLSearchParams(location.search);
const source = sourceParams();
const kind = ['mixed', 'predict', 'which', 'final'].includes(params.get('kind')) ? params.get('kind') : 'mixed';
$('kind').value = kind;
const seed = /^\d+$/.test(params.get('seed') || '') ? params.get('seed') : '0';
$('seed').value = seed;
// ?step=N starts at step N: with the seed, an address reproduces one question exactly.
const firstStep = /^[1-9]\d*$/.test(params.get('step') || '') ? Number(params.get('step')) : 1;
const TREE_KINDS = ['predict', 'final'];   // kinds whose options are trees

const score = { right: 0, asked: 0 };
let question = null;   // the question shown: {kind, step, command?, before, after?, options}
let steps = 0;
let number = 0;        // questions asked so far, this one included
let answered = false;

async function load(start) {
  const query = new URLSearchParams(source);
  query.set('step', String(start));
  query.set('kind', kind);
  query.set('seed', seed);
  setBusy(true);
  const answer = await getJSON('/api/quiz', query);
  setBusy(false);
  if (!answer.ok) {
    showError($('page-error'), answer.message);
    if (!question) $('title').textContent = 'Cannot quiz this scenario';
    return;
  }
  showError($('page-error'), '');
  const body = answer.body;
  steps = body.steps;
  fillTitle($('title'), body.scenario);
  syncPicker($('scenario'), body.scenario.name);
  $('explore-link').href = `/?${new URLSearchParams({ scenario: body.scenario.name })}`;
  $('print-link').href = `/quiz/print?${pageQuery()}`;
  if (body.done) {
    finish();
    return;
  }
  number += 1;
  show(body.question);
}

function show(q) {
  question = q;
  answered = false;
  $('done').hidden = true;
  $('question').hidden = false;
  $('question-title').textContent = q.kind === 'final'
    ? `Question ${number}: the final tree (${steps} steps)`
    : `Question ${number}: step ${q.step} of ${steps}`;
  const prompt = $('prompt');
  prompt.replaceChildren();
  const shown = $('shown');
  shown.replaceChildren();
  if (q.kind === 'predict') {
    const code = document.createElement('code');
    code.textContent = q.command;
    prompt.append('This is the tree before ', code, '. Which tree comes out once it, and the kernel work it causes, has run?');
    shown.append(figure('Before', q.before, 'before'));
  } else if (q.kind === 'final') {
    prompt.append(`These are all ${steps} steps of the scenario, run from the tree on the left. Which tree is left once they, and the kernel work they cause, have run?`);
    shown.append(figure('At the start', q.before, 'before'));
  } else {
    prompt.append('These are the trees before and after one step (and the kernel work it caused). Which command was it?');
    shown.append(figure('Before', q.before, 'before'), figure('After', q.after, 'after'));
  }
  showHistory(q);
  const list = $('option-list');
  list.className = `option-list ${q.kind}`;
  list.replaceChildren(...q.options.map((opt, i) => option(q, opt, i)));
  // As many tree options a row as fit whole: a column is as wide as the widest tree.
  const widths = [...list.querySelectorAll('svg.minitree')].map((svg) => parseFloat(svg.style.width) || 0);
  list.style.setProperty('--tree-w', `${Math.ceil(Math.max(0, ...widths)) + 40}px`);
  $('feedback').textContent = '';
  $('feedback').className = 'feedback';
  $('misconception').textContent = '';
  $('explain').replaceChildren();
  $('check').hidden = false;
  $('check').disabled = true;
  $('next').hidden = true;
}

/** The steps the question depends on: every step before it (for final, all of them). */
function showHistory(q) {
  const box = $('history');
  const ol = $('history-list');
  ol.replaceChildren(...q.history.map((text) => {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = text;
    li.append(code);
    return li;
  }));
  $('history-title').textContent = q.kind === 'final' ? 'The steps' : 'The steps so far';
  box.hidden = q.history.length === 0;
  // The latest steps are the ones a question is about: keep them in view.
  ol.scrollTop = ol.scrollHeight;
}

function pageQuery(extra = {}) {
  const query = new URLSearchParams(source);
  query.set('kind', kind);
  query.set('seed', seed);
  for (const [k, v] of Object.entries(extra)) query.set(k, v);
  return query;
}

function figure(caption, rows, id) {
  const fig = document.createElement('figure');
  fig.className = 'tree-figure';
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.append(cap, scroller(treeSvg(rows, `${caption} tree`, id)));
  return fig;
}

function treeSvg(rows, label, id) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'minitree');
  svg.setAttribute('role', 'tree');
  svg.setAttribute('aria-label', label);
  svg.id = `tree-${id}`;
  // Lecture size: labels at 14 px or more at 1024x768, larger on a bigger screen; a wide
  // tree scrolls sideways rather than shrinking.
  const k = lectureScale();
  new MiniTree(svg, { idPrefix: id, height: { scale: k, max: Infinity }, minScale: k }).render(rows, { duration: 0 });
  const words = document.createElementNS('http://www.w3.org/2000/svg', 'desc');
  words.textContent = treeWords(rows);
  svg.prepend(words);
  return svg;
}

function scroller(el) {
  const div = document.createElement('div');
  div.className = 'tree-scroll';
  div.append(el);
  return div;
}

function option(q, opt, i) {
  const label = document.createElement('label');
  label.className = 'option';
  label.dataset.index = String(i);
  const input = document.createElement('input');
  input.type = 'radio';
  input.name = 'answer';
  input.value = String(i);
  input.addEventListener('change', () => { if (!answered) $('check').disabled = false; });
  const head = document.createElement('span');
  head.className = 'option-head';
  head.append(input);
  if (TREE_KINDS.includes(q.kind)) {
    input.setAttribute('aria-label', `Option ${LETTERS[i]}`);
    const id = `option-${i}-words`;
    input.setAttribute('aria-describedby', id);
    const words = document.createElement('span');
    words.id = id;
    words.className = 'visually-hidden';
    words.textContent = treeWords(opt);
    head.append(` Option ${LETTERS[i]}`);
    const verdict = document.createElement('span');
    verdict.className = 'verdict';
    head.append(verdict);
    label.append(head, words, scroller(treeSvg(opt, `Option ${LETTERS[i]} tree`, `option-${i}`)));
  } else {
    input.setAttribute('aria-label', opt);
    const code = document.createElement('code');
    code.textContent = opt;
    const verdict = document.createElement('span');
    verdict.className = 'verdict';
    head.append(' ', code, verdict);
    label.append(head);
  }
  return label;
}

async function check() {
  const chosen = document.querySelector('input[name="answer"]:checked');
  if (!chosen || answered || !question) return;
  const query = new URLSearchParams(source);
  query.set('step', String(question.step));
  query.set('kind', question.kind);
  query.set('choice', chosen.value);
  query.set('seed', seed);
  setBusy(true);
  const answer = await getJSON('/api/quiz/answer', query);
  setBusy(false);
  if (!answer.ok) {
    showError($('page-error'), answer.message);
    return;
  }
  const a = answer.body;
  answered = true;
  score.asked += 1;
  if (a.correct) score.right += 1;
  renderScore();
  for (const input of document.querySelectorAll('input[name="answer"]')) input.disabled = true;
  for (const label of document.querySelectorAll('#option-list .option')) {
    const i = Number(label.dataset.index);
    const verdict = label.querySelector('.verdict');
    if (i === a.answer) { label.classList.add('right'); verdict.textContent = ' ✓ right answer'; }
    else if (a.accept.includes(i)) { label.classList.add('right'); verdict.textContent = ' ✓ also right (same tree)'; }
    else if (i === a.choice) { label.classList.add('wrong'); verdict.textContent = ' ✗ your answer'; }
    const why = a.misconceptions[i];
    if (why && !a.accept.includes(i)) {
      const p = document.createElement('p');
      p.className = 'misconception';
      p.textContent = why;
      label.append(p);
    }
  }
  const feedback = $('feedback');
  feedback.className = `feedback ${a.correct ? 'right' : 'wrong'}`;
  const rightName = TREE_KINDS.includes(question.kind) ? `Option ${LETTERS[a.answer]}` : question.options[a.answer];
  feedback.textContent = a.correct
    ? `Right! ${score.right} of ${score.asked} so far.`
    : `Not right: the right answer is ${rightName}.`;
  const mine = a.correct ? null : a.misconceptions[a.choice];
  $('misconception').textContent = mine ? `Your answer stands for a misconception. ${mine}` : '';
  explain(a);
  $('check').hidden = true;
  $('next').hidden = false;
  $('next').textContent = question.step >= steps || question.kind === 'final' ? 'See the score' : 'Next question';
  $('next').focus();
}

function explain(a) {
  const box = $('explain');
  const head = document.createElement('p');
  const code = document.createElement('code');
  code.textContent = a.command;
  if (a.kind === 'final') head.append(`What the ${steps} steps did: see the right tree and the events below.`);
  else head.append(`What step ${a.step} did: `, code);
  if (a.result) head.append(` ${resultText(a.result)}.`);
  const parts = [head];
  if (question.kind === 'which') parts.push(figure('The tree it makes', a.after, 'explain'));
  const h = document.createElement('h3');
  h.textContent = a.kind === 'final' ? 'The kernel events of the scenario' : 'The kernel events of this step';
  const ol = document.createElement('ol');
  ol.className = 'events';
  ol.setAttribute('aria-label', 'Events of this step');
  // The step's kernel source, beside its events: click a citation to see its lines.
  const region = sourceRegion('Kernel source');
  const pane = new SourcePane(region);
  fillEvents(ol, a.events, (ev) => pane.show(ev, ev.cite, { reveal: true }));
  const row = document.createElement('div');
  row.className = 'explain-row';
  const list = document.createElement('div');
  list.append(h, ol);
  row.append(list, region);
  parts.push(row);
  box.replaceChildren(...parts);
  const first = firstCited(a.events);
  pane.show(first, first?.cite || null);
}

function finish() {
  question = null;
  $('question').hidden = true;
  $('done').hidden = false;
  $('done-score').textContent = score.asked
    ? `Score: ${score.right} of ${score.asked}.`
    : 'This scenario has no step to ask about.';
  $('again').focus();
}

function renderScore() {
  $('score').textContent = `Score: ${score.right} of ${score.asked}`;
}

function setBusy(busy) {
  document.body.classList.toggle('busy', busy);
  $('check').disabled = busy || answered || !document.querySelector('input[name="answer"]:checked');
}

function restart(query) {
  location.assign(`${location.pathname}?${query}`);
}

$('check').addEventListener('click', check);
$('next').addEventListener('click', () => {
  if (question && question.kind !== 'final' && question.step < steps) load(question.step + 1);
  else finish();
});
$('again').addEventListener('click', () => {
  score.right = 0;
  score.asked = 0;
  number = 0;
  renderScore();
  load(1);
});
$('scenario').addEventListener('change', (e) => restart(new URLSearchParams({ scenario: e.target.value, kind, seed })));
$('kind').addEventListener('change', (e) => restart(pageQuery({ kind: e.target.value })));
$('seed').addEventListener('change', (e) => {
  const value = String(e.target.value).trim();
  if (/^\d+$/.test(value) && Number(value) <= 4294967295) restart(pageQuery({ seed: value }));
  else e.target.value = seed;
});

load(firstStep);
