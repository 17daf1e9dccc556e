// main_web.cpp - the browser composition root: GLFW + WebGL2 + Dear ImGui, the chat session and
// the notification center on browser ports, the main loop.
//
// Everything the page and the app exchange goes through web::PageBridge (its header holds the
// Module.chat schema): one PageInput read per frame, one PageOutput written per drawn frame, and
// the accessible mirror's snapshots (app::MirrorSync builds them from the models and the view).
#include "app/mirror.hpp"
#include "core/chat_session.hpp"
#include "core/json_limits.hpp"
#include "core/notification_center.hpp"
#include "platform/web/page_bridge.hpp"
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
#include <memory>

void start_app(const nlohmann::json& cfg);  // after config.json arrived

namespace {

struct App {
    GLFWwindow* window = nullptr;
    web::BrowserScheduler sched;
    web::FetchHttpClient http;
    web::PortHttpClient demo_http;              // the static demo: the backend in a worker
    wps::HttpClient* api = &http;               // the backend's API: over the network, or demo_http
    web::PageBridge page;
    std::unique_ptr<wps::Realtime> realtime;    // the tab's one socket (outlives its users below)
    std::unique_ptr<chat::ChatSession> session;
    std::unique_ptr<notify::NotificationCenter> center;
    web::WebTextPort text;                      // user content: the browser shapes and rasterizes it
    ui::ChatViewState view;
    ui::FeedViewState feed;
    app::MirrorSync mirror;
    bool dirty = true;               // the models changed: mirror + redraw
    int frames_left = 3;             // frames still to draw after activity (ImGui settles in a few)
    uint64_t last_draw_ms = 0;
    bool went_live = false;          // the panel was live once (start-up drawing is over)
    bool drew_last = false;          // the previous main-loop call drew a frame
    bool slow_frames = false;        // the last back-to-back frames came more than 33 ms apart
    bool was_online = true, was_visible = true;
    bool context_lost = false;
    bool composer_focused_once = false;
    bool title_was_shown = false;        // the New conversation title field, last frame
    bool feed_opened_by_focus = false;   // the keyboard focus entered the feed's items and opened it
    // Input kept for the next drawn frame (the page is read every frame, drawing is not).
    float wheel = 0;
    int nav = 0;
    bool theme_changed = false;
    float dpr = 1.0f;
};

App* g_app = nullptr;  // the one instance the browser main loop drives

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
    for (const auto& url : a.view.thumbnail_requests) a.page.request_thumbnail(url);
    a.view.thumbnail_requests.clear();
    for (auto& [key, t] : a.view.thumbnails) {
        if (!t.requested || t.texture || t.failed || !t.rgba.empty()) continue;
        const std::string& url = t.url;  // the page knows the preview by the link it fetched
        int w = 0, h = 0;
        const auto state = a.page.thumbnail(url, w, h);
        if (state == web::PageBridge::Thumb::Failed) ui::thumbnail_failed(t, a.view.wall_ms);
        if (state != web::PageBridge::Thumb::Ready || w <= 0 || h <= 0) continue;
        t.w = static_cast<float>(w);
        t.h = static_cast<float>(h);
        t.rgba.resize(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4);
        a.page.take_thumbnail(url, t.rgba.data());
        t.texture = upload_texture(t);
    }
}

// ImGui's clipboard: in-app copy/paste through the page's copy, and out to the system clipboard.
// The composer (a textarea) uses the browser's own clipboard handling.
const char* get_clipboard(void*) {
    static std::string text;
    text = g_app->page.clipboard_text();
    return text.c_str();
}
void set_clipboard(void*, const char* text) { g_app->page.copy_text(text); }

