/*
 * The designer's side panel for the domain: writes standard BPMN extension elements with the
 * Camunda moddle (camunda:properties, camunda:formData) through bpmn-js's `modeling`, so every
 * edit is undoable and a saved file deploys with its departments, time limits and forms
 * (conventions: processes/README.md).
 *
 *   window.YjsPanel(modeler, container, {departments: [{code, name}], t: {msgid: text}})
 *
 * Plain DOM, no inline handlers (the page's Content-Security-Policy forbids them).
 */
(function () {
  'use strict';

  var KINDS = ['intake', 'review', 'supplement', 'delivery', 'notice', 'window'];
  var FIELD_TYPES = ['string', 'long', 'boolean', 'date', 'enum'];
  var ID_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) { return; }
      if (name === 'text') { el.textContent = value; } else if (name === 'value') { el.value = value; } else { el.setAttribute(name, value === true ? '' : value); }
    });
    (children || []).forEach(function (child) { if (child) { el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child); } });
    return el;
  }

  window.YjsPanel = function (modeler, container, options) {
    var modeling = modeler.get('modeling');
    var moddle = modeler.get('moddle');
    var registry = modeler.get('elementRegistry');
    var canvas = modeler.get('canvas');
    var eventBus = modeler.get('eventBus');
    var t = function (key) { return (options.t && options.t[key]) || key; };
    var departments = options.departments || [];
    var current = null;
    var writing = false;

    // --- reading and writing extension elements -------------------------------------------

    function bo(element) { return element.businessObject; }

    function processOf(element) {
      var b = element && bo(element);
      if (!b || typeof b.$instanceOf !== 'function') { return null; }  // before a diagram is imported
      if (b.$instanceOf('bpmn:Participant')) { return b.processRef; }
      if (b.$instanceOf('bpmn:Collaboration')) {
        var participant = (b.participants || []).filter(function (p) { return p.processRef; })[0];
        return participant ? participant.processRef : null;
      }
      return b.$instanceOf('bpmn:Process') ? b : null;
    }

    function extension(target, type) {
      var ext = target.get('extensionElements');
      return ext ? (ext.get('values') || []).filter(function (v) { return v.$instanceOf(type); })[0] : null;
    }

    function ensureExtension(element, target, type, attrs) {
      var found = extension(target, type);
      if (found) { return found; }
      var ext = target.get('extensionElements');
      if (!ext) {
        ext = moddle.create('bpmn:ExtensionElements', { values: [] });
        ext.$parent = target;
        modeling.updateModdleProperties(element, target, { extensionElements: ext });
      }
      var created = moddle.create(type, attrs || {});
      created.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: (ext.get('values') || []).concat([created]) });
      return created;
    }

    function properties(target) {
      var out = {};
      var props = extension(target, 'camunda:Properties');
      ((props && props.get('values')) || []).forEach(function (p) { if (p.name) { out[p.name] = p.value || ''; } });
      return out;
    }

    function setProperty(element, target, name, value) {
      value = value === undefined || value === null ? '' : String(value).trim();
      var props = extension(target, 'camunda:Properties');
      var list = (props && props.get('values')) || [];
      var existing = list.filter(function (p) { return p.name === name; })[0];
      if (!value) {
        if (existing) { modeling.updateModdleProperties(element, props, { values: list.filter(function (p) { return p !== existing; }) }); }
        return;
      }
      if (existing) {
        modeling.updateModdleProperties(element, existing, { value: value });
        return;
      }
      props = ensureExtension(element, target, 'camunda:Properties', { values: [] });
      var created = moddle.create('camunda:Property', { name: name, value: value });
      created.$parent = props;
      modeling.updateModdleProperties(element, props, { values: (props.get('values') || []).concat([created]) });
    }

    function formFields(target) {
      var form = extension(target, 'camunda:FormData');
      return ((form && form.get('fields')) || []).map(function (f) {
        return {
          id: f.id || '', label: f.label || '', type: f.type || 'string', defaultValue: f.defaultValue || '',
          options: (f.get('values') || []).map(function (v) { return v.id + ':' + (v.name || v.id); }).join(', ')
        };
      });
    }

    function setFormFields(element, fields) {
      var form = ensureExtension(element, bo(element), 'camunda:FormData', { fields: [] });
      var created = fields.filter(function (f) { return f.id; }).map(function (f) {
        var field = moddle.create('camunda:FormField', { id: f.id, label: f.label || f.id, type: f.type || 'string', defaultValue: f.defaultValue });
        field.$parent = form;
        if (f.type === 'enum' && f.options) {
          field.values = f.options.split(/[,，]/).map(function (pair) { return pair.trim(); }).filter(Boolean).map(function (pair) {
            var parts = pair.split(/[:：]/);
            var value = moddle.create('camunda:Value', { id: parts[0].trim(), name: (parts[1] || parts[0]).trim() });
            value.$parent = field;
            return value;
          });
        }
        return field;
      });
      modeling.updateModdleProperties(element, form, { fields: created });
    }

    function laneOf(element) {
      var lanes = registry.filter(function (e) {
        return e.type === 'bpmn:Lane' && (bo(e).get('flowNodeRef') || []).indexOf(bo(element)) >= 0;
      });
      return lanes.length ? (bo(lanes[lanes.length - 1]).name || '') : null;
    }

    function timerOf(element) {
      return ((bo(element).get('eventDefinitions')) || []).filter(function (d) { return d.$instanceOf('bpmn:TimerEventDefinition'); })[0];
    }

    function write(fn) {
      writing = true;
      try { fn(); } finally { writing = false; }
    }

    // --- form building -------------------------------------------------------------------

    function input(name, label, value, attrs, onChange) {
      var field = h('input', Object.assign({ id: 'prop-' + name, name: name, value: value === undefined ? '' : value }, attrs || {}));
      field.addEventListener('change', function () { write(function () { onChange(field.value, field); }); });
      return h('label', { 'class': 'field' }, [h('span', { text: label }), field]);
    }

    function textarea(name, label, value, onChange) {
      var field = h('textarea', { id: 'prop-' + name, name: name, rows: 3, value: value || '' });
      field.addEventListener('change', function () { write(function () { onChange(field.value); }); });
      return h('label', { 'class': 'field' }, [h('span', { text: label }), field]);
    }

    function select(name, label, value, choices, onChange) {
      var field = h('select', { id: 'prop-' + name, name: name }, choices.map(function (c) {
        return h('option', { value: c[0], text: c[1], selected: c[0] === value });
      }));
      field.addEventListener('change', function () { write(function () { onChange(field.value); }); });
      return h('label', { 'class': 'field' }, [h('span', { text: label }), field]);
    }

    function idField(element) {
      return input('id', t('id'), bo(element).id, { pattern: '[A-Za-z_][A-Za-z0-9_-]*' }, function (value, field) {
        value = value.trim();
        if (value === bo(element).id) { return; }
        if (!ID_RE.test(value) || registry.get(value)) {
          field.setCustomValidity(t('badId'));
          field.reportValidity();
          field.value = bo(element).id;
          return;
        }
        field.setCustomValidity('');
        modeling.updateProperties(element, { id: value });
      });
    }

    function nameField(element) {
      return input('name', t('name'), bo(element).name || '', {}, function (value) { modeling.updateLabel(element, value); });
    }

    function processSection(root) {
      var process = processOf(root);
      if (!process) { return [h('p', { 'class': 'hint', text: t('selectHint') })]; }
      var shape = registry.filter(function (e) { return e.type === 'bpmn:Participant' && bo(e).processRef === process; })[0] || root;
      var props = properties(process);
      return [
        h('h2', { text: t('process') }),
        input('processId', t('key'), process.id, { pattern: '[A-Za-z][A-Za-z0-9_]*' }, function (value, field) {
          value = value.trim();
          if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(value)) { field.setCustomValidity(t('badId')); field.reportValidity(); field.value = process.id; return; }
          modeling.updateModdleProperties(shape, process, { id: value });
        }),
        input('processName', t('name'), process.name || '', {}, function (value) {
          modeling.updateModdleProperties(shape, process, { name: value });
          if (shape !== root) { modeling.updateLabel(shape, value); }
        }),
        input('promisedDays', t('promisedDays'), props.promisedDays, { type: 'number', min: 1 }, function (value) { setProperty(shape, process, 'promisedDays', value); }),
        input('statutoryDays', t('statutoryDays'), props.statutoryDays, { type: 'number', min: 1 }, function (value) { setProperty(shape, process, 'statutoryDays', value); }),
        h('p', { 'class': 'hint', text: t('selectHint') })
      ];
    }

    function userTaskSection(element) {
      var b = bo(element);
      var props = properties(b);
      var lane = laneOf(element);
      var groups = b.get('camunda:candidateGroups');
      var first = lane ? t('fromLane') + ': ' + lane : (groups ? t('candidateGroups') + ': ' + groups : t('noLane'));
      var choices = [['', '— ' + first + ' —']].concat(departments.map(function (d) { return [d.code, d.name + ' (' + d.code + ')']; }));
      if (props.department && !departments.some(function (d) { return d.code === props.department || d.name === props.department; })) {
        choices.push([props.department, props.department]);
      }
      var current = departments.filter(function (d) { return d.name === props.department; })[0];
      return [
        select('department', t('department'), current ? current.code : (props.department || ''), choices, function (value) { setProperty(element, b, 'department', value); }),
        select('taskKind', t('taskKind'), props.taskKind || '', [['', t('kindDefault')]].concat(KINDS.map(function (k) { return [k, k]; })),
          function (value) { setProperty(element, b, 'taskKind', value); }),
        input('timeLimitDays', t('timeLimitDays'), props.timeLimitDays, { type: 'number', min: 1, step: 1 }, function (value) { setProperty(element, b, 'timeLimitDays', value); }),
        input('itemName', t('itemName'), props.itemName, {}, function (value) { setProperty(element, b, 'itemName', value); }),
        textarea('legalBasis', t('legalBasis'), props.legalBasis, function (value) { setProperty(element, b, 'legalBasis', value); }),
        formSection(element)
      ];
    }

    function formSection(element) {
      var fields = formFields(bo(element));
      var body = h('tbody');
      function collect() {
        return Array.prototype.map.call(body.querySelectorAll('tr'), function (row) {
          var get = function (n) { return row.querySelector('[data-field=' + n + ']').value.trim(); };
          return { id: get('id'), label: get('label'), type: get('type'), defaultValue: get('defaultValue'), options: get('options') };
        });
      }
      function save() { write(function () { setFormFields(element, collect()); }); }
      function row(f) {
        var remove = h('button', { type: 'button', 'class': 'link', text: t('remove') });
        var tr = h('tr', {}, [
          h('td', {}, [h('input', { 'data-field': 'id', value: f.id, 'aria-label': t('fieldId'), size: 8 })]),
          h('td', {}, [h('input', { 'data-field': 'label', value: f.label, 'aria-label': t('fieldLabel'), size: 8 })]),
          h('td', {}, [h('select', { 'data-field': 'type', 'aria-label': t('fieldType') }, FIELD_TYPES.map(function (ty) {
            return h('option', { value: ty, text: ty, selected: ty === f.type });
          }))]),
          h('td', {}, [h('input', { 'data-field': 'defaultValue', value: f.defaultValue, 'aria-label': t('fieldDefault'), size: 6 })]),
          h('td', {}, [h('input', { 'data-field': 'options', value: f.options, 'aria-label': t('fieldOptions'), size: 8 })]),
          h('td', {}, [remove])
        ]);
        remove.addEventListener('click', function () { tr.remove(); save(); });
        tr.addEventListener('change', save);
        return tr;
      }
      fields.forEach(function (f) { body.appendChild(row(f)); });
      var add = h('button', { type: 'button', id: 'add-field', text: t('addField') });
      add.addEventListener('click', function () { body.appendChild(row({ id: '', label: '', type: 'string', defaultValue: '', options: '' })); });
      return h('fieldset', { 'class': 'form-fields' }, [
        h('legend', { text: t('formFields') }),
        h('table', { 'class': 'form-table' }, [h('thead', {}, [h('tr', {}, [t('fieldId'), t('fieldLabel'), t('fieldType'), t('fieldDefault'), t('fieldOptions'), ''].map(function (x) { return h('th', { text: x }); }))]), body]),
        add
      ]);
    }

    function timerSection(element) {
      var definition = timerOf(element);
      var b = bo(element);
      var duration = definition.get('timeDuration');
      return [
        input('workingDays', t('workingDays'), properties(b).workingDays, { type: 'number', min: 1, step: 1 }, function (value) {
          setProperty(element, b, 'workingDays', value);
          if (/^\d+$/.test(value) && Number(value) > 0) {
            var expression = moddle.create('bpmn:FormalExpression', { body: 'P' + Number(value) + 'D' });
            modeling.updateModdleProperties(element, definition, { timeDuration: expression, timeDate: undefined, timeCycle: undefined });
            var shown = container.querySelector('#prop-timeDuration');
            if (shown) { shown.value = expression.body; }
          }
        }),
        input('timeDuration', t('duration'), duration ? duration.body : '', {}, function (value) {
          var expression = value.trim() ? moddle.create('bpmn:FormalExpression', { body: value.trim() }) : undefined;
          modeling.updateModdleProperties(element, definition, { timeDuration: expression });
        })
      ];
    }

    function flowSection(element) {
      var b = bo(element);
      var source = b.sourceRef;
      if (!source || !(source.$instanceOf('bpmn:ExclusiveGateway') || source.$instanceOf('bpmn:InclusiveGateway'))) { return []; }
      var sourceShape = registry.get(source.id);
      var isDefault = source.get('default') === b;
      var box = h('input', { type: 'checkbox', id: 'prop-default', checked: isDefault });
      box.addEventListener('change', function () {
        write(function () { modeling.updateProperties(sourceShape, { 'default': box.checked ? b : undefined }); });
      });
      return [
        textarea('condition', t('condition'), b.conditionExpression ? b.conditionExpression.body : '', function (value) {
          var expression = value.trim() ? moddle.create('bpmn:FormalExpression', { body: value.trim() }) : undefined;
          modeling.updateProperties(element, { conditionExpression: expression });
        }),
        h('label', { 'class': 'field checkbox' }, [box, ' ' + t('defaultFlow')])
      ];
    }

    function render(element) {
      current = element;
      container.textContent = '';
      var root = canvas.getRootElement();
      var parts;
      if (!element || element === root) {
        parts = processSection(root);
      } else if (element.type === 'bpmn:Participant') {
        parts = processSection(element);
      } else {
        parts = [h('h2', { text: element.type.replace('bpmn:', '') }), idField(element), nameField(element)];
        if (element.type === 'bpmn:UserTask') {
          parts = parts.concat(userTaskSection(element));
        } else if (/Task$/.test(element.type)) {
          parts.push(h('p', { 'class': 'hint', text: t('userTaskHint') }));
        }
        if (/Event$/.test(element.type) && timerOf(element)) { parts = parts.concat(timerSection(element)); }
        if (element.type === 'bpmn:SequenceFlow') { parts = parts.concat(flowSection(element)); }
      }
      parts.forEach(function (p) { container.appendChild(p); });
      container.setAttribute('data-element', element ? element.id : '');
    }

    eventBus.on('selection.changed', function (event) {
      var selected = event.newSelection || [];
      render(selected.length === 1 ? selected[0] : null);
    });
    eventBus.on('commandStack.changed', function () {
      if (writing) { return; }
      var still = current && registry.get(current.id) ? current : null;
      render(still);
    });
    eventBus.on('import.done', function () { render(null); });
    render(null);
    return { render: render };
  };
})();
