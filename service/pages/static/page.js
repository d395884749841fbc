// The try-a-case page: read the form, ask the JSON API, draw its answer.
//
// Everything shown comes from POST /v1/tables/<id>/evaluate, exactly as an integrator gets
// it; this file only draws it. Text is always set with textContent (never innerHTML), so
// nothing from the workbook, the answer or the form can become markup. The one piece of
// markup taken in is the grids of a pinned version, rendered (and escaped) by the server's
// own template and parsed with DOMParser, which runs no script.
// With an API token configured the API answers 401 until the page sends one: the token is
// asked for in a password field, kept in sessionStorage only (this tab, until it closes).
// Timings for the browser tests: window.triagePage.interactive (ms after navigation start)
// and window.triagePage.changes (ms from a change of the form to its result drawn).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("page-data").textContent);
  const form = $("case");
  const pin = $("pin");
  const timings = { interactive: null, changes: [], evaluations: 0 };
  window.triagePage = timings;
  let sequence = 0; // an answer to an older request is dropped
  let last = null; // { request, answer } of the last answer drawn
  let pending = null; // debounce timer for typing
  const TOKEN = "triage-api-token"; // its sessionStorage key
  const gridsByVersion = new Map([[$("grids").dataset.version, $("grids")]]); // built once each

  const plain = (code) => String(code).replace(/_/g, " ").trim();

  function words(output, value) {
    if (value === null || value === undefined) return "none";
    if (Array.isArray(value)) {
      return value.length ? value.map((v) => words(output, v)).join(", ") : "none";
    }
    const known = data.outputs[output];
    const key = typeof value === "string" ? value : String(value);
    if (known && key in known.values) return known.values[key];
    if (typeof value === "boolean") return value ? "yes" : "no";
    return typeof value === "string" ? plain(value) : key;
  }

  function nameWords(name) {
    return data.input_labels[name] || data.outputs[name]?.label || plain(name);
  }

  function valueWords(name, value) {
    if (name in data.outputs) return words(name, value);
    const listed = data.input_values[name];
    const key = typeof value === "string" ? value : JSON.stringify(value);
    if (listed && key in listed) return listed[key];
    return typeof value === "string" ? plain(value) : key;
  }

  function facts() {
    const found = {};
    for (const [name, kind] of Object.entries(data.inputs)) {
      const control = form.elements.namedItem(name);
      if (!control || control.value === "") continue; // not known: left out (null)
      const raw = control.value;
      if (kind === "boolean") found[name] = raw === "true";
      else if (kind === "number" || kind === "integer") found[name] = Number(raw);
      else found[name] = raw;
    }
    return found;
  }

  function token() {
    try {
      return sessionStorage.getItem(TOKEN) || "";
    } catch (error) {
      return ""; // storage refused (a private window's policy): no token is kept
    }
  }

  function headers(accept) {
    const sent = { Accept: accept };
    if (token()) sent.Authorization = "Bearer " + token();
    return sent;
  }

  function request() {
    const body = { facts: facts() };
    if (pin && pin.value) body.version = pin.value;
    return body;
  }

  function element(tag, text, className) {
    const made = document.createElement(tag);
    if (text !== undefined) made.textContent = text;
    if (className) made.className = className;
    return made;
  }

  function clearErrors() {
    for (const p of form.querySelectorAll(".error")) p.textContent = "";
    for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
  }

  function remember(body) {
    // the address holds the case, so a reload, a bookmark or a link shows it again
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(body.facts)) query.set(name, String(value));
    if (body.version) query.set("version", body.version);
    history.replaceState(null, "", query.size ? "?" + query : location.pathname);
  }

  async function ask(body) {
    // the API's answer as { status, answer }; a network failure is status 0 with a message
    try {
      const response = await fetch(data.evaluate, {
        method: "POST",
        headers: { ...headers("application/json"), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, answer: await response.json() };
    } catch (error) {
      const message = "The service did not answer (" + error.message + ").";
      return { status: 0, answer: { message: message } };
    }
  }

  async function evaluate(startedAt) {
    const mine = ++sequence;
    const body = request();
    remember(body);
    const { status, answer } = await ask(body);
    if (status === 200) await showGrids(answer.version); // before drawing: rows to mark
    if (mine !== sequence) return; // a newer change is on its way
    timings.evaluations += 1;
    if (status === 200) drawAnswer(body, answer);
    else drawProblem(status, answer);
    if (startedAt !== undefined) timings.changes.push(performance.now() - startedAt);
  }

  // --- the grids show the rules of the version that answered --------------------------------

  async function gridsOf(version) {
    const response = await fetch(data.grids + "?version=" + encodeURIComponent(version),
      { headers: headers("text/html") });
    if (!response.ok) throw new Error("the service answered " + response.status);
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const grids = page.getElementById("grids");
    if (!grids) throw new Error("the answer holds no grids");
    return document.adoptNode(grids);
  }

  async function showGrids(version) {
    // a pinned version's rows may differ from the serving version's: highlighting its
    // fired rows on another version's rules would show the wrong rules
    const shown = $("grids");
    if (shown.dataset.version === version) return;
    try {
      if (!gridsByVersion.has(version)) gridsByVersion.set(version, await gridsOf(version));
      $("grids").replaceWith(gridsByVersion.get(version));
    } catch (error) {
      $("grids-version").textContent = "The rules of version " + version.slice(0, 12) +
        " could not be fetched (" + error.message + "); the grids below are of version " +
        shown.dataset.version.slice(0, 12) + ", so their highlighted rows may be wrong.";
    }
  }

  // --- the API token, when the service asks for one ----------------------------------------

  function askForToken() {
    const rejected = token() !== "";
    try {
      sessionStorage.removeItem(TOKEN); // a token refused is not sent again
    } catch (error) { /* nothing was kept */ }
    $("auth").hidden = false;
    $("auth-message").textContent = rejected
      ? "The API token was not accepted. Check it and enter it again."
      : "This service answers only with an API token. Enter it to try cases.";
    return rejected ? "The API token was not accepted: enter it again under “API token”."
      : "The service needs an API token: enter it under “API token” above the case.";
  }

  function useToken(event) {
    event.preventDefault();
    const field = $("api-token");
    if (!field.value.trim()) {
      $("auth-message").textContent = "Enter the token first.";
      return;
    }
    try {
      sessionStorage.setItem(TOKEN, field.value.trim());
    } catch (error) {
      $("auth-message").textContent = "This browser refused to keep the token for this tab.";
      return;
    }
    field.value = ""; // kept in sessionStorage only, not in the page
    evaluate(performance.now());
  }

  function markFields(errors) {
    // each error next to its field; the ones that name no field of the form are returned
    const general = [];
    for (const problem of errors) {
      const field = String(problem.field).replace(/^facts\./, "");
      const slot = $("err-" + field);
      if (slot && slot.classList.contains("error")) {
        slot.textContent = problem.message;
        $("in-" + field).setAttribute("aria-invalid", "true");
      } else {
        general.push(field + ": " + problem.message);
      }
    }
    return general;
  }

  function problemHeadline(status, answer) {
    const count = (answer.errors || []).length;
    if (status === 401) return askForToken();
    if (status === 422) {
      return "The case is not complete or not valid: " + count + " field" +
        (count === 1 ? "" : "s") + " to fix (shown next to each).";
    }
    return answer.message || "The service answered " + status + ".";
  }

  function drawProblem(status, answer) {
    clearErrors();
    const general = markFields(answer.errors || []);
    const headline = problemHeadline(status, answer);
    $("answer").hidden = true;
    const box = $("problem");
    box.hidden = false;
    box.replaceChildren(element("p", headline), ...general.map((line) => element("p", line)));
    $("status").textContent = headline;
    markRules([]);
    $("fired").replaceChildren();
    last = null;
  }

  function drawAnswer(body, answer) {
    clearErrors();
    $("auth").hidden = true;
    last = { request: body, answer: answer };
    $("problem").hidden = true;
    $("answer").hidden = false;
    drawHeadline(answer.outputs);
    drawOutputs(answer.outputs);
    $("explanation").textContent = answer.explanation;
    $("release-banner").hidden = answer.released;
    $("review-status").textContent = answer.review_status;
    $("table-version").textContent = answer.table_version || "(none)";
    $("version-hash").textContent = answer.version.slice(0, 12);
    drawFired(answer.fired);
    markRules(answer.fired);
    const shown = $("headline").querySelector(".words");
    $("status").textContent = "Result for version " + (answer.table_version || "") + ": " +
      (shown ? shown.textContent : "see below") + ".";
  }

  function drawHeadline(outputs) {
    const top = data.headline;
    const box = $("headline");
    box.className = "headline";
    box.textContent = "";
    if (!top || !(top.table in outputs)) return;
    const value = outputs[top.table];
    const rank = top.ranked.indexOf(value);
    const levels = top.ranked.length - 1;
    const level = rank < 0 ? "none" : levels ? Math.round((rank * 4) / levels) : 4;
    box.classList.add("level-" + level);
    box.append(element("span", words(top.name, value), "words"));
    box.append(element("code", value === null ? "no answer" : String(value), "code"));
  }

  function drawOutputs(outputs) {
    const list = $("outputs");
    list.replaceChildren();
    for (const [table, value] of Object.entries(outputs)) {
      if (data.headline && table === data.headline.table) continue;
      const several = value !== null && typeof value === "object" && !Array.isArray(value);
      for (const [name, item] of several ? Object.entries(value) : [[table, value]]) {
        const known = data.outputs[name];
        list.append(element("dt", known ? known.label : plain(name)));
        list.append(element("dd", words(name, item)));
      }
    }
  }

  function drawFired(fired) {
    const list = $("fired");
    list.replaceChildren();
    if (!fired.length) list.append(element("li", "No rule fired; every table gave its default."));
    for (const rule of fired) {
      const item = element("li");
      const link = element("a", rule.rule_id);
      link.href = "#rule-" + rule.table + "-" + rule.rule_id; // its row in the grid below
      item.append(link);
      item.append(" in " + rule.sheet + ", row " + rule.row);
      if (rule.citation) item.append(element("span", " — " + rule.citation, "cite"));
      if (rule.conditions.length) {
        const because = element("ul", undefined, "conditions");
        for (const c of rule.conditions) {
          because.append(element("li", nameWords(c.input) + " is " + valueWords(c.input, c.value) +
            ", which matches " + c.test));
        }
        item.append(because);
      }
      list.append(item);
    }
  }

  function markRules(fired) {
    for (const row of document.querySelectorAll("tr.fired")) row.classList.remove("fired");
    for (const cell of document.querySelectorAll("td.match")) cell.classList.remove("match");
    const first = new Map(); // each grid's first fired row, scrolled to once drawn
    for (const rule of fired) {
      const row = document.querySelector(
        'table[data-table="' + CSS.escape(rule.table) + '"] tr[data-rule="' +
        CSS.escape(rule.rule_id) + '"]');
      if (!row) continue; // a pinned version whose rules differ from the grid shown
      row.classList.add("fired");
      for (const c of rule.conditions) {
        const cell = row.querySelector('td[data-input="' + CSS.escape(c.input) + '"]');
        if (cell) cell.classList.add("match");
      }
      const box = row.closest(".scroll");
      if (!first.has(box) || row.rowIndex < first.get(box).rowIndex) first.set(box, row);
    }
    // in the next frame, so that the answer is on screen first: each grid's box scrolls
    // (inside itself, never the page) to show its first fired row under its header
    requestAnimationFrame(() => {
      for (const [box, row] of first) {
        box.scrollTop = row.offsetTop - row.closest("table").tHead.offsetHeight;
      }
    });
  }

  // --- copy: a case tried here becomes a curl command or a vignette in one paste -----------

  function curl() {
    const body = JSON.stringify(request()).replace(/'/g, "'\\''");
    // the token itself never goes to the clipboard: the shell fills it in
    const auth = token() ? "  -H \"Authorization: Bearer $TRIAGE_API_TOKEN\" \\\n" : "";
    return "curl -s -X POST '" + location.origin + data.evaluate + "' \\\n" +
      "  -H 'Content-Type: application/json' \\\n" + auth + "  -d '" + body + "'";
  }

  function cell(value) {
    if (value === null || value === undefined) return "";
    if (Array.isArray(value)) return value.length ? value.join(", ") : "[]";
    return String(value);
  }

  function outputValue(outputs, name) {
    const known = data.outputs[name];
    if (!known || !(known.table in outputs)) return undefined;
    const value = outputs[known.table];
    const several = value !== null && typeof value === "object" && !Array.isArray(value);
    return several ? value[name] : value;
  }

  function testsRow() {
    const given = facts();
    const outputs = last ? last.answer.outputs : {};
    const now = new Date().toISOString();
    const today = now.slice(0, 10);
    const stamp = now.slice(0, 19).replace(/[-:]/g, "").replace("T", "-"); // unique enough
    return data.tests_columns.map((column) => {
      const heading = column.trim().toLowerCase();
      if (heading === "test id") return "PAGE-" + stamp;
      if (heading === "note") return "tried on the page on " + today;
      if (column in data.inputs) return cell(given[column]);
      if (column in data.outputs) return cell(outputValue(outputs, column));
      return "";
    }).join("\t");
  }

  async function copy(text, what) {
    const shown = $("copied");
    shown.hidden = false;
    shown.value = text;
    let done = false;
    try {
      await navigator.clipboard.writeText(text);
      done = true;
    } catch (error) {
      shown.select(); // the clipboard is not ours: the text is selected to copy by hand
    }
    $("status").textContent = done ? what + " copied to the clipboard." :
      what + " is shown below the buttons, selected: press Ctrl+C to copy it.";
  }

  // --- wiring ------------------------------------------------------------------------------

  function changed(event) {
    const at = performance.now();
    clearTimeout(pending);
    if (event.type === "input" && event.target.tagName === "INPUT") {
      pending = setTimeout(() => evaluate(at), 150); // typing: wait for a pause
    } else {
      evaluate(at);
    }
  }

  function prefill() {
    const query = new URLSearchParams(location.search);
    let any = false;
    for (const [name, value] of query) {
      const control = form.elements.namedItem(name);
      if (control && name in data.inputs) {
        control.value = value;
        any = true;
      }
    }
    if (query.get("version") && pin) pin.value = query.get("version");
    return any;
  }

  form.addEventListener("change", changed);
  form.addEventListener("input", changed);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(pending);
    evaluate(performance.now());
  });
  $("auth").addEventListener("submit", useToken);
  $("copy-curl").addEventListener("click", () => copy(curl(), "The curl command"));
  $("copy-row").addEventListener("click", () => copy(testsRow(), "The Tests-sheet row"));
  const filled = prefill();
  timings.interactive = performance.now();
  if (filled) evaluate();
})();
