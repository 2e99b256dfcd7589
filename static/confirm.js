// A confirmation dialog swapped in by htmx arrives open but not modal; reopen it as a modal
// (the page behind is inert, Escape cancels) and drop it from the page once closed.
document.addEventListener('htmx:afterSettle', () => {
  for (const dialog of document.querySelectorAll('dialog.confirm-dialog:not([data-modal])')) {
    dialog.dataset.modal = 'yes';
    if (typeof dialog.showModal === 'function') {
      dialog.removeAttribute('open');
      dialog.showModal();
    }
    dialog.addEventListener('close', () => {
      if (!dialog.open) dialog.remove();
    });
  }
});
