// The API's documentation page (/api/docs): Swagger UI, its files served by this server
// (no CDN: exam centres may be offline, and no third-party script runs on this origin),
// started from this file rather than an inline script so that the page keeps
// `script-src 'self'`.
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
