// daifuku studio: the overview, the editor with errors as you type, the
// preview, history and diffs, publish and test sends. No framework: it
// talks to /studio/api, the same JSON API scripts use.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { csrf: "", file: null, latest: 0, timer: 0, ranks: [], files: [] };
const EMAIL_FILES = ["email.subject.liquid", "email.html.liquid", "email.txt.liquid"];
const LINE_FILES = ["line.txt.liquid", "line.flex.json.liquid"];

// Locally the page's cookie carries the session; in AWS a Cognito token
// from the hosted UI's redirect (#id_token=…) goes in Authorization.
const token = (() => {
  const m = location.hash.match(/id_token=([^&]+)/);
  if (m) { sessionStorage.setItem("studio_token", m[1]); history.replaceState(null, "", location.pathname); }
  return sessionStorage.getItem("studio_token");
})();

// A link to a month's report (the monthly summary's: ?report=2026-11) is
// kept across the sign-in redirect, and opened once signed in.
(() => {
  const m = new URLSearchParams(location.search).get("report");
  if (m && /^\d{4}-\d{2}$/.test(m)) sessionStorage.setItem("open_report", m);
})();

async function call(method, url, body) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const data = await res.json().catch(() => ({}));
  return { status: res.status, data };
}

const VARS = {
  common: [["customer.name", "花子"], ["rank.label", "ロイヤル"], ["shop.name", "お店の名前"], ["shop.url", "https://…"]],
  "thank-you": [["order.id", "O-1024"], ["order.total", "12800"], ["order.ordered_at", "2026年1月2日"], ["order.items", "name, quantity, price の一覧"]],
  birthday: [["coupon.code", "BDAY-XXXX"], ["coupon.note", "有効期限など"]],
  surprise: [["coupon.code", "THANKS-XXXX"], ["coupon.note", "有効期限など"]],
  feedback: [["feedback.ratings", "value, label, stars, url の一覧"]],
  newsletter: [["voices", "text, profile, rating, stars, date の一覧（掲載に同意したお声）"], ["links.unsubscribe", "配信停止リンク"]],
  step: [["links.unsubscribe", "配信停止リンク"]],
  lapsed: [["links.unsubscribe", "配信停止リンク"]],
};

function text(el, s) { el.textContent = s; return el; }
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

async function boot() {
  const s = await call("GET", "/studio/api/session");
  if (s.status === 401 && document.body.dataset.login) { location.href = document.body.dataset.login; return; }
  if (s.status !== 200) { text($("who"), "サインインしてください（" + (s.data.error || s.status) + "）"); return; }
  state.csrf = s.data.csrf;
  text($("who"), s.data.user);
  const linked = sessionStorage.getItem("open_report");
  if (linked) { sessionStorage.removeItem("open_report"); await report(linked, true); return; }
  for (const r of s.data.recipients || []) $("recipient").append(el("option", { value: r.id, "data-channel": r.channel }, r.label + "（" + r.channel + "）"));
  await overview();
}

