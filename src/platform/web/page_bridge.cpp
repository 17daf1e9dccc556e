// page_bridge.cpp - see page_bridge.hpp (the Module.chat schema).
#include "page_bridge.hpp"

#include "core/json_limits.hpp"

#include <emscripten.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>

namespace web {

namespace {

using nlohmann::json;

// ---- page -> app ------------------------------------------------------------------------------

// One call per frame: what is queued, as bits (the queues themselves are taken only when set);
// takes the scalars (typing, theme, nav, wake, wheel, restored) on the way.
//   1 submits  2 actions  4 files  8 fields  16 focus  32 typing  64 theme  128 lost  256 restored
//   512 nav up  1024 nav down; wake in bits 16..23
EM_JS(int, js_poll, (double* wheel), {
    var c = Module.chat, bits = 0;
    if (c.submits.length) bits |= 1;
    if (c.actions.length) bits |= 2;
    if (c.files.length) bits |= 4;
    if (c.fieldsChanged) bits |= 8;
    if (c.focusChanged) bits |= 16;
    if (c.typing) { bits |= 32; c.typing = false; }
    if (c.themeChanged) { bits |= 64; c.themeChanged = false; }
    if (c.restored) { bits |= 256; c.restored = false; c.lost = false; }
    else if (c.lost) bits |= 128;
    if (c.nav < 0) bits |= 512;
    if (c.nav > 0) bits |= 1024;
    if (c.errors.length) bits |= 2048;
    c.nav = 0;
    bits |= Math.min(255, Math.max(0, c.wake | 0)) << 16;
    c.wake = 0;
    HEAPF64[wheel >> 3] = c.wheel;
    c.wheel = 0;
    return bits;
});
// The next entry of Module.chat[queue] (a string), its UTF-8 length, or -1 when empty.
EM_JS(int, js_shift, (const char* queue, char* out, int cap), {
    var q = Module.chat[UTF8ToString(queue)];
    if (!q.length) return -1;
    var t = q.shift();
    stringToUTF8(t, out, cap);
    return lengthBytesUTF8(t);
});
EM_JS(int, js_take_fields, (char* out, int cap), {
    Module.chat.fieldsChanged = false;
    var t = JSON.stringify(Module.chat.fields);
    stringToUTF8(t, out, cap);
    return lengthBytesUTF8(t);
});
EM_JS(int, js_take_focus, (char* out, int cap), {
    Module.chat.focusChanged = false;
    stringToUTF8(Module.chat.focus, out, cap);
    return lengthBytesUTF8(Module.chat.focus);
});
// The first picked file's name and type, as JSON (cut to `cap`: the app then falls back to
// "file"); its size as the page saw it in *size. Returns -1 when there is none, -2 when the page
// did not read it (over the limit, or the read failed), else the number of bytes read.
EM_JS(double, js_file_meta, (char* out, int cap, double* size), {
    var f = Module.chat.files[0];
    if (!f) return -1;
    stringToUTF8(JSON.stringify({ name: String(f.name).slice(0, 255), type: String(f.type).slice(0, 255) }), out, cap);
    HEAPF64[size >> 3] = Number(f.size) >= 0 ? Number(f.size) : 0;
    return f.bytes ? f.bytes.length : -2;
});
EM_JS(void, js_file_take, (unsigned char* out), {
    var f = Module.chat.files.shift();
    if (f.bytes) HEAPU8.set(f.bytes, out);
});

// A string from a take function (-1: nothing).
template <typename Take>
std::optional<std::string> take_string(Take take, std::size_t cap) {
    std::string buf(cap, '\0');
    const int n = take(buf.data(), static_cast<int>(buf.size()));
    if (n < 0) return std::nullopt;
    buf.resize(std::min<std::size_t>(static_cast<std::size_t>(n), buf.size() - 1));
    return buf;
}

std::optional<std::string> shift(const char* queue, std::size_t cap) {
    return take_string([queue](char* out, int n) { return js_shift(queue, out, n); }, cap);
}

// ---- app -> page ------------------------------------------------------------------------------

EM_JS(void, js_frame_drawn, (const char* targets, double y, double max, int rows, int ctrl, double max_file), {
    var c = Module.chat;
    c.frames++;
    c.maxFileBytes = max_file;
    c.targets = JSON.parse(UTF8ToString(targets));
    c.scrollY = y; c.scrollMax = max; c.rowsDrawn = rows; c.keyCtrl = !!ctrl;
});
EM_JS(void, js_text_stats, (int rasterized, double rasterized_total, int js_calls, double js_calls_total, int pages, double evictions, int dropped), {
    var c = Module.chat;
    c.textRasterized = rasterized;
    c.textRasterizedTotal = rasterized_total;
    c.textJsCalls = js_calls;
    c.textJsCallsTotal = js_calls_total;
    c.textPages = pages;
    c.textEvictions = evictions;
    c.textDropped = dropped;
});
// An element laid over the canvas (the composer, a field). One that goes while it has the
// keyboard focus hands it to the composer.
EM_JS(void, js_layout, (const char* id, double x, double y, double w, double h, int visible, int focus, int clear), {
    var f = document.getElementById(UTF8ToString(id));
    if (!f) return;
    if (clear) { f.value = ""; if (f.id in Module.chat.fields) Module.chat.fields[f.id] = ""; }
    var d = visible ? "block" : "none";
    if (f.style.display !== d) {
        if (!visible && f.id !== "composer" && document.activeElement === f) {
            var c = document.getElementById("composer");
            if (c) setTimeout(function () { c.focus(); }, 0);
        }
        f.style.display = d;
    }
    var px = function (v) { return Math.round(v) + "px"; };
    if (f.style.left !== px(x)) f.style.left = px(x);
    if (f.style.top !== px(y)) f.style.top = px(y);
    if (f.style.width !== px(w)) f.style.width = px(w);
    if (f.style.height !== px(h)) f.style.height = px(h);
    if (focus && visible) f.focus();
});

// ---- the accessible mirror ----------------------------------------------------------------------

// Another conversation: its title, and an empty log (one tab stop again).
EM_JS(void, mirror_restart, (const char* title), {
    var log = document.getElementById("chat-log");
    if (log) { log.textContent = ""; log.current = null; log.tabIndex = 0; }
    Module.chat.timeEls = Object.create(null);
    Module.chat.articles = Object.create(null);
    var t = document.getElementById("chat-title");
    if (t) t.textContent = UTF8ToString(title);
});
// One article per stored message, in sequence order: its text ("sender: text", the element with
// data-message-id), its time (relative; the full time in title and data-full) and its actions as
// buttons named like the canvas targets (copy:<id>, attachment:<id>).
EM_JS(void, mirror_append, (const char* json_ptr), {
    var log = document.getElementById("chat-log");
    if (!log) return;
    var timeEls = Module.chat.timeEls = Module.chat.timeEls || Object.create(null);
    // Each message's article by id: a lookup, not a search of the log per message (a burst of
    // thousands of messages into a long log searched it thousands of times: seconds in one frame).
    var articles = Module.chat.articles = Module.chat.articles || Object.create(null);
    JSON.parse(UTF8ToString(json_ptr)).forEach(function (m) {
        var art = document.createElement("div");
        art.setAttribute("role", "article");
        art.tabIndex = -1;
        art.dataset.target = "msg:" + m.id;
        art.dataset.seq = String(m.seq);
        var body = document.createElement("span");
        body.dataset.messageId = m.id;
        body.textContent = m.sender + ": " + (m.deleted ? "Message deleted" : m.text) + (m.edited && !m.deleted ? " (edited)" : "");
        art.appendChild(body);
        if (m.edited) art.dataset.edited = "true";
        if (m.replyTo && !m.deleted) art.dataset.replyTo = m.replyTo;
        if (m.deleted) art.dataset.deleted = "true";
        if (m.reactions.length) art.dataset.reactions = m.reactions.map(function (r) { return r.emoji + ":" + r.count; }).join(",");
        var time = document.createElement("time");
        time.dateTime = new Date(m.at).toISOString();
        time.title = time.dataset.full = m.full;
        time.textContent = m.when;
        art.append(" ", time);
        var button = function (target, label) {
            var b = document.createElement("button");
            b.type = "button";
            b.tabIndex = -1;
            b.dataset.target = target;
            b.textContent = label;
            art.append(" ", b);
        };
        if (m.replyTo && !m.deleted) {
            button("quote:" + m.id, "Replying to " + m.quote);
            art.insertBefore(art.lastChild, body);  // the quote reads first
        }
        if (m.text && !m.deleted) button("copy:" + m.id, "Copy");
        if (m.attachment) button("attachment:" + m.id, "Open " + m.attachment);
        if (!m.deleted) button("reply:" + m.id, "Reply");
        if (m.own) { button("edit:" + m.id, "Edit"); button("delete:" + m.id, "Delete"); }
        m.reactions.forEach(function (r) {
            button("react:" + m.id + ":" + r.emoji, r.emoji + " " + r.count);
            art.lastChild.setAttribute("aria-pressed", r.mine ? "true" : "false");
        });
        if (!m.deleted) button("reactions:" + m.id, "Add reaction");
        timeEls[m.id] = time;
        // A message edited or deleted since: its article is replaced where it stands (the
        // keyboard focus moves to the new one).
        var old = articles[m.id];
        articles[m.id] = art;
        if (old && old.parentNode === log) {
            // The log's one tab stop and its buttons' place in the tab order go to the new one.
            var focused = old.contains(document.activeElement);
            art.tabIndex = old.tabIndex;
            var ob = old.querySelector("button");
            [].forEach.call(art.querySelectorAll("button"), function (b) { b.tabIndex = ob ? ob.tabIndex : -1; });
            log.replaceChild(art, old);
            if (log.current === old) log.current = art;
            if (focused) art.focus();
            return;
        }
        // Older pages arrive after newer messages: keep the sequence order.
        var kids = log.children, lo = 0, hi = kids.length;
        if (hi === 0 || Number(kids[hi - 1].dataset.seq) < m.seq) { log.appendChild(art); return; }
        while (lo < hi) { var mid = (lo + hi) >> 1; if (Number(kids[mid].dataset.seq) < m.seq) lo = mid + 1; else hi = mid; }
        log.insertBefore(art, kids[lo] || null);
    });
});
// The open conversation's members, for the composer's "@" completion (shell/index.html).
EM_JS(void, mirror_members, (const char* json_ptr), {
    Module.chat.members = JSON.parse(UTF8ToString(json_ptr));
});
// Read receipts: #chat-seen says who has read up to which message (data-message-id).
EM_JS(void, mirror_seen, (const char* id, const char* text), {
    var el = document.getElementById("chat-seen");
    if (!el) return;
    el.textContent = UTF8ToString(text);
    el.dataset.messageId = UTF8ToString(id);
});
EM_JS(void, mirror_times, (const char* json_ptr), {
    var els = Module.chat.timeEls || {};
    JSON.parse(UTF8ToString(json_ptr)).forEach(function (t) { var el = els[t[0]]; if (el) el.textContent = t[1]; });
});
EM_JS(void, mirror_text, (const char* id, const char* text), {
    var el = document.getElementById(UTF8ToString(id));
    var t = UTF8ToString(text);
    if (el && el.textContent !== t) el.textContent = t;
});
// The composer line's error, in a role=alert element: the same text again is cleared first and
// set a moment later, so that screen readers announce it again.
EM_JS(void, mirror_alert, (const char* id, const char* text), {
    var el = document.getElementById(UTF8ToString(id));
    if (!el) return;
    var t = UTF8ToString(text);
    var n = el.__alerts = (el.__alerts || 0) + 1;
    if (el.textContent !== t || t === "") { el.textContent = t; return; }
    el.textContent = "";
    setTimeout(function () { if (el.__alerts === n) el.textContent = t; }, 100);
});
// Local (not yet stored) messages: pending or failed, keyed by clientMessageId; the stored copy
// replaces them. Kept apart from #chat-log so the log announces each message once.
EM_JS(void, mirror_outbox, (const char* json_ptr), {
    var box = document.getElementById("chat-outbox");
    if (!box) return;
    var text = UTF8ToString(json_ptr);
    Module.chat.rebuild(box, function () {
        JSON.parse(text).forEach(function (m) {
            var el = document.createElement("div");
            el.dataset.clientMessageId = m.id;
            el.dataset.state = m.failed ? "failed" : "pending";
            el.textContent = m.text + (m.failed ? " (not sent: " + m.error + ")" : " (sending)");
            if (m.failed) {
                var b = document.createElement("button");
                b.type = "button";
                b.dataset.target = "retry:" + m.id;
                b.textContent = "Retry";
                el.append(" ", b);
            }
            box.appendChild(el);
        });
    });
});
EM_JS(void, mirror_conversations, (const char* json_ptr), {
    var list = document.getElementById("conv-list");
    if (!list) return;
    var text = UTF8ToString(json_ptr);
    Module.chat.rebuild(list, function () {
        JSON.parse(text).forEach(function (c) {
            var li = document.createElement("li");
            var b = document.createElement("button");
            b.type = "button";
            b.dataset.target = "conv:" + c.id;
            b.dataset.conversationId = c.id;
            b.dataset.unread = String(c.unread);
            b.textContent = c.title + (c.unread ? " (" + c.unread + " unread)" : "") + (c.current ? " (open)" : "");
            if (c.current) b.setAttribute("aria-current", "true");
            li.appendChild(b);
            list.appendChild(li);
        });
    });
});
// The New conversation dialog (#new-conv): shown while the canvas shows the picker.
EM_JS(void, mirror_picker, (const char* json_ptr), {
    var box = document.getElementById("new-conv"), people = document.getElementById("new-conv-people");
    if (!box || !people) return;
    var d = JSON.parse(UTF8ToString(json_ptr));
    if (!d.open) {
        if (!box.hidden) {
            var inside = box.contains(document.activeElement);
            box.hidden = true;
            if (inside) document.getElementById("new-conv-open").focus();
        }
        return;
    }
    box.hidden = false;
    var st = document.getElementById("new-conv-status");
    if (st.textContent !== d.status) st.textContent = d.status;
    box.querySelector('[data-target="create-conversation"]').setAttribute("aria-disabled", d.canCreate ? "false" : "true");
    var key = JSON.stringify(d.people);
    if (people.dataset.key === key) return;
    people.dataset.key = key;
    Module.chat.rebuild(people, function () {
        d.people.forEach(function (p) {
            var li = document.createElement("li");
            var b = document.createElement("button");
            b.type = "button";
            b.dataset.target = "pick:" + p.id;
            b.dataset.userId = p.id;
            b.setAttribute("aria-pressed", p.picked ? "true" : "false");
            b.textContent = p.name;
            li.appendChild(b);
            people.appendChild(li);
        });
    });
});
// The feed: each notification's item (a click marks it read; its card while read), its time,
// its action and Archive.
EM_JS(void, mirror_feed, (const char* json_ptr), {
    var data = JSON.parse(UTF8ToString(json_ptr));
    var st = document.getElementById("feed-status");
    var text = data.unread + " unread notification" + (data.unread === 1 ? "" : "s");
    if (st && st.textContent !== text) st.textContent = text;
    var list = document.getElementById("feed-list");
    if (!list) return;
    Module.chat.rebuild(list, function () {
        data.items.forEach(function (it) {
            var li = document.createElement("li");
            var add = function (target, label) {
                var b = document.createElement("button");
                b.type = "button";
                b.dataset.target = target;
                b.textContent = label;
                li.appendChild(b);
                return b;
            };
            var b = add(it.read ? "feed-item:" + it.id : "mark-read:" + it.id, it.title + (it.body ? " - " + it.body : "") + (it.read ? "" : " (unread)"));
            b.dataset.notificationId = it.id;
            b.dataset.focusKey = "notification:" + it.id;
            b.dataset.read = it.read ? "true" : "false";
            var time = document.createElement("time");
            time.dateTime = new Date(it.at).toISOString();
            time.title = time.dataset.full = it.full;
            time.textContent = it.when;
            li.append(" ", time, " ");
            if (it.action) add("feed-action:" + it.id, it.action);
            add("archive:" + it.id, "Archive");
            list.appendChild(li);
        });
    });
});

// ---- requests -----------------------------------------------------------------------------------

EM_JS(void, js_copy_text, (const char* text), {
    var t = UTF8ToString(text);
    Module.chat.clipboard = t;
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(t).catch(function () {});
});
EM_JS(int, js_clipboard, (char* out, int cap), {
    var t = Module.chat.clipboard || "";
    stringToUTF8(t, out, cap);
    return lengthBytesUTF8(t);
});
// A link opened in a new window with no opener; `pending` (not 0): into the blank window
// js_open_blank opened for it inside the click (the link came later: a popup opened outside the
// user's gesture is blocked, in WebKit at once).
EM_JS(void, js_open_url, (const char* url, int pending), {
    var u = UTF8ToString(url);
    var wins = Module.chat.blankWindows || {};
    var w = pending ? wins[pending] || null : undefined;
    if (pending) delete wins[pending];
    // The static demo's attachments live in its in-browser backend (an image's is the one whose
    // thumbnail the page asked for).
    if (Module.demo && u.indexOf("/blobs/") === 0) {
        // Its preview, fetched under this file's link of another time (the signature changes).
        var thumbs = Module.chat.thumbs || {}, image = false;
        for (var k in thumbs)
            if (k.split("?")[0] === u.split("?")[0] && (thumbs[k].state === "ready" || thumbs[k].state === "taken")) image = true;
        return Module.demo.openBlob(u, image, w);
    }
    var ok = u.indexOf("http://") === 0 || u.indexOf("https://") === 0 || u.charAt(0) === "/";
    if (w) {
        if (!ok) return w.close();
        w.location.replace(u);
        // A file served as a download never shows in the window: not left open and blank (a
        // slow image has a minute to start arriving).
        setTimeout(function () { try { if (w.location.href === "about:blank") w.close(); } catch (e) {} }, 60000);
        return;
    }
    if (ok) window.open(u, "_blank", "noopener");
});
// A file saved under its own name (a same-site link; the demo's through its backend).
EM_JS(void, js_download_url, (const char* url), {
    var u = UTF8ToString(url);
    if (Module.demo && u.indexOf("/blobs/") === 0) return Module.demo.openBlob(u, false, null);
    var t;
    try { t = new URL(u, location.href); } catch (e) { return; }
    if (t.protocol !== "http:" && t.protocol !== "https:") return;
    // Another site's file (the download attribute does not apply there): a new window, never this tab.
    if (t.origin !== location.origin) { window.open(t.href, "_blank", "noopener"); return; }
    var a = document.createElement("a");
    a.href = t.href;
    a.download = "";
    document.body.appendChild(a);
    a.click();
    a.remove();
});
EM_JS(int, js_open_blank, (), {
    var w = window.open("", "_blank");
    if (!w) return 0;
    try { w.opener = null; } catch (e) {}
    var wins = Module.chat.blankWindows = Module.chat.blankWindows || {};
    var id = Module.chat.nextBlank = (Module.chat.nextBlank || 0) + 1;
    wins[id] = w;
    return id;
});
EM_JS(void, js_close_blank, (int id), {
    var wins = Module.chat.blankWindows || {};
    if (wins[id]) wins[id].close();
    delete wins[id];
});
EM_JS(void, js_pick_file, (), { var f = document.getElementById("attach"); if (f) f.click(); });
EM_JS(void, js_submit_composer, (), {
    var c = document.getElementById("composer");
    if (!c || c.value.trim() === "") return;
    Module.chat.submits.push(c.value);
    c.value = "";
    Module.chat.wake = 3;
});
EM_JS(void, js_composer_restore, (const char* text), {
    var c = document.getElementById("composer");
    if (c && !c.value) c.value = UTF8ToString(text);
});
// The reaction picker: open for a message (its id) or closed (""); from the keyboard its first
// choice takes the focus, which goes back to the opener when it closes.
EM_JS(void, mirror_reaction_picker, (const char* id), {
    var p = document.getElementById("reaction-picker");
    if (!p) return;
    var open = UTF8ToString(id) !== "";
    if (p.hidden === !open) return;
    p.hidden = !open;
    if (open) {
        p.__opener = document.activeElement;
        if (p.__opener && p.__opener.closest && p.__opener.closest("#mirror")) p.querySelector("button").focus();
    } else if (p.contains(document.activeElement)) {
        if (p.__opener && document.contains(p.__opener)) p.__opener.focus();
    }
});
// An edit starts (its text) or ends (""): the text replaces the composer's, the caret at its end.
// No input event: that would count as typing.
EM_JS(void, js_composer_set, (const char* text), {
    var c = document.getElementById("composer");
    if (!c) return;
    c.value = UTF8ToString(text);
    c.selectionStart = c.selectionEnd = c.value.length;
});
// Which message the composer edits ("" none): data-editing, and what it is called.
EM_JS(void, js_composer_editing, (const char* id), {
    var c = document.getElementById("composer");
    if (!c) return;
    var v = UTF8ToString(id);
    var was = c.dataset.editing || "";
    if (was === v) return;
    // The draft being written when an edit starts comes back when it ends (saved or cancelled).
    if (!was) c.__draft = c.value;
    if (v) { c.dataset.editing = v; c.setAttribute("aria-label", "Edit message (Enter saves, Escape cancels)"); }
    else {
        delete c.dataset.editing;
        c.setAttribute("aria-label", "Message");
        c.value = c.__draft || "";
        c.__draft = "";
    }
});
// The delete confirmation: shown with the message's preview, hidden for "". Its Cancel button
// takes the keyboard focus when it opens (the safe choice), the mirror's Delete button had it.
EM_JS(void, mirror_dialog, (const char* text), {
    var d = document.getElementById("chat-dialog");
    if (!d) return;
    var t = UTF8ToString(text);
    var open = t !== "";
    d.querySelector("[data-role=text]").textContent = open ? "Delete this message for everyone? \u201c" + t + "\u201d" : "";
    if (d.hidden === !open) return;
    d.hidden = !open;
    if (open) {
        // From the keyboard (the mirror's Delete button had the focus) the dialog takes it, on its
        // Cancel button (the safe choice); a pointer user keeps the focus where it was.
        d.__opener = document.activeElement;
        if (d.__opener && d.__opener.closest && d.__opener.closest("#mirror")) d.querySelector('[data-target="cancel-delete"]').focus();
    } else if (d.contains(document.activeElement) || document.activeElement === document.body) {
        // Closed: the focus goes back to what opened it (its article when that was replaced).
        var back = d.__opener && document.contains(d.__opener) ? d.__opener : document.getElementById("composer");
        if (back) back.focus();
    }
});
EM_JS(int, js_composer_bytes, (), {
    var c = document.getElementById("composer");
    return c ? new TextEncoder().encode(c.value).length : 0;
});
// One toast per notification across tabs: the tab holding the "toast leader" Web Lock shows
// toasts (see shell/index.html); without Web Locks, the first tab to claim the id in
// localStorage does (best effort: storage is not atomic across tabs).
EM_JS(int, js_claim_toast, (const char* id), {
    if (Module.chat.toastLeader !== undefined) return Module.chat.toastLeader ? 1 : 0;
    try {
        var k = "chat-toast:" + UTF8ToString(id);
        if (localStorage.getItem(k)) return 0;
        localStorage.setItem(k, String(Date.now()));
        return 1;
    } catch (e) { return 1; }
});

// ---- environment --------------------------------------------------------------------------------

EM_JS(double, js_fit_canvas, (), {
    var c = Module.canvas;
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(c.clientWidth * dpr)), h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    return dpr;
});
EM_JS(int, js_canvas_width, (), { return Module.canvas.width; });
EM_JS(int, js_canvas_height, (), { return Module.canvas.height; });
EM_JS(int, js_prefers_light, (), { return window.matchMedia && matchMedia("(prefers-color-scheme: light)").matches ? 1 : 0; });
EM_JS(int, js_utc_offset_minutes, (), { return -new Date().getTimezoneOffset(); });
EM_JS(double, js_date_now, (), { return Date.now(); });

// ---- thumbnails ---------------------------------------------------------------------------------

// Fetched and decoded by the browser (createImageBitmap), scaled to at most 480 px, then copied
// into wasm memory (and uploaded as a GL texture by the app).
EM_JS(void, js_request_thumb, (const char* url_ptr), {
    var url = UTF8ToString(url_ptr);
    var thumbs = Module.chat.thumbs = Module.chat.thumbs || {};
    thumbs[url] = { state: "loading" };
    (Module.demo && url.indexOf("/blobs/") === 0 ? Module.demo.fetch : fetch)(url).then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.blob(); })
      .then(function (b) { return createImageBitmap(b); })
      .then(function (bmp) {
        var s = Math.min(1, 480 / Math.max(bmp.width, bmp.height));
        var w = Math.max(1, Math.round(bmp.width * s)), h = Math.max(1, Math.round(bmp.height * s));
        var c = new OffscreenCanvas(w, h);
        var g = c.getContext("2d");
        g.drawImage(bmp, 0, 0, w, h);
        thumbs[url] = { state: "ready", w: w, h: h, data: g.getImageData(0, 0, w, h).data };
        Module.chat.wake = 3;
      })
      .catch(function () { thumbs[url] = { state: "failed" }; Module.chat.wake = 3; });
});
// 0 = not yet, -1 = failed, 1 = ready (w/h written).
EM_JS(int, js_thumb_state, (const char* url_ptr, int* w, int* h), {
    var t = (Module.chat.thumbs || {})[UTF8ToString(url_ptr)];
    if (!t || t.state === "loading") return 0;
    if (t.state === "failed") return -1;
    if (t.state !== "ready") return 0;
    HEAP32[w >> 2] = t.w;
    HEAP32[h >> 2] = t.h;
    return 1;
});
EM_JS(void, js_thumb_take, (const char* url_ptr, unsigned char* out), {
    var url = UTF8ToString(url_ptr);
    var t = Module.chat.thumbs[url];
    HEAPU8.set(t.data, out);
    Module.chat.thumbs[url] = { state: "taken" };
});

} // namespace

