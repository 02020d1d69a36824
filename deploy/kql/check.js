#!/usr/bin/env node
// check.js: every KQL query of keeper-azmon, parsed and semantically resolved
// by Kusto.Language (Microsoft's Kusto parser and analyzer, published on npm as
// @kusto/language-service-next) against the tables and functions of
// schema.json. It exits 1 on any error diagnostic.
//
// What it checks, under the repository root (--root, default ../..):
//   - deploy/**/*.kql: each block of consecutive non-blank lines is a query;
//   - README.md and deploy/**/README.md: each ```kusto block, split the same way;
//   - every ARM deployment template under deploy/ (deploy/azure/*.json,
//     deploy/azure/sentinel/*.json), evaluated once for every value of
//     each parameter that has allowedValues (defaults for the others):
//       * Microsoft.Insights/dataCollectionRules: each dataFlow's transformKql,
//         with `source` the declared input stream, and its output columns
//         against the destination table (the template's own table resource
//         when it declares one, else schema.json);
//       * Microsoft.SecurityInsights/alertRules: the query, every column that
//         entityMappings, customDetails and alertDetailsOverride name is one
//         the query returns, and Sentinel's limits (10000 characters, 20
//         custom details, 3 columns in the alert name);
//       * Microsoft.Insights/workbooks: every Logs query of serializedData
//         (parameter references replaced by sample values).
//
// Usage: node check.js [--root DIR]... [--json] [--only FILE]...
// (several --root: check each tree; --only: only the queries of this file,
// relative to the root, in the tree of the --root before it, or in all trees
// when it comes first)
"use strict";

const fs = require("fs");
const path = require("path");

function loadKusto() {
  globalThis.Bridge = require("@kusto/language-service-next/bridge.min.js");
  require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");
  return globalThis.Kusto.Language;
}

// ---------- schema ----------

// kustoType maps a Log Analytics / DCR column type to a Kusto scalar type.
function kustoType(t) {
  switch (String(t).toLowerCase()) {
    case "boolean":
    case "bool":
      return "bool";
    case "int":
      return "int";
    case "long":
      return "long";
    case "real":
    case "double":
      return "real";
    case "datetime":
      return "datetime";
    case "dynamic":
      return "dynamic";
    case "guid":
      return "guid";
    case "timespan":
      return "timespan";
    case "string":
      return "string";
  }
  throw new Error(`unknown column type ${t}`);
}

// sameType: int and long are one for a DCR (a stream's int is 64-bit).
function sameType(a, b) {
  const n = (t) => (t === "int" || t === "long" ? "long" : t);
  return n(a) === n(b);
}

function schemaText(cols) {
  return "(" + cols.map(([n, t]) => `['${n}']:${kustoType(t)}`).join(", ") + ")";
}

class Workspace {
  constructor(K, schema) {
    this.K = K;
    this.schema = schema;
    this.tables = {};
    this.open = new Set(Object.entries(schema.tables).filter(([, t]) => t.openColumns).map(([n]) => n));
    for (const [name, t] of Object.entries(schema.tables)) {
      this.tables[name] = t.columns.concat(t.standardColumns === false ? [] : schema.standardColumns.columns);
    }
    this.globals = this.state({});
  }

  // state is the global state with the workspace's tables and functions plus extra tables.
  state(extra) {
    const S = this.K.Symbols;
    const members = [];
    const tables = Object.assign({}, this.tables, extra);
    for (const [name, cols] of Object.entries(tables)) {
      members.push(new S.TableSymbol.$ctor7(name, schemaText(cols), null));
    }
    for (const [name, f] of Object.entries(this.schema.functions)) {
      members.push(new S.FunctionSymbol.$ctor16(name, f.parameters, f.body, null));
    }
    return this.K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.ctor("workspace", members));
  }

  // analyze returns the error and warning diagnostics of a query and its result columns.
  analyze(query, globals) {
    const code = this.K.KustoCode.ParseAndAnalyze(query, globals || this.globals);
    const diags = code.GetDiagnostics();
    const errors = [];
    const warnings = [];
    for (let i = 0; i < diags.Count; i++) {
      const d = diags.getItem(i);
      const at = lineCol(query, d.Start);
      const msg = `${d.Code} ${d.Message} (line ${at.line}, col ${at.col}: ${JSON.stringify(query.substr(d.Start, Math.max(d.Length, 1)))})`;
      if (d.Severity === "Error") errors.push(msg);
      else if (d.Severity === "Warning") warnings.push(msg);
    }
    const columns = [];
    const rt = code.ResultType;
    if (rt && rt.Columns) {
      for (let i = 0; i < rt.Columns.Count; i++) {
        const c = rt.Columns.getItem(i);
        columns.push([c.Name, c.Type.Name]);
      }
    }
    return { errors, warnings, columns };
  }
}

