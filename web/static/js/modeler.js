/*
 * The flow designer: bpmn-js's Modeler (global BpmnJS from /static/vendor/bpmn-js/) with the
 * Camunda moddle extension, the domain panel (modeler-panel.js), and the designer's actions:
 * open a version, new from the template, upload/download .bpmn, drafts (this browser's
 * localStorage), validate (problems listed and highlighted on the canvas), simulate, deploy.
 * Server calls carry the session cookie and the CSRF token (X-CSRFToken). No inline script.
 */
(function () {
  'use strict';

  var root = document.getElementById('designer');
  if (!root) { return; }
  var status = document.getElementById('designer-status');
  var problemList = document.getElementById('problem-list');
  var simulationBox = document.getElementById('simulation-result');
  var csrf = (document.querySelector('meta[name=csrf-token]') || {}).content || '';
  var T = JSON.parse(root.getAttribute('data-i18n') || '{}');
  var departments = JSON.parse(root.getAttribute('data-departments') || '[]');
  var DRAFT_PREFIX = 'yjs-designer-draft:';
  var markers = [];
  var modeler = null;

  function t(key, values) {
    var text = T[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.replace('{' + name + '}', values[name]); });
    return text;
  }

  function say(message, kind) {
    status.textContent = message;
    status.className = 'designer-status ' + (kind || '');
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function request(url, body) {
    return fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return { error: 'HTTP ' + response.status }; }).then(function (data) {
        data.__status = response.status;
        return data;
      });
    });
  }

  function processKey() {
    var definitions = modeler.getDefinitions();
    var process = (definitions.get('rootElements') || []).filter(function (e) { return e.$instanceOf('bpmn:Process'); })[0];
    return process ? process.id : (root.getAttribute('data-key') || 'draft');
  }

  function currentXml() {
    return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
  }

  function open(xml, message) {
    clearProblems();
    return modeler.importXML(xml).then(function (result) {
      modeler.get('canvas').zoom('fit-viewport', 'auto');
      root.setAttribute('data-state', 'ready');
      var warnings = (result && result.warnings) || [];
      say(message || t('ready'), warnings.length ? 'warning' : '');
      showDraft();
    }).catch(function (err) {
      root.setAttribute('data-state', 'failed');
      say(t('failed') + ' ' + (err && err.message ? err.message : String(err)), 'error');
    });
  }

  // --- problems and markers ------------------------------------------------------------------

  function clearProblems() {
    if (!modeler) { return; }
    var canvas = modeler.get('canvas');
    markers.forEach(function (m) { try { canvas.removeMarker(m[0], m[1]); } catch (e) { /* element gone */ } });
    markers = [];
  }

  function shapeFor(elementId) {
    var registry = modeler.get('elementRegistry');
    if (!elementId) { return null; }
    var found = registry.get(elementId);
    if (found) { return found; }
    // A process id: its pool (participant) on a collaboration diagram, else the root.
    return registry.filter(function (e) {
      return e.type === 'bpmn:Participant' && e.businessObject.processRef && e.businessObject.processRef.id === elementId;
    })[0] || null;
  }

  function showProblems(errors, warnings) {
    clearProblems();
    problemList.textContent = '';
    var canvas = modeler.get('canvas');
    [['error', errors || []], ['warning', warnings || []]].forEach(function (group) {
      group[1].forEach(function (p) {
        var item = el('li', { 'class': 'problem ' + group[0], 'data-element': p.element_id || '' });
        var shape = shapeFor(p.element_id);
        if (p.element_id) {
          var link = el('button', { type: 'button', 'class': 'link', 'data-select': p.element_id }, p.element_id);
          item.appendChild(link);
          item.appendChild(document.createTextNode(' '));
        }
        item.appendChild(document.createTextNode(p.message));
        problemList.appendChild(item);
        if (shape) {
          var marker = group[0] === 'error' ? 'yjs-error' : 'yjs-warning';
          canvas.addMarker(shape, marker);
          markers.push([shape, marker]);
        }
      });
    });
    if (!problemList.children.length) { problemList.appendChild(el('li', { 'class': 'hint' }, t('noProblems'))); }
  }

  problemList.addEventListener('click', function (event) {
    var button = event.target.closest('[data-select]');
    if (!button) { return; }
    var shape = shapeFor(button.getAttribute('data-select'));
    if (shape) {
      modeler.get('selection').select(shape);
      modeler.get('canvas').scrollToElement(shape);
    }
  });

  // --- drafts (this browser only) ------------------------------------------------------------

  function draftKey() { return DRAFT_PREFIX + processKey(); }

  function showDraft() {
    var button = document.getElementById('restore-draft');
    var raw = window.localStorage.getItem(draftKey());
    if (!raw) { button.hidden = true; return; }
    var draft = JSON.parse(raw);
    button.textContent = t('draftFrom', { time: new Date(draft.saved_at).toLocaleString() });
    button.hidden = false;
  }

  document.getElementById('save-draft').addEventListener('click', function () {
    currentXml().then(function (xml) {
      var savedAt = new Date().toISOString();
      window.localStorage.setItem(draftKey(), JSON.stringify({ xml: xml, saved_at: savedAt, base_version: root.getAttribute('data-version') }));
      say(t('draftSaved', { time: new Date(savedAt).toLocaleString() }), 'ok');
      showDraft();
    });
  });

  document.getElementById('restore-draft').addEventListener('click', function () {
    var raw = window.localStorage.getItem(draftKey());
    if (raw) { open(JSON.parse(raw).xml, t('draftRestored')); }
  });

  // --- files -----------------------------------------------------------------------------------

  document.getElementById('upload-bpmn').addEventListener('change', function (event) {
    var file = event.target.files && event.target.files[0];
    if (!file) { return; }
    file.text().then(function (text) { open(text, t('imported')); });
    event.target.value = '';
  });

  document.getElementById('download-bpmn').addEventListener('click', function () {
    currentXml().then(function (xml) {
      var link = el('a', { href: URL.createObjectURL(new Blob([xml], { type: 'application/xml' })), download: processKey() + '.bpmn' });
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    });
  });

  document.getElementById('template-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var query = new URLSearchParams(new FormData(event.target)).toString();
    fetch(root.getAttribute('data-template-url') + '?' + query, { credentials: 'same-origin', headers: { Accept: 'application/xml' } })
      .then(function (response) {
        return response.text().then(function (text) {
          if (!response.ok) {
            var message = text;
            try { message = JSON.parse(text).error || text; } catch (e) { /* an HTML error page */ }
            throw new Error(message);
          }
          return text;
        });
      })
      .then(function (xml) { root.setAttribute('data-version', ''); return open(xml); })
      .catch(function (err) { say(t('requestFailed') + ' ' + err.message, 'error'); });
  });

  // --- validate, simulate, deploy ------------------------------------------------------------

  document.getElementById('validate').addEventListener('click', function () {
    currentXml().then(function (xml) { return request(root.getAttribute('data-validate-url'), { xml: xml }); }).then(function (data) {
      if (data.error && !data.errors) { say(t('requestFailed') + ' ' + data.error, 'error'); return; }
      showProblems(data.errors, data.warnings);
      say(data.valid ? t('valid') : t('invalid'), data.valid ? 'ok' : 'error');
      root.setAttribute('data-validated', data.valid ? 'valid' : 'invalid');
    });
  });

  function parseJson(id) {
    var value = JSON.parse(document.getElementById(id).value || '{}');
    if (!value || typeof value !== 'object' || Array.isArray(value)) { throw new Error('not an object'); }
    return value;
  }

  function localTime(iso) {
    return iso ? new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : '';
  }

  function showSimulation(data) {
    simulationBox.textContent = '';
    simulationBox.appendChild(el('h3', {}, t('path')));
    simulationBox.appendChild(el('p', { 'class': 'sim-path' }, data.path.join(' → ')));
    simulationBox.appendChild(el('h3', {}, t('parallel')));
    var table = el('table', { 'class': 'list sim-table' });
    var head = el('tr');
    [t('opened'), t('department'), t('name'), t('timeLimitDays'), t('due')].forEach(function (x) { head.appendChild(el('th', {}, x)); });
    table.appendChild(head);
    var late = data.late || [];
    data.parallel.forEach(function (wave) {
      Object.keys(wave.departments).forEach(function (code) {
        wave.departments[code].forEach(function (task) {
          var row = el('tr', { 'data-element': task.element_id, 'class': late.indexOf(task.element_id) >= 0 ? 'late' : '' });
          var department = departments.filter(function (d) { return d.code === code; })[0];
          [localTime(wave.opened_at), department ? department.name : code, task.name, task.time_limit_days || '—', localTime(task.due_at)].forEach(function (x) { row.appendChild(el('td', {}, String(x))); });
          table.appendChild(row);
        });
      });
    });
    simulationBox.appendChild(table);
    var facts = el('p', { 'class': 'hint' }, t('ends') + ': ' + localTime(data.ended_at) +
      (data.promised_due_at ? ' · ' + t('promised') + ': ' + localTime(data.promised_due_at) : ''));
    simulationBox.appendChild(facts);
    if (late.length) { simulationBox.appendChild(el('p', { 'class': 'flash error' }, t('late') + ': ' + late.join(', '))); }
    if (!data.finished) { simulationBox.appendChild(el('p', { 'class': 'flash error' }, t('notFinished'))); }
  }

  document.getElementById('simulate').addEventListener('click', function () {
    var data, outcomes;
    try { data = parseJson('sim-data'); outcomes = parseJson('sim-outcomes'); } catch (e) { say(t('badJson'), 'error'); return; }
    currentXml().then(function (xml) {
      return request(root.getAttribute('data-simulate-url'), { xml: xml, data: data, outcomes: outcomes });
    }).then(function (result) {
      if (result.__status >= 400) {
        if (result.errors) { showProblems(result.errors, result.warnings); }
        say(t('requestFailed') + ' ' + (result.error || result.__status), 'error');
        return;
      }
      showSimulation(result);
      say(t('simulated'), 'ok');
    });
  });

  document.getElementById('deploy').addEventListener('click', function () {
    var comment = document.getElementById('deploy-comment').value;
    currentXml().then(function (xml) {
      return request(root.getAttribute('data-deploy-url'), { xml: xml, comment: comment });
    }).then(function (result) {
      if (result.__status >= 400) {
        showProblems(result.errors || [], result.warnings || []);
        say(t('requestFailed') + ' ' + (result.error || result.__status), 'error');
        root.setAttribute('data-deployed', 'failed');
        return;
      }
      showProblems([], result.warnings);
      say(t(result.created ? 'deployed' : 'unchanged', { key: result.key, version: result.version }), 'ok');
      root.setAttribute('data-key', result.key);
      root.setAttribute('data-version', String(result.version));
      root.setAttribute('data-deployed', String(result.version));
      document.getElementById('designer-title').textContent = result.key + ' v' + result.version;
      var history = document.getElementById('history-link');
      history.href = result.history;
      history.hidden = false;
    });
  });

  // --- start ---------------------------------------------------------------------------------

  if (typeof window.BpmnJS !== 'function') {
    root.setAttribute('data-state', 'failed');
    say(t('noModeler'), 'error');
    return;
  }

  fetch(root.getAttribute('data-camunda'), { credentials: 'same-origin' })
    .then(function (response) { return response.json(); })
    .then(function (camunda) {
      modeler = new window.BpmnJS({
        container: document.getElementById('modeler-canvas'),
        moddleExtensions: { camunda: camunda }
      });
      window.yjsDesigner = { modeler: modeler };
      window.YjsPanel(modeler, document.getElementById('properties'), { departments: departments, t: T });
      var url = root.getAttribute('data-xml-url');
      if (url) {
        return request(url).then(function (data) {
          if (data.__status >= 400) { throw new Error(data.error || data.__status); }
          return open(data.xml);
        });
      }
      return modeler.createDiagram().then(function () { root.setAttribute('data-state', 'ready'); say(t('ready')); });
    })
    .catch(function (err) {
      root.setAttribute('data-state', 'failed');
      say(t('failed') + ' ' + (err && err.message ? err.message : String(err)), 'error');
    });
})();
