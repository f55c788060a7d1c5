// Small behaviours shared by every page; inline handlers are blocked by the Content-Security-Policy.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-print]");
  if (target) {
    event.preventDefault();
    window.print();
  }
});

// Reusable opinion phrases: a click puts the phrase into the opinion box it names.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-phrase]");
  if (!button) return;
  const box = document.getElementById(button.dataset.target || "opinion");
  if (box) {
    box.value = button.dataset.phrase;
    box.focus();
  }
});
