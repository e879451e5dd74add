// The explorer's Present button: start a lecture from what this tab shows (its scenario
// or edited text, mode, choice-mode path and event).  A form POST to /present, which makes
// the room and sends the browser on to the presenter page /present/ROOM.
const button = document.getElementById('present');

button?.addEventListener('click', () => {
  const state = window.ptree?.state;
  if (!state?.doc || !state.scenario) return;
  const sc = state.scenario;
  const fields = sc.filename === '<editor>' ? { text: sc.text, label: sc.name || '' } : { scenario: sc.name };
  fields.mode = state.mode;
  if (state.mode === 'choice') fields.choices = JSON.stringify(state.choice?.trace || []);
  fields.event = String(state.seq);
  const form = document.createElement('form');
  form.method = 'post';
  form.action = '/present';
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
});
