/** The status page an operator opens on a phone or laptop: self-contained HTML, CSS and script (no network beyond the agent). */
import { PAGE_SCRIPT } from './page-script.js';

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

/** JSON safe inside a `<script>` element. */
function scriptJson(doc: unknown): string {
  return JSON.stringify(doc).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STYLE = `*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:60rem;margin:0 auto;padding:1rem}header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5rem 1rem}
h1{font-size:1.25rem;margin:0}h2{font-size:1rem;margin:0 0 .5rem;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
section{background:#fff;border:1px solid #d0d7de;border-radius:.5rem;padding:.8rem 1rem;margin:.8rem 0}
.state{color:#fff;background:#57606a;padding:.1rem .7rem;border-radius:1rem;font-weight:600}.state.ok{background:#1a7f37}
.state.degraded{background:#9a6700}.state.failing{background:#cf222e}#version{color:#57606a;font-size:.85rem}
ul{margin:0;padding-left:1.2rem}.none{color:#57606a;list-style:none}#reasons li{margin:.2rem 0}#reasons li.none{margin-left:-1.2rem}
#actions,#waiting{list-style:none;padding:0}.action{border-top:1px solid #eaeef2;padding:.4rem 0}.action:first-child{border-top:0}
.head{display:flex;justify-content:space-between;gap:.5rem}.cmd{font-weight:600;overflow-wrap:anywhere}.meta{color:#57606a;font-size:.85rem;overflow-wrap:anywhere}
.st{font-size:.8rem;padding:0 .5rem;border-radius:1rem;background:#eaeef2;white-space:nowrap}.st.done{background:#dafbe1}.st.failed,.st.rejected{background:#ffebe9}
.st.blocked,.st.deferred,.st.scheduled{background:#fff8c5}.st.cancelled{background:#eaeef2}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dt{color:#57606a}dd{margin:0;overflow-wrap:anywhere}dd.warn{color:#cf222e;font-weight:600}
#log{background:#0d1117;color:#e6edf3;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;height:18rem;overflow:auto;padding:.5rem;border-radius:.4rem}
#log div{white-space:pre-wrap;overflow-wrap:anywhere}#log .p0,#log .p1,#log .p2,#log .p3{color:#ff7b72}#log .p4{color:#e3b341}#log .dropped{color:#8b949e;font-style:italic}
form{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:.5rem}input{font:inherit;padding:.2rem .4rem;border:1px solid #d0d7de;border-radius:.3rem;min-width:0;flex:1 1 8rem}
button{font:inherit;padding:.2rem .8rem}#tailstate{color:#57606a;font-size:.8rem;font-weight:400;text-transform:none;letter-spacing:0;margin-left:.4rem}#stale{color:#cf222e}
details pre{font-size:12px;overflow:auto;background:#f6f8fa;padding:.5rem;border-radius:.4rem}summary{cursor:pointer;font-weight:600}
footer{color:#57606a;font-size:.85rem;margin:1rem 0}a{color:#0969da}`;

/** Renders the page around a status document (already redacted): health and reasons, recent actions, what waits for its wave or window, metrics and power, the log tail, the configuration folded. */
export function renderStatusPage(status: unknown): string {
  const health = (status as { health?: unknown }).health;
  const state = typeof health === 'string' ? health : 'unknown';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>fleet-agent: ${escapeHtml(state)}</title><style>${STYLE}</style></head>
<body><main>
<header><h1>fleet-agent</h1><span id="state" class="state ${escapeHtml(state)}">${escapeHtml(state)}</span><span id="version"></span></header>
<p id="stale" hidden></p>
<section aria-labelledby="h-health"><h2 id="h-health">Health</h2><ul id="reasons"></ul></section>
<section aria-labelledby="h-actions"><h2 id="h-actions">Recent actions</h2><ul id="actions"></ul></section>
<section aria-labelledby="h-waiting"><h2 id="h-waiting">Waiting</h2><p id="window" class="meta"></p><ul id="waiting"></ul></section>
<section aria-labelledby="h-metrics"><h2 id="h-metrics">Metrics and power</h2><dl id="metrics"></dl></section>
<section aria-labelledby="h-log"><h2 id="h-log">Live log <span id="tailstate"></span></h2>
<form id="filter"><input id="unit" placeholder="units (comma list)" aria-label="units"><input id="match" placeholder="match (regular expression)" aria-label="match"><button>Apply</button></form>
<div id="log" role="log" aria-live="off"></div></section>
<section><details><summary>Configuration</summary><pre id="config"></pre></details></section>
<noscript><pre>${escapeHtml(JSON.stringify(status, null, 2))}</pre></noscript>
<footer>JSON: <a href="status">/status</a> · health: <a href="healthz">/healthz</a> · Prometheus: <a href="metrics">/metrics</a></footer>
</main>
<script type="application/json" id="initial">${scriptJson(status)}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
