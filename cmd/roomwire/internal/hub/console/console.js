// Roomwire's operator console. No framework and nothing loaded from
// elsewhere: the page calls this server's API with the key the operator
// gives, kept in session storage (this tab only). Everything shown is set
// as text, never as HTML, since payloads and errors come from partners.
'use strict';

const keyName = 'roomwire.apiKey';
const $ = (sel) => document.querySelector(sel);

// el builds an element: el('td', {class: 'num'}, 'text', child, ...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function badge(text) { return el('span', {class: 'badge ' + text}, text); }

// fmtTime shows an instant in the browser's zone, with the zone's name and
// its offset from UTC, so that times of different operators can be compared.
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)} ` +
    `${browserZone} (UTC${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)})`;
}
function timeCell(iso) { return el('td', {class: 'time', title: iso || ''}, fmtTime(iso)); }

class APIError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = {'Authorization': 'Bearer ' + sessionStorage.getItem(keyName), 'Accept': 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store'});
  if (resp.status === 401) { signOut('The key was refused: ' + ((await resp.json().catch(() => ({}))).detail || 'unauthorized')); throw new APIError(401); }
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new APIError(resp.status, data);
  return data;
}

function explain(err) {
  if (err.status === 403) return 'This page needs the admin key: ' + err.message;
  if (err.problem && err.problem.errors) return err.message + '\n' + err.problem.errors.map((e) => `${e.field}: ${e.message}`).join('\n');
  return err.message;
}

function signOut(message) {
  sessionStorage.removeItem(keyName);
  $('#key').value = ''; // a secret does not linger in the form
  $('#nav').hidden = true;
  $('#page').hidden = true;
  $('#page').replaceChildren();
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
}

async function signIn(ev) {
  ev.preventDefault();
  const key = $('#key').value.trim();
  if (!key) return;
  sessionStorage.setItem(keyName, key);
  try {
    await api('GET', '/v1/reservations?limit=1');
  } catch (err) {
    if (err.status !== 401) signOut('Could not check the key: ' + err.message);
    return;
  }
  $('#key').value = '';
  route();
}

// page replaces the page's content, with a title and an area for errors.
function page(title, ...children) {
  const p = $('#page');
  p.replaceChildren(el('h2', {}, title), el('p', {class: 'error', id: 'page-error', role: 'alert'}), ...children);
  return p;
}
function showError(err) {
  const e = $('#page-error');
  if (e) e.textContent = explain(err);
}

function params(form) {
  const out = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (v) out.set(k, v);
  return out;
}

// ---- Dead letters ----------------------------------------------------------

async function deadLetters(query) {
  const q = new URLSearchParams(query || 'status=dead');
  const form = el('form', {class: 'bar', id: 'dlq-filter'},
    el('label', {}, 'Status', el('select', {name: 'status'}, ['dead', 'replaying', 'replayed', 'resolved', ''].map((s) =>
      el('option', {value: s, selected: q.get('status') === s || (!q.has('status') && s === '')}, s || 'any')))),
    el('label', {}, 'Reason', el('input', {name: 'reason', value: q.get('reason') || '', placeholder: 'unmapped'})),
    el('label', {}, 'Consumer', el('input', {name: 'consumer', value: q.get('consumer') || ''})),
    el('label', {}, 'Topic', el('input', {name: 'topic', value: q.get('topic') || ''})),
    el('button', {type: 'submit', class: 'primary'}, 'Filter'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = 'dlq?' + params(form); });
  const body = el('tbody');
  page('Dead letters', form, el('table', {id: 'dlq-table'},
    el('thead', {}, el('tr', {}, ['ID', 'Last failed', 'Consumer', 'Reason', 'Status', 'Attempts', 'Error', ''].map((h) => el('th', {}, h)))), body));
  try {
    const data = await api('GET', '/v1/ops/dlq?' + q);
    if (data.dead_letters.length === 0) body.append(el('tr', {}, el('td', {colspan: 8, class: 'muted'}, 'No dead letters match.')));
    for (const d of data.dead_letters) {
      body.append(el('tr', {'data-id': d.id},
        el('td', {}, el('a', {href: '#dlq/' + d.id}, String(d.id))), timeCell(d.last_failed_at),
        el('td', {}, d.consumer), el('td', {}, d.reason), el('td', {}, badge(d.status)), el('td', {class: 'num'}, d.attempts),
        el('td', {}, d.error.length > 160 ? d.error.slice(0, 160) + '…' : d.error),
        el('td', {}, el('a', {href: '#dlq/' + d.id, class: 'inspect'}, 'Inspect'))));
    }
  } catch (err) { showError(err); }
}

async function deadLetter(id) {
  const holder = el('div');
  page('Dead letter ' + id, el('p', {}, el('a', {href: '#dlq'}, '← all dead letters')), holder);
  let d;
  try { d = await api('GET', '/v1/ops/dlq/' + encodeURIComponent(id)); } catch (err) { showError(err); return; }
  const status = el('span', {id: 'dl-status'}, badge(d.status));
  const confirmArea = el('div');
  const ask = (what, action, danger) => {
    confirmArea.replaceChildren(el('div', {class: 'confirm', role: 'dialog'},
      el('span', {}, `${what} dead letter ${d.id} (${d.consumer}, ${d.reason})?`),
      el('button', {type: 'button', id: 'confirm', class: danger ? 'danger' : 'primary', onclick: async () => {
        confirmArea.replaceChildren();
        try { await action(); } catch (err) { showError(err); }
      }}, 'Yes, ' + what.toLowerCase()),
      el('button', {type: 'button', id: 'cancel', onclick: () => confirmArea.replaceChildren()}, 'Cancel')));
  };
  const replay = async () => {
    await api('POST', `/v1/ops/dlq/${d.id}/replay`);
    watch(d.id);
  };
  const purge = async () => {
    await api('DELETE', `/v1/ops/dlq/${d.id}`);
    location.hash = 'dlq';
  };
  const payload = d.payload && d.payload.encoding === 'json' ? JSON.stringify(d.payload.json, null, 2) : (d.payload && d.payload.text) || '';
  const fields = [['Status', status], ['Consumer', d.consumer], ['Connector', d.connector || '—'], ['Topic', d.original_topic],
    ['Dead-letter topic', d.dead_letter_topic], ['Reason', d.reason], ['Attempts', d.attempts], ['Property', d.property_id || '—'],
    ['Reservation', d.reservation_id ? el('a', {href: '#timeline/' + d.reservation_id}, d.reservation_id) : '—'],
    ['Event', d.event_type || '—'], ['Correlation id', d.correlation_id || '—'], ['Message id', d.message_id],
    ['First failed', fmtTime(d.first_failed_at)], ['Last failed', fmtTime(d.last_failed_at)],
    ['Replays', d.replay_count], ['Replayed at', fmtTime(d.replayed_at)]];
  holder.replaceChildren(
    el('div', {class: 'bar'},
      el('button', {type: 'button', id: 'replay', class: 'primary', onclick: () => ask('Replay', replay)}, 'Replay'), ' ',
      el('button', {type: 'button', id: 'purge', class: 'danger', onclick: () => ask('Purge', purge, true)}, 'Purge')),
    confirmArea,
    el('dl', {class: 'fields'}, fields.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    el('h3', {}, 'Error'), el('pre', {id: 'dl-error'}, d.error),
    el('h3', {}, 'Payload ', el('span', {class: 'muted'}, d.payload_redacted ? '(card numbers, secrets and guest contact masked)' : '(masked for display)')),
    el('pre', {id: 'dl-payload'}, payload),
    el('h3', {}, 'Audit trail'),
    auditTable(d.audit || []));
}

function auditTable(rows) {
  return el('table', {id: 'dl-audit'},
    el('thead', {}, el('tr', {}, ['Requested', 'Action', 'Actor', 'Replay #', 'Completed'].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.length === 0 ? el('tr', {}, el('td', {colspan: 5, class: 'muted'}, 'Nothing done yet.')) :
      rows.map((a) => el('tr', {}, timeCell(a.requested_at), el('td', {}, a.action), el('td', {}, a.actor || '—'),
        el('td', {class: 'num'}, a.replay_count), timeCell(a.completed_at)))));
}

// watch follows a replayed dead letter until its consumer has handled it.
async function watch(id) {
  for (let i = 0; i < 120 && location.hash === '#dlq/' + id; i++) {
    try {
      const d = await api('GET', '/v1/ops/dlq/' + id);
      $('#dl-status').replaceChildren(badge(d.status));
      $('#dl-audit').replaceWith(auditTable(d.audit || []));
      if (d.status === 'resolved' || d.status === 'dead') return;
    } catch (err) { showError(err); return; }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---- Timeline ------------------------------------------------------------

async function timeline(ref) {
  const form = el('form', {class: 'bar', id: 'timeline-form'},
    el('label', {}, 'Reservation id or confirmation number', el('input', {name: 'ref', value: ref || '', required: true, size: 40})),
    el('button', {type: 'submit', class: 'primary'}, 'Show'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = 'timeline/' + encodeURIComponent(new FormData(form).get('ref').trim()); });
  const holder = el('div');
  page('Timeline', form, holder);
  if (!ref) return;
  try {
    const r = await api('GET', '/v1/reservations/' + encodeURIComponent(ref));
    const t = await api('GET', `/v1/reservations/${encodeURIComponent(r.id)}/timeline`).catch((err) => {
      if (err.status === 404) return {entries: []};
      throw err;
    });
    holder.replaceChildren(
      el('dl', {class: 'fields'},
        el('dt', {}, 'Reservation'), el('dd', {}, `${r.confirmation_number} (${r.id})`),
        el('dt', {}, 'Property'), el('dd', {}, r.property_id),
        el('dt', {}, 'Status'), el('dd', {}, badge(r.status), ' version ', r.version, (r.flags || []).map((f) => [' ', badge(f)])),
        el('dt', {}, 'Channel'), el('dd', {}, r.channel + (r.external_id ? ' ' + r.external_id : '')),
        el('dt', {}, 'Stay'), el('dd', {}, r.room_stays.map((s) => `${s.room_type} ${s.arrival}..${s.departure}`).join(', ')),
        el('dt', {}, 'Created'), el('dd', {}, fmtTime(r.created_at)),
        el('dt', {}, 'Modified'), el('dd', {}, fmtTime(r.modified_at))),
      el('h3', {}, 'Every hop'),
      el('table', {id: 'timeline-table'},
        el('thead', {}, el('tr', {}, ['First', 'Last', 'Dir.', 'Consumer', 'Connector', 'Topic', 'Event', 'Status', 'Attempts', 'Error', 'Payload'].map((h) => el('th', {}, h)))),
        el('tbody', {}, t.entries.length === 0 ? el('tr', {}, el('td', {colspan: 11, class: 'muted'}, 'No message yet.')) :
          t.entries.map((e) => el('tr', {},
            timeCell(e.first_at), timeCell(e.last_at), el('td', {}, e.direction), el('td', {}, e.consumer), el('td', {}, e.connector || '—'),
            el('td', {}, e.topic), el('td', {}, e.event_type || '—'), el('td', {}, badge(e.status)), el('td', {class: 'num'}, e.attempts),
            el('td', {class: 'error'}, e.last_error || ''),
            el('td', {}, e.payload ? el('details', {}, el('summary', {}, 'show'),
              el('pre', {}, e.payload.encoding === 'json' ? JSON.stringify(e.payload.json, null, 2) : e.payload.text)) : '—'))))));
  } catch (err) { showError(err); }
}

// ---- Channels --------------------------------------------------------------

async function channels() {
  const body = el('tbody');
  page('Channels', el('p', {class: 'muted'}, 'Each consumer of the delivery engine and the connector it calls. ',
    el('button', {type: 'button', onclick: () => route()}, 'Refresh')),
  el('table', {id: 'channels-table'},
    el('thead', {}, el('tr', {}, ['Consumer', 'Connector', 'Breaker', 'Parked', 'Pending', 'In flight', 'Dead letters', 'Last delivered', 'Delivery age', 'ARI lag', 'Last ARI push', 'Recent refusals']
      .map((h) => el('th', {}, h)))), body));
  try {
    const data = await api('GET', '/v1/ops/channels');
    const secs = (v) => v === undefined || v === null ? '—' : v.toFixed(1) + ' s';
    for (const c of data.consumers) {
      body.append(el('tr', {'data-consumer': c.consumer},
        el('td', {}, c.consumer), el('td', {}, c.connector || '—'), el('td', {}, c.breaker ? badge(c.breaker) : '—'),
        el('td', {class: 'num'}, c.parked), el('td', {class: 'num'}, c.pending), el('td', {class: 'num'}, c.in_flight ?? '—'),
        el('td', {class: 'num'}, c.dead_letters ? el('a', {href: '#dlq?status=dead&consumer=' + encodeURIComponent(c.consumer)}, c.dead_letters) : 0),
        timeCell(c.last_delivered_at), el('td', {class: 'num'}, secs(c.delivery_age_seconds)), el('td', {class: 'num'}, secs(c.ari_lag_seconds)),
        timeCell(c.last_push_at),
        el('td', {}, c.recent_refusals.map((r) => el('div', {}, el('a', {href: '#dlq/' + r.dead_letter_id}, '#' + r.dead_letter_id), ' ',
          fmtTime(r.at), ' ', r.reason, ': ', r.error.slice(0, 120))))));
    }
    if (data.consumers.length === 0) body.append(el('tr', {}, el('td', {colspan: 12, class: 'muted'}, 'No consumer runs: no connector is configured.')));
  } catch (err) { showError(err); }
}

// ---- Reservations to resolve ----------------------------------------------

async function attention(query) {
  const q = new URLSearchParams(query || 'flag=any');
  if (!q.get('flag')) q.set('flag', 'any');
  const form = el('form', {class: 'bar'},
    el('label', {}, 'Flag', el('select', {name: 'flag'}, ['any', 'overbooked', 'restricted', 'payment_declined'].map((f) =>
      el('option', {value: f, selected: q.get('flag') === f}, f)))),
    el('label', {}, 'Property', el('input', {name: 'property_id', value: q.get('property_id') || ''})),
    el('button', {type: 'submit', class: 'primary'}, 'Filter'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = 'attention?' + params(form); });
  const body = el('tbody');
  const confirmArea = el('div');
  page('Reservations to resolve', el('p', {class: 'muted'},
    'Reservations a person must look at: a channel sold a room that was not there (overbooked) or a stay that breaks a restriction ' +
    '(restricted), a payment was declined. Move the guest, change or cancel the booking, then mark the flag resolved: ' +
    'Roomwire refuses while the cause remains. The timeline shows what each partner was told.'),
  form, confirmArea, el('table', {id: 'attention-table'},
    el('thead', {}, el('tr', {}, ['Confirmation', 'Property', 'Channel', 'Stay', 'Status', 'Flags', 'Created', ''].map((h) => el('th', {}, h)))), body));
  q.set('limit', '200');
  try {
    const data = await api('GET', '/v1/reservations?' + q);
    if (data.items.length === 0) body.append(el('tr', {}, el('td', {colspan: 8, class: 'muted'}, 'Nothing to resolve.')));
    for (const r of data.items) {
      const cancel = () => confirmArea.replaceChildren(el('div', {class: 'confirm', role: 'dialog'},
        el('span', {}, `Cancel reservation ${r.confirmation_number} and give its rooms back?`),
        el('button', {type: 'button', class: 'danger', onclick: async () => {
          confirmArea.replaceChildren();
          try { await api('POST', `/v1/reservations/${r.id}/cancel`); route(); } catch (err) { showError(err); }
        }}, 'Yes, cancel it'),
        el('button', {type: 'button', onclick: () => confirmArea.replaceChildren()}, 'Keep it')));
      body.append(el('tr', {},
        el('td', {}, el('a', {href: '#timeline/' + r.id}, r.confirmation_number)), el('td', {}, r.property_id),
        el('td', {}, r.channel + (r.external_id ? ' ' + r.external_id : '')),
        el('td', {}, r.room_stays.map((s) => `${s.room_type} ${s.arrival}..${s.departure}`).join(', ')),
        el('td', {}, badge(r.status)),
        el('td', {}, (r.flags || []).map((f) => [badge(f), ' ', el('button', {type: 'button', class: 'resolve', 'data-flag': f, onclick: async () => {
          try { await api('DELETE', `/v1/reservations/${r.id}/flags/${encodeURIComponent(f)}`); route(); } catch (err) { showError(err); }
        }}, 'Mark resolved'), ' '])),
        timeCell(r.created_at),
        el('td', {}, r.status === 'confirmed' ? el('button', {type: 'button', onclick: cancel}, 'Cancel…') : '')));
    }
  } catch (err) { showError(err); }
}

// ---- Analytics -------------------------------------------------------------

function isoDay(d) { return d.toISOString().slice(0, 10); }

async function analytics(query) {
  const q = new URLSearchParams(query || '');
  const today = new Date();
  if (!q.get('from')) q.set('from', isoDay(new Date(today.getTime() - 14 * 864e5)));
  if (!q.get('to')) q.set('to', isoDay(new Date(today.getTime() + 15 * 864e5)));
  if (!q.has('group_by')) q.set('group_by', 'day');
  const form = el('form', {class: 'bar', id: 'analytics-form'},
    el('label', {}, 'Property', el('input', {name: 'property', value: q.get('property') || '', required: true, size: 10})),
    el('label', {}, 'From (night)', el('input', {name: 'from', type: 'date', value: q.get('from')})),
    el('label', {}, 'To (night)', el('input', {name: 'to', type: 'date', value: q.get('to')})),
    el('label', {}, 'Group by', el('select', {name: 'group_by'}, ['day', 'channel', 'room_type', ''].map((g) =>
      el('option', {value: g, selected: q.get('group_by') === g}, g || 'none')))),
    el('button', {type: 'submit', class: 'primary'}, 'Show'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = params(form);
    if (!p.has('group_by')) p.set('group_by', '');
    location.hash = 'analytics?' + p;
  });
  const holder = el('div');
  page('Analytics', form, holder);
  const property = q.get('property');
  if (!property) return;
  const apiQuery = new URLSearchParams({from: q.get('from'), to: q.get('to')});
  if (q.get('group_by')) apiQuery.set('group_by', q.get('group_by'));
  let a;
  try { a = await api('GET', `/v1/properties/${encodeURIComponent(property)}/analytics?${apiQuery}`); } catch (err) { showError(err); return; }
  const money = (m) => `${m.amount} ${m.currency}`;
  const pct = (x) => (x * 100).toFixed(1) + ' %';
  const t = a.totals;
  const card = (label, value, id) => el('div', {class: 'card'}, el('div', {class: 'label'}, label), el('div', {class: 'value', id}, value));
  holder.replaceChildren(
    el('div', {class: 'cards'},
      card('Occupancy', pct(t.occupancy), 'a-occupancy'), card('ADR', money(t.adr), 'a-adr'), card('RevPAR', money(t.revpar), 'a-revpar'),
      card('Revenue', money(t.revenue), 'a-revenue'), card('Rooms sold / available', `${t.rooms_sold} / ${t.rooms_available}`, 'a-rooms'),
      card('Cancellations', `${t.cancellations} (${t.cancelled_room_nights} nights)`), card('No-shows', `${t.no_shows} (${t.no_show_room_nights} nights)`),
      card('Pickup in the period', `${a.pickup.reservations} bookings, ${a.pickup.room_nights} nights, ${money(a.pickup.revenue)}`)),
    a.groups && a.groups.length ? chart(a.groups) : el('p', {class: 'muted'}, 'Choose a grouping for a chart.'),
    a.groups && a.groups.length ? el('table', {id: 'analytics-table'},
      el('thead', {}, el('tr', {}, ['Group', 'Available', 'Sold', 'Occupancy', 'ADR', 'RevPAR', 'Revenue', 'Cancellations', 'No-shows'].map((h) => el('th', {}, h)))),
      el('tbody', {}, a.groups.map((g) => el('tr', {}, el('td', {}, g.key), el('td', {class: 'num'}, g.rooms_available), el('td', {class: 'num'}, g.rooms_sold),
        el('td', {class: 'num'}, pct(g.occupancy)), el('td', {class: 'num'}, money(g.adr)), el('td', {class: 'num'}, money(g.revpar)),
        el('td', {class: 'num'}, money(g.revenue)), el('td', {class: 'num'}, g.cancellations), el('td', {class: 'num'}, g.no_shows))))) : '',
    el('h3', {}, 'Channel mix'),
    el('table', {id: 'channel-mix'},
      el('thead', {}, el('tr', {}, ['Channel', 'Rooms sold', 'Share', 'Revenue'].map((h) => el('th', {}, h)))),
      el('tbody', {}, a.channel_mix.length === 0 ? el('tr', {}, el('td', {colspan: 4, class: 'muted'}, 'Nothing sold.')) :
        a.channel_mix.map((c) => el('tr', {}, el('td', {}, c.channel), el('td', {class: 'num'}, c.rooms_sold), el('td', {class: 'num'}, pct(c.share)),
          el('td', {class: 'num'}, money(c.revenue)))))));
}

// chart draws the groups' occupancy as bars in inline SVG; a bar above 100 %
// (overbooked) is red.
function chart(groups) {
  const ns = 'http://www.w3.org/2000/svg';
  const svgEl = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const w = 900, h = 240, left = 40, bottom = 50, top = 10;
  const top100 = Math.max(1, ...groups.map((g) => g.occupancy));
  const bw = Math.min(60, (w - left - 10) / groups.length);
  const svg = svgEl('svg', {class: 'chart', id: 'analytics-chart', viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': 'Occupancy per group'});
  const y = (v) => top + (h - top - bottom) * (1 - v / top100);
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(svgEl('line', {class: 'axis', x1: left, x2: w - 10, y1: y(v), y2: y(v)}));
    svg.append(svgEl('text', {x: 2, y: y(v) + 3}, (v * 100) + '%'));
  }
  groups.forEach((g, i) => {
    const x = left + i * bw;
    const bar = svgEl('rect', {class: g.occupancy > 1 ? 'bar over' : 'bar', x: x + bw * 0.1, width: Math.max(1, bw * 0.8),
      y: y(g.occupancy), height: Math.max(0, y(0) - y(g.occupancy)), 'data-key': g.key});
    bar.append(svgEl('title', {}, `${g.key}: ${(g.occupancy * 100).toFixed(1)} % (${g.rooms_sold}/${g.rooms_available}), RevPAR ${g.revpar.amount}`));
    svg.append(bar);
    if (groups.length <= 40 || i % Math.ceil(groups.length / 40) === 0) {
      svg.append(svgEl('text', {x: x + bw / 2, y: h - bottom + 12, transform: `rotate(45 ${x + bw / 2} ${h - bottom + 12})`}, g.key));
    }
  });
  return svg;
}

// ---- Routing ---------------------------------------------------------------

function route() {
  if (!sessionStorage.getItem(keyName)) {
    // Already at the sign-in form: leave alone what the operator is typing.
    if ($('#login').hidden) signOut();
    return;
  }
  $('#login').hidden = true;
  $('#nav').hidden = false;
  $('#page').hidden = false;
  const [rawPath, query] = (location.hash.slice(1) || 'dlq').split('?');
  const section = rawPath.split('/')[0];
  const arg = decodeURIComponent(rawPath.split('/').slice(1).join('/'));
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === '#' + section);
  switch (section) {
    case 'dlq': return arg ? deadLetter(arg) : deadLetters(query);
    case 'timeline': return timeline(arg);
    case 'channels': return channels();
    case 'attention': return attention(query);
    case 'analytics': return analytics(query);
    default: location.hash = 'dlq';
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', signIn);
  $('#signout').addEventListener('click', () => { signOut('Signed out.'); location.hash = ''; });
  window.addEventListener('hashchange', route);
  route();
});
