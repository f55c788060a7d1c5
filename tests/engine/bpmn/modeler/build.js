/*
 * Loaded by generate.py into a real Chromium page next to bpmn-js's modeler bundle: builds a
 * diagram through the modeler's own API (the calls its palette, context pad and properties make),
 * then returns what bpmn-js saves. Nothing here writes XML by hand.
 *
 * spec = {camunda: bool, executable: bool?, processId, processName,
 *         lanes: [name, ...]?, nodes: [{id, type, name, lane, x, props, form, candidateGroups,
 *         attachTo, timer, eventDefinition}], flows: [{id, from, to, condition, label, isDefault}]}
 */
window.buildDiagram = async function (spec, camundaDescriptor) {
  'use strict';
  var options = { container: '#canvas' };
  if (spec.camunda) {
    options.moddleExtensions = { camunda: camundaDescriptor };
  }
  var modeler = new window.BpmnJS(options);
  await modeler.createDiagram();
  var modeling = modeler.get('modeling');
  var elementFactory = modeler.get('elementFactory');
  var bpmnFactory = modeler.get('bpmnFactory');
  var registry = modeler.get('elementRegistry');
  var canvas = modeler.get('canvas');
  var moddle = modeler.get('moddle');

  modeling.removeElements([registry.get('StartEvent_1')]);
  var root = canvas.getRootElement();
  var parent = root;
  var laneY = {};
  var laneHeight = 200;

  if (spec.lanes && spec.lanes.length) {
    var participant = elementFactory.createParticipantShape();
    modeling.createShape(participant, { x: 900, y: 400 }, root);
    modeling.resizeShape(participant, { x: 100, y: 80, width: 1900, height: laneHeight * spec.lanes.length });
    if (spec.lanes.length > 1) {
      modeling.splitLane(participant, spec.lanes.length);
    }
    var lanes = participant.children.filter(function (c) { return c.type === 'bpmn:Lane'; });
    lanes.sort(function (a, b) { return a.y - b.y; });
    spec.lanes.forEach(function (name, i) {
      var lane = lanes[i] || participant;
      if (lanes[i]) {
        modeling.updateLabel(lane, name);
      } else {
        modeling.updateLabel(participant, name);
      }
      laneY[name] = lane.y + lane.height / 2;
    });
    modeling.updateLabel(participant, spec.processName || '');
    parent = participant;
    root = canvas.getRootElement();
  }

  var process = parent.businessObject.processRef || parent.businessObject;
  modeling.updateModdleProperties(parent, process, { id: spec.processId });
  if (spec.processName) {
    modeling.updateModdleProperties(parent, process, { name: spec.processName });
  }
  if (spec.executable !== undefined) {
    modeling.updateModdleProperties(parent, process, { isExecutable: spec.executable });
  }

  var shapes = {};
  var row = {};
  (spec.nodes || []).forEach(function (node, index) {
    var x = node.x || (200 + index * 150);
    var y = node.lane ? laneY[node.lane] : (node.y || 300);
    if (node.attachTo) {
      var host = shapes[node.attachTo];
      var boundary = elementFactory.createShape({ type: 'bpmn:BoundaryEvent', eventDefinitionType: node.eventDefinition || 'bpmn:TimerEventDefinition' });
      shapes[node.id] = modeling.createShape(boundary, { x: host.x + host.width - 10, y: host.y + host.height }, host, { attach: true });
    } else {
      var attrs = { type: node.type };
      if (node.eventDefinition) {
        attrs.eventDefinitionType = node.eventDefinition;
      }
      if (node.type === 'bpmn:SubProcess') {
        attrs.isExpanded = false;
      }
      shapes[node.id] = modeling.createShape(elementFactory.createShape(attrs), { x: x, y: y + (row[x] || 0) }, parent);
      row[x] = (row[x] || 0) + 10;
    }
    var shape = shapes[node.id];
    modeling.updateProperties(shape, { id: node.id });
    if (node.name) {
      modeling.updateLabel(shape, node.name);
    }
    if (node.timer) {
      var definition = shape.businessObject.eventDefinitions[0];
      var expression = moddle.create('bpmn:FormalExpression', { body: node.timer });
      modeling.updateModdleProperties(shape, definition, { timeDuration: expression });
    }
    if (node.candidateGroups) {
      modeling.updateProperties(shape, { 'camunda:candidateGroups': node.candidateGroups });
    }
    if (node.props || node.form) {
      var bo = shape.businessObject;
      var values = [];
      if (node.form) {
        values.push(moddle.create('camunda:FormData', {
          fields: node.form.map(function (f) {
            return moddle.create('camunda:FormField', { id: f.id, label: f.label, type: f.type, defaultValue: f.defaultValue });
          })
        }));
      }
      if (node.props) {
        values.push(moddle.create('camunda:Properties', {
          values: Object.keys(node.props).map(function (name) {
            return moddle.create('camunda:Property', { name: name, value: String(node.props[name]) });
          })
        }));
      }
      var extensionElements = bpmnFactory.create('bpmn:ExtensionElements', { values: values });
      modeling.updateModdleProperties(shape, bo, { extensionElements: extensionElements });
    }
  });

  (spec.flows || []).forEach(function (flow) {
    var connection = modeling.connect(shapes[flow.from], shapes[flow.to]);
    modeling.updateProperties(connection, { id: flow.id });
    if (flow.label) {
      modeling.updateLabel(connection, flow.label);
    }
    if (flow.condition) {
      modeling.updateProperties(connection, {
        conditionExpression: moddle.create('bpmn:FormalExpression', { body: flow.condition })
      });
    }
    if (flow.isDefault) {
      modeling.updateProperties(shapes[flow.from], { 'default': connection.businessObject });
    }
  });

  var saved = await modeler.saveXML({ format: true });
  modeler.destroy();
  return saved.xml;
};