function lineCol(text, pos) {
  const before = text.slice(0, pos).split("\n");
  return { line: before.length, col: before[before.length - 1].length + 1 };
}

// ---------- query sources ----------

// blocks splits text into queries: runs of non-blank lines that hold more than comments.
function blocks(text) {
  const out = [];
  let cur = [];
  let start = 0;
  const lines = text.split("\n");
  const flush = () => {
    if (cur.some((l) => !/^\s*\/\//.test(l))) out.push({ line: start, text: cur.join("\n") });
    cur = [];
  };
  lines.forEach((l, i) => {
    if (l.trim() === "") {
      flush();
    } else {
      if (cur.length === 0) start = i + 1;
      cur.push(l);
    }
  });
  flush();
  return out;
}

function walk(dir, pred, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, pred, out);
    else if (pred(e.name)) out.push(p);
  }
  return out;
}

function markdownKusto(text) {
  const out = [];
  const re = /^```kusto[^\n]*\n([\s\S]*?)^```/gm;
  let m;
  while ((m = re.exec(text))) {
    const first = text.slice(0, m.index).split("\n").length + 1;
    for (const b of blocks(m[1])) out.push({ line: first + b.line - 1, text: b.text });
  }
  return out;
}

// ---------- ARM template expressions ----------

// Arm evaluates the template-language expressions of one deployment: the
// subset these templates use (parameters, variables, concat, format, ...).
class Arm {
  constructor(template, params) {
    this.t = template;
    this.params = params;
    this.vars = {};
  }

  value(v) {
    if (typeof v === "string") return this.str(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v && typeof v === "object") {
      const o = {};
      for (const [k, x] of Object.entries(v)) o[k] = this.value(x);
      return o;
    }
    return v;
  }

  str(s) {
    if (s.startsWith("[[")) return s.slice(1);
    if (s.startsWith("[") && s.endsWith("]")) return this.expr(s.slice(1, -1));
    return s;
  }

  variable(name) {
    if (!(name in this.vars)) {
      if (!this.t.variables || !(name in this.t.variables)) throw new Error(`variables('${name}') is not declared`);
      this.vars[name] = this.value(this.t.variables[name]);
    }
    return this.vars[name];
  }

  expr(src) {
    const toks = tokenize(src);
    let i = 0;
    const peek = () => toks[i];
    const next = () => toks[i++];
    const expect = (v) => {
      const t = next();
      if (!t || t.v !== v) throw new Error(`expression ${src}: want ${v} at token ${i}`);
    };
    const primary = () => {
      const t = next();
      if (!t) throw new Error(`expression ${src}: unexpected end`);
      let v;
      if (t.k === "str" || t.k === "num") v = t.v;
      else if (t.k === "id") {
        if (t.v === "true" || t.v === "false") v = t.v === "true";
        else {
          expect("(");
          const args = [];
          if (peek().v !== ")") {
            for (;;) {
              args.push(primary());
              if (peek().v === ",") next();
              else break;
            }
          }
          expect(")");
          v = this.call(t.v, args);
        }
      } else throw new Error(`expression ${src}: unexpected ${t.v}`);
      for (;;) {
        if (peek() && peek().v === "[") {
          next();
          const k = primary();
          expect("]");
          v = member(v, k, src);
        } else if (peek() && peek().v === ".") {
          next();
          v = member(v, next().v, src);
        } else break;
      }
      return v;
    };
    const v = primary();
    if (i !== toks.length) throw new Error(`expression ${src}: trailing tokens`);
    return v;
  }

