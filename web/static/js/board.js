// The live board: choosing a filter applies it at once (the Filter button does the same without JavaScript).
(function () {
  "use strict";
  const form = document.getElementById("board-filters");
  if (!form) {
    return;
  }
  form.querySelectorAll("select").forEach((select) => {
    select.addEventListener("change", () => form.requestSubmit());
  });
})();
