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

/* Accessibility on phones (docs/accessibility.md). */
document.addEventListener("DOMContentLoaded", function () {
  // After a failed submit the error summary takes focus, so it is read out and seen first.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  // A wide table that scrolls sideways is a named region the keyboard can reach.
  var names = {};
  document.querySelectorAll(".table-wrap").forEach(function (wrap) {
    if (wrap.scrollWidth <= wrap.clientWidth || wrap.hasAttribute("tabindex")) return;
    var heading = null;
    for (var el = wrap.previousElementSibling; el && !heading; el = el.previousElementSibling) {
      if (/^H[1-4]$/.test(el.tagName)) heading = el;
    }
    heading = heading || document.querySelector("main h1");
    var name = (heading ? heading.textContent.trim() : "") || "表格";
    names[name] = (names[name] || 0) + 1;
    if (names[name] > 1) name += "（" + names[name] + "）";
    wrap.setAttribute("tabindex", "0");
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", name + "，可左右滚动");
  });

  // A progress section updates itself in place (no full reload that loses the reader's place);
  // once the page no longer has one, the finished page replaces main.
  document.querySelectorAll("[data-poll]").forEach(function (section) {
    var every = parseInt(section.getAttribute("data-poll"), 10) || 3000;
    function poll() {
      fetch(window.location.href, { credentials: "same-origin" }).then(function (response) {
        return response.text();
      }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-poll]");
        if (fresh) {
          section.innerHTML = fresh.innerHTML;
          window.setTimeout(poll, every);
        } else if (doc.querySelector("main")) {
          document.querySelector("main").innerHTML = doc.querySelector("main").innerHTML;
        }
      }).catch(function () { window.setTimeout(poll, every * 2); });
    }
    window.setTimeout(poll, every);
  });
});
