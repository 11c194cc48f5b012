/** The small status page a person opens through the device's public URL. */

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

const colours: Record<string, string> = { ok: '#1a7f37', degraded: '#9a6700', failing: '#cf222e' };

/** Renders health and the status document as one self-contained HTML page (no scripts). */
export function renderStatusPage(health: { state: string; reasons: readonly string[] }, status: unknown): string {
  const colour = colours[health.state] ?? '#57606a';
  const reasons = health.reasons.length
    ? `<ul>${health.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`
    : '<p>No problems.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="30"><title>fleet-agent: ${escapeHtml(health.state)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.3rem}.state{color:#fff;background:${colour};padding:.1rem .6rem;border-radius:.4rem}
pre{background:#f6f8fa;padding:1rem;overflow:auto;border-radius:.4rem;font-size:13px}</style></head>
<body><h1>fleet-agent <span class="state">${escapeHtml(health.state)}</span></h1>
${reasons}
<h2>Status</h2><pre>${escapeHtml(JSON.stringify(status, null, 2))}</pre>
<p>JSON: <a href="status">/status</a> · health: <a href="healthz">/healthz</a> · Prometheus: <a href="metrics">/metrics</a></p>
</body></html>
`;
}
