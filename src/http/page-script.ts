/**
 * The status page's script (plain ES2017, no build step, no network beyond the agent): renders
 * the /status document, fetches it again every 10 s, and tails `/logs` over the WebSocket. With a
 * token, the page is opened as `/?token=…`; the script keeps the token in sessionStorage, removes
 * it from the address bar, and sends it as a bearer header (and `?token=` on the WebSocket).
 */
export const PAGE_SCRIPT = String.raw`(function () {
  'use strict';
  var KEY = 'fleet-agent-token';
  var params = new URLSearchParams(location.search);
  if (params.get('token')) {
    sessionStorage.setItem(KEY, params.get('token'));
    params.delete('token');
    history.replaceState(null, '', location.pathname + (params.toString() ? '?' + params : ''));
  }
  var token = sessionStorage.getItem(KEY);
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function when(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }
  function bytes(n) {
    if (n === undefined) return '?';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + units[i];
  }
  function pct(r) { return (r * 100).toFixed(0) + ' %'; }
  function row(list, label, value, warn) {
    var dt = el('dt', '', label), dd = el('dd', warn ? 'warn' : '', value);
    list.appendChild(dt); list.appendChild(dd);
  }
  function who(a) {
    return a.origin === 'operator' ? 'operator, token ' + a.token : a.origin === 'fleet' ? 'fleet, token ' + a.token : a.origin;
  }
  function render(s) {
    var badge = $('state');
    badge.textContent = s.health;
    badge.className = 'state ' + s.health;
    document.title = 'fleet-agent: ' + s.health;
    $('version').textContent = 'version ' + s.version + (s.lastPoll && s.lastPoll.at ? ' · last cloud contact ' + when(s.lastPoll.at) : '');
    var reasons = $('reasons');
    reasons.textContent = '';
    if (!s.reasons.length) reasons.appendChild(el('li', 'none', 'No problems.'));
    s.reasons.forEach(function (r) { reasons.appendChild(el('li', '', r)); });
    var actions = $('actions');
    actions.textContent = '';
    if (!s.recentActions.length) actions.appendChild(el('li', 'none', 'Nothing yet.'));
    s.recentActions.slice(0, 10).forEach(function (a) {
      var li = el('li', 'action');
      var head = el('div', 'head');
      head.appendChild(el('span', 'cmd', a.command + (a.services.length ? ' ' + a.services.join(',') : '')));
      head.appendChild(el('span', 'st ' + a.state, a.state));
      li.appendChild(head);
      li.appendChild(el('div', 'meta', who(a) + ' · ' + when(a.at) + (a.detail ? ' · ' + a.detail : '')));
      actions.appendChild(li);
    });
    var win = s.window;
    $('window').textContent = !win ? 'No maintenance window: disruptive work starts when asked.'
      : win.open ? 'Inside the maintenance window' + (win.closesAt ? ' until ' + when(win.closesAt) : ' (always open)') + '.'
        : 'Outside the maintenance window; it opens ' + when(win.opensAt) + '.';
    var waiting = $('waiting');
    waiting.textContent = '';
    if (!s.scheduled.length) waiting.appendChild(el('li', 'none', 'Nothing waits.'));
    s.scheduled.forEach(function (a) {
      var li = el('li', 'action');
      var head = el('div', 'head');
      head.appendChild(el('span', 'cmd', a.command + (a.services.length ? ' ' + a.services.join(',') : '')));
      head.appendChild(el('span', 'st scheduled', 'starts ' + when(a.startsAt)));
      li.appendChild(head);
      li.appendChild(el('div', 'meta', who(a) + ' · ' + a.detail));
      waiting.appendChild(li);
    });
    var m = $('metrics');
    m.textContent = '';
    var x = s.metrics;
    if (!x) { m.appendChild(el('dd', 'none', 'No sample yet.')); }
    else {
      if (x.cpu.usageRatio !== undefined) row(m, 'CPU', pct(x.cpu.usageRatio) + (x.cpu.load1 !== undefined ? ' · load ' + x.cpu.load1.toFixed(2) : ''));
      if (x.memory.totalBytes !== undefined) {
        var used = 1 - x.memory.availableBytes / x.memory.totalBytes;
        row(m, 'Memory', pct(used) + ' · ' + bytes(x.memory.totalBytes - x.memory.availableBytes) + ' of ' + bytes(x.memory.totalBytes), used >= 0.9);
      }
      x.filesystems.forEach(function (f) {
        var full = 1 - f.freeBytes / Math.max(1, f.sizeBytes);
        row(m, 'Disk ' + f.mountpoint, pct(full) + ' · ' + bytes(f.sizeBytes - f.freeBytes) + ' of ' + bytes(f.sizeBytes), full >= 0.9);
      });
      if (x.cpu.temperatureCelsius !== undefined) row(m, 'Temperature', x.cpu.temperatureCelsius.toFixed(1) + ' °C', x.cpu.temperatureCelsius >= 80);
      var p = x.power, power = [];
      if (p.undervoltage !== undefined) power.push(p.undervoltage ? 'UNDER-VOLTAGE now' : 'voltage ok');
      if (p.throttled) power.push('throttled now');
      if (p.undervoltageSinceBoot) power.push('under-voltage since boot');
      if (p.undervoltageEvents !== undefined) power.push(p.undervoltageEvents + ' kernel under-voltage events since boot');
      row(m, 'Power', power.length ? power.join(' · ') : 'not reported by this board', !!(p.undervoltage || p.throttled || p.undervoltageEvents));
      row(m, 'Sampled', when(x.time));
    }
    $('config').textContent = JSON.stringify({ config: s.config, behaviours: s.behaviours, journal: s.journal }, null, 2);
  }
  function refresh() {
    var headers = token ? { authorization: 'Bearer ' + token } : {};
    fetch('status', { headers: headers, cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (s) { render(s); $('stale').hidden = true; }, function (e) {
      $('stale').hidden = false;
      $('stale').textContent = 'Cannot reach the agent (' + e.message + '); showing the last status.';
    });
  }
  var log = $('log'), MAX = 300;
  function addLine(text, cls) {
    var div = el('div', cls, text);
    var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.appendChild(div);
    while (log.childNodes.length > MAX) log.removeChild(log.firstChild);
    if (atEnd) log.scrollTop = log.scrollHeight;
  }
  function tail() {
    var url = new URL('logs', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var unit = $('unit').value.trim(), match = $('match').value.trim();
    if (unit) url.searchParams.set('unit', unit);
    if (match) url.searchParams.set('match', match);
    if (token) url.searchParams.set('token', token);
    var ws = new WebSocket(url);
    $('tailstate').textContent = 'connecting…';
    ws.onopen = function () { $('tailstate').textContent = 'live'; };
    ws.onmessage = function (ev) {
      var l = JSON.parse(ev.data);
      if (l.dropped) addLine('… ' + l.dropped + ' lines dropped (this page was too slow)', 'dropped');
      if (l.message === undefined) return;
      addLine(new Date(l.time).toLocaleTimeString() + ' ' + l.unit + ': ' + l.message, 'p' + l.priority);
    };
    ws.onclose = function (ev) {
      $('tailstate').textContent = 'closed' + (ev.reason ? ' (' + ev.reason + ')' : '') + '; reconnecting in 5 s';
      if (current === ws) setTimeout(function () { if (current === ws) current = tail(); }, 5000);
    };
    return ws;
  }
  var current;
  $('filter').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var old = current;
    current = undefined;
    if (old) old.close();
    log.textContent = '';
    current = tail();
  });
  render(JSON.parse($('initial').textContent));
  setInterval(refresh, 10000);
  current = tail();
})();
`;
