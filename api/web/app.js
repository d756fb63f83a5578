/* The officers' page: photograph, check, correct, trace. Plain JS, no build step, nothing external. */
(function () {
  'use strict';

  var LANGS = ['en', 'sr-Latn', 'sr-Cyrl', 'bs', 'hr', 'cnr', 'sq', 'mk', 'fr'];
  var LOCALES = { en: 'en', 'sr-Latn': 'sr-Latn-RS', 'sr-Cyrl': 'sr-Cyrl-RS', bs: 'bs-BA', hr: 'hr-HR',
    cnr: 'sr-Latn-ME', sq: 'sq-AL', mk: 'mk-MK', fr: 'fr-FR' };
  var KEY_ITEM = 'caliber.key';
  var LANG_ITEM = 'caliber.lang';
  var VERSION = (document.querySelector('meta[name=caliber-version]') || {}).content || '';
  var FIELDS = { make: 'maker', model: 'model', calibre: 'calibre' };

  var $ = function (id) { return document.getElementById(id); };
  // storage the browser may refuse (blocked cookies, some private modes): then the page only forgets sooner
  function storage(kind) {
    var mem = {};
    try { var s = window[kind]; s.setItem('caliber.probe', '1'); s.removeItem('caliber.probe'); return s; } catch (e) {
      return { getItem: function (k) { return k in mem ? mem[k] : null; }, setItem: function (k, v) { mem[k] = String(v); },
        removeItem: function (k) { delete mem[k]; } };
    }
  }
  var session = storage('sessionStorage'), local = storage('localStorage');
  var S = {
    lang: 'en', dict: {}, en: {}, key: '', photo: null, xhr: null, rec: null, tiles: [], machine: {},
    saved: {}, retry: null, error: null, hits: null, savedAt: null, advice: false, retryTimer: 0
  };

  // ------------------------------------------------------------------ languages and formats

  function pickLanguage() {
    var stored = local.getItem(LANG_ITEM);
    if (stored && LANGS.indexOf(stored) >= 0) return stored;
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    for (var i = 0; i < wanted.length; i++) {
      var w = String(wanted[i]).toLowerCase();
      var base = w.split('-')[0];
      if (w === 'sr-me' || w.indexOf('sr-latn-me') === 0 || base === 'cnr') return 'cnr';
      if (base === 'sr') return w.indexOf('latn') >= 0 ? 'sr-Latn' : 'sr-Cyrl';
      if (base === 'sh') return 'sr-Latn';
      if (['bs', 'hr', 'sq', 'mk', 'fr', 'en'].indexOf(base) >= 0) return base;
    }
    return 'en';
  }

  function loadDict(lang) {
    return fetch('web/i18n/' + lang + '.json?v=' + VERSION).then(function (r) {
      if (!r.ok) throw new Error('i18n ' + r.status);
      return r.json();
    });
  }

  function t(key, params) {
    var s = S.dict[key];
    if (s === undefined) s = S.en[key];
    if (s === undefined) return key;
    return s.replace(/\{(\w+)\}/g, function (m, name) {
      return params && params[name] !== undefined ? String(params[name]) : m;
    });
  }
  // a message whose data (serials, makers, sources) is kept apart from the wording: translate="no"
  function tx(key, params, data) {
    var frag = document.createDocumentFragment(), parts = t(key, {}).split(/\{(\w+)\}/);
    parts.forEach(function (part, i) {
      if (i % 2 === 0) { if (part) frag.appendChild(document.createTextNode(part)); return; }
      var v = params && params[part] !== undefined ? String(params[part]) : '{' + part + '}';
      frag.appendChild(data && data.indexOf(part) >= 0 ? el('span', { translate: 'no' }, v) : document.createTextNode(v));
    });
    return frag;
  }
  function put(node, frag) { node.textContent = ''; node.appendChild(frag); return node; }
  function has(key) { return S.dict[key] !== undefined || S.en[key] !== undefined; }

  function locale() { return LOCALES[S.lang] || 'en'; }
  function num(n, opts) {
    try { return new Intl.NumberFormat(locale(), opts).format(n); } catch (e) { return String(n); }
  }
  function pct(p) { return num(p, { style: 'percent', maximumFractionDigits: 0 }); }
  function size(bytes) {
    var mb = bytes / 1048576;
    try {
      return new Intl.NumberFormat(locale(), mb >= 1 ? { style: 'unit', unit: 'megabyte', maximumFractionDigits: 1 }
        : { style: 'unit', unit: 'kilobyte', maximumFractionDigits: 0 }).format(mb >= 1 ? mb : bytes / 1024);
    } catch (e) { return num(Math.round(bytes / 1024)) + ' kB'; }
  }
  function date(value, withTime) {
    var d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) return String(value);
    var opts = withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' };
    try { return new Intl.DateTimeFormat(locale(), opts).format(d); } catch (e) { return d.toISOString(); }
  }

  function setLanguage(lang) {
    S.lang = lang;
    var wanted = lang === 'en' ? Promise.resolve(S.en) : loadDict(lang);
    return wanted.then(function (dict) {
      S.dict = dict;
      $('lang').value = lang;
      translatePage();
    }).catch(function () { S.dict = S.en; translatePage(); });
  }

  function translatePage() {
    document.documentElement.lang = S.lang;
    document.title = t('app.title');
    each('[data-i18n]', function (el) { el.textContent = t(el.getAttribute('data-i18n')); });
    ['placeholder', 'aria-label', 'alt', 'title'].forEach(function (attr) {
      each('[data-i18n-' + attr + ']', function (el) { el.setAttribute(attr, t(el.getAttribute('data-i18n-' + attr))); });
    });
    renderAll();
  }

  function each(sel, fn) { Array.prototype.forEach.call(document.querySelectorAll(sel), fn); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'class') e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(id, on) { $(id).hidden = !on; }

  // ------------------------------------------------------------------ messages

  function say(key, params) {
    S.status = key ? [key, params] : null;
    renderStatus();
  }
  function renderStatus() {
    var st = $('status');
    st.hidden = !S.status;
    st.textContent = S.status ? t(S.status[0], S.status[1]) : '';
  }

  function fail(err, retry) {
    S.error = err;
    S.retry = retry || null;
    say(null);
    renderError();
    if (retry && err.code === 'busy') {  // come back when the service says so
      clearTimeout(S.retryTimer);
      S.retryTimer = setTimeout(function () { if (S.retry === retry) runRetry(); }, 1000 * (err.retryAfter || 5));
    }
    $('error').scrollIntoView({ block: 'nearest' });
  }
  function clearError() { S.error = null; S.retry = null; clearTimeout(S.retryTimer); renderError(); }

  function errorText(err) {
    if (err.code === 'network') return t(navigator.onLine === false ? 'net.offline' : 'net.failed');
    if (err.code === 'network_timeout') return t('net.timeout');
    if (err.code && has('problem.' + err.code)) return t('problem.' + err.code, { s: num(err.retryAfter || 5) });
    return t('problem._other', { status: err.status || '?' });
  }

  function renderError() {
    var err = S.error;
    show('error', !!err);
    if (!err) return;
    var text = errorText(err);
    if (S.retry && S.photo && !S.rec) text += ' ' + t('kept.safe');
    $('error-text').textContent = text;
    $('error-detail-text').textContent = err.detail || '';
    $('error-detail').hidden = !err.detail;
    show('retry', !!S.retry);
  }

  function runRetry() {
    var r = S.retry;
    clearError();
    if (r) r();
  }

  // ------------------------------------------------------------------ the service

  function ApiError(status, body, retryAfter) {
    this.status = status;
    this.code = body && body.code ? body.code : (status ? 'http_' + status : 'network');
    this.detail = body && body.detail ? String(body.detail) : '';
    this.retryAfter = retryAfter ? parseInt(retryAfter, 10) || 5 : 0;
  }

  function parse(text) { try { return JSON.parse(text); } catch (e) { return null; } }

  function api(method, path, body) {
    var headers = { 'X-API-Key': S.key, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store' })
      .catch(function () { throw new ApiError(0, { code: 'network' }); })
      .then(function (r) {
        return r.text().then(function (text) {
          var data = parse(text);
          if (!r.ok) throw new ApiError(r.status, data, r.headers.get('Retry-After'));
          return data;
        });
      });
  }

  function onApiError(err, retry) {
    if (!(err instanceof ApiError)) err = new ApiError(0, { code: 'internal_error', detail: String(err) });
    if (err.code === 'unauthorized') {
      S.key = '';
      session.removeItem(KEY_ITEM);
      if (retry) S.resume = retry;  // a wrong key typed at sign-in keeps what was waiting
      route();
      fail(err, null);
      return;
    }
    var retryable = ['network', 'network_timeout', 'busy', 'not_ready', 'timeout', 'internal_error',
      'request_timeout'].indexOf(err.code) >= 0 || err.status >= 500;
    fail(err, retryable ? retry : null);
  }

  // ------------------------------------------------------------------ photos kept on the phone

  var db = null;
  function openDb() {
    if (db) return db;
    db = new Promise(function (resolve) {
      try {
        var req = indexedDB.open('caliber', 1);
        req.onupgradeneeded = function () { req.result.createObjectStore('photos'); };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { resolve(null); };
      } catch (e) { resolve(null); }
    });
    return db;
  }
  function idb(mode, fn) {
    return openDb().then(function (d) {
      if (!d) return null;
      return new Promise(function (resolve) {
        var tx = d.transaction('photos', mode);
        var req = fn(tx.objectStore('photos'));
        tx.oncomplete = function () { resolve(req && req.result); };
        tx.onerror = tx.onabort = function () { resolve(null); };
      });
    });
  }
  function keep(photo) {
    return idb('readwrite', function (s) {
      return s.put({ data: photo.data, name: photo.name, type: photo.type, idem: photo.idem, at: photo.at }, 'pending');
    });
  }
  function kept() { return idb('readonly', function (s) { return s.get('pending'); }); }
  function forget() { return idb('readwrite', function (s) { return s.delete('pending'); }); }

  function newKey() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }

  function usePhoto(rec) {
    if (S.photo && S.photo.url) URL.revokeObjectURL(S.photo.url);
    var blob = new Blob([rec.data], { type: rec.type || 'application/octet-stream' });
    S.photo = { data: rec.data, name: rec.name, type: rec.type, idem: rec.idem, at: rec.at, blob: blob,
      url: URL.createObjectURL(blob) };
  }

  function onFile(input) {
    var file = input.files && input.files[0];
    input.value = '';
    if (!file) return;
    clearError();
    file.arrayBuffer().then(function (data) {
      usePhoto({ data: data, name: file.name || 'photo.jpg', type: file.type, idem: newKey(), at: Date.now() });
      return keep(S.photo);
    }).then(upload);
  }

  // ------------------------------------------------------------------ upload with progress

  function upload() {
    if (!S.photo) return;
    if (!S.key) { S.resume = upload; route(); return; }
    clearError();
    S.rec = null;
    var photo = S.photo;
    showOnly('upload');
    $('thumb').src = photo.url;
    progress(0, photo.blob.size);
    var form = new FormData();
    form.append('image', photo.blob, photo.name);
    var xhr = new XMLHttpRequest();
    S.xhr = xhr;
    xhr.open('POST', 'v1/recognitions');
    xhr.setRequestHeader('X-API-Key', S.key);
    xhr.setRequestHeader('Idempotency-Key', photo.idem);  // a retry never stores the photo twice
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.timeout = 180000;
    xhr.upload.onprogress = function (e) { progress(e.loaded, e.lengthComputable ? e.total : photo.blob.size); };
    xhr.upload.onload = function () { progress(1, 1); say('upload.reading'); };
    xhr.onload = function () {
      S.xhr = null;
      var data = parse(xhr.responseText);
      if (xhr.status === 200 || xhr.status === 201) {
        say(null);
        forget();
        S.rec = data;
        startResult();
      } else {
        var err = new ApiError(xhr.status, data, xhr.getResponseHeader('Retry-After'));
        // not a photo the service can read at all: keeping it to send again would not help
        if (['empty', 'not_an_image', 'corrupt', 'unsupported_format'].indexOf(err.code) >= 0) forget();
        showOnly('capture');
        onApiError(err, upload);
      }
    };
    xhr.onerror = function () { S.xhr = null; showOnly('capture'); onApiError(new ApiError(0, { code: 'network' }), upload); };
    xhr.ontimeout = function () {
      S.xhr = null; showOnly('capture'); onApiError(new ApiError(0, { code: 'network_timeout' }), upload);
    };
    xhr.onabort = function () { S.xhr = null; say(null); showOnly('capture'); };
    xhr.send(form);
  }

  function progress(loaded, total) {
    var p = total ? Math.min(100, Math.round(100 * loaded / total)) : 0;
    $('progress').value = p;
    S.progress = [loaded, total];
    renderProgress();
  }
  function renderProgress() {
    if (!S.progress) return;
    var loaded = S.progress[0], total = S.progress[1];
    $('progress-text').textContent = loaded >= total ? t('upload.done')
      : t('upload.bytes', { sent: size(loaded), total: size(total), pct: pct(total ? loaded / total : 0) });
  }

  // ------------------------------------------------------------------ advice, then the result

  function startResult() {
    var rec = S.rec;
    S.machine = {};
    S.saved = {};
    S.hits = null;
    S.savedAt = null;
    S.download = null;
    var serials = marksOf('serial');
    S.machine.serial = serials.length ? serials[0].value : '';
    Object.keys(FIELDS).forEach(function (f) {
      var m = marksOf(FIELDS[f]);
      S.machine[f] = m.length ? m[0].value : '';
      $(f).value = S.machine[f];
    });
    Object.keys(FIELDS).forEach(function (f) {
      var list = $(f + '-list'), seen = {};
      list.textContent = '';
      marksOf(FIELDS[f]).forEach(function (m) {
        [m.value].concat(m.alternatives.map(function (a) { return a.value; })).forEach(function (v) {
          if (!seen[v]) { seen[v] = 1; list.appendChild(el('option', { value: v })); }
        });
      });
    });
    $('case-ref').value = '';
    $('obliterated').checked = false;
    S.candidate = 0;
    setSerialFrom(serials.length ? serials[0].value : '');
    S.advice = rec.warnings && rec.warnings.length > 0;
    S.photoUrl = S.photo ? S.photo.url : '';
    S.overlayFromServer = false;
    S.whole = false;
    $('result').setAttribute('data-id', rec.id);
    showOnly(S.advice ? 'advice' : 'result');
    renderAll();
  }

  function marksOf(kind) {
    return (S.rec.marks || []).filter(function (m) { return m.kind === kind; })
      .sort(function (a, b) { return b.score - a.score; });
  }

  function renderAdvice() {
    var list = $('advice-list');
    list.textContent = '';
    if (!S.rec) return;
    (S.rec.warnings || []).forEach(function (w) {
      var key = has('warning.' + w.code) ? 'warning.' + w.code : 'warning._other';
      list.appendChild(el('li', { 'data-code': w.code }, t(key)));
    });
  }

  function showOnly(id) {
    ['signin', 'capture', 'upload', 'advice', 'result'].forEach(function (s) { show(s, s === id); });
    if (id === 'capture') refreshKept();
  }

  // ------------------------------------------------------------------ photo with the lines outlined

  var SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function lineKinds() {
    var kinds = {};
    (S.rec.marks || []).forEach(function (m) {
      (m.lines || []).forEach(function (i) { if (!kinds[i] || m.kind === 'serial') kinds[i] = m.kind; });
    });
    return kinds;
  }

  function viewBox(w, h) {  // the markings with a margin, or the whole photo
    var lines = S.rec.lines;
    if (S.whole || !lines.length) return [0, 0, w, h];
    var x0 = w, y0 = h, x1 = 0, y1 = 0;
    lines.forEach(function (l) {
      l.quad.forEach(function (p) {
        x0 = Math.min(x0, p[0]); y0 = Math.min(y0, p[1]); x1 = Math.max(x1, p[0]); y1 = Math.max(y1, p[1]);
      });
    });
    var m = 0.2 * Math.max(x1 - x0, y1 - y0);
    x0 -= m; y0 -= m; x1 += m; y1 += m;
    var bw = x1 - x0, bh = y1 - y0;
    if (bw < 0.75 * bh) { x0 -= (0.75 * bh - bw) / 2; bw = 0.75 * bh; }
    if (bh < 0.5 * bw) { y0 -= (0.5 * bw - bh) / 2; bh = 0.5 * bw; }
    bw = Math.min(bw, w); bh = Math.min(bh, h);
    x0 = Math.max(0, Math.min(x0, w - bw)); y0 = Math.max(0, Math.min(y0, h - bh));
    return [x0, y0, bw, bh];
  }

  function renderOverlay() {
    var box = $('overlay');
    box.textContent = '';
    var rec = S.rec;
    if (!rec) return;
    var w = rec.provenance.width, h = rec.provenance.height, vb = viewBox(w, h);
    box.setAttribute('viewBox', vb.map(function (x) { return x.toFixed(1); }).join(' '));
    var image = svg('image', { href: S.photoUrl || '', x: 0, y: 0, width: w, height: h });
    image.addEventListener('error', photoFailed);  // e.g. HEIC, which most browsers cannot show
    box.appendChild(image);
    var kinds = lineKinds(), legend = $('legend');
    legend.textContent = '';
    var font = Math.max(vb[2], vb[3]) / 16, stroke = Math.max(vb[2], vb[3]) / 250;
    rec.lines.forEach(function (line, i) {
      var drawn = !S.overlayFromServer;  // the service's drawing already has the outlines
      if (drawn) {
        var pts = line.quad.map(function (p) { return p[0].toFixed(1) + ',' + p[1].toFixed(1); }).join(' ');
        box.appendChild(svg('polygon', { points: pts, 'stroke-width': stroke.toFixed(1),
          class: kinds[i] === 'serial' ? 'serial' : '', 'data-line': i }));
        var xs = line.quad.map(function (p) { return p[0]; }), ys = line.quad.map(function (p) { return p[1]; });
        var x = Math.min.apply(null, xs) - font * 0.75, y = Math.min.apply(null, ys);
        if (x < vb[0]) x = Math.max.apply(null, xs) + font * 0.15;
        box.appendChild(svg('text', { translate: 'no', x: x.toFixed(1), y: (y + font * 0.8).toFixed(1), 'font-size': font.toFixed(1),
          'stroke-width': (font / 5).toFixed(1) }, String(i + 1)));
      }
      var li = el('li');
      li.appendChild(el('span', {}, kinds[i] ? t('kind.' + kinds[i]) : t('kind.line')));
      li.appendChild(document.createTextNode(': '));
      li.appendChild(el('span', { class: 'v', translate: 'no' }, line.text));
      var also = otherReadings(line);
      if (also.length) li.appendChild(put(el('span', { class: 'also' }), tx('result.also', { list: also.join(' · ') }, ['list'])));
      legend.appendChild(li);
    });
    $('zoom').textContent = t(S.whole ? 'result.zoom' : 'result.whole');
    show('zoom', rec.lines.length > 0);
    $('photo-caption').textContent = t('result.caption', { n: num(rec.lines.length), when: date(rec.created_at, true) });
  }

  // the line's other readings that the recogniser found nearly as likely (a worn digit, a
  // character more at an end): what the officer should compare with the photo before tracing
  function otherReadings(line) {
    return (line.alternates || []).filter(function (a) { return a.weight >= 0.25; })
      .slice(0, 2).map(function (a) { return a.text; });
  }

  function photoFailed() {  // e.g. HEIC that this browser cannot show: the service draws it instead
    if (!S.rec || S.overlayFromServer) return;
    S.overlayFromServer = true;
    var side = Math.max(S.rec.provenance.width, S.rec.provenance.height);
    fetch('v1/recognitions/' + S.rec.id + '/overlay.png?max_side=' + Math.min(side, 1600),
      { headers: { 'X-API-Key': S.key } })
      .then(function (r) { return r.ok ? r.blob() : null; })
      .then(function (b) { if (b) { S.photoUrl = URL.createObjectURL(b); renderOverlay(); } })
      .catch(function () {});
  }

  // ------------------------------------------------------------------ serial: candidates and characters

  function serialPositions(mark) {
    var out = [];
    (mark ? mark.lines : []).forEach(function (i) {
      var line = S.rec.lines[i];
      if (line) line.chars.forEach(function (alts) { out.push(alts); });
    });
    return out;
  }

  function findAlts(ch, positions, from) {
    var up = ch.toUpperCase();
    function hasChar(alts, top) {
      for (var a = 0; a < (top ? 1 : alts.length); a++) if (alts[a].char.toUpperCase() === up) return true;
      return false;
    }
    if (from < positions.length && hasChar(positions[from], false)) return from;
    for (var k = from; k < positions.length; k++) if (hasChar(positions[k], true)) return k;
    for (k = from; k < positions.length; k++) if (hasChar(positions[k], false)) return k;
    return -1;
  }

  function setSerialFrom(value) {
    var serials = marksOf('serial');
    var mark = serials[0];
    for (var m = 0; m < serials.length; m++) {
      var vals = [serials[m].value].concat(serials[m].alternatives.map(function (a) { return a.value; }));
      if (vals.indexOf(value) >= 0) { mark = serials[m]; break; }
    }
    var positions = serialPositions(mark);
    var j = 0;
    S.tiles = Array.prototype.map.call(value.replace(/\s+/g, ''), function (ch) {
      var k = findAlts(ch, positions, j);
      var alts = [];
      if (k >= 0) { alts = positions[k]; j = k + 1; }
      return { c: ch, alts: alts, edited: false };
    });
    $('serial').value = value.replace(/\s+/g, '');
  }

  function candidates() {
    var seen = {}, out = [];
    marksOf('serial').forEach(function (m) {
      [{ value: m.value, score: m.score }].concat(m.alternatives).forEach(function (c) {
        if (!seen[c.value] && out.length < 5) { seen[c.value] = 1; out.push(c); }
      });
    });
    return out;
  }

  function renderCandidates() {
    var box = $('candidates');
    box.textContent = '';
    var list = candidates();
    if (!list.length) { box.appendChild(el('p', { class: 'hint' }, t('serial.none'))); return; }
    list.forEach(function (c, i) {
      var input = el('input', { type: 'radio', name: 'candidate', value: c.value });
      input.checked = i === S.candidate;
      input.addEventListener('change', function () {
        S.candidate = i;
        setSerialFrom(c.value);
        staleResults();
        renderTiles();
      });
      var label = el('label');
      label.appendChild(input);
      var v = el('span', { class: 'v', translate: 'no' });  // where it differs from the best, marked
      Array.prototype.forEach.call(c.value, function (ch, k) {
        v.appendChild(i > 0 && list[0].value[k] !== ch ? el('mark', {}, ch) : document.createTextNode(ch));
      });
      label.appendChild(v);
      label.appendChild(el('span', {}, t('serial.score', { pct: pct(c.score) })));
      box.appendChild(label);
    });
  }

  // 0/O, 1/I, 8/B look alike in many fonts: every character says whether it is a digit or a letter
  function charKind(c) {
    return /[0-9]/.test(c) ? 'char.digit' : /[\u0400-\u04ff]/.test(c) ? 'char.cyrillic'
      : /\p{L}/u.test(c) ? 'char.letter' : 'char.sign';
  }
  function glyph(parent, c) {
    parent.appendChild(el('b', { translate: 'no' }, c));
    var k = charKind(c);
    parent.appendChild(el('i', { 'aria-hidden': 'true', translate: 'no', class: k.slice(5) },
      { 'char.digit': '123', 'char.cyrillic': 'абв', 'char.letter': 'abc', 'char.sign': '' }[k]));
  }

  function uncertain(tile) {
    if (!tile.alts.length || tile.edited) return false;
    var own = 0, others = 0;
    tile.alts.forEach(function (a) {
      if (a.char.toUpperCase() === tile.c.toUpperCase()) own = Math.max(own, a.p); else others = Math.max(others, a.p);
    });
    return own < 0.8 || others >= 0.05;
  }

  function renderTiles() {
    var box = $('tiles');
    box.textContent = '';
    var n = S.tiles.length;
    box.style.setProperty('--n', String(Math.max(1, Math.min(n, 10))));
    S.tiles.forEach(function (tile, i) {
      var unsure = uncertain(tile);
      var b = el('button', { type: 'button', translate: 'no', 'data-pos': i,
        class: (tile.c === '?' ? 'unknown ' : '') + (unsure ? 'uncertain' : '') + (tile.edited ? ' edited' : '') });
      glyph(b, tile.c);
      var key = tile.c === '?' ? 'tile.unknown' : unsure ? 'tile.uncertain' : tile.edited ? 'tile.edited' : 'tile.sure';
      b.setAttribute('aria-label', t(key, { i: num(i + 1), n: num(n), c: tile.c, what: t(charKind(tile.c)) }));
      b.addEventListener('click', function () { openPicker(i); });
      box.appendChild(b);
    });
    show('serial-hint', n > 0);
  }

  function openPicker(i) {
    S.picking = i;
    renderPicker();
    $('picker-input').value = '';
    var dlg = $('picker');
    dlg.returnValue = '';
    if (dlg.showModal) dlg.showModal(); else dlg.setAttribute('open', '');
    var first = $('picker-alts').querySelector('button');
    if (first) first.focus();
  }

  function renderPicker() {
    var i = S.picking, tile = S.tiles[i];
    if (i === null || i === undefined || !tile) return;
    $('picker-h').textContent = t('picker.title', { i: num(i + 1), n: num(S.tiles.length), c: tile.c });
    var box = $('picker-alts');
    box.textContent = '';
    var alts = tile.alts.slice();
    if (!alts.some(function (a) { return a.char === tile.c; })) alts.unshift({ char: tile.c, p: null });
    alts.forEach(function (a) {
      var b = el('button', { type: 'submit', value: 'alt:' + a.char });
      glyph(b, a.char);
      b.appendChild(a.p === null ? el('small', {}, t('picker.current')) : el('small', { translate: 'no' }, pct(a.p)));
      b.setAttribute('aria-label', a.p === null ? t('picker.keep', { c: a.char, what: t(charKind(a.char)) })
        : t('picker.alt', { c: a.char, pct: pct(a.p), what: t(charKind(a.char)) }));
      box.appendChild(b);
    });
  }

  function closePicker() {
    var dlg = $('picker'), v = dlg.returnValue || '', i = S.picking;
    // 'close' is dispatched later, as a task: one from an earlier close can arrive after the picker
    // was opened again (quick keys or taps), and must not end the new one
    if (dlg.open) return;
    if (i === undefined || i === null || !S.tiles[i]) return;
    var ch = null;
    if (v.indexOf('alt:') === 0) ch = v.slice(4);
    else if (v === 'unknown') ch = '?';
    else if (v === 'ok') ch = $('picker-input').value.trim();
    S.picking = null;
    if (ch && ch !== S.tiles[i].c) {
      S.tiles[i] = { c: ch, alts: S.tiles[i].alts, edited: true };
      $('serial').value = serialText();
      staleResults();
      renderTiles();
    }
    var b = $('tiles').querySelector('[data-pos="' + i + '"]');
    var at = document.activeElement;
    if (b && (!at || at === document.body || dlg.contains(at))) b.focus();  // unless focus has moved on
  }

  function serialText() { return S.tiles.map(function (x) { return x.c; }).join(''); }

  function onSerialTyped() {
    var value = $('serial').value.replace(/\s+/g, '');
    var old = S.tiles;
    S.tiles = Array.prototype.map.call(value, function (ch, i) {
      if (old[i] && old[i].c === ch) return old[i];
      return { c: ch, alts: old[i] ? old[i].alts : [], edited: true };
    });
    staleResults();
    renderTiles();
  }

  function staleResults() {
    S.savedAt = null;
    renderSaved();
  }

  // ------------------------------------------------------------------ trace and save

  function values() {
    return { serial: serialText(), make: $('make').value.trim(), model: $('model').value.trim(),
      calibre: $('calibre').value.trim() };
  }

  function traceBody(extra) {
    var v = values(), body = { recognition_id: S.rec.id, limit: 10 };
    if (v.serial && v.serial !== (S.machine.serial || '').replace(/\s+/g, '')) body.serial = v.serial;
    ['make', 'model', 'calibre'].forEach(function (f) { if (v[f]) body[f] = v[f]; });
    for (var k in extra || {}) body[k] = extra[k];
    return body;
  }

  function busy(on) { ['trace', 'save', 'new'].forEach(function (id) { $(id).disabled = on; }); }

  function trace() {
    clearError();
    busy(true);
    say('trace.running');
    api('POST', 'v1/traces', traceBody()).then(function (res) {
      S.hits = res;
      say(null);
      renderHits();
      $('hits').scrollIntoView({ block: 'start' });
    }).catch(function (err) { onApiError(err, trace); }).then(function () { busy(false); });
  }

  function save() {
    clearError();
    busy(true);
    say('save.running');
    var v = values(), todo = [];
    ['serial', 'make', 'model', 'calibre'].forEach(function (f) {
      if (v[f] && v[f] !== S.saved[f]) todo.push(f);
    });
    var chain = Promise.resolve();
    todo.forEach(function (f) {
      chain = chain.then(function () {
        return api('POST', 'v1/recognitions/' + S.rec.id + '/corrections', { field: f, value: v[f] })
          .then(function () { S.saved[f] = v[f]; });
      });
    });
    chain.then(function () {
      var doc = { recognition_id: S.rec.id, limit: 10, include_request: true,
        obliterated: $('obliterated').checked || v.serial.indexOf('?') >= 0,
        case_reference: $('case-ref').value.trim() };
      return api('POST', 'v1/traces', doc);
    }).then(function (res) {
      S.hits = res;
      S.savedAt = new Date();
      S.savedCount = todo.length;
      if (S.download) URL.revokeObjectURL(S.download.url);
      var blob = new Blob([JSON.stringify(res.trace_request, null, 2)], { type: 'application/json' });
      S.download = { url: URL.createObjectURL(blob),
        name: 'trace-request-' + ((res.trace_request || {}).request_id || S.rec.id) + '.json' };
      say(null);
      renderHits();
      renderSaved();
      $('saved').scrollIntoView({ block: 'nearest' });
    }).catch(function (err) { onApiError(err, save); }).then(function () { busy(false); });
  }

  function renderSaved() {
    show('saved', !!S.savedAt);
    if (!S.savedAt) return;
    $('saved-text').textContent = t('save.done', { n: num(S.savedCount), when: date(S.savedAt, true) });
    $('download').href = S.download.url;
    $('download').setAttribute('download', S.download.name);
  }

  var EXPLAIN = [
    [/^position (\d+): unknown \(\?\), record has (.+)$/, 'explain.wildcard', ['i', 'rec']],
    [/^position (\d+): read (.+), record has (.+) \(the reading's alternative, \+([\d.]+)\)$/, 'explain.alternative',
      ['i', 'read', 'rec', 'cost']],
    [/^position (\d+): read (.+), record has (.+) \(look-alike, \+([\d.]+)\)$/, 'explain.lookalike',
      ['i', 'read', 'rec', 'cost']],
    [/^position (\d+): read (.+), record has (.+) \(\+([\d.]+)\)$/, 'explain.substituted', ['i', 'read', 'rec', 'cost']],
    [/^position (\d+): read (.+), not in the record \(extra, \+([\d.]+)\)$/, 'explain.extra', ['i', 'read', 'cost']],
    [/^after position (\d+): record has (.+), missing from the reading \(lost, \+([\d.]+)\)$/, 'explain.missing',
      ['i', 'rec', 'cost']],
    [/^letters between digits ignored \(NCIC\): reading (\S+)(?: as (\S+))?, record (\S+)(?: as (\S+))? \(\+([\d.]+)\)$/,
      'explain.ncic', ['read', 'readAs', 'rec', 'recAs', 'cost']],
    [/^serial matches exactly$/, 'explain.exact', []],
    [/^letter O taken as zero \(NCIC\)$/, 'explain.ozero', []],
    [/^(make|model|calibre) not recorded$/, 'explain.notRecorded', ['field']],
    [/^(make|model|calibre) agrees: (.*)$/, 'explain.agrees', ['field', 'value']],
    [/^(make|model|calibre) differs: record has (.*) \(\+([\d.]+)\)$/, 'explain.differs', ['field', 'value', 'cost']]
  ];

  function explain(line) {
    for (var i = 0; i < EXPLAIN.length; i++) {
      var m = EXPLAIN[i][0].exec(line);
      if (!m) continue;
      var p = {};
      EXPLAIN[i][2].forEach(function (name, k) { p[name] = m[k + 1] === undefined ? '' : m[k + 1]; });
      if (p.cost) p.cost = num(parseFloat(p.cost), { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      if (p.i) p.i = num(parseInt(p.i, 10));
      if (p.field) p.field = t('field.' + p.field);
      if (p.readAs) p.read = t('explain.as', { a: p.read, b: p.readAs });
      if (p.recAs) p.rec = t('explain.as', { a: p.rec, b: p.recAs });
      return tx(EXPLAIN[i][1], p, ['read', 'rec', 'value']);
    }
    return document.createTextNode(line);  // a wording this page does not know yet: as the registry gives it
  }

  function renderHits() {
    var res = S.hits;
    show('hits', !!res);
    if (!res) return;
    put($('hits-summary'), res.hits.length
      ? tx('trace.found', { n: num(res.hits.length), q: res.query.join(', ') }, ['q'])
      : tx('trace.none', { q: res.query.join(', ') }, ['q']));
    var list = $('hit-list');
    list.textContent = '';
    res.hits.forEach(function (h) {
      var r = h.record, li = el('li');
      var head = el('p');
      head.appendChild(el('span', { class: 'serial', translate: 'no' }, r.serial));
      head.appendChild(document.createTextNode(' '));
      head.appendChild(el('span', { class: 'status-' + r.status },
        has('status.' + r.status) ? t('status.' + r.status) : r.status));
      li.appendChild(head);
      var what = [r.make, r.model, r.calibre, r.type].filter(Boolean).join(' · ');
      if (what) li.appendChild(el('p', { translate: 'no' }, what));
      li.appendChild(el('p', {}, h.score > 0 ? t('trace.cost', { cost: num(h.score, { minimumFractionDigits: 2,
        maximumFractionDigits: 2 }) }) : t('trace.exact')));
      var where = [r.source, r.reference].filter(Boolean).join(' · ');
      if (where || r.date) {
        li.appendChild(put(el('p'), tx('trace.source', { source: where || '—', date: r.date ? date(r.date) : '—' },
          ['source'])));
      }
      var ul = el('ul', { 'aria-label': t('trace.why') });
      h.explanation.forEach(function (x) { ul.appendChild(put(el('li'), explain(x))); });
      li.appendChild(ul);
      list.appendChild(li);
    });
  }

  // ------------------------------------------------------------------ sign-in

  function signIn(e) {
    e.preventDefault();
    var key = $('key').value.trim();
    if (!key) { fail(new ApiError(401, { code: 'unauthorized' }), null); return; }
    S.key = key;
    clearError();
    $('signin-go').disabled = true;
    // a reading that cannot exist: 404 means the key was accepted, 401 that it was not
    api('GET', 'v1/recognitions/00000000-0000-0000-0000-000000000000').catch(function (err) {
      if (err.code === 'not_found' || err.code === 'network') return err.code;
      throw err;
    }).then(function (how) {
      session.setItem(KEY_ITEM, key);
      $('key').value = '';
      say(how === 'network' ? 'signin.unchecked' : 'signin.done');
      route();
      var resume = S.resume;
      S.resume = null;
      if (resume) resume();
    }).catch(function (err) { S.key = ''; onApiError(err, null); })
      .then(function () { $('signin-go').disabled = false; });
  }

  function signOut() {
    S.key = '';
    session.removeItem(KEY_ITEM);
    S.rec = null;
    clearError();
    say(null);
    route();
  }

  function refreshKept() {
    kept().then(function (k) {
      S.keptPhoto = k || null;
      show('kept', !!k && !S.xhr);
      var img = $('kept-thumb');
      if (img.src) URL.revokeObjectURL(img.src);
      if (k) img.src = URL.createObjectURL(new Blob([k.data], { type: k.type || 'image/jpeg' }));
    });
  }

  function route() {
    show('signout', !!S.key);
    if (!S.key) { showOnly('signin'); $('key').focus(); return; }
    if (S.rec) showOnly(S.advice ? 'advice' : 'result'); else showOnly('capture');
  }

  function renderAll() {
    renderStatus();
    renderError();
    renderProgress();
    if (S.rec) {
      renderAdvice();
      renderOverlay();
      renderCandidates();
      renderTiles();
      renderHits();
      renderSaved();
      if ($('picker').open) renderPicker();
    }
  }

  // ------------------------------------------------------------------ wiring

  function start() {
    S.key = session.getItem(KEY_ITEM) || '';
    $('signin-form').addEventListener('submit', signIn);
    $('signout').addEventListener('click', signOut);
    $('lang').addEventListener('change', function () {
      local.setItem(LANG_ITEM, $('lang').value);  // the officer's choice, kept at once
      setLanguage($('lang').value);
    });
    $('take').addEventListener('click', function () { $('file-camera').click(); });
    $('pick').addEventListener('click', function () { $('file-pick').click(); });
    $('file-camera').addEventListener('change', function () { onFile($('file-camera')); });
    $('file-pick').addEventListener('change', function () { onFile($('file-pick')); });
    $('cancel').addEventListener('click', function () { if (S.xhr) S.xhr.abort(); });
    $('retry').addEventListener('click', runRetry);
    $('error-close').addEventListener('click', clearError);
    $('kept-send').addEventListener('click', function () {
      if (S.keptPhoto) { usePhoto(S.keptPhoto); upload(); }
    });
    $('kept-discard').addEventListener('click', function () { forget().then(refreshKept); S.photo = null; });
    $('retake').addEventListener('click', function () { S.rec = null; S.advice = false; showOnly('capture'); $('take').focus(); });
    $('advice-go').addEventListener('click', function () { S.advice = false; showOnly('result'); $('trace').focus(); });
    $('serial').addEventListener('input', onSerialTyped);
    $('zoom').addEventListener('click', function () { S.whole = !S.whole; renderOverlay(); });
    $('picker').addEventListener('close', closePicker);
    $('picker-input').addEventListener('keydown', function (e) {  // Enter takes what was typed, not the first choice
      if (e.key === 'Enter') { e.preventDefault(); $('picker').close('ok'); }
    });
    $('trace').addEventListener('click', trace);
    $('save').addEventListener('click', save);
    $('new').addEventListener('click', function () {
      S.rec = null; S.photo = null; S.hits = null; S.savedAt = null; clearError(); say(null); showOnly('capture');
      $('take').focus();
    });
    ['make', 'model', 'calibre'].forEach(function (f) { $(f).addEventListener('input', staleResults); });
    window.addEventListener('online', function () { if (S.retry && S.error && /^network/.test(S.error.code)) runRetry(); });
    loadDict('en').then(function (en) { S.en = en; }).catch(function () { S.en = {}; })
      .then(function () { return setLanguage(pickLanguage()); })
      .then(route);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
}());
