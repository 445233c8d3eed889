// Ask before a destructive form is sent (forms with data-confirm). No inline script:
// the page's Content-Security-Policy allows only this file.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
