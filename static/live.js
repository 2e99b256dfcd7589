// Live inbox: makes the server-sent events of /inbox/events idempotent.
//
// The stream may send the same thing twice (a reconnect replays a few seconds of overlap, and
// a reply the composer just sent also arrives as an event), and a changed message or row comes
// again under the same id. Each fragment's first element says what to do with it:
//   data-live="replace"  a message bubble: swap the one already shown in place, else append;
//   data-live="move"     a conversation row: take the old one out, htmx puts it at the top.
// htmx-ext-sse fires `htmx:sseBeforeMessage` on the element with `sse-swap`, with the
// EventSource's MessageEvent as `detail`; cancelling it stops the extension's own swap.
(function () {
  'use strict';

  // The fragment's first element, parsed without touching the page.
  function firstElement(html) {
    var template = document.createElement('template');
    template.innerHTML = html;
    return template.content.firstElementChild;
  }

  // What scrolls the conversation: the list itself when styled to scroll, else the page.
  function scroller(list) {
    var overflow = window.getComputedStyle(list).overflowY;
    if ((overflow === 'auto' || overflow === 'scroll') && list.scrollHeight > list.clientHeight) {
      return list;
    }
    return document.scrollingElement || document.documentElement;
  }

  // Whether the reader is at (or within a few pixels of) the newest message.
  function atBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  // Remember, before a bubble lands, whether to follow it down.
  var follow = null;

  function noteFollow(target) {
    var list = target && target.closest ? target.closest('#bubbles') : null;
    if (list) {
      var box = scroller(list);
      follow = atBottom(box) ? box : null;
    }
  }

  function scrollIfFollowing() {
    if (follow) {
      follow.scrollTop = follow.scrollHeight;
      follow = null;
    }
  }

  document.addEventListener('htmx:sseBeforeMessage', function (event) {
    var incoming = firstElement(event.detail.data || '');
    if (!incoming || !incoming.id) return;
    noteFollow(event.target);
    var existing = document.getElementById(incoming.id);
    var how = incoming.getAttribute('data-live');
    if (how === 'replace' && existing) {
      // Same message, newer state (a tick): change it where it stands.
      existing.replaceWith(incoming);
      htmx.process(incoming);
      event.preventDefault();
      scrollIfFollowing();
    } else if (how === 'move') {
      // The conversation moved to the top of the list: one row per conversation.
      if (existing) existing.remove();
      var empty = document.getElementById('inbox-empty');
      if (empty) empty.remove();
    }
  });

  // After htmx's own swap of an event (a new bubble appended).
  document.addEventListener('htmx:sseMessage', scrollIfFollowing);

  // The composer's answer puts the sent bubble into #bubbles out of band; if the stream
  // already brought it, the one shown is as fresh: keep it, skip the copy.
  document.addEventListener('htmx:oobBeforeSwap', function (event) {
    var target = event.detail.target;
    if (!target || target.id !== 'bubbles') return;
    var fragment = event.detail.fragment;
    var bubble = fragment && fragment.firstElementChild;
    if (bubble && bubble.id && document.getElementById(bubble.id)) {
      event.detail.shouldSwap = false;
      return;
    }
    noteFollow(target);
  });

  document.addEventListener('htmx:oobAfterSwap', function (event) {
    if (event.detail.target && event.detail.target.id === 'bubbles') scrollIfFollowing();
  });

  // Keep each stream's address at the last event heard: after an error the extension opens a
  // fresh EventSource from the attribute, which sends no Last-Event-ID, and `after` resumes it.
  document.addEventListener('htmx:sseMessage', function (event) {
    var id = event.detail && event.detail.lastEventId;
    var source = event.target && event.target.closest ? event.target.closest('[sse-connect]') : null;
    if (!id || !source) return;
    var url = source.getAttribute('sse-connect').replace(/([?&])after=\d*/, '$1after=' + id);
    source.setAttribute('sse-connect', url);
  });

  // Leaving the page: close the streams first, so the browser's cut connection is not
  // reported as an error. A page brought back from the back-forward cache has no stream left:
  // load it afresh.
  window.addEventListener('pagehide', function () {
    document.querySelectorAll('[sse-connect]').forEach(function (el) {
      htmx.trigger(el, 'htmx:beforeCleanupElement');
    });
  });
  window.addEventListener('pageshow', function (event) {
    if (event.persisted && document.querySelector('[sse-connect]')) window.location.reload();
  });

  // Open a conversation at its newest message.
  document.addEventListener('DOMContentLoaded', function () {
    var list = document.getElementById('bubbles');
    if (list) {
      var box = scroller(list);
      box.scrollTop = box.scrollHeight;
    }
  });
})();