PageInput PageBridge::read() {
    PageInput in;
    double wheel = 0;
    const int bits = js_poll(&wheel);
    in.wheel = static_cast<float>(wheel);
    in.wake = (bits >> 16) & 0xFF;
    in.typing = (bits & 32) != 0;
    in.theme_changed = (bits & 64) != 0;
    in.context = (bits & 256) ? ContextEvent::Restored : (bits & 128) ? ContextEvent::Lost : ContextEvent::None;
    in.nav = (bits & 512) ? -1 : (bits & 1024) ? 1 : 0;
    if (bits & 1)
        while (auto s = shift("submits", 64 * 1024)) in.submits.push_back(std::move(*s));
    if (bits & 2)
        while (auto s = shift("actions", 1024)) in.actions.push_back(std::move(*s));
    if (bits & 4) {
        for (;;) {
            std::string meta(4096, '\0');  // 255 UTF-16 units of name and of type, escaped: < 4096 bytes
            double page_size = 0;
            const double got = js_file_meta(meta.data(), static_cast<int>(meta.size()), &page_size);
            if (got == -1) break;
            const json m = wps::parse_json_bounded(meta.c_str());
            PickedFile f{wps::string_or(m, "name", "file"), wps::string_or(m, "type"), std::string(), 0, got >= 0};
            // Fail closed: a file the page did not read is never uploaded (not even as 0 bytes).
            if (f.read) f.bytes.resize(static_cast<std::size_t>(got));
            f.size = f.read ? f.bytes.size() : page_size < 1.8e19 ? static_cast<uint64_t>(page_size) : UINT64_MAX;
            js_file_take(reinterpret_cast<unsigned char*>(f.bytes.data()));
            in.files.push_back(std::move(f));
        }
    }
    if (bits & 8) {
        if (auto s = take_string(js_take_fields, 8192)) {
            const json j = wps::parse_json_bounded(*s);
            std::map<std::string, std::string> fields;
            if (j.is_object())
                for (const auto& [k, v] : j.items())
                    if (v.is_string()) fields[k] = v.get<std::string>();
            in.fields = std::move(fields);
        }
    }
    if (bits & 16) in.focus = take_string(js_take_focus, 1024);
    if (bits & 2048)
        while (auto s = shift("errors", 1024)) in.errors.push_back(std::move(*s));
    return in;
}

