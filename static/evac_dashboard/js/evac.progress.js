/*
 * Live progress of one evacuation batch (templates/evac_dashboard/batches/detail.html).
 *
 * The server renders every row (content/batches/rows.py); this script only asks what
 * changed since the version it holds (?since=) and swaps in the rows it gets:
 *  - waits `interval` seconds between polls, multiplied by `backoff` (up to `maxInterval`)
 *    after each poll that changed nothing, back to `interval` when something changes;
 *  - pauses while the tab is hidden and polls at once when it is shown again;
 *  - stops when the answer says the batch is final ("Check again" polls once more);
 *  - a failed poll (network, HTTP error, Nova unreadable) shows a notice and keeps what
 *    the page shows; 401/403 stop it (the session ended).
 * Durations are counted here from the rows' timestamps (so rows do not change every
 * second) and worded by the browser's Intl; every other word comes from the page.
 */
(function (horizon) {
  'use strict';

  var module = horizon.evacProgress = {};

  function setup(root) {
    var config = JSON.parse(root.getAttribute('data-config') || '{}');
    var text = config.text || {};
    var lang = horizon.languageCode || document.documentElement.lang || undefined;
    var units = {};
    var list = window.Intl && Intl.ListFormat ?
      new Intl.ListFormat(lang, {style: 'narrow', type: 'unit'}) : null;
    var baseInterval = (config.interval || 3) * 1000;
    var maxInterval = (config.maxInterval || 30) * 1000;
    var backoff = config.backoff || 2;
    var state = {
      version: root.getAttribute('data-version') || '',
      interval: baseInterval,
      timer: null,
      stopped: root.getAttribute('data-final') === 'true',
      inFlight: false,
      polls: 0,
      failures: 0,
      lastSummary: null,
      offset: clockOffset(config.now),
      receivedAt: Date.now(),
      nextAt: null,
      lastOk: null,
      updateMs: []
    };

    // ------------------------------------------------------------------ helpers
    function fill(template, values) {
      return String(template || '').replace(/%\((\w+)\)s/g, function (all, name) {
        return values[name] === undefined ? all : values[name];
      });
    }

    // Durations in the page's language: Intl's unit formats (CLDR plurals) where the browser
    // has them, else the catalog's words (ngettext: each language's plural forms).
    var UNIT_WORDS = {
      second: function (n) { return ngettext('%s second', '%s seconds', n); },
      minute: function (n) { return ngettext('%s minute', '%s minutes', n); },
      hour: function (n) { return ngettext('%s hour', '%s hours', n); },
      day: function (n) { return ngettext('%s day', '%s days', n); }
    };

    function unit(value, name) {
      if (units[name] === undefined) {
        try {
          units[name] = new Intl.NumberFormat(lang, {style: 'unit', unit: name});
        } catch (e) {
          units[name] = null;
        }
      }
      if (units[name]) {
        return units[name].format(value);
      }
      if (units.number === undefined) {
        try {
          units.number = new Intl.NumberFormat(lang);
        } catch (e) {
          units.number = null;
        }
      }
      return interpolate(UNIT_WORDS[name](value),
                         [units.number ? units.number.format(value) : String(value)]);
    }

    function both(first, second) {
      if (list) {
        return list.format([first, second]);
      }
      // Translators: a duration in two units, larger first, e.g. "2 hours 5 minutes".
      return interpolate(gettext('%(larger)s %(smaller)s'), {larger: first, smaller: second},
                         true);
    }

    function duration(seconds) {
      if (seconds === null || isNaN(seconds)) {
        return '-';
      }
      seconds = Math.max(0, Math.floor(seconds));
      if (seconds < 120) {
        return unit(seconds, 'second');
      }
      var minutes = Math.floor(seconds / 60);
      if (minutes < 60) {
        return unit(minutes, 'minute');
      }
      var hours = Math.floor(minutes / 60);
      if (hours < 48) {
        return both(unit(hours, 'hour'), unit(minutes % 60, 'minute'));
      }
      return both(unit(Math.floor(hours / 24), 'day'), unit(hours % 24, 'hour'));
    }

    function clockOffset(serverNow) {
      var parsed = Date.parse(serverNow || '');
      return isNaN(parsed) ? 0 : parsed - Date.now();
    }

    function clock() {
      return new Date().toLocaleTimeString(lang);
    }

    function field(name) {
      return root.querySelector('[data-field="' + name + '"]');
    }

    function setText(name, value) {
      var node = field(name);
      if (node) {
        node.textContent = value === null || value === undefined ? '' : String(value);
      }
    }

    function show(node, visible) {
      if (node) {
        if (visible) {
          node.removeAttribute('hidden');
        } else {
          node.setAttribute('hidden', '');
        }
      }
    }

    function icon(name) {
      var node = document.createElement('span');
      node.className = 'fa fa-' + name;
      node.setAttribute('aria-hidden', 'true');
      return node;
    }

    function say(node, iconName, words) {
      node.textContent = '';
      if (words) {
        node.appendChild(icon(iconName));
        node.appendChild(document.createTextNode(' ' + words));
      }
      show(node, !!words);
    }

    function notice(words) {
      var node = field('notice');
      if (node) {
        say(node, 'exclamation-triangle', words);
      }
    }

    function message(words, isError) {
      var node = field('message');
      if (node) {
        node.className = 'evac-message ' + (isError ? 'evac-message-error' : 'evac-message-ok');
        say(node, isError ? 'times-circle' : 'check-circle', words);
      }
    }

    function csrfToken() {
      var input = root.querySelector('input[name="csrfmiddlewaretoken"]');
      return input ? input.value : '';
    }

    // ---------------------------------------------------------------- the clock
    function tick() {
      var now = Date.now() + state.offset;
      Array.prototype.forEach.call(root.querySelectorAll('[data-since]'), function (node) {
        var since = Date.parse(node.getAttribute('data-since'));
        node.textContent = isNaN(since) ? '-' : duration((now - since) / 1000);
      });
      var elapsed = field('elapsed');
      if (elapsed) {
        var base = parseFloat(elapsed.getAttribute('data-seconds'));
        var running = !state.stopped && root.getAttribute('data-final') !== 'true';
        elapsed.textContent = duration(base + (running ? (Date.now() - state.receivedAt) / 1000 : 0));
      }
      statusLine();
    }

    function statusLine() {
      var status = field('poll-status');
      var mode = root.getAttribute('data-poll-state');
      if (!status) {
        return;
      }
      if (mode === 'stopped') {
        status.textContent = text.final;
      } else if (mode === 'paused') {
        status.textContent = text.paused;
      } else if (mode === 'ended') {
        status.textContent = text.sessionEnded;
      } else if (state.nextAt) {
        var wait = duration(Math.ceil((state.nextAt - Date.now()) / 1000));
        status.textContent = (state.lastOk ? fill(text.updated, {time: state.lastOk}) + ' · ' : '') +
          fill(text.nextIn, {wait: wait});
      }
    }

    // ------------------------------------------------------------------- rows
    function parseRow(html) {
      var body = document.createElement('tbody');
      body.innerHTML = html;
      return body.firstElementChild;
    }

    function placeRow(tbody, row) {
      var old = document.getElementById(row.id);
      if (old) {
        old.parentNode.replaceChild(row, old);
        return;
      }
      var position = parseInt(row.getAttribute('data-position'), 10);
      var next = Array.prototype.find.call(tbody.rows, function (other) {
        return parseInt(other.getAttribute('data-position'), 10) > position;
      });
      tbody.insertBefore(row, next || null);
    }

    function applyRows(data) {
      var tbody = root.querySelector('#evac-items tbody');
      if (!tbody) {
        return;
      }
      if (data.full) {
        var fresh = document.createElement('tbody');
        fresh.innerHTML = data.rows.map(function (pair) { return pair[1]; }).join('');
        tbody.parentNode.replaceChild(fresh, tbody);
        return;
      }
      data.rows.forEach(function (pair) {
        placeRow(tbody, parseRow(pair[1]));
      });
      (data.removed || []).forEach(function (id) {
        var gone = document.getElementById('evac-item-' + id);
        if (gone) {
          gone.parentNode.removeChild(gone);
        }
      });
    }

    function applySummary(data) {
      var summary = data.summary;
      Object.keys(summary.counts).forEach(function (key) {
        var count = root.querySelector('[data-count="' + key + '"]');
        if (count) {
          count.textContent = summary.counts[key];
        }
        var segment = root.querySelector('[data-segment="' + key + '"]');
        if (segment) {
          var width = summary.total ? (summary.counts[key] * 100 / summary.total) : 0;
          segment.style.width = width.toFixed(3) + '%';
          segment.title = ((text.states || {})[key] || key) + ': ' + summary.counts[key];
        }
      });
      var bar = root.querySelector('.evac-bar');
      if (bar) {
        bar.setAttribute('aria-valuenow', summary.percent);
      }
      setText('final-count', summary.final_count);
      setText('total', summary.total);
      setText('percent', summary.percent);
      var elapsed = field('elapsed');
      if (elapsed) {
        elapsed.setAttribute('data-seconds', summary.elapsed_seconds);
      }
      setText('cleaned-up', summary.cleaned_up);
      show(root.querySelector('.evac-cleaned-count'), summary.cleaned_up > 0);
      var batchState = field('batch-state');
      if (batchState) {
        batchState.textContent = data.batch.state_label;
        batchState.className = 'evac-bstate evac-bstate-' + data.batch.state;
      }
      setText('batch-error', data.batch.error_message);
      Array.prototype.forEach.call(root.querySelectorAll('.evac-batch-problem'), function (node) {
        show(node, !!data.batch.error_message);
      });
      show(root.querySelector('.evac-action-resume'), data.resume.possible);
      setText('resume-reason', data.resume.reason);
      setText('resume-open', data.resume.open_items);
      show(root.querySelector('.evac-action-retry'), summary.retryable > 0);
      setText('retryable', summary.retryable);
      show(root.querySelector('.evac-action-cancel'), summary.cancellable > 0);
      setText('cancellable', summary.cancellable);
      applyPacing(data.pacing || {});
    }

    // The sender's window of rebuilds in flight (_pacing.html holds the words).
    function applyPacing(pacing) {
      show(field('pacing'), !!pacing.active);
      if (pacing.active) {
        setText('pacing-window', pacing.window);
        setText('pacing-in-flight', pacing.in_flight);
        setText('pacing-minimum', pacing.minimum);
        setText('pacing-maximum', pacing.maximum);
      }
    }

    // The DOM update of one answer, timed (module.lastUpdateMs) for the benchmark.
    function apply(data) {
      var began = window.performance.now();
      applyRows(data);
      applySummary(data);
      state.version = data.version || state.version;
      state.offset = clockOffset(data.now);
      state.receivedAt = Date.now();
      tick();
      module.lastUpdateMs = window.performance.now() - began;
      state.updateMs.push(module.lastUpdateMs);
      var summaryKey = JSON.stringify([data.batch, data.resume, data.final, data.summary.counts,
        data.summary.retryable, data.summary.cancellable, data.summary.cleaned_up,
        data.pacing || null]);
      var changed = data.rows.length > 0 || (data.removed || []).length > 0 ||
        summaryKey !== state.lastSummary;
      state.lastSummary = summaryKey;
      return changed;
    }

    // ----------------------------------------------------------------- polling
    function setPollState(name) {
      root.setAttribute('data-poll-state', name);
    }

    function schedule(delay) {
      clearTimeout(state.timer);
      state.timer = null;
      state.nextAt = null;
      if (state.stopped || document.hidden) {
        return;
      }
      state.nextAt = Date.now() + delay;
      root.setAttribute('data-interval', String(Math.round(delay / 1000)));
      state.timer = setTimeout(poll, delay);
      statusLine();
    }

    function failed(words) {
      state.failures += 1;
      root.setAttribute('data-failures', String(state.failures));
      state.interval = Math.min(maxInterval, state.interval * backoff);
      notice(words + ' ' + fill(text.keepShowing, {wait: duration(state.interval / 1000)}));
      setPollState('error');
      schedule(state.interval);
    }

    function url() {
      var base = root.getAttribute('data-poll-url');
      return state.version ? base + '?since=' + encodeURIComponent(state.version) : base;
    }

    function poll() {
      if (state.inFlight) {
        return;
      }
      state.timer = null;
      state.inFlight = true;
      setPollState('polling');
      var controller = window.AbortController ? new AbortController() : null;
      var timeout = setTimeout(function () { if (controller) { controller.abort(); } }, 60000);
      fetch(url(), {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: {'Accept': 'application/json', 'X-Requested-With': 'XMLHttpRequest'},
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (response.status === 401 || response.status === 403) {
          var ended = new Error(text.sessionEnded);
          ended.sessionEnded = true;
          throw ended;
        }
        return response.json().then(function (body) {
          if (!response.ok) {
            throw new Error((body && body.error) || fill(text.httpError, {status: response.status}));
          }
          return body;
        }, function () {
          throw new Error(fill(text.httpError, {status: response.status}));
        });
      }).then(function (data) {
        state.polls += 1;
        root.setAttribute('data-polls', String(state.polls));
        if (!data.nova.ok) {
          failed(fill(text.novaFailed, {error: data.nova.error}));
          return;
        }
        var changed = apply(data);
        redrawTimeline(changed, data.final);
        state.failures = 0;
        state.lastOk = clock();
        notice(null);
        if (data.final) {
          state.stopped = true;
          clearTimeout(state.timer);
          state.nextAt = null;
          root.setAttribute('data-final', 'true');
          setPollState('stopped');
          tick();
          return;
        }
        state.stopped = false;
        root.setAttribute('data-final', 'false');
        state.interval = changed ? baseInterval : Math.min(maxInterval, state.interval * backoff);
        setPollState('running');
        schedule(state.interval);
      }).catch(function (error) {
        if (error && error.sessionEnded) {
          state.stopped = true;
          setPollState('ended');
          notice(text.sessionEnded);
          statusLine();
          return;
        }
        failed(fill(text.pollFailed, {time: clock(), error: (error && error.message) || error}));
      }).then(function () {
        clearTimeout(timeout);
        state.inFlight = false;
      });
    }

    // The timeline chart of a running recovery, redrawn by the server after polls saw
    // changes: at most every 2 s, or 10 times as long as the last redraw took (a big
    // batch's chart costs more); a change seen sooner is drawn when that time is up. Once
    // more when the batch is final, retried a few times if that fails (the last chart is
    // the one a post-mortem starts from).
    var timeline = {
      url: root.getAttribute('data-timeline-url'),
      every: 2000,
      gap: 2000,
      drawnAt: Date.now(),
      dirty: false,
      final: false,
      pending: false,
      timer: null,
      finalTries: 0,
      done: root.getAttribute('data-final') === 'true'
    };

    function redrawTimeline(changed, final) {
      if (!timeline.url || timeline.done) {
        return;
      }
      timeline.dirty = timeline.dirty || changed;
      timeline.final = timeline.final || final;
      if (timeline.pending || timeline.timer || !(timeline.dirty || timeline.final)) {
        return;
      }
      var wait = timeline.final ? 0 : timeline.gap - (Date.now() - timeline.drawnAt);
      if (wait > 0) {
        timeline.timer = setTimeout(function () {
          timeline.timer = null;
          redrawTimeline(false, false);
        }, wait);
        return;
      }
      var drawingFinal = timeline.final;
      var began = Date.now();
      timeline.dirty = false;
      timeline.pending = true;
      fetch(timeline.url, {credentials: 'same-origin', cache: 'no-store',
                           headers: {'X-Requested-With': 'XMLHttpRequest'}
      }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        var holder = document.createElement('div');
        holder.innerHTML = html || '';
        var fresh = holder.querySelector('#evac-timeline');
        var old = document.getElementById('evac-timeline');
        if (!fresh || !old) {
          throw new Error('no chart');
        }
        old.parentNode.replaceChild(fresh, old);
        timeline.drawnAt = Date.now();
        timeline.gap = Math.max(timeline.every, 10 * (timeline.drawnAt - began));
        timeline.done = drawingFinal;
      }).catch(function () {
        // the chart stays as it was: tried again after the gap, or, when final, a few
        // times more, then left
        timeline.drawnAt = Date.now();
        if (!drawingFinal) {
          timeline.dirty = true;
        } else if (timeline.finalTries < 3) {
          timeline.finalTries += 1;
          timeline.timer = setTimeout(function () {
            timeline.timer = null;
            redrawTimeline(false, true);
          }, 3000 * timeline.finalTries);
        } else {
          timeline.done = true;
        }
      }).then(function () {
        timeline.pending = false;
        if (!timeline.done && !timeline.timer && (timeline.dirty || timeline.final)) {
          redrawTimeline(false, false);  // a change or the end came while it was drawn
        }
      });
    }

    function pollNow() {
      state.interval = baseInterval;
      state.stopped = false;
      clearTimeout(state.timer);
      poll();
    }

    // ----------------------------------------------------------------- actions
    function post(target, params) {
      var body = new URLSearchParams();
      Object.keys(params).forEach(function (key) {
        if (params[key]) {
          body.append(key, params[key]);
        }
      });
      var password = document.getElementById('evac-password');
      if (password && password.value) {
        body.append('password', password.value);
      }
      message(text.working, false);
      return fetch(target, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {'Accept': 'application/json', 'X-Requested-With': 'XMLHttpRequest',
                  'X-CSRFToken': csrfToken(),
                  'Content-Type': 'application/x-www-form-urlencoded'},
        body: body.toString()
      }).then(function (response) {
        return response.json().then(function (answer) {
          return {ok: response.ok, answer: answer};
        }, function () {
          return {ok: false, answer: {error: fill(text.httpError, {status: response.status})}};
        });
      }).then(function (result) {
        message(result.ok ? result.answer.message : result.answer.error, !result.ok);
        pollNow();
      }).catch(function (error) {
        message((error && error.message) || String(error), true);
      });
    }

    function needsPassword() {
      var password = document.getElementById('evac-password');
      if (password && !password.value) {
        message(text.passwordNeeded, true);
        password.focus();
        return true;
      }
      return false;
    }

    root.addEventListener('click', function (event) {
      var button = event.target.closest ? event.target.closest('button[data-action]') : null;
      if (!button || !root.contains(button)) {
        return;
      }
      var action = button.getAttribute('data-action');
      if (action === 'refresh') {
        pollNow();
      } else if (action === 'retry' && !needsPassword()) {
        button.disabled = true;
        post(root.getAttribute('data-retry-url'), {item: button.getAttribute('data-item')});
      } else if (action === 'cancel') {
        button.disabled = true;
        post(root.getAttribute('data-cancel-url'), {item: button.getAttribute('data-item')});
      }
    });

    root.addEventListener('submit', function (event) {
      var form = event.target;
      if (!form.classList || !form.classList.contains('evac-action')) {
        return;
      }
      event.preventDefault();
      if ((form.classList.contains('evac-action-resume') ||
           form.classList.contains('evac-action-retry')) && needsPassword()) {
        return;
      }
      post(form.getAttribute('action'), {});
    });

    document.addEventListener('visibilitychange', function () {
      if (document.hidden) {
        clearTimeout(state.timer);
        state.timer = null;
        state.nextAt = null;
        if (!state.stopped) {
          setPollState('paused');
          statusLine();
        }
      } else if (!state.stopped) {
        state.interval = baseInterval;
        poll();
      }
    });

    setInterval(tick, 1000);
    module.pollNow = pollNow;
    module.state = state;
    module.duration = duration;
    tick();
    if (state.stopped) {
      setPollState('stopped');
      statusLine();
    } else if (document.hidden) {
      setPollState('paused');
      statusLine();
    } else {
      setPollState('running');
      schedule(baseInterval);
    }
  }

  module.init = function () {
    var root = document.getElementById('evac-progress');
    if (root && !root.getAttribute('data-evac-started')) {
      root.setAttribute('data-evac-started', 'true');
      setup(root);
    }
  };

  horizon.addInitFunction(module.init);
}(horizon));