  call(fn, a) {
    switch (fn.toLowerCase()) {
      case "parameters":
        if (!(a[0] in this.params)) throw new Error(`parameters('${a[0]}') is not declared`);
        return this.params[a[0]];
      case "variables":
        return this.variable(a[0]);
      case "concat":
        return Array.isArray(a[0]) ? [].concat(...a) : a.map(armString).join("");
      case "format":
        return String(a[0]).replace(/\{(\d+)(:[^}]*)?\}/g, (_, n) => armString(a[1 + Number(n)])).replace(/\{\{/g, "{").replace(/\}\}/g, "}");
      case "string":
        return armString(a[0]);
      case "int":
        return parseInt(a[0], 10);
      case "replace":
        return String(a[0]).split(a[1]).join(a[2]);
      case "tolower":
        return String(a[0]).toLowerCase();
      case "toupper":
        return String(a[0]).toUpperCase();
      case "if":
        return a[0] ? a[1] : a[2];
      case "equals":
        return JSON.stringify(a[0]) === JSON.stringify(a[1]);
      case "not":
        return !a[0];
      case "and":
        return a.every(Boolean);
      case "or":
        return a.some(Boolean);
      case "empty":
        return a[0] == null || a[0] === "" || (typeof a[0] === "object" && Object.keys(a[0]).length === 0);
      case "coalesce":
        return a.find((x) => x != null);
      case "createarray":
        return a;
      case "json":
        return JSON.parse(a[0]);
      case "length":
        return typeof a[0] === "object" && !Array.isArray(a[0]) ? Object.keys(a[0]).length : a[0].length;
      case "guid":
      case "uniquestring":
        return "00000000-0000-0000-0000-" + String(a.join("/").length).padStart(12, "0");
      case "resourcegroup":
        return { id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg", name: "rg", location: "eastus" };
      case "subscription":
        return { id: "/subscriptions/00000000-0000-0000-0000-000000000000", subscriptionId: "00000000-0000-0000-0000-000000000000" };
      case "resourceid":
      case "extensionresourceid":
        return "/" + a.map(armString).join("/");
    }
    throw new Error(`template function ${fn}() is not modelled by check.js`);
  }
}

function member(v, k, src) {
  if (v == null || !(k in Object(v))) throw new Error(`expression ${src}: no member ${k}`);
  return v[k];
}

