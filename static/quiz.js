// Quiz mode: for each scripted step, either "here is the tree and the next command: which
// tree comes out?" (predict) or "here are the trees before and after: which command was
// it?" (which).  Questions come from GET /api/quiz without their answers; the server
// checks a choice (GET /api/quiz/answer) and says what the step really did.
import { MiniTree, treeWords } from './minitree.js';
import {
  fillEvents, fillTitle, firstCited, getJSON, resultText, showError, sourceParams, sourceRegion, syncPicker,
} from './pagekit.js';
import { SourcePane } from './source.js';

const $ = (id) => document.getElementById(id);
const LETTERS = 'ABCDEFGH';
const params = new URLSearchParams(location.search);
const source = sourceParams();
const kind = ['mixed', 'predict', 'which'].includes(params.get('kind')) ? params.get('kind') : 'mixed';
$('kind').value = kind;

const score = { right: 0, asked: 0 };
let question = null;   // the question shown: {kind, step, command?, before, after?, options}
let steps = 0;
let number = 0;        // questions asked so far, this one included
let answered = false;

async function load(start) {
  const query = new URLSearchParams(source);
  query.set('step', String(start));
  query.set('kind', kind);
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
  $('question-title').textContent = `Question ${number}: step ${q.step} of ${steps}`;
  const prompt = $('prompt');
  prompt.replaceChildren();
  const shown = $('shown');
  shown.replaceChildren();
  if (q.kind === 'predict') {
    const code = document.createElement('code');
    code.textContent = q.command;
    prompt.append('This is the tree before ', code, '. Which tree comes out once it, and the kernel work it causes, has run?');
    shown.append(figure('Before', q.before, 'before'));
  } else {
    prompt.append('These are the trees before and after one step (and the kernel work it caused). Which command was it?');
    shown.append(figure('Before', q.before, 'before'), figure('After', q.after, 'after'));
  }
  const list = $('option-list');
  list.className = `option-list ${q.kind}`;
  list.replaceChildren(...q.options.map((opt, i) => option(q, opt, i)));
  $('feedback').textContent = '';
  $('feedback').className = 'feedback';
  $('explain').replaceChildren();
  $('check').hidden = false;
  $('check').disabled = true;
  $('next').hidden = true;
}

function figure(caption, rows, id) {
  const fig = document.createElement('figure');
  fig.className = 'tree-figure';
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.append(cap, treeSvg(rows, `${caption} tree`, id));
  return fig;
}

function treeSvg(rows, label, id) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'minitree');
  svg.setAttribute('role', 'tree');
  svg.setAttribute('aria-label', label);
  svg.id = `tree-${id}`;
  new MiniTree(svg, { idPrefix: id, height: { scale: 0.62, max: 380 } }).render(rows, { duration: 0 });
  const words = document.createElementNS('http://www.w3.org/2000/svg', 'desc');
  words.textContent = treeWords(rows);
  svg.prepend(words);
  return svg;
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
  if (q.kind === 'predict') {
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
    label.append(head, words, treeSvg(opt, `Option ${LETTERS[i]} tree`, `option-${i}`));
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
  }
  const feedback = $('feedback');
  feedback.className = `feedback ${a.correct ? 'right' : 'wrong'}`;
  const rightName = question.kind === 'predict' ? `Option ${LETTERS[a.answer]}` : question.options[a.answer];
  feedback.textContent = a.correct
    ? `Right! ${score.right} of ${score.asked} so far.`
    : `Not right: the right answer is ${rightName}.`;
  explain(a);
  $('check').hidden = true;
  $('next').hidden = false;
  $('next').textContent = question.step >= steps ? 'See the score' : 'Next question';
  $('next').focus();
}

function explain(a) {
  const box = $('explain');
  const head = document.createElement('p');
  const code = document.createElement('code');
  code.textContent = a.command;
  head.append(`What step ${a.step} did: `, code);
  if (a.result) head.append(` ${resultText(a.result)}.`);
  const parts = [head];
  if (question.kind === 'which') parts.push(figure('The tree it makes', a.after, 'explain'));
  const h = document.createElement('h3');
  h.textContent = 'The kernel events of this step';
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
  if (question && question.step < steps) load(question.step + 1);
  else finish();
});
$('again').addEventListener('click', () => {
  score.right = 0;
  score.asked = 0;
  number = 0;
  renderScore();
  load(1);
});
$('scenario').addEventListener('change', (e) => restart(new URLSearchParams({ scenario: e.target.value, kind })));
$('kind').addEventListener('change', (e) => {
  const query = new URLSearchParams(source);
  query.set('kind', e.target.value);
  restart(query);
});

load(1);
