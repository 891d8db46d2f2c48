// reconcile console: drag-and-drop upload and in-place corrections. Every
// page works without it; this only saves clicks and page loads.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : '';

  var form = document.querySelector('form.upload');
  if (form) {
    var input = form.querySelector('input[type=file]');
    var zone = form.querySelector('.dropzone');
    var chosen = form.querySelector('.chosen');
    var err = form.querySelector('.alert');
    var max = Number(form.dataset.max);
    // check tells a file over the limit before it is sent: a browser
    // sending a large body often shows a reset connection, not the answer.
    var check = function (files) {
      if (!files || !files.length) { return false; }
      var f = files[0];
      chosen.textContent = f.name;
      if (max && f.size > max) {
        err.textContent = f.name + ' is larger than ' + form.dataset.maxText + ', the most this console accepts. Split it into smaller files, or save it as CSV, which is smaller.';
        err.hidden = false;
        return false;
      }
      err.hidden = true;
      return true;
    };
    input.addEventListener('change', function () { check(input.files); });
    ['dragenter', 'dragover'].forEach(function (t) {
      zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add('over'); });
    });
    ['dragleave', 'drop'].forEach(function (t) {
      zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.remove('over'); });
    });
    zone.addEventListener('drop', function (ev) {
      input.files = ev.dataTransfer.files;
      if (check(input.files)) { form.requestSubmit(); }
    });
    form.addEventListener('submit', function (ev) {
      if (!check(input.files)) { ev.preventDefault(); }
    });
  }

  // A run's page: progress from the server's event stream. The stream
  // reconnects by itself (the browser sends Last-Event-ID, and each event
  // is the whole state), and closes once the final event came.
  var run = document.getElementById('run');
  if (run && run.dataset.events) { follow(run); }

  function follow(run) {
    var $ = function (id) { return document.getElementById(id); };
    var fmt = function (n) { return Number(n).toLocaleString('en-US'); };
    var dur = function (s) {
      if (s < 1) { return Math.round(s * 1000) + ' ms'; }
      if (s < 60) { return s.toFixed(1) + ' s'; }
      var m = Math.floor(s / 60);
      if (m < 60) { return m + ' min ' + String(Math.floor(s % 60)).padStart(2, '0') + ' s'; }
      return Math.floor(m / 60) + ' h ' + String(m % 60).padStart(2, '0') + ' min';
    };
    var es = new EventSource(run.dataset.events);
    es.addEventListener('progress', function (ev) {
      var p = JSON.parse(ev.data);
      var bar = $('bar');
      if (bar) {
        bar.max = p.total || Math.max(p.done, 1);
        bar.value = p.done;
        $('done').textContent = fmt(p.done);
        $('total').textContent = p.total ? fmt(p.total) : '…';
        $('rate').textContent = p.rows_per_s.toFixed(1);
        $('elapsed').textContent = dur(p.elapsed_s);
        $('eta').textContent = p.final ? '—' : p.eta_s < 0 ? 'working it out…' : p.eta_s < 1 ? 'under a second' : 'about ' + dur(p.eta_s);
      }
      Object.keys(p.counts).forEach(function (c) {
        var n = run.querySelector('[data-class="' + c + '"]');
        if (n) { n.textContent = fmt(p.counts[c]); }
      });
      var status = $('run-status');
      if (!p.stopping && !p.final) { status.textContent = ''; }
      if (p.stopping && !p.final) {
        status.textContent = 'Stopping: the requests in flight finish, the rows not sent will be skipped, then the reports are written.';
        var b = run.querySelector('#cancel-form button');
        if (b) { b.disabled = true; }
      }
      if (!p.final) { return; }
      es.close();
      run.setAttribute('aria-busy', 'false');
      status.textContent = p.text || p.ending;
      status.classList.toggle('stopped', p.ending !== 'finished');
      if (p.message) { $('run-message').textContent = p.message; $('run-message').hidden = false; }
      var h1 = document.querySelector('h1');
      if (h1 && h1.firstChild && p.title) { h1.firstChild.textContent = p.title + ' '; }
      var cancel = $('cancel-form');
      if (cancel) { cancel.remove(); }
      var hint = $('cancel-hint');
      if (hint) { hint.remove(); }
      $('report-link').hidden = false;
    });
    es.addEventListener('error', function () {
      if (es.readyState === EventSource.CONNECTING) { $('run-status').textContent = 'Connection lost; reconnecting…'; }
    });
  }

  var table = document.querySelector('table.preview');
  if (!table) { return; }
  var status = document.getElementById('status');
  table.addEventListener('click', function (ev) {
    var td = ev.target.closest('td.bad');
    if (td && !td.classList.contains('editing')) { edit(td); }
  });
  table.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && ev.target.matches('td.bad')) { ev.preventDefault(); edit(ev.target); }
  });

  function edit(td) {
    var tr = td.closest('tr');
    var old = td.querySelector('.v').textContent;
    var box = document.createElement('input');
    box.type = 'text';
    box.className = 'cell-edit';
    box.value = old;
    box.setAttribute('aria-label', 'New value for this cell');
    td.classList.add('editing');
    td.appendChild(box);
    box.focus();
    box.select();
    var done = false;
    var close = function () {
      done = true;
      box.remove();
      td.classList.remove('editing');
    };
    box.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') { close(); td.focus(); }
      if (ev.key === 'Enter') { ev.preventDefault(); save(); }
    });
    box.addEventListener('blur', function () {
      if (!done && box.value === old) { close(); }
    });
    function save() {
      if (done) { return; }
      done = true;
      box.disabled = true;
      status.textContent = 'Checking row ' + tr.id.replace('row-', '') + ' again…';
      var body = new URLSearchParams({ col: td.dataset.col, value: box.value, filter: table.dataset.filter });
      fetch('/api/uploads/' + table.dataset.upload + '/rows/' + tr.dataset.ordinal, {
        method: 'POST',
        headers: { 'X-CSRF-Token': csrf },
        body: body,
        credentials: 'same-origin'
      }).then(function (res) {
        return res.json().then(function (j) { return { ok: res.ok, j: j }; });
      }).then(function (res) {
        if (!res.ok) { throw new Error(res.j.message || 'The correction was not saved.'); }
        var ord = tr.dataset.ordinal;
        tr.outerHTML = res.j.row;
        document.getElementById('counts').outerHTML = res.j.counts;
        document.getElementById('problems').outerHTML = res.j.problem_list;
        var row = table.querySelector('tr[data-ordinal="' + ord + '"]');
        row.classList.add('just-checked');
        var n = row.id.replace('row-', '');
        status.textContent = res.j.problems === 0
          ? 'Row ' + n + ' checked again: ' + (res.j.class === 'ready' ? 'ready to send.' : res.j.class + '.')
          : 'Row ' + n + ' checked again: ' + res.j.problems + ' problem' + (res.j.problems > 1 ? 's' : '') + ' left.';
        (row.querySelector('td.bad') || row.querySelector('th')).focus();
      }).catch(function (e) {
        close();
        status.textContent = e.message;
      });
    }
  }
})();
