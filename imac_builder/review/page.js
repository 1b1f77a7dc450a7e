'use strict';
// imac-build review: every value from the tables is shown with textContent (never as
// HTML), links are built only from video ids that are exactly 11 [A-Za-z0-9_-] characters.
(function () {
  const t0 = performance.now();
  const D = JSON.parse(document.getElementById('review-data').textContent);
  const S = {}; D.fields.song.forEach((f, i) => { S[f] = i; });
  const C = {}; D.fields.candidate.forEach((f, i) => { C[f] = i; });
  const songs = D.songs;
  const PER = 25;
  const YT = /^[A-Za-z0-9_-]{11}$/;
  const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  const decisions = new Map();   // track id -> {video_id, note}; video_id null removes a row
  const undo = [];
  const timings = { parse: 0, firstRender: 0, lastFilter: 0 };
  let view = [], page = 0, cursor = 0;
  const $ = (id) => document.getElementById(id);

  // ---- text and elements -------------------------------------------------------------
  function show(v) {  // bidi controls become visible marks, so no title can reorder a line
    return String(v === null || v === undefined ? '' : v).replace(BIDI,
      (c) => '[U+' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0') + ']');
  }
  function el(tag, cls, ...kids) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    for (const k of kids) {
      if (k === null || k === undefined || k === false) continue;
      e.appendChild(typeof k === 'object' ? k : document.createTextNode(show(k)));
    }
    return e;
  }
  function txt(v) { return el('span', 't', v); }
  function videoLink(vid) {
    if (!YT.test(vid)) return txt(vid);
    const a = el('a', 't', vid);
    a.href = 'https://www.youtube.com/watch?v=' + vid;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    return a;
  }
  function secs(v) {
    if (v === null || v === undefined) return '?';
    const s = Math.round(v);
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }
  function diff(video, msd) {
    if (video === null || video === undefined || msd === null || msd === undefined) return '';
    const d = Math.round(video - msd);
    return ' (' + (d >= 0 ? '+' : '\u2212') + Math.abs(d) + ' s vs MSD)';
  }
  function fmtScore(v) { return v === null || v === undefined ? '\u2013' : Number(v).toFixed(1); }

  // ---- what each song is ---------------------------------------------------------------
  function decision(s) {
    const tid = s[S.track_id];
    if (decisions.has(tid)) return Object.assign({ pending: true }, decisions.get(tid));
    if (s[S.override]) return { video_id: s[S.override], note: s[S.override_note], pending: false };
    return null;
  }
  function flags(s) {
    const w = s[S.reason_word], out = [];
    if (s[S.status] === 'matched') out.push(w === 'override' ? 'override' : 'matched');
    if (s[S.status] === 'no_match') out.push(w === 'skipped' ? 'skipped' : 'no_match');
    const dl = s[S.download];
    if (dl && dl[0] && dl[0] !== 'ok') out.push('download_failed');
    return out;
  }
  function band(s) {
    const v = s[S.score];
    if (v === null || v === undefined) return 'none';
    return v >= 90 ? '90-100' : v >= 75 ? '75-89' : v >= 50 ? '50-74' : '0-49';
  }
  const hay = songs.map((s) => {
    const parts = [s[S.track_id], s[S.artist], s[S.title], s[S.video_id], s[S.video_title],
      s[S.channel], s[S.reason]];
    for (const c of s[S.candidates]) parts.push(c[C.video_id], c[C.title], c[C.channel]);
    return parts.join('\n').toLowerCase();
  });
  const FACETS = {
    status: { label: 'any', values: ['matched', 'no_match', 'override', 'skipped', 'download_failed'],
      of: flags },
    reason: { label: 'any', values: ['matched', 'override'].concat(Object.keys(D.reasons)),
      of: (s) => [s[S.reason_word] || 'not in matches.csv'] },
    band: { label: 'any', values: ['90-100', '75-89', '50-74', '0-49', 'none'], of: (s) => [band(s)] },
    label: { label: 'any', values: D.labels, of: (s) => [s[S.label]] },
    decided: { label: 'any', values: ['yes', 'no'], of: (s) => [decision(s) ? 'yes' : 'no'] },
  };
  const NAMES = { no_match: 'no match', download_failed: 'download failed' };
  function current() {
    const f = {};
    for (const k of Object.keys(FACETS)) f[k] = $('f-' + k).value;
    f.q = $('q').value.trim().toLowerCase();
    return f;
  }
  function passes(i, f, skip) {
    const s = songs[i];
    for (const k of Object.keys(FACETS)) {
      if (k === skip || !f[k]) continue;
      if (!FACETS[k].of(s).includes(f[k])) return false;
    }
    return !f.q || hay[i].includes(f.q);
  }
  function fillSelects(f) {
    for (const [k, facet] of Object.entries(FACETS)) {
      const counts = new Map();
      for (let i = 0; i < songs.length; i++) {
        if (!passes(i, f, k)) continue;
        for (const v of facet.of(songs[i])) counts.set(v, (counts.get(v) || 0) + 1);
      }
      const sel = $('f-' + k), keep = f[k];
      sel.textContent = '';
      let all = 0;
      for (const v of facet.values) all += counts.get(v) || 0;
      const opt = el('option', null, facet.label);
      opt.value = '';
      sel.appendChild(opt);
      const values = facet.values.slice();
      for (const v of counts.keys()) if (!values.includes(v)) values.push(v);
      for (const v of values) {
        const o = el('option', null, (NAMES[v] || v) + ' (' + (counts.get(v) || 0) + ')');
        o.value = v;
        sel.appendChild(o);
      }
      sel.value = keep;
    }
  }
  function sortView(order) {
    const key = $('f-sort').value;
    if (key === 'track') return order;
    const sc = (i) => { const v = songs[i][S.score]; return v === null || v === undefined ? -1 : v; };
    if (key === 'score-asc') order.sort((a, b) => sc(a) - sc(b) || a - b);
    else if (key === 'score-desc') order.sort((a, b) => sc(b) - sc(a) || a - b);
    else order.sort((a, b) => String(songs[a][S.artist]).localeCompare(String(songs[b][S.artist])) || a - b);
    return order;
  }
  function applyFilters(keepCursor) {
    const t = performance.now();
    const f = current();
    const order = [];
    for (let i = 0; i < songs.length; i++) if (passes(i, f, null)) order.push(i);
    view = sortView(order);
    if (!keepCursor) { page = 0; cursor = 0; }
    page = Math.min(page, Math.max(0, Math.ceil(view.length / PER) - 1));
    fillSelects(f);
    render();
    timings.lastFilter = performance.now() - t;
  }

  // ---- rendering --------------------------------------------------------------------------
  function candidateParts(c, s) {
    const p = ['title ' + c[C.title_sim], 'artist ' + c[C.artist_sim]];
    if (c[C.official]) p.push('official channel (' + c[C.official] + ')');
    if (c[C.duration] !== null && s[S.duration] !== null) {
      p.push('duration ' + secs(c[C.duration]) + diff(c[C.duration], s[S.duration]).replace(/^ \(|\)$/g, ' ').trimEnd());
    }
    if (c[C.penalties].length) p.push('penalised ' + c[C.penalties].map((x) => "'" + x + "'").join(', '));
    if (c[C.qualifiers].length) p.push('unexplained ' + c[C.qualifiers].map((x) => "'" + x + "'").join(', '));
    p.push('rank ' + c[C.rank]);
    return p.join('; ');
  }
  function heldBack(c, s, chosen) {
    if (c[C.excluded]) return 'failed to download for good (' + c[C.excluded] + ')';
    if (c[C.video_id] === chosen) return '';
    if (c[C.failed].length) return c[C.failed].join('; ');
    return chosen ? 'passes; a candidate scoring higher was chosen' : 'passes';
  }
  function card(i, n) {
    const s = songs[i], tid = s[S.track_id], chosen = s[S.video_id], dec = decision(s);
    const a = el('article', 'song' + (n === cursor ? ' cursor' : ''));
    a.dataset.track = tid;
    a.addEventListener('click', () => { cursor = n; markCursor(); });
    const h = el('h2', null, txt(s[S.artist]), ' \u2013 ', txt(s[S.title]));
    for (const fl of flags(s)) h.appendChild(el('span', 'badge b-' + fl, NAMES[fl] || fl));
    if (dec) h.appendChild(el('span', 'badge b-decided', 'decided by a person'));
    a.appendChild(h);
    a.appendChild(el('div', 'meta', tid + ' \u00b7 MSD duration ' + secs(s[S.duration]) +
      ' \u00b7 label ' + s[S.label]));
    const word = s[S.reason_word];
    if (s[S.status] === 'matched' && chosen) {
      a.appendChild(el('div', 'chosen', 'Chosen: ', videoLink(chosen), ' \u201c', txt(s[S.video_title]),
        '\u201d \u2014 ', txt(s[S.channel]), ', ' + secs(s[S.video_duration]) +
        diff(s[S.video_duration], s[S.duration]) + ', score ' + fmtScore(s[S.score])));
      a.appendChild(el('div', 'meta', word === 'override'
        ? 'Why: a person chose it in search/overrides.csv: ' : 'Why (score parts): ', txt(s[S.reason])));
    } else {
      const advice = D.reasons[word] || (s[S.status] ? '' : 'not in matches.csv: run search');
      a.appendChild(el('div', 'none', 'No video: ' + (word || 'not searched') + (advice ? ' \u2014 ' + advice : '')));
      if (s[S.reason]) a.appendChild(el('div', 'meta', 'Reason: ', txt(s[S.reason])));
    }
    if (dec) {
      a.appendChild(el('div', 'decision', (dec.pending ? 'Your decision (not saved yet): ' : 'Decided in search/overrides.csv: ') +
        (dec.video_id === null ? 'remove the override' : dec.video_id === 'skip' ? 'skip this song' : 'video '),
        dec.video_id && dec.video_id !== 'skip' ? videoLink(dec.video_id) : null,
        dec.note ? ' (' + dec.note + ')' : null));
    }
    const cands = s[S.candidates];
    if (cands.length) {
      const tb = el('table', 'cands');
      const hr = el('tr');
      for (const [h2, cl] of [['N', ''], ['video', ''], ['title', ''], ['channel', ''], ['duration', ''],
        ['score', 'num'], ['parts', ''], ['held back by', ''], ['', '']]) hr.appendChild(el('th', cl, h2));
      tb.appendChild(hr);
      cands.forEach((c, k) => {
        const picked = dec && dec.video_id === c[C.video_id];
        const tr = el('tr', c[C.video_id] === chosen ? 'is-chosen' : picked ? 'is-picked' : '');
        tr.appendChild(el('td', null, String(k + 1)));
        tr.appendChild(el('td', null, videoLink(c[C.video_id])));
        tr.appendChild(el('td', null, txt(c[C.title])));
        tr.appendChild(el('td', null, txt(c[C.channel])));
        tr.appendChild(el('td', null, secs(c[C.duration]) + diff(c[C.duration], s[S.duration])));
        tr.appendChild(el('td', 'num', fmtScore(c[C.score])));
        tr.appendChild(el('td', 'meta', candidateParts(c, s)));
        tr.appendChild(el('td', 'held', heldBack(c, s, chosen)));
        const b = el('button', null, k < 9 ? 'choose (' + (k + 1) + ')' : 'choose');
        b.type = 'button';
        b.addEventListener('click', (e) => { e.stopPropagation(); cursor = n; choose(s, k); });
        tr.appendChild(el('td', null, b));
        tb.appendChild(tr);
      });
      a.appendChild(tb);
    } else {
      a.appendChild(el('div', 'meta', 'No stored candidates (search/candidates.jsonl has none for this song).'));
    }
    const dl = s[S.download];
    let dtext = 'Download: not attempted';
    if (dl) {
      dtext = 'Download: ' + dl[0] + (dl[0] === 'ok' ? ' (' + dl[3] + ' segments)' : '') +
        (dl[1] ? ': ' + dl[1] : '') + (D.downloads[dl[0]] && dl[0] !== 'ok' ? ' \u2014 ' + D.downloads[dl[0]] : '');
      if (dl[2] && dl[2] !== chosen) dtext += ' (for video ' + dl[2] + ', not the one chosen now)';
    }
    a.appendChild(el('div', 'download', dtext));
    for (const fv of s[S.failed_videos]) {
      a.appendChild(el('div', 'meta', 'Failed for good: ', videoLink(fv[0]), ' ' + fv[1] + (fv[2] ? ': ' + fv[2] : '')));
    }
    const bar = el('div', 'bar');
    for (const [label, fn] of [['accept (a)', () => accept(s)], ['skip (s)', () => skip(s)]]) {
      const b = el('button', null, label);
      b.type = 'button';
      b.addEventListener('click', (e) => { e.stopPropagation(); cursor = n; fn(); });
      bar.appendChild(b);
    }
    if (s[S.override]) {
      const b = el('button', null, 'remove the saved override');
      b.type = 'button';
      b.addEventListener('click', (e) => { e.stopPropagation(); cursor = n; decide(s, { video_id: null, note: '' }); });
      bar.appendChild(b);
    }
    a.appendChild(bar);
    return a;
  }
  function render() {
    const list = $('list');
    list.textContent = '';
    const start = page * PER, end = Math.min(view.length, start + PER);
    const frag = document.createDocumentFragment();
    for (let n = start; n < end; n++) frag.appendChild(card(view[n], n - start));
    list.appendChild(frag);
    const pages = Math.max(1, Math.ceil(view.length / PER));
    $('shown').textContent = view.length + ' of ' + songs.length + ' songs';
    $('pageno').textContent = ' page ' + (page + 1) + ' of ' + pages + ' ';
    $('pending').textContent = decisions.size ? decisions.size + ' decision(s) not saved yet' : '';
  }
  function markCursor() {
    const cards = $('list').children;
    for (let n = 0; n < cards.length; n++) cards[n].classList.toggle('cursor', n === cursor);
    if (cards[cursor]) cards[cursor].scrollIntoView({ block: 'nearest' });
  }
  function rerenderCurrent() {  // keep the list as it is (a decided song stays in view)
    const cards = $('list').children, i = view[page * PER + cursor];
    if (i === undefined || !cards[cursor]) return;
    $('list').replaceChild(card(i, cursor), cards[cursor]);
    $('pending').textContent = decisions.size ? decisions.size + ' decision(s) not saved yet' : '';
    markCursor();
  }
  function renderSummary() {
    const sm = D.summary, box = $('summary');
    box.textContent = '';
    const t = el('table');
    t.appendChild(el('tr', null, el('th', null, 'label'), el('th', null, 'songs here'), el('th', null, "paper's Table 3")));
    let a = 0, b = 0;
    for (const [g, n, paper] of sm.labels) {
      t.appendChild(el('tr', null, el('td', null, g), el('td', null, String(n)), el('td', null, paper.toLocaleString('en'))));
      a += n; b += paper;
    }
    t.appendChild(el('tr', null, el('td', null, 'total'), el('td', null, String(a)), el('td', null, b.toLocaleString('en'))));
    box.appendChild(el('div', null, el('b', null, 'Songs per label'), t));
    const ul = el('ul');
    for (const st of ['search', 'download']) {
      if (sm.stages[st]) ul.appendChild(el('li', null, st + ': ' + sm.stages[st][0] + (sm.stages[st][1] ? ', ' + sm.stages[st][1] : '')));
    }
    for (const [st, words] of Object.entries(sm.failures_by_reason)) {
      ul.appendChild(el('li', null, st + ' failures by reason: ' +
        Object.entries(words).map(([w, n]) => n + ' ' + w).join(', ')));
    }
    ul.appendChild(el('li', null, sm.overrides + ' songs decided by hand in search/overrides.csv'));
    box.appendChild(el('div', null, el('b', null, 'Matches (as status prints them)'), ul));
    const det = el('details', null, el('summary', null, 'imac-build status'), el('pre', null, sm.status_lines.join('\n')));
    box.appendChild(det);
  }

  // ---- decisions --------------------------------------------------------------------------
  function say(m) { $('msg').textContent = m; }
  function decide(s, dec) {
    const tid = s[S.track_id];
    undo.push([tid, decisions.has(tid) ? decisions.get(tid) : undefined]);
    decisions.set(tid, dec);
    say('');
    rerenderCurrent();
  }
  function accept(s) {
    const vid = s[S.status] === 'matched' ? s[S.video_id] : '';
    if (!YT.test(vid)) { say('nothing to accept: this song has no chosen YouTube video (choose 1\u20139 or skip)'); return; }
    decide(s, { video_id: vid, note: 'accepted in review' });
  }
  function choose(s, k) {
    const c = s[S.candidates][k];
    if (!c) { say('this song has no candidate ' + (k + 1)); return; }
    if (!YT.test(c[C.video_id])) { say('candidate ' + (k + 1) + ' has no YouTube video id'); return; }
    decide(s, { video_id: c[C.video_id], note: 'chosen in review' });
  }
  function skip(s) { decide(s, { video_id: 'skip', note: 'skipped in review' }); }
  function undoLast() {
    const last = undo.pop();
    if (!last) { say('nothing to undo'); return; }
    const [tid, prev] = last;
    if (prev === undefined) decisions.delete(tid); else decisions.set(tid, prev);
    const n = view.slice(page * PER, page * PER + PER).findIndex((i) => songs[i][S.track_id] === tid);
    if (n >= 0) { cursor = n; rerenderCurrent(); } else render();
    say('undone: ' + tid);
  }
  function merged() {  // the overrides.csv the decisions make: saved rows, then the page's
    const rows = new Map();
    for (const [tid, v, note] of D.extra_overrides || []) rows.set(tid, [v, note]);
    for (const s of songs) if (s[S.override]) rows.set(s[S.track_id], [s[S.override], s[S.override_note]]);
    for (const [tid, d] of decisions) {
      if (d.video_id === null) rows.delete(tid); else rows.set(tid, [d.video_id, d.note]);
    }
    return [...rows.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1));
  }
  function csvField(v) {
    const s = String(v);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function exportCsv() {
    const lines = ['track_id,video_id,note'];
    for (const [tid, [v, note]] of merged()) lines.push([tid, v, note].map(csvField).join(','));
    const blob = new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'overrides.csv';
    document.body.appendChild(a);
    a.click();
    a.remove();
    say('exported overrides.csv (' + (lines.length - 1) + ' rows): put it at search/overrides.csv and run imac-build search --rerank');
  }
  async function save() {
    const body = { token: D.token, decisions: [...decisions].map(([tid, d]) => ({ track_id: tid, video_id: d.video_id, note: d.note })) };
    if (!body.decisions.length) { say('no decisions to save'); return; }
    let r, doc;
    try {
      r = await fetch('overrides', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      doc = await r.json();
    } catch (e) { say('not saved: ' + e); return; }
    if (!r.ok) { say('not saved: ' + (doc && doc.error)); return; }
    const ov = doc.overrides || {};
    for (const s of songs) {
      const o = ov[s[S.track_id]];
      s[S.override] = o ? o[0] : '';
      s[S.override_note] = o ? o[1] : '';
    }
    decisions.clear();
    undo.length = 0;
    applyFilters(true);
    say(doc.message);
  }

  // ---- wiring -----------------------------------------------------------------------------
  function move(d) {
    const onPage = Math.min(PER, view.length - page * PER);
    let n = cursor + d;
    if (n >= onPage) {
      if ((page + 1) * PER < view.length) { page++; render(); cursor = 0; markCursor(); }
      return;
    }
    if (n < 0) {
      if (page > 0) { page--; render(); cursor = PER - 1; markCursor(); }
      return;
    }
    cursor = n;
    markCursor();
  }
  function currentSong() { const i = view[page * PER + cursor]; return i === undefined ? null : songs[i]; }
  document.addEventListener('keydown', (e) => {
    const tag = (e.target && e.target.tagName) || '';
    if (e.ctrlKey || e.metaKey || e.altKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(tag)) {
      if ((e.key === 'Escape' || e.key === 'Enter') && tag === 'INPUT') e.target.blur();
      return;
    }
    const s = currentSong();
    if (e.key === 'j') move(1);
    else if (e.key === 'k') move(-1);
    else if (e.key === 'u') undoLast();
    else if (e.key === '/') { e.preventDefault(); $('q').focus(); }
    else if (s && e.key === 'a') accept(s);
    else if (s && e.key === 's') skip(s);
    else if (s && /^[1-9]$/.test(e.key)) choose(s, Number(e.key) - 1);
    else return;
    e.preventDefault();
  });
  // after a choice the keys go back to the list (a focused select would take j / k)
  for (const k of Object.keys(FACETS).concat(['sort'])) {
    $('f-' + k).addEventListener('change', (e) => { applyFilters(false); e.target.blur(); });
  }
  let typing = 0;
  $('q').addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => applyFilters(false), 120); });
  $('prev').addEventListener('click', () => { if (page > 0) { page--; cursor = 0; render(); } });
  $('next').addEventListener('click', () => { if ((page + 1) * PER < view.length) { page++; cursor = 0; render(); } });
  $('export').addEventListener('click', exportCsv);
  if (D.token) { $('save').hidden = false; $('save').addEventListener('click', save); }
  window.addEventListener('beforeunload', (e) => { if (decisions.size) { e.preventDefault(); e.returnValue = ''; } });
  $('where').textContent = show(D.workdir) + ' \u00b7 written ' + show(D.written);
  timings.parse = performance.now() - t0;
  renderSummary();
  applyFilters(false);
  timings.firstRender = performance.now();
  window.reviewTimings = timings;
  window.reviewDecisions = () => merged();
  document.body.dataset.ready = '1';
})();