// What the view and the feed asked the platform for: a clipboard write, a link to open (in-app
// links navigate inside the panel; others open a window).
void flush_requests(App& a) {
    if (!a.view.copy_request.empty()) {
        a.page.copy_text(a.view.copy_request);
        a.view.copy_request.clear();
    }
    for (std::string* url : {&a.view.open_url, &a.feed.open_url})
        if (!url->empty()) {
            if (ui::open_message_link(*a.session, a.view, *url)) {
                a.feed.open = false;  // a mention: its message, in its conversation
            } else if (url->rfind("app:conversation/", 0) == 0) {
                a.session->open_conversation(url->substr(17));
                a.feed.open = false;
            } else if (url == &a.view.open_url) {
                // An attachment's link may have expired on a page open for long: renewed first.
                // An image then goes into a window opened now, inside the click (a popup opened
                // later is blocked, in WebKit at once); any other file is saved (no window).
                struct Pending {
                    bool answered = false, later = false;
                    int window = 0;
                };
                const chat::Message* shown = a.session->message_with_link(*url);
                const bool image = shown && shown->attachment->contentType.rfind("image/", 0) == 0;
                auto pending = std::make_shared<Pending>();
                a.session->open_link(*url, [pending, image](const std::string& fresh, const std::string& error) {
                    pending->answered = true;
                    if (!error.empty()) {
                        ui::show_error(g_app->view, error);
                        if (pending->window) g_app->page.close_blank(pending->window);
                    } else if (!pending->later) {
                        g_app->page.open_url(fresh);
                    } else if (!image) {
                        g_app->page.download_url(fresh);
                    } else if (pending->window) {
                        g_app->page.open_url(fresh, pending->window);
                    } else {
                        ui::show_error(g_app->view, "The browser blocked the new window: allow pop-ups for this page and try again.");
                    }
                    g_app->dirty = true;
                });
                if (!pending->answered) {
                    pending->later = true;
                    if (image) pending->window = a.page.open_blank();
                }
            } else {
                a.page.open_url(*url);
            }
            url->clear();
        }
}

// The page's input: sends, files, the mirror's actions, fields and focus.
void apply_input(App& a, web::PageInput& in) {
    for (auto& text : in.submits) {
        std::string why;
        if (ui::submit_edit(*a.session, a.view, text)) {  // editing a message: Enter saves it
            ui::apply_intents(*a.session, a.view);
            a.dirty = true;
            continue;
        }
        if (ui::send_composer(*a.session, a.view, text, why)) {
            a.view.last_error.clear();
        } else {
            ui::show_error(a.view, why);
            a.page.restore_composer(text);  // a refused send puts the text back
        }
        a.dirty = true;
    }
    for (const auto& why : in.errors) {
        ui::show_error(a.view, why);
        a.dirty = true;
    }
    for (auto& f : in.files) {
        // Refused before upload: too large (a file over the limit was not even read into memory),
        // or unread for another reason.
        std::string why;
        if (a.session->attachment_fits(f.name, f.size, why) && !f.read) why = "Could not read \u201c" + f.name + "\u201d; pick it again.";
        if (!why.empty()) {
            ui::show_error(a.view, why);
            a.dirty = true;
            continue;
        }
        // Success clears the line only if no other error was shown while this file uploaded.
        a.session->send_file(f.name, f.type, std::move(f.bytes), [seq = a.view.error_seq](const std::string& error) {
            if (!error.empty()) ui::show_error(g_app->view, error);
            else if (g_app->view.error_seq == seq) g_app->view.last_error.clear();
            g_app->dirty = true;
        });
    }
    // The fields first: an Enter that follows the last keystroke within one frame (a fast typist,
    // a busy machine) acts on the text as typed, not on the previous frame's.
    if (in.fields) {
        a.view.conv_filter = (*in.fields)["conv-filter"];
        a.view.picker.title = (*in.fields)["new-conv-title"];
        a.dirty = true;
    }
    // The accessible mirror's buttons and the fields' keys (keyboard and screen-reader users) do
    // what the canvas items of the same name do.
    for (const auto& name : in.actions) {
        bool done = false;
        if (a.center && (ui::is_feed_target(name) || name == "escape")) done = ui::feed_action(*a.center, a.feed, name);
        if (!done) ui::chat_action(*a.session, a.view, name);
        a.dirty = true;
    }
    ui::apply_intents(*a.session, a.view);
    if (a.center) ui::apply_feed_intents(*a.center, a.feed);
    if (!in.actions.empty()) flush_requests(a);  // a copy or a new window: still inside the click that asked
    if (in.focus) {
        a.view.focus = a.feed.focus = *in.focus;
        // The focus entering the feed's items opens the feed (its ring needs the card drawn);
        // leaving them closes it again if that is what opened it.
        const bool in_feed = ui::is_feed_target(*in.focus) && *in.focus != "bell";
        if (in_feed && !a.feed.open) {
            a.feed.open = true;
            a.feed_opened_by_focus = true;
        } else if (!in_feed && a.feed_opened_by_focus) {
            a.feed.open = false;
            a.feed_opened_by_focus = false;
        }
        a.frames_left = std::max(a.frames_left, 2);
    }
    if (in.typing && a.view.editing.empty()) a.session->typing();  // editing an old message is not typing a new one
    a.wheel += in.wheel;
    if (in.nav) a.nav = in.nav;
    a.theme_changed = a.theme_changed || in.theme_changed;
    a.frames_left = std::max(a.frames_left, in.wake);
}

