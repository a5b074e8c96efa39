// /api/docs: Swagger UI from the server's own files (no CDN, no inline script), so the API
// reference works on an offline laptop and under the page's CSP.
/* global SwaggerUIBundle */
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapi,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default validator badge would call validator.swagger.io from the reader's browser.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
