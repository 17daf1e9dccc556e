// main_web.cpp - the browser composition root: GLFW + WebGL2 + Dear ImGui, the chat session on
// browser ports, the main loop, and the accessible DOM mirror of the chat model.
//
// The mirror (#chat-log, role="log", aria-live="polite") holds one element per stored message
// (data-message-id, text set with textContent, never HTML) and #chat-status the connection
// state. Screen readers use it; browser tests read it as their documented test hook.
#include "core/chat_session.hpp"
#include "core/json_limits.hpp"
#include "core/notification_center.hpp"
#include "platform/web/text_web.hpp"
#include "platform/web/web_platform.hpp"
#include "ui/chat_view.hpp"
#include "ui/notification_view.hpp"
#include "ui/targets.hpp"
#include "ui/text.hpp"
#include "ui/theme.hpp"

#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

void start_app(const nlohmann::json& cfg);  // after config.json arrived

namespace {

struct App {
    GLFWwindow* window = nullptr;
    web::BrowserScheduler sched;
    web::FetchHttpClient http;
    std::unique_ptr<wps::Realtime> realtime;    // the tab's one socket (outlives its users below)
    std::unique_ptr<chat::ChatSession> session;
    std::unique_ptr<notify::NotificationCenter> center;
    web::WebTextPort text;                      // user content: the browser shapes and rasterizes it
    ui::ChatViewState view;
    ui::FeedViewState feed;
    std::set<std::string> mirrored;
    std::string mirrored_conversation;
    uint64_t mirrored_version = 0, mirrored_last_seq = 0;  // the conversation as the mirror last saw it
    bool dirty = true;               // the models changed: mirror + redraw
    int frames_left = 3;             // frames still to draw after activity (ImGui settles in a few)
    uint64_t last_draw_ms = 0;
    bool was_online = true, was_visible = true;
    bool context_lost = false;
    bool composer_focused_once = false;
    bool picker_was_open = false;        // the title field was shown last frame
    bool feed_opened_by_focus = false;   // the keyboard focus entered the feed's mirror and opened it
    std::string mirrored_view;           // the conversation list and picker as the mirror last showed them
    // Relative times in the mirror ("5 min"): labels shown, and the recent messages whose label
    // moves every minute (createdAt -> messageId); all again when the local day changes.
    std::map<std::string, std::string> time_labels;
    std::multimap<int64_t, std::string> recent_times;
    std::map<std::string, int64_t> times_at;
    int64_t times_day = 0;
    float dpr = 1.0f;
};

App* g_app = nullptr;  // the one instance the browser main loop drives

// One article per stored message, in sequence order: its text ("sender: text", the element with
// data-message-id), its time (relative, the full time in title/data-full) and its actions as
// buttons named like the canvas targets (copy:<id>, attachment:<id>); the page's mirror code
// (shell/index.html) sends their clicks to the wasm side and moves the keyboard focus.
EM_JS(void, mirror_append, (const char* id_ptr, double seq, const char* sender, const char* text_ptr, double at_ms,
                            const char* when, const char* full, const char* attachment), {
    var log = document.getElementById("chat-log");
    if (!log) return;
    var id = UTF8ToString(id_ptr), text = UTF8ToString(text_ptr), att = UTF8ToString(attachment);
    var art = document.createElement("div");
    art.setAttribute("role", "article");
    art.tabIndex = -1;
    art.dataset.target = "msg:" + id;
    art.dataset.seq = String(seq);
    var body = document.createElement("span");
    body.dataset.messageId = id;
    body.textContent = UTF8ToString(sender) + ": " + text;
    art.appendChild(body);
    var time = document.createElement("time");
    time.dateTime = new Date(at_ms).toISOString();
    time.title = time.dataset.full = UTF8ToString(full);
    time.textContent = UTF8ToString(when);
    art.append(" ", time);
    var button = function (target, label) {
        var b = document.createElement("button");
        b.type = "button";
        b.tabIndex = -1;
        b.dataset.target = target;
        b.textContent = label;
        art.append(" ", b);
    };
    if (text) button("copy:" + id, "Copy");
    if (att) button("attachment:" + id, "Open " + att);
    Module.chat.timeEls = Module.chat.timeEls || {};
    Module.chat.timeEls[id] = time;
    // Older pages arrive after newer messages: keep the sequence order.
    var kids = log.children, lo = 0, hi = kids.length;
    if (hi === 0 || Number(kids[hi - 1].dataset.seq) < seq) { log.appendChild(art); return; }
    while (lo < hi) { var mid = (lo + hi) >> 1; if (Number(kids[mid].dataset.seq) < seq) lo = mid + 1; else hi = mid; }
    log.insertBefore(art, kids[lo] || null);
});
EM_JS(void, mirror_time, (const char* id, const char* when), {
    var t = (Module.chat.timeEls || {})[UTF8ToString(id)];
    if (t) t.textContent = UTF8ToString(when);
});
// Local (not yet stored) messages: pending or failed, keyed by clientMessageId; the stored copy
// replaces them. Kept apart from #chat-log so the log announces each message once.
EM_JS(void, mirror_local, (const char* json), {
    var box = document.getElementById("chat-outbox");
    if (!box) return;
    var text = UTF8ToString(json);
    if (box.dataset.key === text) return;
    box.dataset.key = text;
    Module.chat.rebuild(box, function () {
        JSON.parse(text).forEach(function (m) {
            var el = document.createElement("div");
            el.dataset.clientMessageId = m.id;
            el.dataset.state = m.state;
            el.textContent = m.text + (m.error ? " (not sent: " + m.error + ")" : " (sending)");
            if (m.state === "failed") {
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
// Hands the bearer token to the page's upload code once; it is kept in a closure there, never on Module.
EM_JS(void, js_set_session, (const char* token, const char* api), {
    if (Module.chat.setSession) Module.chat.setSession(UTF8ToString(token), UTF8ToString(api));
});
// Image previews: fetched and decoded by the browser (createImageBitmap), scaled to at most
// 480 px, then copied into wasm memory and uploaded as a GL texture.
EM_JS(void, js_request_thumb, (const char* url_ptr), {
    var url = UTF8ToString(url_ptr);
    var thumbs = Module.chat.thumbs = Module.chat.thumbs || {};
    thumbs[url] = { state: 'loading' };
    fetch(url).then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.blob(); })
      .then(function (b) { return createImageBitmap(b); })
      .then(function (bmp) {
        var s = Math.min(1, 480 / Math.max(bmp.width, bmp.height));
        var w = Math.max(1, Math.round(bmp.width * s)), h = Math.max(1, Math.round(bmp.height * s));
        var c = new OffscreenCanvas(w, h);
        var g = c.getContext('2d');
        g.drawImage(bmp, 0, 0, w, h);
        thumbs[url] = { state: 'ready', w: w, h: h, data: g.getImageData(0, 0, w, h).data };
        Module.chat.wake = 3;
      })
      .catch(function () { thumbs[url] = { state: 'failed' }; Module.chat.wake = 3; });
});
// 0 = not yet, -1 = failed, 1 = ready (w/h written).
EM_JS(int, js_thumb_state, (const char* url_ptr, int* w, int* h), {
    var t = (Module.chat.thumbs || {})[UTF8ToString(url_ptr)];
    if (!t || t.state === 'loading') return 0;
    if (t.state === 'failed') return -1;
    HEAP32[w >> 2] = t.w;
    HEAP32[h >> 2] = t.h;
    return 1;
});
EM_JS(void, js_thumb_take, (const char* url_ptr, unsigned char* out), {
    var url = UTF8ToString(url_ptr);
    var t = Module.chat.thumbs[url];
    HEAPU8.set(t.data, out);
    Module.chat.thumbs[url] = { state: 'taken' };
});

EM_JS(int, js_take_theme_change, (), { var t = Module.chat.themeChanged ? 1 : 0; Module.chat.themeChanged = false; return t; });
// Anything queued by the page for the wasm side (composer submits, uploads, mirror clicks)?
EM_JS(int, js_has_input, (), {
    var c = Module.chat;
    return (c.submits.length || (c.attachments && c.attachments.length) || c.actions.length) ? 1 : 0;
});
// The next action from the page (a mirror button's or a field key's canvas target name), or -1.
EM_JS(int, js_take_action, (char* out, int cap), {
    if (!Module.chat.actions.length) return -1;
    var t = Module.chat.actions.shift();
    stringToUTF8(t, out, cap);
    return lengthBytesUTF8(t);
});
// The page's fields ({"conv-filter": text, "new-conv-title": text}) as JSON when they changed since the last take, else -1.
EM_JS(int, js_take_fields, (char* out, int cap), {
    if (!Module.chat.fieldsChanged) return -1;
    Module.chat.fieldsChanged = false;
    var t = JSON.stringify(Module.chat.fields);
    stringToUTF8(t, out, cap);
    return lengthBytesUTF8(t);
});
// The mirror's keyboard focus (a target name, "" none) when it changed, else -1.
EM_JS(int, js_take_focus, (char* out, int cap), {
    if (!Module.chat.focusChanged) return -1;
    Module.chat.focusChanged = false;
    stringToUTF8(Module.chat.focus, out, cap);
    return lengthBytesUTF8(Module.chat.focus);
});
// A page field laid over the canvas like the composer (#conv-filter, #new-conv-title).
EM_JS(void, js_field_layout, (const char* id, double x, double y, double w, double h, int visible, int focus, int clear), {
    var f = document.getElementById(UTF8ToString(id));
    if (!f) return;
    if (clear) { f.value = ""; Module.chat.fields[f.id] = ""; }
    var d = visible ? "block" : "none";
    if (f.style.display !== d) {
        // A field that goes while it has the keyboard focus hands it to the composer.
        if (!visible && document.activeElement === f) { var c = document.getElementById("composer"); if (c) setTimeout(function () { c.focus(); }, 0); }
        f.style.display = d;
    }
    var px = function (v) { return Math.round(v) + "px"; };
    if (f.style.left !== px(x)) f.style.left = px(x);
    if (f.style.top !== px(y)) f.style.top = px(y);
    if (f.style.width !== px(w)) f.style.width = px(w);
    if (f.style.height !== px(h)) f.style.height = px(h);
    if (focus && visible) f.focus();
});
EM_JS(int, js_take_typing, (), { var t = Module.chat.typing ? 1 : 0; Module.chat.typing = false; return t; });
EM_JS(void, js_pick_file, (), { var f = document.getElementById("attach"); if (f) f.click(); });
EM_JS(int, js_take_attachment, (char* out, int cap), {
    var q = Module.chat.attachments;
    if (!q || !q.length) return -1;
    var t = JSON.stringify(q.shift());
    stringToUTF8(t, out, cap);
    return lengthBytesUTF8(t);
});

EM_JS(void, mirror_clear_log, (const char* title), {
    var log = document.getElementById("chat-log");
    if (log) { log.textContent = ""; log.current = null; log.tabIndex = 0; }
    Module.chat.timeEls = {};
    var t = document.getElementById("chat-title");
    if (t) t.textContent = UTF8ToString(title);
});
// The feed and the conversation list as lists of buttons (screen readers; browser tests).
EM_JS(void, mirror_feed, (const char* json), {
    var data = JSON.parse(UTF8ToString(json));
    var st = document.getElementById("feed-status");
    var text = data.unread + " unread notification" + (data.unread === 1 ? "" : "s");
    if (st && st.textContent !== text) st.textContent = text;
    var list = document.getElementById("feed-list");
    if (!list) return;
    var key = JSON.stringify(data.items);
    if (list.dataset.key === key) return;
    list.dataset.key = key;
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
            // The item itself: a click marks it read (its canvas card while read).
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
EM_JS(void, mirror_conversations, (const char* json), {
    var list = document.getElementById("conv-list");
    if (!list) return;
    var text = UTF8ToString(json);
    if (list.dataset.key === text) return;
    list.dataset.key = text;
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
// The New conversation dialog's mirror (#new-conv): shown while the canvas shows the picker.
EM_JS(void, mirror_picker, (const char* json), {
    var box = document.getElementById("new-conv"), people = document.getElementById("new-conv-people");
    if (!box || !people) return;
    var d = JSON.parse(UTF8ToString(json));
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
    var create = box.querySelector('[data-target="create-conversation"]');
    create.setAttribute("aria-disabled", d.canCreate ? "false" : "true");
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
EM_JS(void, js_focus_composer, (), { var c = document.getElementById("composer"); if (c) c.focus(); });
EM_JS(void, js_open_url, (const char* url), {
    var u = UTF8ToString(url);
    if (u.indexOf("http://") === 0 || u.indexOf("https://") === 0 || u.charAt(0) === "/") window.open(u, "_blank", "noopener");
    else Module.chat.appLinks = (Module.chat.appLinks || []).concat([u]);
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

EM_JS(void, mirror_typing, (const char* text), {
    var el = document.getElementById("chat-typing");
    if (el && el.textContent !== UTF8ToString(text)) el.textContent = UTF8ToString(text);
});

EM_JS(void, mirror_status, (const char* text), {
    var el = document.getElementById("chat-status");
    if (el && el.textContent !== UTF8ToString(text)) el.textContent = UTF8ToString(text);
});

EM_JS(double, canvas_fit, (), {
    // Keeps the canvas backing store at CSS size x devicePixelRatio; returns the ratio.
    var c = Module.canvas;
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(c.clientWidth * dpr)), h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    return dpr;
});
EM_JS(int, canvas_width, (), { return Module.canvas.width; });
EM_JS(int, js_prefers_light, (), { return window.matchMedia && matchMedia('(prefers-color-scheme: light)').matches ? 1 : 0; });
EM_JS(void, js_report_scroll, (double y, double max, int rows, int ctrl), {
    Module.chat.scrollY = y; Module.chat.scrollMax = max; Module.chat.rowsDrawn = rows; Module.chat.keyCtrl = !!ctrl;
});
// Page state bridge (see shell/index.html, Module.chat).
// The send button: the composer's text goes the way Enter sends it (see shell/index.html).
EM_JS(void, js_submit_composer, (), {
    var c = document.getElementById("composer");
    if (!c || c.value.trim() === "") return;
    Module.chat.submits.push(c.value);
    c.value = "";
    Module.chat.wake = 3;
});
EM_JS(double, js_date_now, (), { return Date.now(); });
// Alt+Up/Down typed in the page's composer: -1 previous, +1 next conversation, 0 none.
EM_JS(int, js_take_nav, (), { var n = Module.chat.nav || 0; Module.chat.nav = 0; return n; });
EM_JS(int, js_take_wake, (), { var w = Module.chat.wake; Module.chat.wake = 0; return w; });
EM_JS(double, js_take_wheel, (), { var w = Module.chat.wheel; Module.chat.wheel = 0; return w; });
EM_JS(void, js_frame_drawn, (), { Module.chat.frames++; });
EM_JS(void, js_publish_targets, (const char* json), { Module.chat.targets = JSON.parse(UTF8ToString(json)); });
EM_JS(int, js_context_event, (), {
    // 1 = lost, 2 = restored, 0 = nothing new
    if (Module.chat.restored) { Module.chat.restored = false; Module.chat.lost = false; return 2; }
    return Module.chat.lost ? 1 : 0;
});
EM_JS(int, js_take_submit, (char* out, int cap), {
    if (!Module.chat.submits.length) return -1;
    var t = Module.chat.submits.shift();
    stringToUTF8(t, out, cap);
    return lengthBytesUTF8(t);
});
EM_JS(void, js_composer_restore, (const char* text), {
    var c = document.getElementById('composer');
    if (c && !c.value) c.value = UTF8ToString(text);
});
EM_JS(int, js_composer_bytes, (), {
    var c = document.getElementById('composer');
    return c ? new TextEncoder().encode(c.value).length : 0;
});
EM_JS(void, js_composer_layout, (double x, double y, double w, double h, int visible, int focus), {
    var c = document.getElementById('composer');
    if (!c) return;
    var d = visible ? 'block' : 'none';
    if (c.style.display !== d) c.style.display = d;
    var px = function (v) { return Math.round(v) + 'px'; };
    if (c.style.left !== px(x)) c.style.left = px(x);
    if (c.style.top !== px(y)) c.style.top = px(y);
    if (c.style.width !== px(w)) c.style.width = px(w);
    if (c.style.height !== px(h)) c.style.height = px(h);
    if (focus && visible) c.focus();
});
EM_JS(void, js_copy_text, (const char* text), {
    var t = UTF8ToString(text);
    Module.chat.clipboard = t;
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(t).catch(function () {});
});
EM_JS(int, canvas_height, (), { return Module.canvas.height; });

// The mirror's relative times move on like the canvas's: the last hour's every minute, all of
// them when the local day changes ("14:05" becomes "Yesterday").
void refresh_times(App& a, int64_t wall) {
    const int64_t day = ui::theme::local_day(wall);
    auto update = [&](const std::string& id, int64_t at) {
        const std::string when = ui::theme::format_relative(at, wall);
        std::string& shown = a.time_labels[id];
        if (shown != when) {
            shown = when;
            mirror_time(id.c_str(), when.c_str());
        }
    };
    if (day != a.times_day) {
        a.times_day = day;
        for (const auto& [id, at] : a.times_at) update(id, at);
    }
    for (auto it = a.recent_times.begin(); it != a.recent_times.end();) {
        update(it->second, it->first);
        it = wall - it->first >= 3600000 ? a.recent_times.erase(it) : std::next(it);  // "14:05" from now on
    }
}

// What the mirror shows of the view's own state (the filtered conversation list, the New
// conversation dialog): compared with what it last showed, after every drawn frame.
void sync_view_mirror(App& a) {
    nlohmann::json convs = nlohmann::json::array();
    for (const chat::ConversationSummary* cs : ui::filtered_conversations(*a.session, a.view))
        convs.push_back({{"id", cs->id}, {"title", cs->title}, {"unread", cs->unread}, {"current", cs->id == a.session->current_id()}});
    const ui::NewConversationState& pk = a.view.picker;
    nlohmann::json picker{{"open", pk.open}};
    if (pk.open) {
        nlohmann::json people = nlohmann::json::array();
        for (const auto& c : a.session->contacts()) people.push_back({{"id", c.id}, {"name", c.name}, {"picked", pk.picked.count(c.id) > 0}});
        std::string status = a.session->contacts_loading()        ? "Loading people..."
                             : !a.session->contacts_error().empty() ? a.session->contacts_error()
                             : !a.session->create_error().empty()   ? a.session->create_error()
                             : a.session->creating()                ? "Creating..."
                                                                    : std::to_string(pk.picked.size()) + " picked";
        picker = {{"open", true}, {"people", people}, {"status", status}, {"canCreate", !pk.picked.empty() && !a.session->creating()}};
    }
    std::string key = convs.dump();
    key += '\n';
    key += picker.dump();
    if (key == a.mirrored_view) return;
    a.mirrored_view = key;
    mirror_conversations(convs.dump().c_str());
    mirror_picker(picker.dump().c_str());
}

void sync_mirror(App& a) {
    if (a.mirrored_conversation != a.session->current_id()) {
        a.mirrored_conversation = a.session->current_id();
        a.mirrored.clear();
        a.mirrored_version = 0;
        a.mirrored_last_seq = 0;
        a.time_labels.clear();
        a.recent_times.clear();
        a.times_at.clear();
        mirror_clear_log(a.session->title().c_str());
    }
    const int64_t wall = static_cast<int64_t>(js_date_now());
    // Only what changed: messages appended since the last look (a live message costs the same in
    // a conversation of 100,000 as in one of 100); a page of older ones or a filled gap walks all.
    const chat::Conversation& conv = a.session->conversation();
    const bool conv_changed = a.mirrored_version != conv.version();
    if (conv_changed) {
        a.mirrored_version = conv.version();
        auto fresh = conv.stored_after(a.mirrored_last_seq);
        if (a.mirrored.size() + fresh.size() != conv.stored_count()) fresh = conv.stored_after(0);
        for (const chat::Message* m : fresh) {
            if (!a.mirrored.insert(m->messageId).second) continue;
            const std::string when = ui::theme::format_relative(m->createdAtMs, wall);
            mirror_append(m->messageId.c_str(), static_cast<double>(m->seq), m->senderId.c_str(), m->text.c_str(),
                          static_cast<double>(m->createdAtMs), when.c_str(), ui::theme::format_full(m->createdAtMs).c_str(),
                          m->attachment ? m->attachment->name.c_str() : "");
            a.time_labels[m->messageId] = when;
            a.times_at[m->messageId] = m->createdAtMs;
            if (wall - m->createdAtMs < 3600000) a.recent_times.emplace(m->createdAtMs, m->messageId);
        }
        a.mirrored_last_seq = conv.last_seq();
    }
    refresh_times(a, wall);
    const auto& c = a.session->connection();
    std::string status = a.session->phase() == chat::Phase::Failed ? "error: " + a.session->error()
                         : !a.session->panel_open()                 ? "closed"
                         : c.offline                                 ? "offline"
                                                                     : wps::to_string(c.state);
    // "connected" only once the open conversation is subscribed and caught up (live for real).
    if (c.state == wps::ClientState::Connected && !c.offline && a.session->panel_open() && a.session->phase() != chat::Phase::Failed)
        status = a.session->in_sync() ? "connected"
                 : !a.session->subscribe_error().empty() && !a.session->subscribed() ? "not-subscribed"
                 : !a.session->subscribed() ? "subscribing"
                                            : "catching-up";
    mirror_status(status.c_str());
    const auto typing = a.session->typing_users(a.sched.now_ms());
    std::string typing_text;
    for (const auto& u : typing) typing_text += (typing_text.empty() ? "" : ", ") + u;
    if (!typing_text.empty()) typing_text += typing.size() == 1 ? " is typing" : " are typing";
    mirror_typing(typing_text.c_str());
    if (conv_changed) {
        nlohmann::json local = nlohmann::json::array();
        for (const chat::Message* m : conv.locals())
            local.push_back({{"id", m->clientMessageId}, {"text", m->text},
                             {"state", m->state == chat::SendState::Failed ? "failed" : "pending"}, {"error", m->error}});
        mirror_local(local.dump().c_str());
    }
    sync_view_mirror(a);
    if (a.center) {
        nlohmann::json items = nlohmann::json::array();
        for (const notify::Item* it : a.center->feed().ordered())
            items.push_back({{"id", it->id}, {"title", it->title}, {"body", it->body}, {"read", it->read},
                             {"action", it->actionLabel},
                             {"at", it->createdAt}, {"when", ui::theme::format_relative(it->createdAt, wall)},
                             {"full", ui::theme::format_full(it->createdAt)}});
        mirror_feed(nlohmann::json{{"unread", a.center->feed().unread()}, {"items", items}}.dump().c_str());
    }
}

// A string the page hands over through `take` (-1: nothing).
template <typename Take>
std::optional<std::string> take_string(Take take, std::size_t cap) {
    std::string buf(cap, '\0');
    const int n = take(buf.data(), static_cast<int>(buf.size()));
    if (n < 0) return std::nullopt;
    buf.resize(std::min<std::size_t>(static_cast<std::size_t>(n), buf.size() - 1));
    return buf;
}

// ImGui's atlas: the interface's own labels only (user content goes through the text port). The
// ranges are the subset src/app/CMakeLists.txt cuts from DejaVu Sans; they must agree.
void load_fonts(float dpr) {
    ImGuiIO& io = ImGui::GetIO();
    static const ImWchar ranges[] = {
        0x0020, 0x007E,  // ASCII
        0x00A0, 0x00FF,  // Latin-1 (no-break space, ×, °, accented letters)
        0x2010, 0x2027,  // dashes, quotes, bullet, ellipsis
        0x2030, 0x203A,  // per mille, primes, angle quotes
        0x20AC, 0x20AC,  // euro
        0x2190, 0x2193,  // arrows
        0x25B2, 0x25B2, 0x25B6, 0x25B6, 0x25BC, 0x25BC, 0x25C0, 0x25C0,  // triangles
        0x25CB, 0x25CB, 0x25CF, 0x25CF,  // circles (status dot)
        0x2713, 0x2713, 0x2715, 0x2715,  // check, cross
        0xFFFD, 0xFFFD,  // replacement character
        0,
    };
    ImFontConfig cfg;
    cfg.OversampleH = 2;
    if (!io.Fonts->AddFontFromFileTTF("/fonts/sans.ttf", 16.0f * dpr, &cfg, ranges)) {
        io.Fonts->AddFontDefault();
        return;
    }
    // The icons (ui::theme::icon) merged into the same font, centred on the text's line.
    ImFontConfig icons;
    icons.MergeMode = true;
    icons.OversampleH = 2;
    icons.PixelSnapH = true;
    icons.GlyphMinAdvanceX = 16.0f * dpr;  // every icon as wide as the widest: buttons line up
    icons.GlyphOffset = ImVec2(0, 1.0f * dpr);
    io.Fonts->AddFontFromFileTTF("/fonts/icons.ttf", 14.0f * dpr, &icons, ui::theme::icon_ranges());
    // Characters outside the atlas show U+FFFD instead of nothing.
    io.Fonts->Build();
    if (!io.Fonts->Fonts.empty()) io.Fonts->Fonts[0]->FallbackChar = 0xFFFD;
}

// Test hooks for the text port (Module.chat.text*): what the last drawn frame rasterized and
// called into JS for (both 0 when nothing new was shown), running totals, pages alive.
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

// Minutes east of UTC where the viewer is (times in the panel are local).
EM_JS(int, js_utc_offset_minutes, (), { return -new Date().getTimezoneOffset(); });

EM_JS(int, js_clipboard, (char* out, int cap), {
    var t = Module.chat.clipboard || "";
    stringToUTF8(t, out, cap);
    return lengthBytesUTF8(t);
});
// ImGui's clipboard: in-app copy/paste through the page's copy (Module.chat.clipboard), and out
// to the system clipboard with navigator.clipboard.writeText. The composer (a textarea) uses
// the browser's own clipboard handling.
const char* get_clipboard(void*) {
    static std::string text;
    text.assign(64 * 1024, '\0');
    const int n = js_clipboard(text.data(), static_cast<int>(text.size()));
    text.resize(std::min<std::size_t>(static_cast<std::size_t>(n), text.size() - 1));
    return text.c_str();
}
void set_clipboard(void*, const char* text) { js_copy_text(text); }

// Sends what the page's composer submitted (Enter); a refused send puts the text back.
void take_submits(App& a) {
    std::string buf(64 * 1024, '\0');
    for (;;) {
        const int n = js_take_submit(buf.data(), static_cast<int>(buf.size()));
        if (n < 0) break;
        std::string text = buf.substr(0, std::min<std::size_t>(static_cast<std::size_t>(n), buf.size() - 1));
        std::string why;
        if (a.session->send(text, why)) {
            a.view.last_error.clear();
        } else {
            a.view.last_error = why;
            js_composer_restore(text.c_str());
        }
        a.dirty = true;
    }
}

unsigned upload_texture(const ui::Thumbnail& t) {
    GLuint tex = 0;
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, static_cast<GLsizei>(t.w), static_cast<GLsizei>(t.h), 0, GL_RGBA, GL_UNSIGNED_BYTE,
                 t.rgba.data());
    return tex;
}

// Starts requested previews and uploads the decoded ones.
void pump_thumbnails(App& a) {
    for (const auto& url : a.view.thumbnail_requests) js_request_thumb(url.c_str());
    a.view.thumbnail_requests.clear();
    for (auto& [url, t] : a.view.thumbnails) {
        if (!t.requested || t.texture || t.failed || !t.rgba.empty()) continue;
        int w = 0, h = 0;
        const int state = js_thumb_state(url.c_str(), &w, &h);
        if (state < 0) t.failed = true;
        if (state <= 0 || w <= 0 || h <= 0) continue;
        t.w = static_cast<float>(w);
        t.h = static_cast<float>(h);
        t.rgba.resize(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4);
        js_thumb_take(url.c_str(), t.rgba.data());
        t.texture = upload_texture(t);
    }
}

void take_attachments(App& a) {
    std::string buf(8192, '\0');
    for (;;) {
        const int n = js_take_attachment(buf.data(), static_cast<int>(buf.size()));
        if (n < 0) break;
        auto j = wps::parse_json_bounded(buf.substr(0, static_cast<std::size_t>(n)));
        std::string why;
        if (!j.is_object() || j.contains("error")) {
            a.view.last_error = wps::string_or(j, "error", "upload failed");
        } else {
            chat::Attachment att{wps::string_or(j, "url"), wps::string_or(j, "name", "file"), wps::string_or(j, "contentType"),
                                 wps::u64_or(j, "size")};
            if (!a.session->send("", why, att)) a.view.last_error = why;
        }
        a.dirty = true;
    }
}

// What the view and the feed asked the platform for: a clipboard write, a link to open (in-app
// links navigate inside the panel).
void flush_requests(App& a) {
    if (!a.view.copy_request.empty()) {
        js_copy_text(a.view.copy_request.c_str());
        a.view.copy_request.clear();
    }
    for (std::string* url : {&a.view.open_url, &a.feed.open_url})
        if (!url->empty()) {
            // In-app actions ("app:conversation/<id>") navigate inside the panel; others open a tab.
            if (url->rfind("app:conversation/", 0) == 0) {
                a.session->open_conversation(url->substr(17));
                a.feed.open = false;
            } else {
                js_open_url(url->c_str());
            }
            url->clear();
        }
}

void frame() {
    App& a = *g_app;
    if (!a.session) return;  // config.json still loading
    if (js_has_input()) {  // a cheap check first: the takes below allocate buffers
        take_submits(a);
        take_attachments(a);
        // The accessible mirror's buttons and the fields' keys (keyboard and screen-reader users)
        // do what the canvas items of the same name do.
        while (auto name = take_string(js_take_action, 1024)) {
            bool done = false;
            if (a.center && (ui::is_feed_target(*name) || *name == "escape")) done = ui::feed_action(*a.center, a.feed, *name);
            if (!done) ui::chat_action(*a.session, a.view, *name);
            a.dirty = true;
        }
        flush_requests(a);  // a copy or a new window: still inside the click that asked (user gesture)
    }
    if (auto fields = take_string(js_take_fields, 4096)) {
        const auto j = wps::parse_json_bounded(*fields);
        a.view.conv_filter = wps::string_or(j, "conv-filter");
        a.view.picker.title = wps::string_or(j, "new-conv-title");
        a.dirty = true;
    }
    if (auto focus = take_string(js_take_focus, 1024)) {
        a.view.focus = a.feed.focus = *focus;
        // The focus entering the feed's items opens the feed (its ring needs the card drawn);
        // leaving them closes it again if that is what opened it.
        const bool in_feed = ui::is_feed_target(*focus) && *focus != "bell";
        if (in_feed && !a.feed.open) {
            a.feed.open = true;
            a.feed_opened_by_focus = true;
        } else if (!in_feed && a.feed_opened_by_focus) {
            a.feed.open = false;
            a.feed_opened_by_focus = false;
        }
        a.frames_left = std::max(a.frames_left, 2);
    }
    if (js_take_typing()) a.session->typing();
    // Browser hints for the client: network up/down, page shown again.
    const bool online = web::browser_online(), visible = web::page_visible();
    if (online != a.was_online) online ? a.realtime->notify_online() : a.realtime->notify_offline();
    if (visible && !a.was_visible) a.realtime->notify_resumed();
    a.was_online = online;
    a.was_visible = visible;

    // Idle: draw only after activity (input, network, resize), a few frames each time, and once a
    // second while a countdown is shown. Hidden tabs keep processing network data without drawing.
    const int wake = js_take_wake();
    if (wake > a.frames_left) a.frames_left = wake;
    if (a.dirty) a.frames_left = std::max(a.frames_left, 3);
    const uint64_t now = a.sched.now_ms();
    const bool countdown = a.session->connection().state == wps::ClientState::WaitingToReconnect ||
                           !a.session->typing_users(now).empty() || (a.center && !a.center->toasts(now).empty()) ||
                           a.session->connection().state == wps::ClientState::Recovering;
    // Relative times ("now", "5 min") move on: a frame every 30 s keeps them true.
    if (countdown ? now - a.last_draw_ms >= 1000 : now - a.last_draw_ms >= 30000) {
        a.frames_left = std::max(a.frames_left, 1);
        sync_mirror(a);  // typing indicators and toasts expire: the mirror follows once a second
    }
    if (a.dirty) {
        sync_mirror(a);
        a.dirty = false;
    }
    const int ctx = js_context_event();
    if (ctx == 2) {
        // WebGL context restored: every GL object (buffers, shaders, font texture) is recreated.
        ImGui_ImplOpenGL3_Shutdown();
        ImGui_ImplOpenGL3_Init("#version 300 es");
        a.text.invalidate_rasters();  // the text pages died with the context: rasterized again on demand
        for (auto& [url, t] : a.view.thumbnails)
            if (!t.rgba.empty()) t.texture = upload_texture(t);
        a.context_lost = false;
        a.frames_left = 3;
    } else if (ctx == 1) {
        a.context_lost = true;
    }
    if (a.frames_left <= 0 || !visible || a.context_lost) return;
    --a.frames_left;
    a.last_draw_ms = now;

    glfwPollEvents();
    pump_thumbnails(a);
    const float dpr = static_cast<float>(canvas_fit());
    if (js_take_theme_change()) {
        // The system switched between light and dark: follow it without a reload.
        a.view.light = js_prefers_light() != 0;
        ui::theme::apply(a.view.light, a.dpr);
        a.text.invalidate_rasters();  // text drawn in the old theme's colours is not shown again
    }
    if (dpr != a.dpr) {
        // Moved to a screen with another pixel ratio, or zoomed: re-rasterise the font and rescale.
        ImGui::GetIO().Fonts->Clear();
        load_fonts(dpr);
        ImGui_ImplOpenGL3_DestroyFontsTexture();
        ImGui_ImplOpenGL3_CreateFontsTexture();
        ui::theme::apply(a.view.light, dpr);
        a.text.invalidate_all();  // sizes change with the ratio: new layouts and rasters
        a.dpr = dpr;
    }
    a.view.composer_bytes = static_cast<std::size_t>(js_composer_bytes());
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGuiIO& io = ImGui::GetIO();
    // A frame drawn inside an input event (see chat_frame_now) can follow the last one within the
    // clock's resolution (Firefox rounds performance.now() to 1 ms): ImGui needs time to advance.
    if (io.DeltaTime <= 0.0f) io.DeltaTime = 1e-4f;
    io.DisplaySize = ImVec2(static_cast<float>(canvas_width()), static_cast<float>(canvas_height()));
    io.DisplayFramebufferScale = ImVec2(1, 1);
    io.MouseWheel += static_cast<float>(js_take_wheel());
    a.text.begin_frame();
    ImGui::NewFrame();
    ui::targets().clear();
    a.view.scale = dpr;
    a.feed.scale = dpr;
    a.view.wall_ms = static_cast<int64_t>(js_date_now());
    a.view.nav_request = js_take_nav();
    ui::draw_chat_panel(*a.session, a.view, 0, 0, io.DisplaySize.x, io.DisplaySize.y, a.sched.now_ms(), [&] {
        if (a.center) ui::draw_bell(*a.center, a.feed);
    });
    if (a.center) {
        ui::draw_feed(*a.center, a.feed, io.DisplaySize.x, io.DisplaySize.y, a.sched.now_ms(), a.view.wall_ms);
        ui::draw_toasts(*a.center, a.feed, io.DisplaySize.x, io.DisplaySize.y, a.sched.now_ms(), a.view.wall_ms);
    }
    // The keyboard focus (held by the accessible mirror) shown on the canvas item it stands for.
    ui::draw_focus_ring(a.view.focus, a.view.light, dpr);
    ImGui::Render();
    glViewport(0, 0, static_cast<int>(io.DisplaySize.x), static_cast<int>(io.DisplaySize.y));
    {
        const ImVec4 bg = ui::theme::palette(a.view.light).bg;
        glClearColor(bg.x, bg.y, bg.z, 1);
    }
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    {
        const auto ts = a.text.stats();
        js_text_stats(static_cast<int>(ts.rasterized_frame), static_cast<double>(ts.rasterized_total), static_cast<int>(ts.js_calls_frame),
                      static_cast<double>(ts.js_calls_total), static_cast<int>(ts.pages), static_cast<double>(ts.evictions),
                      static_cast<int>(ts.dropped_frame));
    }
    js_frame_drawn();
    {
        // Test hook: clickable canvas items by name, in CSS px (centre x, centre y, w, h).
        nlohmann::json t = nlohmann::json::object();
        for (const auto& tg : ui::targets())
            t[tg.name] = {(tg.x + tg.w / 2) / dpr, (tg.y + tg.h / 2) / dpr, tg.w / dpr, tg.h / dpr};
        js_publish_targets(t.dump().c_str());
    }
    js_report_scroll(a.view.scroll_y / dpr, a.view.scroll_max / dpr, a.view.rows_drawn, ImGui::GetIO().KeyCtrl ? 1 : 0);
    // The feed panel floats over the history; the page's composer would cover it on short screens.
    if (a.feed.open) a.view.composer_visible = false;
    // Clipboard writes, new windows and the file picker need the user's gesture: done in the frame
    // that saw the click, which the page runs inside the mouseup/touchend (see chat_frame_now).
    flush_requests(a);
    if (a.view.send_request) {
        js_submit_composer();  // the send button: what Enter does in the composer
        a.view.send_request = false;
    }
    if (a.view.pick_file) {
        js_pick_file();
        a.view.pick_file = false;
    }
    // The composer textarea follows the panel's layout (CSS px = device px / dpr).
    const bool focus = a.view.composer_visible && (!a.composer_focused_once || a.view.focus_composer);
    if (focus) a.composer_focused_once = true;
    a.view.focus_composer = false;
    js_composer_layout(a.view.composer_x / dpr, a.view.composer_y / dpr, a.view.composer_w / dpr, a.view.composer_h / dpr,
                       a.view.composer_visible ? 1 : 0, focus ? 1 : 0);
    // The filter and the new conversation's title: page fields over their places on the canvas.
    // The title field, shown for a picker just opened: empty, and it takes the keyboard.
    const bool picker_opened = a.view.title_field.visible && !a.picker_was_open;
    a.picker_was_open = a.view.title_field.visible;
    if (picker_opened) a.view.picker.title.clear();
    for (const auto& [id, f] : {std::pair<const char*, const ui::PageField&>{"conv-filter", a.view.filter_field},
                                std::pair<const char*, const ui::PageField&>{"new-conv-title", a.view.title_field}}) {
        const bool title = std::string(id) == "new-conv-title";
        js_field_layout(id, f.x / dpr, f.y / dpr, f.w / dpr, f.h / dpr, f.visible && !a.feed.open ? 1 : 0,
                        title && picker_opened ? 1 : 0, title && picker_opened ? 1 : 0);
    }
    sync_view_mirror(a);
    if (ImGui::GetIO().WantTextInput) a.frames_left = std::max(a.frames_left, 1);
}

} // namespace

// Runs a frame now (shell/index.html). From inside a press or release on the canvas: a canvas
// button acts on release, in the next frame; drawn from the animation loop, that frame comes after
// the input event, and WebKit (Safari) then refuses what needs a user gesture (navigator.clipboard
// writes, window.open, the file input's click()). Drawn inside the event, it is the gesture. From a
// slow timer while the page is hidden (no animation frames then): the queued work, without drawing.
extern "C" EMSCRIPTEN_KEEPALIVE void chat_frame_now() {
    if (g_app) frame();
}

int main() {
    if (!glfwInit()) return 1;
    glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    g_app = new App();
    App& a = *g_app;
    a.dpr = static_cast<float>(canvas_fit());
    a.window = glfwCreateWindow(canvas_width(), canvas_height(), "Chat", nullptr, nullptr);
    if (!a.window) return 1;
    glfwMakeContextCurrent(a.window);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // no localStorage/FS writes
    a.view.light = js_prefers_light() != 0;
    ui::theme::apply(a.view.light, a.dpr);
    ui::theme::set_utc_offset_minutes(js_utc_offset_minutes());
    load_fonts(a.dpr);
    ImGui_ImplGlfw_InitForOpenGL(a.window, true);
    glfwSetScrollCallback(a.window, nullptr);  // the page normalises wheel deltas itself
    ImGui_ImplOpenGL3_Init("#version 300 es");
    // User content through the browser's text (the GL context exists now: its pages are textures).
    ui::set_text_port(&a.text);
    io.SetClipboardTextFn = set_clipboard;
    io.GetClipboardTextFn = get_clipboard;
    io.ConfigInputTextCursorBlink = false;  // no redraws just to blink

    // Configuration without rebuilding: config.json next to index.html, then URL parameters.
    wps::HttpRequest cfg_req;
    cfg_req.url = "config.json";
    cfg_req.timeout_ms = 5000;
    a.http.send(cfg_req, [](wps::HttpResponse res) {
        auto cfg = wps::parse_json_bounded(res.status == 200 ? res.body : "{}");
        if (!cfg.is_object()) cfg = nlohmann::json::object();
        start_app(cfg);
    });
    emscripten_set_main_loop(frame, 0, false);
    return 0;
}

void start_app(const nlohmann::json& cfg) {
    App& a = *g_app;
    auto setting = [&](const char* param, const char* key, const std::string& fallback) {
        std::string v = web::query_param(param);
        if (v.empty() && cfg.contains(key) && cfg[key].is_string()) v = cfg[key].get<std::string>();
        return v.empty() ? fallback : v;
    };
    chat::SessionOptions opt;
    opt.user_id = setting("user", "defaultUser", "alice");
    opt.api_base = setting("api", "apiBase", "");  // another backend (it must allow this origin: CORS)
    opt.hub = setting("hub", "hub", "chat");
    opt.initial_conversation = setting("conversation", "defaultConversation", "demo");
    const std::string window = setting("sendRetryWindowMs", "sendRetryWindowMs", "");
    if (!window.empty() && window.find_first_not_of("0123456789") == std::string::npos && window.size() < 10)
        opt.send_retry_window_ms = std::stoull(window);
    // One socket per tab, shared: notifications hold it while the app is open, the chat panel while open.
    a.realtime = std::make_unique<wps::Realtime>(a.http, web::browser_socket_factory(), a.sched, &web::random01, opt.api_base, opt.hub);
    a.session = std::make_unique<chat::ChatSession>(a.http, *a.realtime, a.sched, &web::random01, opt);
    a.session->set_wall_clock([] { return static_cast<int64_t>(js_date_now()); });
    a.session->on_changed = [] { g_app->dirty = true; };
    a.center = std::make_unique<notify::NotificationCenter>(a.http, *a.realtime, a.sched, opt.api_base);
    a.feed.retry = [&a] { a.center->reload(); };
    a.center->on_changed = [] { g_app->dirty = true; };
    a.center->claim_toast = [](const std::string& id) { return js_claim_toast(id.c_str()) != 0; };
    a.session->on_signed_in = [] {
        App& app = *g_app;
        app.center->start(app.session->token(), app.session->user_id(), app.session->teams());
        js_set_session(app.session->token().c_str(), app.session->api_base().c_str());
    };
    a.session->start();
}
