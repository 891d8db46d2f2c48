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
