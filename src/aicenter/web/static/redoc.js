// ReDoc for /redoc, from the center's own copy (static/vendor/redoc); no inline script.
window.addEventListener("DOMContentLoaded", function () {
  Redoc.init(document.body.dataset.openapi, { hideDownloadButton: false },
             document.getElementById("redoc"));
});