async function overview() {
  const { data } = await call("GET", "/studio/api/content");
  text($("revision"), "公開中: 第" + data.revision + "版（" + (data.published_by || "") + "）");
  state.ranks = data.ranks;
  state.files = data.files;
  $("rank").replaceChildren(...data.ranks.map((r) => el("option", { value: r.id }, r.label + " (" + r.id + ")")));
  const t = $("matrix");
  const head = el("tr", {}, el("th", {}, "ランク"));
  for (const k of data.kinds) head.append(el("th", { colspan: "2" }, k));
  const sub = el("tr", {}, el("th"));
  for (const _ of data.kinds) sub.append(el("th", {}, "メール"), el("th", {}, "LINE"));
  t.replaceChildren(head, sub);
  const files = new Set(data.files.map((f) => f.path));
  // The last edit of each folder: its newest file version, and who saved it.
  const edited = {};
  for (const f of data.files) {
    const dir = f.path.split("/").slice(0, 2).join("/");
    if (!edited[dir] || f.latest.at > edited[dir].at) edited[dir] = f.latest;
  }
  const lastEdit = (dir) => edited[dir] ? "（最終更新 " + new Date(edited[dir].at).toLocaleString("ja-JP") + " " + edited[dir].author + "）" : "";
  const byRank = {};
  for (const c of data.matrix) (byRank[c.rank] ||= []).push(c);
  for (const r of data.ranks) {
    const tr = el("tr", {}, el("th", {}, r.label));
    for (const k of data.kinds) for (const ch of ["email", "line"]) {
      const c = byRank[r.id].find((x) => x.kind === k && x.channel === ch);
      const td = el("td", { "data-cell": k + "/" + r.id + "/" + ch });
      if (!c.folder) {
        // Nothing written: start the rank's own file here.
        const a = el("a", { href: "#", class: "missing", title: "文面がありません（クリックで作成）" }, "—");
        a.onclick = (e) => { e.preventDefault(); open(k + "/" + r.id.replace(/-lapsed$/, "") + "/" + (ch === "email" ? EMAIL_FILES[0] : LINE_FILES[0]), r.id); };
        td.append(a);
      }
      else {
        const file = c.folder + "/" + (ch === "email" ? "email.html.liquid" : (files.has(c.folder + "/line.flex.json.liquid") ? "line.flex.json.liquid" : "line.txt.liquid"));
        const a = el("a", { href: "#", class: c.own ? "own" : "fallback", title: (c.own ? "" : "共通の文面: ") + c.folder + lastEdit(c.folder) }, c.own ? "●" : "↳");
        a.onclick = (e) => { e.preventDefault(); open(file, r.id); };
        td.append(a);
      }
      tr.append(td);
    }
    t.append(tr);
  }
  $("named").replaceChildren(...(data.named || []).map((dir) => {
    const li = el("li", {}, el("span", {}, dir + lastEdit(dir) + "："));
    for (const f of data.files.filter((f) => f.path.startsWith(dir + "/"))) {
      const a = el("a", { href: "#", "data-path": f.path }, f.path.slice(dir.length + 1));
      a.onclick = (e) => { e.preventDefault(); open(f.path); };
      li.append(" ", a);
    }
    return li;
  }));
  $("files").replaceChildren(...data.files.map((f) => {
    const a = el("a", { href: "#", "data-path": f.path }, f.path);
    a.onclick = (e) => { e.preventDefault(); open(f.path); };
    return el("li", {}, a, " ", el("span", { class: "meta" }, "v" + f.latest.version + " " + f.latest.author + " " + new Date(f.latest.at).toLocaleString("ja-JP") + (f.published !== f.latest.version ? "（公開中 v" + f.published + "）" : "")));
  }));
  const audit = await call("GET", "/studio/api/revisions");
  $("audit").replaceChildren(...(audit.data.revisions || []).slice(0, 10).map((r) =>
    el("li", { class: "meta" }, "第" + r.revision + "版 " + new Date(r.at).toLocaleString("ja-JP") + " " + r.by + "：" + (r.changed || "初期の内容") + (r.version ? " v" + r.version : "") + (r.comment ? "（" + r.comment + "）" : ""))));
}

async function open(path, rank) {
  const { status, data } = await call("GET", "/studio/api/content/" + path);
  if (status !== 200 && status !== 404) { text($("status"), data.error); return; }
  const fresh = status === 404; // a file not written yet: saved as version 1
  state.file = path; state.latest = fresh ? 0 : data.version;
  $("editor").hidden = false; $("preview").hidden = false;
  text($("path"), path);
  text($("fileinfo"), fresh ? "新しいファイル（まだ保存されていません）" : "最新 v" + data.version + "（" + data.author + "）");
  $("source").value = fresh ? "" : data.source;
  folder();
  if (rank) $("rank").value = rank;
  const kind = path.split("/")[0];
  $("varlist").replaceChildren(...[...VARS.common, ...(VARS[kind] || [])].flatMap(([v, ex]) => [el("dt", {}, "{{ " + v + " }}"), el("dd", {}, "例: " + ex)]));
  gutter([]);
  await versions();
  preview();
}

function gutter(errors) {
  const bad = new Set(errors.filter((e) => e.file === state.file && e.line).map((e) => e.line));
  const n = $("source").value.split("\n").length;
  $("gutter").replaceChildren(...Array.from({ length: n }, (_, i) => el("div", bad.has(i + 1) ? { class: "bad" } : {}, String(i + 1))));
  $("errors").replaceChildren(...errors.map((e) => {
    const li = el("li", { "data-line": e.line || "" },
      (e.file || "") + (e.line ? " " + e.line + "行目" : "") + (e.column ? " " + e.column + "文字目" : "") + "：" + e.message);
    if (e.line && e.file === state.file) li.onclick = () => goTo(e.line, e.column);
    return li;
  }));
}

