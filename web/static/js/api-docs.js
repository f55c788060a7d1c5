// The API docs page: renders /api/v1/openapi.json grouped by tag. Text only (textContent), no HTML from the document.
(function () {
  "use strict";
  const root = document.getElementById("api-docs");
  if (!root) {
    return;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => node.setAttribute(key, value));
    children.flat().forEach((child) => {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : String(child));
      }
    });
    return node;
  }

  function resolve(doc, schema) {
    if (schema && schema.$ref) {
      const name = schema.$ref.split("/").pop();
      return { name, schema: doc.components.schemas[name] };
    }
    return { name: null, schema: schema || {} };
  }

  // A compact outline of a JSON Schema: type, enum, nullable, object keys (required marked *), array items.
  function outline(doc, schema, depth) {
    const found = resolve(doc, schema);
    const s = found.schema;
    if (found.name && depth > 0) {
      return el("span", { class: "chip" }, found.name);
    }
    if (s.anyOf) {
      const parts = s.anyOf.filter((part) => part.type !== "null").map((part) => outline(doc, part, depth + 1));
      const nullable = s.anyOf.some((part) => part.type === "null");
      return el("span", {}, parts, nullable ? " | null" : "");
    }
    if (s.enum) {
      return el("span", {}, s.enum.map((value) => JSON.stringify(value)).join(" | "));
    }
    if (s.type === "array") {
      return el("span", {}, "[", outline(doc, s.items || {}, depth + 1), "]");
    }
    if (s.type === "object" && s.properties) {
      const required = new Set(s.required || []);
      const rows = Object.entries(s.properties).map(([key, value]) =>
        el("li", {}, el("code", {}, key + (required.has(key) ? "*" : "")), ": ", outline(doc, value, depth + 1)));
      return el("span", {}, found.name ? el("span", { class: "chip" }, found.name) : "", "{", el("ul", {}, rows), "}");
    }
    const type = s.type ? [s.type, s.format].filter(Boolean).join(" ") : s.const !== undefined ? JSON.stringify(s.const) : "any";
    return el("span", {}, type);
  }

  function parametersTable(operation) {
    if (!operation.parameters || operation.parameters.length === 0) {
      return null;
    }
    return el("table", { class: "list" },
      el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "schema")),
      operation.parameters.map((p) => el("tr", {},
        el("td", {}, el("code", {}, p.name + (p.required ? "*" : ""))), el("td", {}, p.in),
        el("td", {}, JSON.stringify(p.schema)))));
  }

  function bodies(doc, content) {
    return Object.entries(content || {}).map(([type, media]) =>
      el("div", {}, el("span", { class: "badge" }, type), " ", outline(doc, media.schema || {}, 0)));
  }

  function operationCard(doc, path, method, operation) {
    const base = doc.servers && doc.servers.length ? doc.servers[0].url.replace(/\/$/, "") : "";
    const responses = Object.entries(operation.responses || {}).map(([code, answer]) =>
      el("li", {}, el("strong", {}, code), " ", answer.description || "", bodies(doc, answer.content)));
    const security = operation.security && operation.security.length === 0 ? "no login" : "HTTP Basic or bearer token";
    return el("details", { class: "card", id: operation.operationId },
      el("summary", {}, el("span", { class: "badge" }, method.toUpperCase()), " ", el("code", {}, base + path), " — ", operation.summary),
      operation.description ? el("p", { class: "hint" }, operation.description) : null,
      el("p", { class: "meta" }, security),
      parametersTable(operation),
      operation.requestBody ? el("div", {}, el("h4", {}, "Request"), bodies(doc, operation.requestBody.content)) : null,
      el("h4", {}, "Responses"), el("ul", {}, responses));
  }

  function render(doc) {
    const byTag = new Map();
    Object.entries(doc.paths).forEach(([path, item]) => {
      Object.entries(item).forEach(([method, operation]) => {
        const tag = (operation.tags || ["other"])[0];
        if (!byTag.has(tag)) {
          byTag.set(tag, []);
        }
        byTag.get(tag).push(operationCard(doc, path, method, operation));
      });
    });
    const schemas = Object.keys(doc.components.schemas).map((name) =>
      el("details", { class: "card", id: "schema-" + name }, el("summary", {}, el("code", {}, name)),
        outline(doc, { $ref: "#/components/schemas/" + name }, 0)));
    root.replaceChildren(
      el("p", {}, doc.info.description),
      ...[...byTag.entries()].map(([tag, cards]) => el("section", {}, el("h2", {}, tag), cards)),
      el("section", { id: "schemas" }, el("h2", {}, "schemas"), schemas));
  }

  fetch(root.dataset.src, { headers: { Accept: "application/json" } })
    .then((response) => response.json())
    .then(render)
    .catch((error) => root.replaceChildren(el("p", { class: "flash error" }, "Could not load the API description: " + error)));
})();
