/**
 * The page a text route serves: one text box, the answer as a ranked list with probability bars. No
 * build step and no external resources (the server may have no internet, and neither may its users).
 */
import type { TextRoute } from '../config.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function textRoutePage(route: TextRoute, model: string): string {
  const config = JSON.stringify({ path: route.path, field: route.field, label: route.label }).replace(
    /</g,
    '\\u003c',
  );
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(route.title)}</title>
<style>
  body { font: 16px/1.45 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
  h1 { font-size: 1.4rem; }
  textarea { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem; }
  button { font: inherit; padding: .4rem 1.2rem; margin-top: .5rem; }
  ol { padding-left: 1.2rem; }
  li { margin: .35rem 0; }
  .bar { display: inline-block; height: .7rem; background: #3b7dd8; vertical-align: middle; margin-left: .5rem; }
  .error { color: #b00020; }
  .muted { color: #666; font-size: .9rem; }
</style>
</head>
<body>
<h1>${escapeHtml(route.title)}</h1>
<p class="muted">Model <code>${escapeHtml(model)}</code>; answers come from <code>POST ${escapeHtml(route.path)}</code>.</p>
<form id="ask">
  <label for="text">Question</label>
  <textarea id="text" name="text" rows="3" maxlength="${route.maxLength}" required></textarea>
  <button type="submit">Predict</button>
</form>
<p id="status" role="status" class="muted"></p>
<ol id="answer" aria-live="polite"></ol>
<script>
const config = ${config};
const form = document.getElementById('ask');
const status = document.getElementById('status');
const answer = document.getElementById('answer');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = document.getElementById('text').value;
  status.className = 'muted';
  status.textContent = '…';
  answer.replaceChildren();
  try {
    const response = await fetch(config.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ [config.field]: text }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    status.textContent = config.label + ': ' + body[config.label] + ' (' + (100 * body.probability).toFixed(1) + ' %)';
    for (const entry of body.top) {
      const item = document.createElement('li');
      item.dataset.label = entry[config.label];
      item.dataset.probability = String(entry.probability);
      item.textContent = entry[config.label] + ' — ' + (100 * entry.probability).toFixed(1) + ' %';
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = Math.max(1, Math.round(200 * entry.probability)) + 'px';
      item.append(bar);
      answer.append(item);
    }
  } catch (error) {
    status.className = 'error';
    status.textContent = String(error.message || error);
  }
});
</script>
</body>
</html>
`;
}
