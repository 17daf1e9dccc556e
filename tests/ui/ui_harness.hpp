// ui_harness.hpp - a headless ImGui context and a chat session on fake ports, for UI tests and
// the UI benchmark (no GPU, no browser: ImGui runs its layout and draw-list code for real).
#pragma once

#include <functional>

#include "core/chat_session.hpp"
#include "platform/fake/fake_platform.hpp"
#include "ui/chat_view.hpp"
#include "ui/targets.hpp"

#include <imgui.h>

#include <string>

struct UiHarness {
    wps::fake::FakeScheduler sched;
    wps::fake::FakeSockets socks;
    wps::fake::FakeHttp http;
    wps::Realtime realtime;
    chat::ChatSession session;
    ui::ChatViewState view;

    explicit UiHarness(std::size_t page = 50)
        : realtime(http, socks.factory(), sched, [] { return 0.5; }, "", "chat", quiet()),
          session(http, realtime, sched, [] { return 0.5; }, chat::SessionOptions{"", "alice", "chat", page, "demo"}) {
        ImGui::CreateContext();
        ImGuiIO& io = ImGui::GetIO();
        io.IniFilename = nullptr;
        io.DisplaySize = ImVec2(1000, 700);
        io.DeltaTime = 1.0f / 60.0f;
        unsigned char* pixels = nullptr;
        int w = 0, h = 0;
        io.Fonts->AddFontDefault();
        io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
    }
    ~UiHarness() { ImGui::DestroyContext(); }
    static wps::ClientOptions quiet() {
        wps::ClientOptions o;
        o.keep_alive_interval_ms = 0;
        return o;
    }

    // Signs in and loads a conversation of `n` messages (one history page), connected and live.
    void load(std::size_t n, const std::string& conversations = R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})") {
        using nlohmann::json;
        session.start();
        http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})");
        http.answer("/config", 200, "{}");
        http.answer("/chat/conversations", 200, conversations);
        std::string body = R"({"hasMore":false,"messages":[)";
        for (std::size_t i = 1; i <= n; ++i) {
            if (i > 1) body += ',';
            body += json{{"messageId", "m" + std::to_string(i)}, {"conversationId", "demo"}, {"seq", i},
                         {"senderId", i % 3 ? "bob" : "carol"},
                         {"text", "message number " + std::to_string(i) + (i % 7 ? "" : " with a longer body that wraps over more than one line in a narrow panel, as real chat messages often do")},
                         {"createdAt", int64_t(1795000000000) + int64_t(i) * 60000}}
                        .dump();
        }
        body += "]}";
        http.answer("/conversation/detail", 200, body);
        http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})");
        socks.open();
        socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1"})");
        http.answer("/chat/subscribe", 200, R"({"conversationId":"demo"})");
        http.answer("afterSeq=", 200, R"({"messages":[],"hasMore":false})");
    }

    // One frame with the mouse at (x, y), optionally pressed; `extra` draws after the panel, inside
    // the frame (as the app draws the feed and the focus ring).
    void frame(float x = -1, float y = -1, bool down = false, const std::function<void()>& extra = {}) {
        ImGuiIO& io = ImGui::GetIO();
        io.MousePos = ImVec2(x, y);
        io.MouseDown[0] = down;
        ImGui::NewFrame();
        ui::targets().clear();
        ui::draw_chat_panel(session, view, 0, 0, io.DisplaySize.x, io.DisplaySize.y, sched.now_ms(), {});
        if (extra) extra();
        ImGui::Render();
        if (apply) ui::apply_intents(session, view);  // as the app does after each frame
    }
    bool apply = true;  // false: intents stay recorded (tests look at them)
    // A named action (keyboard, accessible mirror), applied as the app applies it.
    bool act(const std::string& name) {
        const bool known = ui::chat_action(session, view, name);
        ui::apply_intents(session, view);
        return known;
    }

    const ui::Target* find(const std::string& name) const {
        for (const auto& t : ui::targets())
            if (t.name == name) return &t;
        return nullptr;
    }
    bool has_prefix(const std::string& prefix) const {
        for (const auto& t : ui::targets())
            if (t.name.rfind(prefix, 0) == 0) return true;
        return false;
    }

    // Clicks a named target the way a person does: move there, press, release.
    bool click(const std::string& name) {
        for (const auto& t : ui::targets()) {
            if (t.name != name) continue;
            const float x = t.x + t.w / 2, y = t.y + t.h / 2;
            frame(x, y, false);
            frame(x, y, true);
            frame(x, y, false);
            return true;
        }
        return false;
    }
};
