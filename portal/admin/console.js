// The console's only script: while an upload is being checked or written, follow its
// progress, and show the finished page when it is done. Without it the page still works:
// its link refreshes it.
(function () {
  "use strict";
  var bar = document.querySelector("progress[data-follow]");
  if (!bar) { return; }
  var percent = document.getElementById("percent");
  function poll() {
    fetch(bar.getAttribute("data-follow"), { credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(function (state) {
        bar.value = state.percent;
        if (percent) { percent.textContent = state.percent + "%"; }
        if (state.status === "running") { window.setTimeout(poll, 1000); }
        else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());
