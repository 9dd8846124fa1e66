// Baton's page scripts: diagrams (bpmn-js), Camunda Forms (form-js) and
// the drag-and-drop upload. Pages pass data in data- attributes; no inline
// scripts, so the Content-Security-Policy allows only this origin's files.
(function () {
  'use strict';

  function parse(el, name, fallback) {
    var raw = el.getAttribute(name);
    if (!raw) return fallback;
    try { return JSON.parse(raw); } catch (e) { return fallback; }
  }

  // renderDiagram draws the BPMN XML of el's data-xml (or the one at
  // data-xml-url) and marks its elements:
  //   data-active     ids of active elements, data-tokens {id: count}
  //   data-completed  ids of completed elements, data-failed ids with incidents
  //   data-errors     [{elementId, message}] validation errors
  // It sets data-rendered="true" when done, or data-error with the reason.
  function renderDiagram(el) {
    if (el.dataset.started) return;
    el.dataset.started = 'true';
    var url = el.getAttribute('data-xml-url');
    var xml = el.hasAttribute('data-xml') ? Promise.resolve(el.getAttribute('data-xml')) : fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('the diagram could not be loaded (' + r.status + ')');
      return r.text();
    });
    if (typeof BpmnJS === 'undefined') {
      el.dataset.error = 'bpmn-js is not loaded';
      el.textContent = 'The diagram viewer is missing: build the UI assets with make ui-assets.';
      return;
    }
    var viewer = new BpmnJS({ container: el });
    xml.then(function (text) {
      return viewer.importXML(text);
    }).then(function () {
      var canvas = viewer.get('canvas');
      var registry = viewer.get('elementRegistry');
      var overlays = viewer.get('overlays');
      canvas.zoom('fit-viewport', 'auto');
      function mark(ids, cls) {
        (ids || []).forEach(function (id) {
          if (registry.get(id)) canvas.addMarker(id, cls);
        });
      }
      mark(parse(el, 'data-completed', []), 'baton-completed');
      mark(parse(el, 'data-active', []), 'baton-active');
      mark(parse(el, 'data-failed', []), 'baton-failed');
      var tokens = parse(el, 'data-tokens', {});
      Object.keys(tokens).forEach(function (id) {
        if (!registry.get(id)) return;
        var badge = document.createElement('span');
        badge.className = 'baton-tokens';
        badge.textContent = tokens[id];
        badge.title = tokens[id] + ' active';
        overlays.add(id, { position: { bottom: 8, right: 8 }, html: badge });
      });
      parse(el, 'data-errors', []).forEach(function (e) {
        if (!e.elementId || !registry.get(e.elementId)) return;
        canvas.addMarker(e.elementId, 'baton-invalid');
        var note = document.createElement('div');
        note.className = 'baton-error-note';
        note.setAttribute('data-element-id', e.elementId);
        note.textContent = e.message;
        overlays.add(e.elementId, { position: { top: -28, left: 0 }, html: note });
      });
      el.dataset.rendered = 'true';
    }).catch(function (err) {
      el.dataset.error = String(err && err.message || err);
      var p = document.createElement('p');
      p.className = 'field-error';
      p.textContent = 'The diagram cannot be drawn: ' + el.dataset.error;
      el.appendChild(p);
    });
  }

  // renderForm shows a Camunda Form (form-js) and completes through the
  // JSON API: form-js checks in the browser, the server checks again.
  function renderForm(el) {
    if (el.dataset.started) return;
    el.dataset.started = 'true';
    var box = el.parentNode;
    var errBox = box.querySelector('[data-formjs-error]');
    var button = box.querySelector('[data-formjs-submit]');
    if (typeof FormViewer === 'undefined') {
      errBox.hidden = false;
      errBox.textContent = 'The form viewer is missing: build the UI assets with make ui-assets.';
      return;
    }
    FormViewer.createForm({ container: el, schema: parse(el, 'data-schema', {}), data: parse(el, 'data-values', {}) }).then(function (form) {
      el.dataset.rendered = 'true';
      button.addEventListener('click', function () {
        var res = form.submit();
        if (res.errors && Object.keys(res.errors).length > 0) return;
        errBox.hidden = true;
        button.disabled = true;
        var body = {};
        body[el.getAttribute('data-body-key') || 'variables'] = res.data;
        // Inputs outside the form that go with it, e.g. a start's business key:
        // data-extra='{"businessKey": "#start-business-key"}'.
        var extra = parse(el, 'data-extra', {});
        Object.keys(extra).forEach(function (k) {
          var input = document.querySelector(extra[k]);
          if (input && input.value) body[k] = input.value;
        });
        fetch(el.getAttribute('data-complete-url'), {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': el.getAttribute('data-csrf') },
          body: JSON.stringify(body)
        }).then(function (r) {
          if (r.ok) {
            return r.text().then(function (t) {
              var done = el.getAttribute('data-done');
              var id = '';
              try { id = JSON.parse(t).id || ''; } catch (e) { /* no body */ }
              window.location = done.replace('{id}', id);
            });
          }
          return r.json().then(function (b) {
            var e = b && b.error || {};
            var d = (e.details || [])[0] || {};
            errBox.textContent = (d.field ? d.field + ': ' + d.message : e.message) || ('the server answered ' + r.status);
            errBox.hidden = false;
            button.disabled = false;
          });
        }).catch(function (err) {
          errBox.textContent = 'The form could not be sent: ' + err.message;
          errBox.hidden = false;
          button.disabled = false;
        });
      });
    }).catch(function (err) {
      errBox.hidden = false;
      errBox.textContent = 'The form cannot be shown: ' + err.message;
    });
  }

  // dropzone lets files be dropped on a file input's label.
  function dropzone(zone) {
    if (zone.dataset.started) return;
    zone.dataset.started = 'true';
    var input = zone.querySelector('input[type=file]');
    var list = zone.querySelector('.dropzone-files');
    function show() {
      list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(', ');
    }
    ['dragenter', 'dragover'].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add('over'); });
    });
    ['dragleave', 'drop'].forEach(function (t) {
      zone.addEventListener(t, function () { zone.classList.remove('over'); });
    });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      input.files = e.dataTransfer.files;
      show();
    });
    input.addEventListener('change', show);
  }

  function init(root) {
    root.querySelectorAll('.diagram').forEach(renderDiagram);
    root.querySelectorAll('.formjs').forEach(renderForm);
    root.querySelectorAll('.dropzone').forEach(dropzone);
  }

  document.addEventListener('DOMContentLoaded', function () { init(document); });
  document.addEventListener('htmx:afterSettle', function (e) { init(e.target); });
})();