function armString(v) {
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

function tokenize(s) {
  const out = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      let v = "";
      i++;
      for (;;) {
        if (i >= s.length) throw new Error(`unterminated string in ${s}`);
        if (s[i] === "'") {
          if (s[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += s[i++];
      }
      out.push({ k: "str", v });
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+/.exec(s.slice(i));
      out.push({ k: "num", v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(s.slice(i));
      // a dotted name is a function name only before "("; else split at the dots
      const name = m[0];
      if (s[i + name.length] === "(" || !name.includes(".")) {
        out.push({ k: "id", v: name });
        i += name.length;
      } else {
        const first = name.split(".")[0];
        out.push({ k: "id", v: first });
        i += first.length;
      }
    } else {
      out.push({ k: "p", v: c });
      i++;
    }
  }
  return out;
}

// deployments lists the parameter sets a template is checked with: every
// combination of the allowedValues of the parameters that have them.
function deployments(template) {
  let sets = [{}];
  for (const [name, p] of Object.entries(template.parameters || {})) {
    const values = p.allowedValues && p.allowedValues.length > 0 ? p.allowedValues : ["defaultValue" in p ? p.defaultValue : sampleParameter(name, p)];
    const n = [];
    for (const s of sets) for (const v of values) n.push(Object.assign({}, s, { [name]: v }));
    sets = n;
  }
  return sets.map((params) => {
    // a default may itself be an expression over other parameters
    const arm = new Arm(template, params);
    for (const [k, v] of Object.entries(params)) if (typeof v === "string") params[k] = arm.str(v);
    return params;
  });
}

function sampleParameter(name, p) {
  switch (String(p.type).toLowerCase()) {
    case "int":
      return p.minValue || 1;
    case "bool":
      return false;
    case "array":
      return [];
    case "object":
      return {};
  }
  return `sample-${name}`;
}

function label(params, template) {
  const varying = Object.entries(template.parameters || {}).filter(([, p]) => p.allowedValues && p.allowedValues.length > 1);
  if (varying.length === 0) return "";
  return " (" + varying.map(([k]) => `${k}=${params[k]}`).join(", ") + ")";
}

// ---------- workbooks ----------

function workbookParameters(node, out) {
  if (Array.isArray(node)) node.forEach((n) => workbookParameters(n, out));
  else if (node && typeof node === "object") {
    if (node.type === 9 && node.content && Array.isArray(node.content.parameters)) {
      for (const p of node.content.parameters) out[p.name] = p;
    }
    Object.values(node).forEach((n) => workbookParameters(n, out));
  }
  return out;
}

function workbookQueries(node, where, out) {
  if (Array.isArray(node)) node.forEach((n, i) => workbookQueries(n, `${where}[${i}]`, out));
  else if (node && typeof node === "object") {
    if (typeof node.query === "string" && (node.queryType === undefined || node.queryType === 0)) {
      out.push({ where: `${where}${node.name ? ` "${node.name}"` : ""}`, text: node.query });
    }
    for (const [k, v] of Object.entries(node)) if (typeof v === "object") workbookQueries(v, `${where}.${k}`, out);
  }
  return out;
}

// sampleValue is what the workbook puts for {name[:format]}.
function sampleValue(p, format) {
  if (p.type === 4) {
    switch (format) {
      case undefined:
        return "> ago(1d)";
      case "start":
        return "2026-01-01T00:00:00Z";
      case "end":
        return "2026-01-02T00:00:00Z";
      case "grain":
        return "1h";
    }
    throw new Error(`time range format :${format}`);
  }
  let v = p.value;
  if (v === undefined && typeof p.jsonData === "string") {
    const items = JSON.parse(p.jsonData);
    if (items.length > 0) v = typeof items[0] === "object" ? items[0].value : items[0];
  }
  if (v === undefined) v = "sample";
  if (Array.isArray(v)) {
    const q = (p.quote === undefined ? "'" : p.quote);
    return v.map((x) => q + x + q).join(p.delimiter || ",");
  }
  return String(v);
}

function substitute(query, params) {
  return query.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}/g, (all, name, format) => {
    const p = params[name];
    if (!p) throw new Error(`workbook parameter {${name}} is not defined in the workbook`);
    return sampleValue(p, format);
  });
}

// ---------- the checks ----------

function main() {
  const args = process.argv.slice(2);
  const roots = [];
  let json = false;
  const only = new Map(); // root (or "" for all) -> files
  let cur = "";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--root") {
      cur = path.resolve(args[++i]);
      roots.push(cur);
      only.set(cur, []);
    } else if (args[i] === "--json") json = true;
    else if (args[i] === "--only") {
      if (!only.has(cur)) only.set(cur, []);
      only.get(cur).push(args[++i]);
    }
    else {
      console.error(`usage: check.js [--root DIR]... [--json] [--only FILE]...`);
      process.exit(2);
    }
  }
  if (roots.length === 0) roots.push(path.resolve(__dirname, "..", ".."));
  const K = loadKusto();
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "schema.json"), "utf8"));
  const ws = new Workspace(K, schema);
  const results = [];
  let root = roots[0];
  const record = (file, where, query, res, extra) => {
    const errors = res.errors.concat(extra || []);
    results.push({ root, file, where, query, errors, warnings: res.warnings });
  };
  const fail = (file, where, query, err) => record(file, where, query, { errors: [String(err.message || err)], warnings: [] });

  // The schema's own functions must resolve against its tables.
  for (const [name, f] of Object.entries(schema.functions)) {
    const q = `let ${name}_body = ${f.parameters} ${f.body};\n${name}_body()`;
    record("deploy/kql/schema.json", `function ${name}`, q, ws.analyze(q));
  }
  for (root of roots) checkTree(ws, root, (only.get("") || []).concat(only.get(root) || []), record, fail);

  let bad = 0;
  for (const r of results) if (r.errors.length > 0) bad++;
  if (json) {
    process.stdout.write(JSON.stringify(results, null, 1) + "\n");
  } else {
    for (const r of results) {
      if (r.errors.length === 0) continue;
      console.log(`${roots.length > 1 ? r.root + ": " : ""}${r.file}: ${r.where}:`);
      for (const e of r.errors) console.log(`  error ${e}`);
      console.log("  query:\n    " + r.query.split("\n").join("\n    "));
    }
    console.log(`kql: ${results.length} queries checked, ${bad} with errors`);
  }
  process.exitCode = bad > 0 ? 1 : 0;
}

