// Small behaviours shared by every page; inline handlers are blocked by the Content-Security-Policy.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-print]");
  if (target) {
    event.preventDefault();
    window.print();
  }
});
