"""Keyboard shortcuts of the Annotate tab: a small script run once by a `gr.HTML` component.

The script only clicks what a mouse would click (a score's label, the Submit/Skip/Back buttons),
so the keyboard goes through exactly the same handlers and server-side checks as the mouse.
Keys are ignored while typing in a text box (the log-in form), and when the Annotate tab is
hidden or logged out.
"""

from __future__ import annotations

SHORTCUTS_HELP = """\
**Keyboard:** `1`-`5` score the highlighted axis and move on (on *Best candidate*, `1`-`4` pick
it) · `↓`/`J` and `↑`/`K` move between axes · `F` flag the highlighted candidate ·
`Enter` or `N` submit and next · `S` skip · `B` back to the item before (edit it, then `Enter`)."""

KEYS_JS = r"""
if (!window.__playgroundAnnotateKeys) {
  window.__playgroundAnnotateKeys = true;
  const cursor = { at: 0 };
  const shown = (el) => !!el && el.offsetParent !== null;
  const fields = () => [...document.querySelectorAll('#annotate-work .annotate-score')].filter(shown);
  // The ring is a class (style.css: an inset shadow, which no parent's overflow can clip); the
  // highlighted axis is scrolled into view when a key moved it there.
  const mark = (scroll) => {
    const list = fields();
    cursor.at = Math.max(0, Math.min(cursor.at, list.length - 1));
    list.forEach((el, i) => {
      el.classList.toggle('kbd-focus', i === cursor.at);
      el.dataset.focused = i === cursor.at ? 'true' : 'false';
    });
    if (scroll && list[cursor.at]) list[cursor.at].scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  };
  const press = (id) => { const button = document.getElementById(id); if (shown(button)) button.click(); };
  // A new item makes old messages stale: close them rather than leave them over the next one.
  const closeToasts = () => document.querySelectorAll('.toast-close').forEach((button) => button.click());
  // A text box counts only while visible: after log-in the focus stays in the hidden password box.
  const typing = (el) => shown(el) && (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' ||
    (el.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit'].includes(el.type)));
  const choose = (field, key) => {
    const labels = [...(field?.querySelectorAll('label') || [])];
    // Best candidate: the key is the candidate's number; scores: the label is the key.
    return field?.id === 'annotate-best' ? labels[Number(key) - 1]
      : labels.find((l) => l.textContent.trim() === key);
  };
  const flagOf = (field) => field?.closest('[id$="-card"]')?.querySelector('.annotate-flag input[type=checkbox]');
  document.addEventListener('keydown', (event) => {
    if (!shown(document.getElementById('annotate-work')) || typing(event.target)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const list = fields();
    if (/^[1-5]$/.test(key)) {
      const label = choose(list[cursor.at], key);
      if (!label) return;
      label.click();
      cursor.at = Math.min(cursor.at + 1, list.length - 1);
    } else if (key === 'ArrowDown' || key === 'j') { cursor.at += 1; }
    else if (key === 'ArrowUp' || key === 'k') { cursor.at -= 1; }
    else if (key === 'f') { const flag = flagOf(list[cursor.at]); if (!flag) return; flag.click(); }
    else if (key === 'Enter' || key === 'n') { cursor.at = 0; closeToasts(); press('annotate-submit'); }
    else if (key === 's') { cursor.at = 0; closeToasts(); press('annotate-skip'); }
    else if (key === 'b') { cursor.at = 0; closeToasts(); press('annotate-back'); }
    else return;
    event.preventDefault();  // e.g. Enter on a focused button must not click it a second time
    mark(true);
  }, true);
  document.addEventListener('click', (event) => {
    const field = event.target.closest?.('.annotate-score');
    const index = field ? fields().indexOf(field) : -1;
    if (index >= 0) { cursor.at = index; mark(false); }
  });
  // Re-highlight after a new item re-renders the fields; after log-in, bring the item into view.
  let working = false;
  setInterval(() => {
    const now = shown(document.getElementById('annotate-work'));
    if (now && !working) document.getElementById('annotate-work').scrollIntoView({ block: 'start' });
    working = now;
    mark(false);
  }, 400);
}
"""