// checkTree checks the queries of one repository tree.
function checkTree(ws, root, only, record, fail) {
  const rel = (p) => path.relative(root, p).split(path.sep).join("/");
  const wanted = (p) => only.length === 0 || only.includes(rel(p));
  const deploy = path.join(root, "deploy");
  for (const f of walk(deploy, (n) => n.endsWith(".kql"), []).sort().filter(wanted)) {
    for (const b of blocks(fs.readFileSync(f, "utf8"))) record(rel(f), `line ${b.line}`, b.text, ws.analyze(b.text));
  }
  const readmes = [path.join(root, "README.md")].concat(walk(deploy, (n) => n === "README.md", []).sort());
  for (const f of readmes) {
    if (!fs.existsSync(f) || !wanted(f)) continue;
    for (const b of markdownKusto(fs.readFileSync(f, "utf8"))) record(rel(f), `line ${b.line}`, b.text, ws.analyze(b.text));
  }

  // Every ARM deployment template under deploy/ (deploy/azure/*.json, deploy/azure/sentinel/*.json, ...).
  for (const f of walk(deploy, (n) => n.endsWith(".json"), []).sort().filter(wanted)) {
    const file = rel(f);
    let template;
    try {
      template = JSON.parse(fs.readFileSync(f, "utf8"));
    } catch (e) {
      if (file.startsWith("deploy/azure/")) fail(file, "template", "", e);
      continue;
    }
    if (!template || !/deploymentTemplate\.json#?$/.test(String(template.$schema || "")) || !Array.isArray(template.resources)) {
      if (file.startsWith("deploy/azure/")) fail(file, "template", "", new Error("not an ARM deployment template ($schema .../deploymentTemplate.json#, resources)"));
      continue;
    }
    for (const params of deployments(template)) {
      const arm = new Arm(template, params);
      const suffix = label(params, template);
      template.resources.forEach((r, i) => {
        const type = String(r.type || "");
        const where = `resources[${i}] ${type.split("/").pop()}${suffix}`;
        try {
          if (/^Microsoft\.Insights\/dataCollectionRules$/i.test(type)) checkDCR(ws, template, arm, r, file, where, record);
          else if (/alertRules$/i.test(type)) checkRule(ws, arm, r, file, where, record);
          else if (/^Microsoft\.Insights\/workbooks$/i.test(type)) checkWorkbook(ws, arm, r, file, where, record);
        } catch (e) {
          fail(file, where, "", e);
        }
      });
    }
  }
}

// checkDCR checks each dataFlow's transformKql with source = its input stream.
function checkDCR(ws, template, arm, r, file, where, record) {
  const props = arm.value(r.properties || {});
  const streams = props.streamDeclarations || {};
  (props.dataFlows || []).forEach((flow, j) => {
    const w = `${where} dataFlows[${j}]`;
    const kql = flow.transformKql || "source";
    const input = (flow.streams || [])[0];
    const decl = streams[input];
    if (!decl && !/^Microsoft-/.test(input)) {
      record(file, w, kql, { errors: [`input stream ${input} is not declared`], warnings: [] });
      return;
    }
    const sourceCols = decl ? decl.columns.map((c) => [c.name, c.type]) : ws.tables[input.replace(/^Microsoft-/, "")] || [];
    const res = ws.analyze(kql, ws.state({ source: sourceCols.map(([n, t]) => [n, t]) }));
    const extra = [];
    const out = flow.outputStream || input;
    const table = out.replace(/^(Custom|Microsoft)-/, "");
    const dest = destinationColumns(ws, template, arm, table);
    if (!dest) extra.push(`output table ${table} is neither a table of this template nor of schema.json`);
    else if (res.errors.length === 0) {
      for (const [n, t] of res.columns) {
        const d = dest.find(([dn]) => dn === n) || (ws.open.has(table) ? suffixColumn(n) : undefined);
        if (!d) extra.push(`transformKql writes column ${n}, which table ${table} does not have`);
        else if (!sameType(kustoType(d[1]), t)) extra.push(`transformKql writes ${n} as ${t}, table ${table} has ${d[1]}`);
      }
      if (!res.columns.some(([n]) => n === "TimeGenerated")) extra.push("transformKql output has no TimeGenerated");
    }
    record(file, w, kql, res, extra);
  });
}

