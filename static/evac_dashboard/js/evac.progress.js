/*
 * Live progress of one evacuation batch (templates/evac_dashboard/batches/detail.html).
 *
 * Polls the batch's JSON endpoint (content/batches/views.py ProgressView, document built by
 * evacuation/tracking.py snapshot) and updates the summary and each row in place:
 *  - waits `interval` seconds between polls; after a poll that changed nothing the wait is
 *    multiplied by `backoff` up to `maxInterval`, and it starts again at `interval` when
 *    something changes;
 *  - pauses while the tab is hidden and polls at once when it is shown again;
 *  - stops when the document says the batch is final ("Check again" polls once more);
 *  - a failed poll (network, HTTP error, Nova unreadable) shows a notice, keeps the rows and
 *    counts as they were and tries again later (backing off); 401/403 stop it (the session
 *    ended).
 * Stages passed through: Nova shows only the current one, so each row remembers the stages
 * it saw, with the same rules as evacuation.progress.stages_seen (order and always-passed
 * stages come from the page), kept in sessionStorage so a reload keeps them.
 * Every text from Nova is written with textContent, never as HTML.
 */
(function () {
  'use strict';

  var root = document.getElementById('evac-progress');
  if (!root || root.getAttribute('data-evac-started')) {
    return;
  }
  root.setAttribute('data-evac-started', 'true');

  var config = JSON.parse(root.getAttribute('data-config') || '{}');
  var text = config.text || {};
  var pollUrl = root.getAttribute('data-poll-url');
  var batchId = root.getAttribute('data-batch-id');
  var storageKey = 'evac-progress-stages:' + batchId;
  var baseInterval = (config.interval || 3) * 1000;
  var maxInterval = (config.maxInterval || 30) * 1000;
  var backoff = config.backoff || 2;

  var state = {
    interval: baseInterval,
    timer: null,
    stopped: root.getAttribute('data-final') === 'true',
    inFlight: false,
    polls: 0,
    failures: 0,
    lastSignature: null,
    receivedAt: Date.now(),
    nextAt: null,
    memory: loadMemory()
  };

  // ------------------------------------------------------------------ small helpers
  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined && content !== null) {
      node.textContent = String(content);
    }
    return node;
  }

  function icon(name) {
    var node = el('span', 'fa fa-' + name);
    node.setAttribute('aria-hidden', 'true');
    return node;
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
    if (!node) {
      return;
    }
    if (visible) {
      node.removeAttribute('hidden');
    } else {
      node.setAttribute('hidden', '');
    }
  }

  // Same wording as content/display.py age().
  function age(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) {
      return '-';
    }
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 120) {
      return seconds + ' s';
    }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return minutes + ' min';
    }
    var hours = Math.floor(minutes / 60);
    if (hours < 48) {
      return hours + ' h ' + (minutes % 60) + ' min';
    }
    return Math.floor(hours / 24) + ' d ' + (hours % 24) + ' h';
  }

  function clock() {
    var now = new Date();
    function pad(n) { return (n < 10 ? '0' : '') + n; }
    return pad(now.getHours()) + ':' + pad(now.getMinutes()) + ':' + pad(now.getSeconds());
  }

  function csrfToken() {
    var input = root.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : '';
  }

  // ---------------------------------------------------------------- stages memory
  function loadMemory() {
    try {
      return JSON.parse(window.sessionStorage.getItem(storageKey) || '{}') || {};
    } catch (e) {
      return {};
    }
  }

  function saveMemory() {
    try {
      window.sessionStorage.setItem(storageKey, JSON.stringify(state.memory));
    } catch (e) {
      // private mode or full storage: the page still works, reloads forget stages
    }
  }

  // Port of evacuation.progress.stages_seen.
  function stagesSeen(previous, label) {
    var order = config.stageOrder || [];
    var always = config.alwaysPassed || [];
    var finals = config.finalStates || [];
    var seen = previous.slice();
    var last = seen.length ? seen[seen.length - 1] : null;
    if (last !== null && (finals.indexOf(last) >= 0 || last === label)) {
      return seen;
    }
    if (label === 'failed' || label === 'cancelled') {
      return seen.concat([label]);
    }
    var index = order.indexOf(label);
    if (index < 0) {
      return seen;
    }
    var lastIndex = last !== null ? order.indexOf(last) : -1;
    if (index <= lastIndex) {
      return seen;
    }
    for (var i = lastIndex + 1; i < index; i++) {
      if (always.indexOf(order[i]) >= 0) {
        seen.push(order[i]);
      }
    }
    seen.push(label);
    return seen;
  }

  function rememberStages(item) {
    var key = String(item.id);
    var known = state.memory[key];
    var stages;
    if (!known || known.attempt !== item.attempt) {
      stages = (item.stages || []).filter(function (s) { return s !== 'stopped'; });
    } else {
      stages = known.stages;
      (item.stages || []).forEach(function (s) {
        if (s !== 'stopped') {
          stages = stagesSeen(stages, s);
        }
      });
    }
    stages = stagesSeen(stages, item.label);
    state.memory[key] = {attempt: item.attempt, stages: stages};
    return item.stopped ? stages.concat(['stopped']) : stages;
  }

  function stageText(code, item) {
    if (code === 'done' && item.to_host) {
      return (text.on || 'on') + ' ' + item.to_host;
    }
    return (config.stages && config.stages[code]) || code;
  }

  // ------------------------------------------------------------------- rendering
  function renderRow(row, item) {
    var cells = row.cells;
    row.className = 'evac-row evac-row-' + item.state;
    row.setAttribute('data-state', item.state);
    row.setAttribute('data-label', item.label);
    row.setAttribute('data-attempt', item.attempt);

    // Instance (attempt marker may appear after a retry)
    var name = cells[1];
    name.textContent = '';
    name.appendChild(el('span', 'evac-name', item.name));
    if (item.attempt > 1) {
      name.appendChild(document.createTextNode(' '));
      name.appendChild(el('span', 'evac-attempt', (text.attempt || 'attempt') + ' ' + item.attempt));
    }
    name.appendChild(el('br'));
    name.appendChild(el('small', 'evac-id', item.instance_id));

    // To host
    var to = cells[4];
    to.textContent = '';
    if (item.to_host) {
      to.appendChild(el('span', 'evac-to', item.to_host));
    } else if (item.tried_host) {
      to.appendChild(el('span', 'evac-tried',
        '(' + (text.tried || 'tried') + ' ' + item.tried_host + ')'));
    } else if (item.requested_target) {
      to.appendChild(el('span', 'evac-requested',
        '(' + (text.requested || 'requested') + ' ' + item.requested_target + ')'));
    } else {
      to.textContent = '-';
    }

    // Progress state, detail, cleanup, problem
    var cell = cells[5];
    cell.textContent = '';
    var badge = el('span', 'evac-pstate evac-pstate-' + item.state);
    badge.appendChild(icon(item.state_icon));
    badge.appendChild(document.createTextNode(' '));
    badge.appendChild(el('span', 'evac-pstate-label', item.state_label));
    cell.appendChild(badge);
    cell.appendChild(el('div', 'evac-detail', item.detail));
    if (item.cleaned_up) {
      var cleaned = el('div', 'evac-cleaned');
      cleaned.appendChild(icon('recycle'));
      cleaned.appendChild(document.createTextNode(' ' + (text.cleanedUp || 'source cleaned up')));
      cell.appendChild(cleaned);
    }
    if (item.advice) {
      var problem = el('div', 'evac-problem');
      problem.appendChild(el('strong', 'evac-problem-title', item.advice.title));
      if (item.advice.nova_message) {
        var fault = el('div', 'evac-fault', (text.novaSaid || 'Nova said:') + ' ');
        fault.appendChild(el('q', null, item.advice.nova_message));
        problem.appendChild(fault);
      }
      problem.appendChild(el('div', 'evac-advice', item.advice.text));
      cell.appendChild(problem);
    }

    // Nova status / task
    var nova = cells[6];
    nova.textContent = '';
    if (item.deleted) {
      nova.appendChild(el('span', 'evac-status', text.deleted || 'deleted'));
    } else if (item.status) {
      nova.appendChild(el('span', 'evac-status', item.status));
      if (item.task_state) {
        nova.appendChild(el('br'));
        nova.appendChild(el('small', 'evac-task', (text.task || 'task') + ': ' + item.task_state));
      }
    } else {
      nova.appendChild(el('span', 'evac-muted', text.notChanged || '-'));
    }

    cells[7].textContent = item.migration_status || '-';

    var since = cells[8];
    since.setAttribute('data-seconds', item.since_seconds === null ? '' : item.since_seconds);
    since.textContent = age(item.since_seconds);

    var stages = cells[9];
    stages.textContent = '';
    var list = el('ol', 'evac-stages');
    rememberStages(item).forEach(function (code) {
      list.appendChild(el('li', 'evac-stage evac-stage-' + code, stageText(code, item)));
    });
    stages.appendChild(list);
    row.setAttribute('data-stages', (state.memory[String(item.id)] || {stages: []}).stages.join(' '));

    var actions = cells[10];
    actions.textContent = '';
    if (item.can_retry) {
      actions.appendChild(actionButton('retry', item.id, 'repeat', text.retry || 'Retry'));
    }
    if (item.can_cancel) {
      actions.appendChild(actionButton('cancel', item.id, 'ban', text.cancel || 'Cancel'));
    }
  }

  function actionButton(action, itemId, iconName, label) {
    var button = el('button', 'btn btn-default btn-xs');
    button.type = 'button';
    button.setAttribute('data-action', action);
    button.setAttribute('data-item', itemId);
    button.appendChild(icon(iconName));
    button.appendChild(document.createTextNode(' ' + label));
    return button;
  }

  function rowSignature(item) {
    return [item.state, item.label, item.attempt, item.submit_state, item.status,
            item.task_state, item.migration_status, item.to_host, item.cleaned_up,
            item.deleted, item.can_retry, item.can_cancel, item.detail, item.tried_host].join('|');
  }

  function renderSummary(data) {
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
        segment.title = ((config.states || {})[key] || key) + ': ' + summary.counts[key];
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
      elapsed.textContent = age(summary.elapsed_seconds);
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
  }

  function apply(data) {
    var changed = false;
    (data.items || []).forEach(function (item) {
      var row = document.getElementById('evac-item-' + item.id);
      if (!row) {
        return;
      }
      var signature = rowSignature(item);
      if (row.getAttribute('data-signature') !== signature) {
        renderRow(row, item);
        row.setAttribute('data-signature', signature);
      } else {
        var since = row.cells[8];
        since.setAttribute('data-seconds', item.since_seconds === null ? '' : item.since_seconds);
      }
    });
    saveMemory();
    renderSummary(data);
    var signature = JSON.stringify([data.batch.state, data.resume.possible, data.final,
      (data.items || []).map(rowSignature)]);
    changed = signature !== state.lastSignature;
    state.lastSignature = signature;
    state.receivedAt = Date.now();
    return changed;
  }

  // --------------------------------------------------------------------- notices
  function notice(message) {
    var node = field('notice');
    if (!node) {
      return;
    }
    node.textContent = '';
    if (message) {
      node.appendChild(icon('exclamation-triangle'));
      node.appendChild(document.createTextNode(' ' + message));
    }
    show(node, !!message);
  }

  function message(textValue, isError) {
    var node = field('message');
    if (!node) {
      return;
    }
    node.textContent = '';
    if (textValue) {
      node.className = 'evac-message ' + (isError ? 'evac-message-error' : 'evac-message-ok');
      node.appendChild(icon(isError ? 'times-circle' : 'check-circle'));
      node.appendChild(document.createTextNode(' ' + textValue));
    }
    show(node, !!textValue);
  }

  function setPollState(name) {
    root.setAttribute('data-poll-state', name);
  }

  function updateStatusLine() {
    var status = field('poll-status');
    if (!status) {
      return;
    }
    var mode = root.getAttribute('data-poll-state');
    if (mode === 'stopped') {
      status.textContent = text.final || '';
    } else if (mode === 'paused') {
      status.textContent = text.paused || '';
    } else if (mode === 'ended') {
      status.textContent = text.sessionEnded || '';
    } else if (state.nextAt) {
      var seconds = Math.max(0, Math.ceil((state.nextAt - Date.now()) / 1000));
      status.textContent = (state.lastOk ? (text.updated || 'Updated') + ' ' + state.lastOk + ' · ' : '') +
        (text.nextIn || 'next update in') + ' ' + seconds + ' s';
    }
  }

  // ----------------------------------------------------------------------- polling
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
    updateStatusLine();
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
    fetch(pollUrl, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: {'Accept': 'application/json', 'X-Requested-With': 'XMLHttpRequest'},
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        var ended = new Error(text.sessionEnded || 'session ended');
        ended.sessionEnded = true;
        throw ended;
      }
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error((body && body.error) || ('HTTP ' + response.status));
        }
        return body;
      }, function () {
        throw new Error('HTTP ' + response.status);
      });
    }).then(function (data) {
      state.polls += 1;
      root.setAttribute('data-polls', String(state.polls));
      if (!data.nova.ok) {
        // Rows and counts stay as last seen: the document only has the stored states.
        state.failures += 1;
        state.interval = Math.min(maxInterval, state.interval * backoff);
        notice((text.novaFailed || 'Nova could not be read') + ': ' + data.nova.error + '. ' +
               (text.keepShowing || '') + ' ' + Math.round(state.interval / 1000) + ' s.');
        setPollState('error');
        schedule(state.interval);
        return;
      }
      var changed = apply(data);
      state.failures = 0;
      state.lastOk = clock();
      notice(null);
      if (data.final) {
        state.stopped = true;
        clearTimeout(state.timer);
        state.nextAt = null;
        root.setAttribute('data-final', 'true');
        setPollState('stopped');
        updateStatusLine();
        return;
      }
      state.stopped = false;
      root.setAttribute('data-final', 'false');
      state.interval = changed ? baseInterval : Math.min(maxInterval, state.interval * backoff);
      setPollState('running');
      schedule(state.interval);
    }).catch(function (error) {
      state.failures += 1;
      root.setAttribute('data-failures', String(state.failures));
      if (error && error.sessionEnded) {
        state.stopped = true;
        setPollState('ended');
        notice(text.sessionEnded);
        updateStatusLine();
        return;
      }
      state.interval = Math.min(maxInterval, state.interval * backoff);
      notice((text.pollFailed || 'Could not refresh') + ' (' + clock() + '): ' +
             ((error && error.message) || error) + '. ' + (text.keepShowing || '') + ' ' +
             Math.round(state.interval / 1000) + ' s.');
      setPollState('error');
      schedule(state.interval);
    }).then(function () {
      clearTimeout(timeout);
      state.inFlight = false;
    });
  }

  function pollNow() {
    state.interval = baseInterval;
    state.stopped = false;
    clearTimeout(state.timer);
    poll();
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) {
      clearTimeout(state.timer);
      state.timer = null;
      state.nextAt = null;
      if (!state.stopped) {
        setPollState('paused');
        updateStatusLine();
      }
    } else if (!state.stopped) {
      state.interval = baseInterval;
      poll();
    }
  });

  // Ticks the "in this state" and elapsed times between polls.
  setInterval(function () {
    var delta = (Date.now() - state.receivedAt) / 1000;
    Array.prototype.forEach.call(root.querySelectorAll('td.evac-c-since'), function (cell) {
      var base = cell.getAttribute('data-seconds');
      if (base !== null && base !== '') {
        cell.textContent = age(parseFloat(base) + delta);
      }
    });
    var elapsed = field('elapsed');
    if (elapsed && !state.stopped && root.getAttribute('data-final') !== 'true') {
      elapsed.textContent = age(parseFloat(elapsed.getAttribute('data-seconds')) + delta);
    }
    updateStatusLine();
  }, 1000);

  // ----------------------------------------------------------------------- actions
  function post(url, params) {
    var body = new URLSearchParams();
    Object.keys(params).forEach(function (key) {
      [].concat(params[key]).forEach(function (value) {
        if (value !== undefined && value !== null && value !== '') {
          body.append(key, value);
        }
      });
    });
    var password = document.getElementById('evac-password');
    if (password && password.value) {
      body.append('password', password.value);
    }
    message(text.working || '…', false);
    return fetch(url, {
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
        return {ok: false, answer: {error: 'HTTP ' + response.status}};
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
      return;
    }
    var item = button.getAttribute('data-item');
    if (action === 'retry') {
      if (needsPassword()) {
        return;
      }
      button.disabled = true;
      post(root.getAttribute('data-retry-url'), {item: item});
    } else if (action === 'cancel') {
      button.disabled = true;
      post(root.getAttribute('data-cancel-url'), {item: item});
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

  // Rows rendered by the server start with the stages they imply; what this tab saw
  // before a reload is merged in.
  Array.prototype.forEach.call(root.querySelectorAll('tr.evac-row'), function (row) {
    var key = row.getAttribute('data-item-id');
    var attempt = parseInt(row.getAttribute('data-attempt'), 10);
    var known = state.memory[key];
    var stages = (row.getAttribute('data-stages') || '').split(' ').filter(function (s) {
      return s && s !== 'stopped';
    });
    if (known && known.attempt === attempt && known.stages.length) {
      var merged = known.stages;
      stages.forEach(function (s) { merged = stagesSeen(merged, s); });
      if (merged.join(' ') !== stages.join(' ')) {
        var list = row.querySelector('.evac-stages');
        var stopped = list && list.querySelector('.evac-stage-stopped');
        var done = list && list.querySelector('.evac-stage-done');
        var doneText = done ? done.textContent : null;
        if (list) {
          list.textContent = '';
          merged.forEach(function (code) {
            list.appendChild(el('li', 'evac-stage evac-stage-' + code,
              code === 'done' && doneText ? doneText : (config.stages || {})[code] || code));
          });
          if (stopped) {
            list.appendChild(stopped);
          }
        }
      }
      stages = merged;
    }
    state.memory[key] = {attempt: attempt, stages: stages};
  });
  saveMemory();

  window.evacProgress = {
    pollNow: pollNow,
    state: state,
    stagesSeen: stagesSeen
  };

  if (state.stopped) {
    setPollState('stopped');
    updateStatusLine();
  } else if (document.hidden) {
    setPollState('paused');
    updateStatusLine();
  } else {
    setPollState('running');
    schedule(baseInterval);
  }
}());
