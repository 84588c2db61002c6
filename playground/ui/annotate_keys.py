"""Keyboard shortcuts of the Annotate tab: a small script run once by a `gr.HTML` component.

The script only clicks what a mouse would click (a score's label, the Submit/Skip/Back buttons),
so the keyboard goes through exactly the same handlers and server-side checks as the mouse.
Keys are ignored while typing in a text box (the log-in form), and when the Annotate tab is
hidden or logged out.
"""

from __future__ import annotations

SHORTCUTS_HELP = """\
**Keyboard:** `1`-`5` score the highlighted axis and move on ·
`↓`/`J` and `↑`/`K` move between axes · `Enter` or `N` submit and next · `S` skip ·
`B` back to the item before (edit it, then `Enter`)."""

KEYS_JS = r"""
if (!window.__playgroundAnnotateKeys) {
  window.__playgroundAnnotateKeys = true;
  const cursor = { at: 0 };
  const shown = (el) => !!el && el.offsetParent !== null;
  const fields = () => [...document.querySelectorAll('#annotate-work .annotate-score')].filter(shown);
  const mark = () => {
    const list = fields();
    cursor.at = Math.max(0, Math.min(cursor.at, list.length - 1));
    list.forEach((el, i) => {
      el.style.outline = i === cursor.at ? '3px solid var(--color-accent, #6366f1)' : '';
      el.style.outlineOffset = '2px';
      el.dataset.focused = i === cursor.at ? 'true' : 'false';
    });
  };
  const press = (id) => { const button = document.getElementById(id); if (shown(button)) button.click(); };
  // A text box counts only while visible: after log-in the focus stays in the hidden password box.
  const typing = (el) => shown(el) && (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' ||
    (el.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit'].includes(el.type)));
  document.addEventListener('keydown', (event) => {
    if (!shown(document.getElementById('annotate-work')) || typing(event.target)) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const list = fields();
    if (/^[1-5]$/.test(key)) {
      const label = [...(list[cursor.at]?.querySelectorAll('label') || [])]
        .find((l) => l.textContent.trim() === key);
      if (!label) return;
      label.click();
      cursor.at = Math.min(cursor.at + 1, list.length - 1);
    } else if (key === 'ArrowDown' || key === 'j') { cursor.at += 1; }
    else if (key === 'ArrowUp' || key === 'k') { cursor.at -= 1; }
    else if (key === 'Enter' || key === 'n') { cursor.at = 0; press('annotate-submit'); }
    else if (key === 's') { cursor.at = 0; press('annotate-skip'); }
    else if (key === 'b') { cursor.at = 0; press('annotate-back'); }
    else return;
    event.preventDefault();  // e.g. Enter on a focused button must not click it a second time
    mark();
  }, true);
  document.addEventListener('click', (event) => {
    const field = event.target.closest?.('.annotate-score');
    const index = field ? fields().indexOf(field) : -1;
    if (index >= 0) { cursor.at = index; mark(); }
  });
  setInterval(mark, 400);  // re-highlight after a new item re-renders the fields
}
"""
