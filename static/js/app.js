/* mch-link: the little script the pages need, kept out of the HTML so the
   Content-Security-Policy can forbid inline script (docs/security.md). */
document.addEventListener("click", function (event) {
  var target = event.target;
  if (!(target instanceof Element)) return;
  if (target.closest("[data-print]")) {
    window.print();
  }
  var select = target.closest("[data-select-on-click]");
  if (select && typeof select.select === "function") {
    select.select();
  }
});
