// main_web.cpp - the browser composition root: GLFW + WebGL2 + Dear ImGui, the chat session on
// browser ports, the main loop, and the accessible DOM mirror of the chat model.
//
// The mirror (#chat-log, role="log", aria-live="polite") holds one element per stored message
// (data-message-id, text set with textContent, never HTML) and #chat-status the connection
// state. Screen readers use it; browser tests read it as their documented test hook.
#include "core/chat_session.hpp"
#include "platform/web/web_platform.hpp"
#include "ui/chat_view.hpp"

#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>

#include <memory>
#include <set>

namespace {

struct App {
    GLFWwindow* window = nullptr;
    web::BrowserScheduler sched;
    web::FetchHttpClient http;
    std::unique_ptr<chat::ChatSession> session;
    ui::ChatViewState view;
    std::set<std::string> mirrored;
    bool dirty = true;
    bool was_online = true, was_visible = true;
    float dpr = 1.0f;
};

App* g_app = nullptr;  // the one instance the browser main loop drives

EM_JS(void, mirror_append, (const char* id, const char* sender, const char* text), {
    var log = document.getElementById("chat-log");
    if (!log) return;
    var el = document.createElement("div");
    el.setAttribute("role", "article");
    el.dataset.messageId = UTF8ToString(id);
    el.textContent = UTF8ToString(sender) + ": " + UTF8ToString(text);
    log.appendChild(el);
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
EM_JS(int, canvas_height, (), { return Module.canvas.height; });

void sync_mirror(App& a) {
    for (const chat::Message* m : a.session->conversation().ordered()) {
        if (m->messageId.empty() || a.mirrored.count(m->messageId)) continue;
        a.mirrored.insert(m->messageId);
        mirror_append(m->messageId.c_str(), m->senderId.c_str(), m->text.c_str());
    }
    const auto& c = a.session->connection();
    std::string status = a.session->phase() == chat::Phase::Failed ? "error: " + a.session->error()
                         : !a.session->panel_open()                 ? "closed"
                         : c.offline                                 ? "offline"
                                                                     : wps::to_string(c.state);
    if (c.state == wps::ClientState::Connected && a.session->catching_up()) status = "catching-up";
    mirror_status(status.c_str());
}

void load_fonts(float dpr) {
    ImGuiIO& io = ImGui::GetIO();
    static const ImWchar ranges[] = {
        0x0020, 0x00FF,  // Basic Latin + Latin-1
        0x0100, 0x024F,  // Latin Extended-A/B
        0x0370, 0x03FF,  // Greek
        0x0400, 0x04FF,  // Cyrillic
        0x2000, 0x206F,  // General punctuation
        0x20A0, 0x20CF,  // Currency
        0x2190, 0x21FF,  // Arrows
        0x25A0, 0x25FF,  // Geometric shapes (status dot)
        0xFFFD, 0xFFFD,  // Replacement character
        0,
    };
    ImFontConfig cfg;
    cfg.OversampleH = 2;
    if (!io.Fonts->AddFontFromFileTTF("/fonts/DejaVuSans.ttf", 16.0f * dpr, &cfg, ranges)) io.Fonts->AddFontDefault();
}

void frame() {
    App& a = *g_app;
    // Browser hints for the client: network up/down, page shown again.
    const bool online = web::browser_online(), visible = web::page_visible();
    if (auto* c = a.session->client()) {
        if (online != a.was_online) online ? c->notify_online() : c->notify_offline();
        if (visible && !a.was_visible) c->notify_resumed();
    }
    a.was_online = online;
    a.was_visible = visible;

    glfwPollEvents();
    const float dpr = static_cast<float>(canvas_fit());
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = ImVec2(static_cast<float>(canvas_width()), static_cast<float>(canvas_height()));
    io.DisplayFramebufferScale = ImVec2(1, 1);
    ImGui::NewFrame();
    a.view.scale = dpr;
    ui::draw_chat_panel(*a.session, a.view, 0, 0, io.DisplaySize.x, io.DisplaySize.y, a.sched.now_ms());
    ImGui::Render();
    glViewport(0, 0, static_cast<int>(io.DisplaySize.x), static_cast<int>(io.DisplaySize.y));
    glClearColor(0.1f, 0.1f, 0.12f, 1);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    if (a.dirty) {
        sync_mirror(a);
        a.dirty = false;
    }
}

} // namespace

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
    ImGui::StyleColorsDark();
    ImGui::GetStyle().ScaleAllSizes(a.dpr);
    load_fonts(a.dpr);
    ImGui_ImplGlfw_InitForOpenGL(a.window, true);
    ImGui_ImplOpenGL3_Init("#version 300 es");

    chat::SessionOptions opt;
    opt.user_id = web::query_param("user");
    if (opt.user_id.empty()) opt.user_id = "alice";
    opt.api_base = web::query_param("api");  // another backend (must allow this origin via CORS)
    a.session = std::make_unique<chat::ChatSession>(a.http, web::browser_socket_factory(), a.sched, &web::random01, opt);
    a.session->on_changed = [] { g_app->dirty = true; };
    a.session->start();

    emscripten_set_main_loop(frame, 0, false);
    return 0;
}
