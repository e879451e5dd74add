// What compare.js and quiz.js share: the scenario a page is about (from its address),
// JSON requests that turn any failure into a message, and results in words.

/** The query naming the page's scenario: ?scenario=NAME, or ?random=SEED&actions=K&kernel=K&fork_ratio=F. */
export function sourceParams(search = location.search) {
  const params = new URLSearchParams(search);
  const out = new URLSearchParams();
  for (const key of ['scenario', 'random', 'actions', 'kernel', 'fork_ratio']) {
    if (params.has(key)) out.set(key, params.get(key));
  }
  return out;
}

/** GET path?query as JSON: {ok: true, body} or {ok: false, message} (the server's error message). */
export async function getJSON(path, query) {
  let res;
  try {
    res = await fetch(`${path}?${query}`, { headers: { Accept: 'application/json' } });
  } catch (err) {
    return { ok: false, message: `Cannot reach the ptree server (${err.message}).` };
  }
  let body = null;
  try {
    body = await res.json();
  } catch (err) {
    return { ok: false, message: `The server answered ${res.status} without JSON.` };
  }
  if (!res.ok) return { ok: false, message: body?.error?.message || `HTTP ${res.status}`, code: body?.error?.code };
  return { ok: true, body };
}

/** A RESULT (architecture.md) in words: "returns 3 (exit 0)", "fails: ENOSYS". */
export function resultText(r) {
  if (!r) return '';
  if (r.blocked) return `is still blocked in ${r.blocked}`;
  if (r.errno) return `fails: ${r.errno}`;
  if (r.ret === null || r.ret === undefined) return 'does not return';
  const extra = r.status_text ? ` (${r.status_text})` : '';
  const info = r.info ? ` ${JSON.stringify(r.info)}` : '';
  return `returns ${r.ret}${extra}${info}`;
}

/** Fill an <ol> with event rows: kind, who, summary, citation.  onCite(ev): a click on
 *  an event's citation (the page shows it in its Kernel source pane). */
export function fillEvents(ol, events, onCite = null) {
  ol.replaceChildren(...events.map((ev) => {
    const li = document.createElement('li');
    li.dataset.seq = String(ev.seq);
    const kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = ev.kind;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = ev.name || '';
    const summary = document.createElement('span');
    summary.className = 'summary';
    summary.textContent = ev.summary;
    li.append(kind, who, ' ', summary);
    if (ev.seed) {
      const seed = document.createElement(onCite ? 'button' : 'span');
      seed.className = onCite ? 'seed cite' : 'seed';
      if (onCite) {
        seed.type = 'button';
        seed.addEventListener('click', () => onCite(ev));
      }
      seed.textContent = ev.cite?.text || ev.seed;
      seed.title = ev.cite?.title || ev.seed;
      li.append(' ', seed);
    }
    if (ev.violation) li.classList.add('violated');
    return li;
  }));
}

/**
 * A Kernel source pane (source.js's DOM) named `label`, for a page that shows events:
 * returns the region element; `new SourcePane(el)` drives it.
 */
export function sourceRegion(label) {
  const el = document.createElement('section');
  el.className = 'source mini-source';
  el.setAttribute('role', 'region');
  el.setAttribute('aria-label', label);
  // The name is a plain label, not a heading: the compare panes each keep one heading.
  el.innerHTML = '<div class="source-head"><b class="source-title"></b><span class="source-file">no seed file</span>' +
    '<div class="source-tabs" role="group" aria-label="Cited files"></div></div>' +
    '<p class="source-note" aria-live="polite"></p><div class="source-code" tabindex="0" aria-label="Seed source lines"></div>';
  el.querySelector('.source-title').textContent = label;
  return el;
}

/** The event a step's source pane opens with: the first that cites seed lines. */
export function firstCited(events) {
  return events.find((ev) => ev.cite?.refs?.length) || events[0] || null;
}

/** Show or hide the page's error box. */
export function showError(el, message) {
  el.hidden = !message;
  el.textContent = message || '';
}

/** The scenario's heading: title and kernel profile. */
export function fillTitle(el, scenario, extra = '') {
  el.replaceChildren();
  el.append(scenario.title || scenario.name);
  const tag = document.createElement('span');
  tag.className = 'kernel-tag';
  tag.textContent = `${scenario.name} · written for kernel ${scenario.kernel}${scenario.race === 'before-fix' ? ' · race before-fix' : ''}${extra}`;
  el.append(tag);
}

/** Show `name` in the Scenario picker, adding it (a random scenario) when the library list lacks it. */
export function syncPicker(select, name) {
  if (![...select.options].some((o) => o.value === name)) {
    const option = document.createElement('option');
    option.value = name;
    option.textContent = name;
    select.prepend(option);
  }
  select.value = name;
}