// suffixColumn is the column a Data Collector API table makes of a field
// written under a type-suffixed name (x_s, x_d, x_b, x_t, x_g).
function suffixColumn(name) {
  const t = { s: "string", d: "real", b: "bool", t: "datetime", g: "guid" }[(/_([sdbtg])$/.exec(name) || [])[1]];
  return t ? [name, t] : undefined;
}

function destinationColumns(ws, template, arm, table) {
  for (const r of template.resources) {
    if (!/^Microsoft\.OperationalInsights\/workspaces\/tables$/i.test(r.type || "")) continue;
    let name;
    try {
      name = arm.value(r.name);
    } catch (e) {
      continue;
    }
    if (String(name).split("/").pop() !== table) continue;
    const props = arm.value(r.properties || {});
    const cols = ((props.schema || {}).columns || []).map((c) => [c.name, c.type]);
    return cols.concat(ws.schema.standardColumns.columns);
  }
  return ws.tables[table];
}

// checkRule checks a Sentinel scheduled rule's query and the columns its
// entity mappings, custom details and alert overrides use.
function checkRule(ws, arm, r, file, where, record) {
  const props = arm.value(r.properties || {});
  const query = props.query;
  if (typeof query !== "string") throw new Error("alert rule without a query");
  const res = ws.analyze(query);
  const extra = [];
  // Limits Sentinel enforces when it creates the rule.
  if (query.length > 10000) extra.push(`the query has ${query.length} characters; Sentinel takes at most 10000`);
  if (Object.keys(props.customDetails || {}).length > 20) extra.push("more than 20 custom details");
  const title = (props.alertDetailsOverride || {}).alertDisplayNameFormat || "";
  if ((title.match(/\{\{/g) || []).length > 3) extra.push(`alertDisplayNameFormat ${JSON.stringify(title)} uses more than 3 columns`);
  if (res.errors.length === 0) {
    const have = new Set(res.columns.map(([n]) => n));
    const need = [];
    for (const m of props.entityMappings || []) for (const f of m.fieldMappings || []) need.push([`entity ${m.entityType}.${f.identifier}`, f.columnName]);
    for (const [k, c] of Object.entries(props.customDetails || {})) need.push([`custom detail ${k}`, c]);
    const o = props.alertDetailsOverride || {};
    for (const k of ["alertDisplayNameFormat", "alertDescriptionFormat"]) {
      const re = /\{\{([^}]+)\}\}/g;
      let m;
      while ((m = re.exec(o[k] || ""))) need.push([k, m[1]]);
    }
    for (const [what, col] of need) if (!have.has(col)) extra.push(`${what} uses column ${col}, which the query does not return (${[...have].join(", ")})`);
  }
  record(file, where, query, res, extra);
}

// checkWorkbook checks every Logs query of a workbook, with sample parameter values.
function checkWorkbook(ws, arm, r, file, where, record) {
  const props = arm.value(r.properties || {});
  const content = typeof props.serializedData === "string" ? JSON.parse(props.serializedData) : props.serializedData;
  const params = workbookParameters(content, {});
  for (const q of workbookQueries(content, "", [])) {
    const w = `${where} ${q.where}`;
    let text;
    try {
      text = substitute(q.text, params);
    } catch (e) {
      record(file, w, q.text, { errors: [String(e.message)], warnings: [] });
      continue;
    }
    record(file, w, text, ws.analyze(text));
  }
}

if (require.main === module) main();
