// Copy buttons: `data-copy="id"` copies the value of the field with that id. Delegated from
// the document, so buttons that htmx swaps in work too. If the clipboard is refused, the
// field's text is selected for Ctrl+C.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-copy]');
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const label = button.firstChild;
  const original = label.textContent;
  try {
    await navigator.clipboard.writeText(field.value);
    label.textContent = 'Copied';
  } catch {
    field.focus();
    field.select();
    label.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => {
    label.textContent = original;
  }, 2000);
});
