// The printable quiz handout (/quiz/print): the server writes the questions and their
// answers into the page; this draws their trees with the quiz's MiniTree (print size:
// the same scale as the quiz page on a 1024 px screen) and works the answers toggle.
import { MiniTree, treeWords } from './minitree.js';

const $ = (id) => document.getElementById(id);
const data = $('handout-data');
const questions = data ? JSON.parse(data.textContent) : [];

function draw(slot, rows, label, id) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'minitree');
  svg.setAttribute('role', 'tree');
  svg.setAttribute('aria-label', label);
  new MiniTree(svg, { idPrefix: id, height: { scale: 1, max: Infinity } }).render(rows, { duration: 0 });
  const words = document.createElementNS('http://www.w3.org/2000/svg', 'desc');
  words.textContent = treeWords(rows);
  svg.prepend(words);
  slot.append(svg);
}

for (const section of document.querySelectorAll('.handout-question')) {
  const q = questions[Number(section.dataset.index)];
  const n = Number(section.dataset.index) + 1;
  const at = (name) => section.querySelector(`[data-tree="${name}"]`);
  draw(at('before'), q.before, `Question ${n} before tree`, `q${n}-before`);
  if (q.kind === 'which') draw(at('after'), q.after, `Question ${n} after tree`, `q${n}-after`);
  else q.options.forEach((o, i) => draw(at(`option-${i}`), o, `Question ${n} option ${'ABCDEFGH'[i]} tree`, `q${n}-o${i}`));
}
document.body.dataset.drawn = String(questions.length);

$('print')?.addEventListener('click', () => window.print());
$('show-answers')?.addEventListener('change', (e) => { $('answers').hidden = !e.target.checked; });
