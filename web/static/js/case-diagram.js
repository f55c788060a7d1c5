/*
 * The case page's flow diagram (一事一档): the case's own BPMN definition version drawn with the
 * bpmn-js NavigatedViewer (global BpmnJS, /static/vendor/bpmn-js/), its user tasks marked
 * completed / active / cancelled. Data: GET <#case-diagram data-src> -> {xml, completed, active, cancelled}.
 * No inline script anywhere: the page's Content-Security-Policy only allows scripts from 'self'.
 */
(function () {
  'use strict';

  var MARKERS = { completed: 'yjs-completed', active: 'yjs-active', cancelled: 'yjs-cancelled' };

  var container = document.getElementById('case-diagram');
  if (!container) {
    return;
  }

  function fail(reason) {
    container.setAttribute('data-state', 'failed');
    container.classList.add('is-empty');
    var message = document.createElement('p');
    message.className = 'hint';
    message.textContent = container.getAttribute('data-error') || 'The flow diagram could not be shown.';
    container.appendChild(message);
    // A warning, not an error: a definition without diagram information (BPMN DI) is legitimate.
    if (window.console && console.warn) {
      console.warn('case diagram:', reason);
    }
  }

  if (typeof window.BpmnJS !== 'function') {
    fail('bpmn-js is not loaded (run `make assets`)');
    return;
  }

  var viewer = new window.BpmnJS({ container: container });
  var canvas = null;

  function fit() {
    if (!canvas) {
      return;
    }
    canvas.resized();
    canvas.zoom('fit-viewport', 'auto');
  }

  function mark(data) {
    var registry = viewer.get('elementRegistry');
    Object.keys(MARKERS).forEach(function (state) {
      (data[state] || []).forEach(function (elementId) {
        var element = registry.get(elementId);
        if (element) {
          canvas.addMarker(element, MARKERS[state]);
          registry.getGraphics(element).setAttribute('data-yjs-state', state);
        }
      });
    });
  }

  fetch(container.getAttribute('data-src'), {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' }
  })
    .then(function (response) {
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      return response.json();
    })
    .then(function (data) {
      return viewer.importXML(data.xml).then(function () {
        return data;
      });
    })
    .then(function (data) {
      canvas = viewer.get('canvas');
      fit();
      mark(data);
      container.setAttribute('data-state', 'ready');
    })
    .catch(function (err) {
      fail(err && err.message ? err.message : String(err));
    });

  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(fit, 150);
  });

  // Printing: the page is narrower on paper than on screen. Give the SVG a viewBox equal to its
  // on-screen size just before printing, so the fitted drawing scales down with the container
  // instead of being cut off; remove it again afterwards (navigation relies on 1:1 pixels).
  window.addEventListener('beforeprint', function () {
    var svg = container.querySelector('svg');
    if (!svg || !canvas) {
      return;
    }
    var box = svg.getBoundingClientRect();
    if (box.width > 0 && box.height > 0) {
      svg.setAttribute('viewBox', '0 0 ' + box.width + ' ' + box.height);
      svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    }
  });
  window.addEventListener('afterprint', function () {
    var svg = container.querySelector('svg');
    if (svg) {
      svg.removeAttribute('viewBox');
      svg.removeAttribute('preserveAspectRatio');
    }
  });
})();
