// The message templates page: as values are typed into a template's form, its preview shows
// the text filled in. The server checks everything again; this only shows what will go out.
(() => {
  const fill = (text, values) =>
    text.replace(/\{\{\s*(\d+)\s*\}\}/g, (placeholder, n) => values[n] || placeholder);

  const update = (form) => {
    const prefix = form.dataset.preview;
    for (const part of ['header', 'body']) {
      const preview = document.getElementById(`${prefix}-${part}-preview`);
      if (!preview) continue;
      const values = {};
      for (const input of form.querySelectorAll(`[data-fills="${part}"]`)) {
        if (input.value.trim()) values[input.dataset.number] = input.value.trim();
      }
      const text = fill(preview.dataset[`preview${part[0].toUpperCase()}${part.slice(1)}`], values);
      const target = part === 'header' ? preview.querySelector('strong') || preview : preview;
      target.textContent = text;
    }
  };

  const start = () => {
    for (const form of document.querySelectorAll('form[data-template-form]')) {
      form.addEventListener('input', () => update(form));
      update(form);
    }
  };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
