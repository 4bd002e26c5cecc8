/*
 * The Compute Hosts table's "Power (BMC)" column (templates/evac_dashboard/hosts/index.html).
 *
 * The page renders the column as placeholders (`.evac-power[data-host]`) and never waits for
 * a BMC; this script asks the page's power endpoint (`data-power-url` on
 * #evac-power-states: one request for every host, answered from a short server-side cache
 * or by reading the BMCs concurrently) and writes each host's state as text and a class
 * (`evac-power-on`, `-off`, `-unreachable`, ...). It reads again every `data-interval`
 * seconds while the tab is visible; a failed request leaves what is shown and says so.
 */
(function () {
  'use strict';

  function setup(root) {
    var url = root.getAttribute('data-power-url');
    var interval = (parseFloat(root.getAttribute('data-interval')) || 15) * 1000;
    var failedText = root.getAttribute('data-failed-text') || gettext('not read');
    var timer = null;
    var inFlight = false;

    function cells() {
      return Array.prototype.slice.call(document.querySelectorAll('.evac-power[data-host]'));
    }

    function show(cell, reading) {
      cell.className = 'evac-power evac-power-' + reading.state;
      cell.textContent = reading.label;
      if (reading.detail) {
        cell.setAttribute('title', reading.detail);
      } else {
        cell.removeAttribute('title');
      }
      cell.setAttribute('data-state', reading.state);
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(poll, interval);
    }

    function poll() {
      var wanted = cells();
      if (!wanted.length || inFlight) {
        return;
      }
      if (document.hidden) {
        schedule();
        return;
      }
      inFlight = true;
      var request = new XMLHttpRequest();
      request.open('GET', url, true);
      request.setRequestHeader('Accept', 'application/json');
      request.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
      request.onreadystatechange = function () {
        if (request.readyState !== 4) {
          return;
        }
        inFlight = false;
        var answer = null;
        if (request.status === 200) {
          try {
            answer = JSON.parse(request.responseText);
          } catch (e) {
            answer = null;
          }
        }
        wanted.forEach(function (cell) {
          var reading = answer && answer.hosts && answer.hosts[cell.getAttribute('data-host')];
          if (reading) {
            show(cell, reading);
          } else if (!cell.getAttribute('data-state')) {
            show(cell, {state: 'error', label: failedText, detail: ''});
          }
        });
        root.setAttribute('data-read-at', String(Date.now()));
        if (request.status !== 401 && request.status !== 403) {
          schedule();
        }
      };
      request.send();
    }

    document.addEventListener('visibilitychange', function () {
      if (!document.hidden) {
        poll();
      }
    });
    poll();
  }

  function start() {
    var root = document.getElementById('evac-power-states');
    if (root && !root.getAttribute('data-started')) {
      root.setAttribute('data-started', 'true');
      setup(root);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