void PageBridge::write(const PageOutput& out) {
    js_layout("composer", out.composer.x, out.composer.y, out.composer.w, out.composer.h, out.composer_visible ? 1 : 0,
              out.composer_focus ? 1 : 0, 0);
    for (const auto& f : out.fields)
        js_layout(f.id.c_str(), f.rect.x, f.rect.y, f.rect.w, f.rect.h, f.visible ? 1 : 0, f.focus ? 1 : 0, f.clear ? 1 : 0);
    const auto& ts = out.text;
    js_text_stats(static_cast<int>(ts.rasterized_frame), static_cast<double>(ts.rasterized_total), static_cast<int>(ts.js_calls_frame),
                  static_cast<double>(ts.js_calls_total), static_cast<int>(ts.pages), static_cast<double>(ts.evictions),
                  static_cast<int>(ts.dropped_frame));
    json t = json::object();
    for (const auto& r : out.targets) t[r.name] = {r.rect.x + r.rect.w / 2, r.rect.y + r.rect.h / 2, r.rect.w, r.rect.h};
    js_composer_editing(out.composer_editing.c_str());
    if (out.composer_text) js_composer_set(out.composer_text->c_str());
    js_frame_drawn(t.dump(-1, ' ', false, json::error_handler_t::replace).c_str(), out.scroll_y, out.scroll_max, out.rows_drawn, out.key_ctrl ? 1 : 0,
                   static_cast<double>(out.max_file_bytes));
}