// goTo puts the cursor at a line and column of the source, scrolled into view.
function goTo(line, column) {
  const s = $("source"), lines = s.value.split("\n");
  let at = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i].length + 1;
  at += Math.max((column || 1) - 1, 0);
  s.focus();
  s.setSelectionRange(at, at);
  s.scrollTop = Math.max(0, (line - 3) * parseFloat(getComputedStyle(s).lineHeight));
}

async function preview() {
  const body = { path: state.file, source: $("source").value };
  if ($("customer").value.trim()) body.customer_id = $("customer").value.trim(); else body.rank = $("rank").value;
  const { status, data } = await call("POST", "/studio/api/preview", body);
  if (status !== 200) { gutter([{ message: data.error || String(status) }]); return; }
  gutter(data.errors || []);
  $("emailview").hidden = !data.html; $("lineview").hidden = !data.line;
  if (data.html) {
    const frame = $("html");
    delete frame.dataset.loaded;
    frame.onload = () => { frame.dataset.loaded = "1"; };
    text($("subject"), data.subject); frame.srcdoc = data.html; text($("text"), data.text);
  }
  if (data.line) {
    const b = $("bubble");
    if (data.line.flex_html) { b.className = "flex"; b.innerHTML = data.line.flex_html; } // escaped by the server
    else { b.className = ""; text(b, data.line.text); }
    text($("linecount"), (data.line.flex_html ? "代替テキスト " : "") + data.line.chars + " / " + data.line.max_chars + " 文字" +
      (data.line.bytes ? "　JSON " + data.line.bytes + " / " + data.line.max_bytes + " バイト" : "") +
      (data.line.alt_text ? "　代替テキスト：" + data.line.alt_text : ""));
  }
}

async function versions() {
  const { data } = await call("GET", "/studio/api/content/" + state.file + "/versions");
  const t = $("versions");
  t.replaceChildren(el("tr", {}, el("th", {}, "比較"), el("th", {}, "版"), el("th", {}, "作成者"), el("th", {}, "日時"), el("th", {}, "コメント"), el("th")));
  for (const v of data.versions || []) {
    const back = el("button", { "data-version": v.version }, "この版を公開");
    back.onclick = () => publish(v.version);
    t.append(el("tr", { "data-version": v.version }, el("td", {}, el("input", { type: "checkbox", value: v.version })), el("td", {}, "v" + v.version),
      el("td", {}, v.author), el("td", {}, new Date(v.at).toLocaleString("ja-JP")), el("td", {}, v.comment || ""), el("td", {}, back)));
  }
}

async function save() {
  const { status, data } = await call("PUT", "/studio/api/content/" + state.file, { source: $("source").value, base_version: state.latest, comment: $("comment").value });
  if (status === 201) {
    state.latest = data.version;
    // Known at once, so a publish right after the save includes it.
    const f = state.files.find((f) => f.path === state.file);
    if (f) f.latest = { ...f.latest, version: data.version };
    else state.files.push({ path: state.file, published: 0, latest: { version: data.version, author: "", at: new Date().toISOString() } });
    text($("status"), "v" + data.version + " を保存しました");
    await versions(); await overview(); folder();
    return;
  }
  if (status === 409) { text($("status"), "他の人が先に保存しました（v" + data.latest_version + "）。履歴で比べてから保存し直してください。"); await versions(); return; }
  if (status === 422) gutter(data.errors);
  text($("status"), data.error || String(status));
}

// folder lists the files of the open file's folder: written ones to open,
// and the ones its channel still lacks, to write.
function folder() {
  const dir = state.file.split("/").slice(0, 2).join("/");
  if (!dir.includes("/")) { $("folder").replaceChildren(); return; }
  const have = new Map(state.files.filter((f) => f.path.startsWith(dir + "/")).map((f) => [f.path.slice(dir.length + 1), f]));
  const names = [...new Set([...EMAIL_FILES, ...LINE_FILES.filter((n) => have.has(n) || ![...have.keys()].some((h) => LINE_FILES.includes(h))), ...have.keys()])];
  $("folder").replaceChildren(el("span", { class: "meta" }, "同じフォルダ："), ...names.map((n) => {
    const f = have.get(n);
    const a = el("a", { href: "#", class: f ? "" : "missing", title: f ? "v" + f.latest.version + (f.published !== f.latest.version ? "（未公開の変更あり）" : "") : "まだありません（クリックで作成）" },
      n + (f && f.published !== f.latest.version ? " *" : ""));
    a.onclick = (e) => { e.preventDefault(); open(dir + "/" + n); };
    return el("span", {}, " ", a);
  }));
}