// One drawn frame: the panel, the feed and toasts, the focus ring; then what the page lays out.
void draw(App& a) {
    glfwPollEvents();
    pump_thumbnails(a);
    const float dpr = a.page.fit_canvas();
    if (a.theme_changed) {
        // The system switched between light and dark: follow it without a reload.
        a.theme_changed = false;
        a.view.light = a.page.prefers_light();
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
    a.view.composer_bytes = a.page.composer_bytes();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGuiIO& io = ImGui::GetIO();
    // A frame drawn inside an input event (see chat_frame_now) can follow the last one within the
    // clock's resolution (Firefox rounds performance.now() to 1 ms): ImGui needs time to advance.
    if (io.DeltaTime <= 0.0f) io.DeltaTime = 1e-4f;
    io.DisplaySize = ImVec2(static_cast<float>(a.page.canvas_width()), static_cast<float>(a.page.canvas_height()));
    io.DisplayFramebufferScale = ImVec2(1, 1);
    io.MouseWheel += a.wheel;
    a.wheel = 0;
    a.text.begin_frame();
    ImGui::NewFrame();
    ui::targets().clear();
    a.view.scale = dpr;
    a.feed.scale = dpr;
    a.view.wall_ms = static_cast<int64_t>(a.page.date_now());
    a.view.nav_request = a.nav;
    a.nav = 0;
    ui::draw_chat_panel(*a.session, a.view, 0, 0, io.DisplaySize.x, io.DisplaySize.y, a.sched.now_ms(), [&] {
        if (a.center) ui::draw_bell(*a.center, a.feed);
    });
    a.session->keep_links_fresh(a.view.drawn_links);  // the attachments shown: their links renewed before they expire
    if (a.center) {
        ui::draw_feed(*a.center, a.feed, io.DisplaySize.x, io.DisplaySize.y, a.sched.now_ms(), a.view.wall_ms);
        ui::draw_toasts(*a.center, a.feed, io.DisplaySize.x, io.DisplaySize.y, a.sched.now_ms(), a.view.wall_ms);
    }
    // The keyboard focus (held by the accessible mirror) shown on the canvas item it stands for.
    ui::draw_focus_ring(a.view.focus, a.view.light, dpr);
    ImGui::Render();
    // What the user asked for in this frame, done now that drawing is over (next frame shows it).
    if (ui::apply_intents(*a.session, a.view)) a.dirty = true;
    if (a.center && ui::apply_feed_intents(*a.center, a.feed)) a.dirty = true;
    glViewport(0, 0, static_cast<int>(io.DisplaySize.x), static_cast<int>(io.DisplaySize.y));
    const ImVec4 bg = ui::theme::palette(a.view.light).bg;
    glClearColor(bg.x, bg.y, bg.z, 1);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

    // The feed panel floats over the history; the page's composer would cover it on short screens.
    if (a.feed.open) a.view.composer_visible = false;
    // The page's side of the frame (CSS px = device px / dpr).
    const auto css = [dpr](float x, float y, float w, float h) { return web::CssRect{x / dpr, y / dpr, w / dpr, h / dpr}; };
    web::PageOutput out;
    out.composer = css(a.view.composer_x, a.view.composer_y, a.view.composer_w, a.view.composer_h);
    out.composer_visible = a.view.composer_visible;
    out.composer_focus = a.view.composer_visible && (!a.composer_focused_once || a.view.focus_composer);
    if (out.composer_focus) a.composer_focused_once = true;
    a.view.focus_composer = false;
    // The New conversation title field, shown for a picker just opened: empty, and it takes the keyboard.
    const bool title_opened = a.view.title_field.visible && !a.title_was_shown;
    a.title_was_shown = a.view.title_field.visible;
    if (title_opened) a.view.picker.title.clear();
    const auto& ff = a.view.filter_field;
    const auto& tf = a.view.title_field;
    out.fields.push_back({"conv-filter", css(ff.x, ff.y, ff.w, ff.h), ff.visible && !a.feed.open, false, false});
    out.fields.push_back({"new-conv-title", css(tf.x, tf.y, tf.w, tf.h), tf.visible && !a.feed.open, title_opened, title_opened});
    for (const auto& t : ui::targets()) out.targets.push_back({t.name, css(t.x, t.y, t.w, t.h)});
    out.scroll_y = a.view.scroll_y / dpr;
    out.scroll_max = a.view.scroll_max / dpr;
    out.rows_drawn = a.view.rows_drawn;
    out.key_ctrl = io.KeyCtrl;
    out.max_file_bytes = a.session->max_attachment_bytes();
    out.composer_editing = a.view.editing;
    out.composer_text = std::move(a.view.composer_text);
    a.view.composer_text.reset();
    out.text = a.text.stats();
    a.page.write(out);

    // Clipboard writes, new windows and the file picker need the user's gesture: done in the frame
    // that saw the click, which the page runs inside the mouseup/touchend (see chat_frame_now).
    flush_requests(a);
    if (a.view.send_request) {
        a.page.submit_composer();  // the send button: what Enter does in the composer
        a.view.send_request = false;
    }
    if (a.view.pick_file) {
        a.page.pick_file();
        a.view.pick_file = false;
    }
    a.page.mirror(a.mirror.view(*a.session, a.view));
    if (io.WantTextInput) a.frames_left = std::max(a.frames_left, 1);
}

void frame() {
    App& a = *g_app;
    if (!a.session) return;  // config.json still loading
    web::PageInput in = a.page.read();
    apply_input(a, in);
    // Browser hints for the client: network up/down, page shown again.
    const bool online = web::browser_online(), visible = web::page_visible();
    if (online != a.was_online) online ? a.realtime->notify_online() : a.realtime->notify_offline();
    if (visible && !a.was_visible) a.realtime->notify_resumed();
    a.session->set_visible(visible);
    a.was_online = online;
    a.was_visible = visible;

    // Idle: draw only after activity (input, network, resize), a few frames each time, and once a
    // second while a countdown is shown. Hidden tabs keep processing network data without drawing.
    if (a.dirty) a.frames_left = std::max(a.frames_left, 3);
    const uint64_t now = a.sched.now_ms();
    if (a.drew_last) a.slow_frames = now - a.last_draw_ms > 33;  // measured on back-to-back frames only
    a.drew_last = false;
    const bool countdown = a.session->connection().state == wps::ClientState::WaitingToReconnect ||
                           !a.session->typing_users(now).empty() || (a.center && !a.center->toasts(now).empty()) ||
                           a.session->connection().state == wps::ClientState::Recovering ||
                           now < a.view.flash_until_ms + 1000;  // a jumped-to message's outline goes away on time
    // Relative times ("now", "5 min") move on: a frame every 30 s keeps them true; typing
    // indicators and toasts expire: the mirror follows once a second while they show.
    const bool tick = countdown ? now - a.last_draw_ms >= 1000 : now - a.last_draw_ms >= 30000;
    if (tick) a.frames_left = std::max(a.frames_left, 1);
    if (tick || a.dirty) {
        a.page.mirror(a.mirror.models(*a.session, a.center.get(), now, static_cast<int64_t>(a.page.date_now())));
        a.dirty = false;
    }
    if (in.context == web::ContextEvent::Restored) {
        // WebGL context restored: every GL object (buffers, shaders, font texture) is recreated.
        ImGui_ImplOpenGL3_Shutdown();
        ImGui_ImplOpenGL3_Init("#version 300 es");
        a.text.invalidate_rasters();  // the text pages died with the context: rasterized again on demand
        for (auto& [url, t] : a.view.thumbnails)
            if (!t.rgba.empty()) t.texture = upload_texture(t);
        a.context_lost = false;
        a.frames_left = 3;
    } else if (in.context == web::ContextEvent::Lost) {
        a.context_lost = true;
    }
    if (a.frames_left <= 0 || !visible || a.context_lost) return;
    // Start-up, until the panel first goes live, where frames are slow (a browser rendering in
    // software: the next animation frame comes 30-100 ms after a drawn one, not 16): drawing
    // yields to the requests it waits for. A row of such frames held each answer of the
    // sign-in, history, socket and subscription chain behind it. At most one frame per 100 ms
    // then, unless the user acts; the frame that shows the panel live is drawn at once.
    const bool live = a.session->in_sync() || a.session->phase() == chat::Phase::Failed;
    a.went_live = a.went_live || live;
    if (!a.went_live && a.slow_frames && in.wake == 0 && now - a.last_draw_ms < 100) return;
    --a.frames_left;
    a.last_draw_ms = now;
    a.drew_last = true;
    draw(a);
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

// The page is going away (pagehide) or back from the back/forward cache (pageshow, persisted):
// shell/index.html. Leaving ends the socket's session at once (Realtime::set_page_gone).
extern "C" EMSCRIPTEN_KEEPALIVE void chat_page_gone(int gone) {
    if (g_app && g_app->realtime) g_app->realtime->set_page_gone(gone != 0);
}

int main() {
    if (!glfwInit()) return 1;
    glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    g_app = new App();
    App& a = *g_app;
    a.dpr = a.page.fit_canvas();
    a.window = glfwCreateWindow(a.page.canvas_width(), a.page.canvas_height(), "Chat", nullptr, nullptr);
    if (!a.window) return 1;
    glfwMakeContextCurrent(a.window);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // no localStorage/FS writes
    a.view.light = a.page.prefers_light();
    ui::theme::apply(a.view.light, a.dpr);
    ui::theme::set_utc_offset_minutes(a.page.utc_offset_minutes());
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
    // The static demo (config.json "mode": "demo"): the backend runs in this origin's worker and
    // the same requests and frames go to it over a MessagePort (web_platform.hpp).
    wps::SocketFactory sockets = web::browser_socket_factory();
    if (cfg.contains("mode") && cfg["mode"] == "demo" && web::demo_connect()) {
        a.api = &a.demo_http;
        sockets = web::port_socket_factory();
        opt.api_base.clear();
    }
    // One socket per tab, shared: notifications hold it while the app is open, the chat panel while open.
    a.realtime = std::make_unique<wps::Realtime>(*a.api, std::move(sockets), a.sched, &web::random01, opt.api_base, opt.hub);
    a.session = std::make_unique<chat::ChatSession>(*a.api, *a.realtime, a.sched, &web::random01, opt);
    a.session->set_wall_clock([] { return static_cast<int64_t>(g_app->page.date_now()); });
    a.session->on_changed = [] { g_app->dirty = true; };
    a.center = std::make_unique<notify::NotificationCenter>(*a.api, *a.realtime, a.sched, opt.api_base);
    a.feed.retry = [&a] { a.center->reload(); };
    a.center->on_changed = [] { g_app->dirty = true; };
    a.center->claim_toast = [](const std::string& id) { return g_app->page.claim_toast(id); };
    // The bearer token stays in C++: the feed gets it here, uploads go through the session.
    a.session->on_signed_in = [] {
        App& app = *g_app;
        app.center->start(app.session->token(), app.session->user_id(), app.session->teams());
    };
    // The feed's requests renew an expired session through the chat session, and get its token.
    a.center->set_renew([](std::function<void(bool)> done) { g_app->session->renew_session(std::move(done)); });
    a.session->on_token_renewed = [] { g_app->center->set_token(g_app->session->token()); };
    a.session->start();
}