void PageBridge::mirror(const MirrorSnapshot& m) {
    if (m.restart) mirror_restart(m.restart->c_str());
    if (!m.appended.empty()) {
        json list = json::array();
        for (const auto& x : m.appended)
            list.push_back({{"id", x.id}, {"seq", x.seq}, {"sender", x.sender}, {"text", x.text}, {"at", x.at_ms}, {"when", x.when},
                            {"full", x.full}, {"attachment", x.attachment}, {"edited", x.edited}, {"deleted", x.deleted}, {"own", x.own},
                            {"replyTo", x.reply_to}, {"quote", x.quote},
                            {"reactions", [&] {
                                 json rs = json::array();
                                 for (const auto& r : x.reactions) rs.push_back({{"emoji", r.emoji}, {"count", r.count}, {"mine", r.mine}});
                                 return rs;
                             }()}});
        mirror_append(list.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    }
    if (!m.times.empty()) {
        json list = json::array();
        for (const auto& [id, when] : m.times) list.push_back({id, when});
        mirror_times(list.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    }
    if (m.status) mirror_text("chat-status", m.status->c_str());
    if (m.typing) mirror_text("chat-typing", m.typing->c_str());
    if (m.online) mirror_text("chat-online", m.online->c_str());
    if (m.seen) mirror_seen(m.seen->first.c_str(), m.seen->second.c_str());
    if (m.members) mirror_members(json(*m.members).dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    if (m.error) mirror_alert("chat-error", m.error->c_str());
    const auto dump = [](const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); };
    if (m.outbox) {
        json list = json::array();
        for (const auto& x : *m.outbox) list.push_back({{"id", x.id}, {"text", x.text}, {"failed", x.failed}, {"error", x.error}});
        mirror_outbox(dump(list).c_str());
    }
    if (m.conversations) {
        json list = json::array();
        for (const auto& c : *m.conversations) list.push_back({{"id", c.id}, {"title", c.title}, {"unread", c.unread}, {"current", c.current}});
        mirror_conversations(dump(list).c_str());
    }
    if (m.picker) {
        json people = json::array();
        for (const auto& p : m.picker->people) people.push_back({{"id", p.id}, {"name", p.name}, {"picked", p.picked}});
        mirror_picker(dump(json{{"open", m.picker->open}, {"status", m.picker->status}, {"canCreate", m.picker->can_create}, {"people", people}}).c_str());
    }
    if (m.dialog) mirror_dialog(m.dialog->c_str());
    if (m.reaction_picker) mirror_reaction_picker(m.reaction_picker->c_str());
    if (m.feed) {
        json items = json::array();
        for (const auto& it : m.feed->items)
            items.push_back({{"id", it.id}, {"title", it.title}, {"body", it.body}, {"read", it.read}, {"action", it.action},
                             {"at", it.at_ms}, {"when", it.when}, {"full", it.full}});
        mirror_feed(dump(json{{"unread", m.feed->unread}, {"items", items}}).c_str());
    }
}

void PageBridge::copy_text(const std::string& text) { js_copy_text(text.c_str()); }

std::string PageBridge::clipboard_text() { return take_string(js_clipboard, 64 * 1024).value_or(std::string()); }

void PageBridge::open_url(const std::string& url, int blank) { js_open_url(url.c_str(), blank); }
int PageBridge::open_blank() { return js_open_blank(); }
void PageBridge::download_url(const std::string& url) { js_download_url(url.c_str()); }
void PageBridge::close_blank(int blank) { js_close_blank(blank); }
void PageBridge::pick_file() { js_pick_file(); }
void PageBridge::submit_composer() { js_submit_composer(); }
void PageBridge::restore_composer(const std::string& text) { js_composer_restore(text.c_str()); }
std::size_t PageBridge::composer_bytes() { return static_cast<std::size_t>(std::max(0, js_composer_bytes())); }
bool PageBridge::claim_toast(const std::string& id) { return js_claim_toast(id.c_str()) != 0; }

float PageBridge::fit_canvas() { return static_cast<float>(js_fit_canvas()); }
int PageBridge::canvas_width() { return js_canvas_width(); }
int PageBridge::canvas_height() { return js_canvas_height(); }
bool PageBridge::prefers_light() { return js_prefers_light() != 0; }
int PageBridge::utc_offset_minutes() { return js_utc_offset_minutes(); }
double PageBridge::date_now() { return js_date_now(); }

void PageBridge::request_thumbnail(const std::string& url) { js_request_thumb(url.c_str()); }

PageBridge::Thumb PageBridge::thumbnail(const std::string& url, int& w, int& h) {
    const int s = js_thumb_state(url.c_str(), &w, &h);
    return s < 0 ? Thumb::Failed : s > 0 ? Thumb::Ready : Thumb::Loading;
}

void PageBridge::take_thumbnail(const std::string& url, unsigned char* rgba) { js_thumb_take(url.c_str(), rgba); }

} // namespace web
