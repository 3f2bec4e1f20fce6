// Swagger UI for /docs, from the center's own copy (static/vendor/swagger-ui): a file, not an
// inline script, so the pages' Content-Security-Policy can forbid inline scripts.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // the public validator is elsewhere: never call it
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