// pending is what the open file's folder has saved but not published.
function pending() {
  const dir = state.file.split("/").slice(0, 2).join("/") + "/";
  const files = {};
  for (const f of state.files) if (f.path.startsWith(dir) && f.latest.version !== f.published) files[f.path] = f.latest.version;
  return files;
}

async function publish(version) {
  // Without a version: the folder's saved changes go live together (a new
  // email's three files, say).
  const body = version ? { path: state.file, version } : { files: pending() };
  if (!version && Object.keys(body.files).length === 0) { text($("status"), "公開する変更はありません（先に保存してください）"); return; }
  body.comment = $("comment").value;
  const { status, data } = await call("POST", "/studio/api/publish", body);
  if (status === 200) { text($("status"), "第" + data.revision + "版として公開しました"); await overview(); folder(); return; }
  if (status === 422) gutter(data.errors);
  text($("status"), data.error || String(status));
}

// unpublish takes the open file out of the published set, with the
// folder's saved changes (switching a folder from LINE text to Flex).
async function unpublish() {
  const files = { ...pending(), [state.file]: 0 };
  const { status, data } = await call("POST", "/studio/api/publish", { files, comment: $("comment").value });
  if (status === 200) { text($("status"), "第" + data.revision + "版：" + state.file + " を公開から外しました"); await overview(); folder(); return; }
  if (status === 422) gutter(data.errors);
  text($("status"), data.error || String(status));
}

async function testSend() {
  const opt = $("recipient").selectedOptions[0];
  if (!opt) { text($("status"), "テスト送信先が設定されていません（STUDIO_TEST_RECIPIENTS）"); return; }
  const { status, data } = await call("POST", "/studio/api/test-send", { path: state.file, version: state.latest, channel: opt.dataset.channel, recipient: opt.value, rank: $("rank").value });
  text($("status"), status === 202 ? data.sent_to + " にテスト送信しました" : (data.error || String(status)));
}

// diff: a line diff of two versions (longest common subsequence).
async function diff() {
  const picked = [...document.querySelectorAll("#versions input:checked")].map((i) => i.value).sort((a, b) => a - b);
  if (picked.length !== 2) { text($("status"), "比べる版を2つ選んでください"); return; }
  const [a, b] = await Promise.all(picked.map((v) => call("GET", "/studio/api/content/" + state.file + "?version=" + v)));
  const x = a.data.source.split("\n"), y = b.data.source.split("\n");
  const L = Array.from({ length: x.length + 1 }, () => new Array(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) { out.push(el("div", {}, "  " + x[i])); i++; j++; }
    else if (j < y.length && (i === x.length || L[i][j + 1] >= L[i + 1][j])) out.push(el("div", { class: "add" }, "+ " + y[j++]));
    else out.push(el("div", { class: "del" }, "- " + x[i++]));
  }
  $("diffout").replaceChildren(el("div", { class: "meta" }, "v" + picked[0] + " → v" + picked[1]), ...out);
}

// The report comes through the API (where the token reaches it) and opens
// as a page of its own: in a new tab from the button, in this one from a link.
async function report(month, here) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const q = typeof month === "string" ? "?month=" + encodeURIComponent(month) : "";
  const res = await fetch("/studio/api/report" + q, { headers, credentials: "same-origin" });
  if (!res.ok) { alert("レポートを開けませんでした（" + res.status + "）"); return; }
  const url = URL.createObjectURL(await res.blob());
  if (here) location.href = url; else window.open(url, "_blank");
}

document.addEventListener("DOMContentLoaded", () => {
  $("report").addEventListener("click", () => report());
  $("source").addEventListener("input", () => { clearTimeout(state.timer); state.timer = setTimeout(preview, 300); gutter([]); });
  $("source").addEventListener("scroll", () => { $("gutter").scrollTop = $("source").scrollTop; });
  $("rank").addEventListener("change", preview);
  $("customer").addEventListener("change", preview);
  $("save").onclick = save;
  $("publish").onclick = () => publish();
  $("unpublish").onclick = unpublish;
  $("testsend").onclick = testSend;
  $("diff").onclick = diff;
  boot();
});
