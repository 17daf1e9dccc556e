// chat_view.cpp - see chat_view.hpp.
#include "chat_view.hpp"

#include <imgui.h>

#include <cstdio>
#include <ctime>

namespace ui {

std::string format_time(int64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d", tm.tm_hour, tm.tm_min);
    return buf;
}

namespace {

void connection_banner(chat::ChatSession& s, uint64_t now_ms) {
    const wps::ClientStatus& c = s.connection();
    ImVec4 color(0.45f, 0.8f, 0.45f, 1);
    std::string text;
    if (!s.panel_open()) {
        text = "Closed";
        color = ImVec4(0.6f, 0.6f, 0.6f, 1);
    } else if (c.offline) {
        text = "Offline - waiting for the network";
        color = ImVec4(0.95f, 0.55f, 0.35f, 1);
    } else {
        switch (c.state) {
        case wps::ClientState::Connected: text = s.catching_up() ? "Catching up..." : "Live"; break;
        case wps::ClientState::Connecting: text = "Connecting..."; color = ImVec4(0.9f, 0.8f, 0.4f, 1); break;
        case wps::ClientState::Recovering: text = "Reconnecting..."; color = ImVec4(0.9f, 0.8f, 0.4f, 1); break;
        case wps::ClientState::WaitingToReconnect: {
            const uint64_t in = c.next_retry_at_ms > now_ms ? (c.next_retry_at_ms - now_ms + 999) / 1000 : 0;
            char buf[128];
            std::snprintf(buf, sizeof buf, "Reconnecting (attempt %u) in %llu s", c.attempt, static_cast<unsigned long long>(in));
            text = buf;
            color = ImVec4(0.95f, 0.55f, 0.35f, 1);
            break;
        }
        case wps::ClientState::Stopped: text = "Disconnected"; color = ImVec4(0.95f, 0.45f, 0.45f, 1); break;
        }
    }
    ImGui::TextColored(color, "\xe2\x97\x8f %s", text.c_str());  // ● state
    if (s.panel_open() && c.state == wps::ClientState::WaitingToReconnect) {
        ImGui::SameLine();
        if (ImGui::SmallButton("Reconnect now") && s.client()) s.client()->reconnect_now();
    }
}

} // namespace

void draw_chat_panel(chat::ChatSession& s, ChatViewState& st, float x, float y, float w, float h, uint64_t now_ms) {
    ImGui::SetNextWindowPos(ImVec2(x, y));
    ImGui::SetNextWindowSize(ImVec2(w, h));
    ImGui::Begin("Chat", nullptr,
                 ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoBringToFrontOnFocus);

    // Header: conversation, me, connection state.
    ImGui::Text("%s", s.title().empty() ? "Chat" : s.title().c_str());
    ImGui::SameLine();
    ImGui::TextDisabled("  signed in as %s", s.display_name().empty() ? s.user_id().c_str() : s.display_name().c_str());
    ImGui::SameLine(w - 130 * st.scale);
    if (s.panel_open()) {
        if (ImGui::SmallButton("Close chat")) s.close_panel();
    } else if (ImGui::SmallButton("Open chat")) {
        s.open_panel();
    }
    connection_banner(s, now_ms);
    ImGui::Separator();

    st.composer_visible = false;
    if (s.phase() == chat::Phase::Failed) {
        ImGui::TextColored(ImVec4(0.95f, 0.45f, 0.45f, 1), "%s", s.error().c_str());
        ImGui::End();
        return;
    }
    if (s.phase() != chat::Phase::Ready) {
        ImGui::TextDisabled(s.phase() == chat::Phase::SigningIn ? "Signing in..." : "Loading messages...");
        ImGui::End();
        return;
    }

    // Messages.
    const float composer_h = ImGui::GetTextLineHeightWithSpacing() * 3.5f + ImGui::GetStyle().ItemSpacing.y * 3;
    ImGui::BeginChild("messages", ImVec2(0, -composer_h), false);
    const auto msgs = s.conversation().ordered();
    std::string retry_id;
    for (const chat::Message* m : msgs) {
        ImGui::PushID(m->messageId.empty() ? m->clientMessageId.c_str() : m->messageId.c_str());
        const bool mine = m->senderId == s.user_id();
        const ImVec4 me_col = st.light ? ImVec4(0.1f, 0.3f, 0.7f, 1) : ImVec4(0.55f, 0.75f, 1, 1);
        const ImVec4 other_col = st.light ? ImVec4(0.6f, 0.35f, 0.0f, 1) : ImVec4(0.95f, 0.8f, 0.5f, 1);
        ImGui::TextColored(mine ? me_col : other_col, "%s", m->senderId.c_str());
        ImGui::SameLine();
        ImGui::TextDisabled("%s", format_time(m->createdAtMs).c_str());
        ImGui::SameLine();
        if (ImGui::SmallButton("Copy")) st.copy_request = m->text;
        if (m->state == chat::SendState::Pending) {
            ImGui::SameLine();
            ImGui::TextDisabled("sending...");
        } else if (m->state == chat::SendState::Failed) {
            ImGui::SameLine();
            ImGui::TextColored(ImVec4(0.95f, 0.45f, 0.45f, 1), "not sent: %s", m->error.c_str());
            ImGui::SameLine();
            if (ImGui::SmallButton("Retry")) retry_id = m->clientMessageId;
        }
        ImGui::PushTextWrapPos(0.0f);
        ImGui::TextUnformatted(m->text.c_str(), m->text.c_str() + m->text.size());
        ImGui::PopTextWrapPos();
        ImGui::Spacing();
        ImGui::PopID();
    }
    // Stay pinned to the bottom while new messages arrive, unless the user scrolled up.
    const bool at_bottom = ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 4.0f;
    st.scroll_y = ImGui::GetScrollY();
    st.scroll_max = ImGui::GetScrollMaxY();
    if (msgs.size() != st.last_count && (st.stick_to_bottom || at_bottom)) ImGui::SetScrollHereY(1.0f);
    st.stick_to_bottom = at_bottom || (msgs.size() != st.last_count && st.stick_to_bottom);
    st.last_count = msgs.size();
    ImGui::EndChild();
    if (!retry_id.empty()) s.retry(retry_id);

    // Composer area: the page lays its textarea over this rect (native text entry, IME, paste).
    const ImVec2 size(ImGui::GetContentRegionAvail().x, ImGui::GetTextLineHeightWithSpacing() * 2.4f);
    ImGui::Dummy(size);
    st.composer_x = ImGui::GetItemRectMin().x;
    st.composer_y = ImGui::GetItemRectMin().y;
    st.composer_w = size.x;
    st.composer_h = size.y;
    st.composer_visible = s.panel_open();
    const bool over = st.composer_bytes > s.max_message_bytes();
    ImGui::TextColored(over ? ImVec4(0.95f, 0.45f, 0.45f, 1) : ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled),
                       "%zu / %zu bytes", st.composer_bytes, s.max_message_bytes());
    ImGui::SameLine();
    ImGui::TextDisabled("  Enter sends, Shift+Enter new line");
    if (!st.last_error.empty()) {
        ImGui::SameLine();
        ImGui::TextColored(ImVec4(0.95f, 0.45f, 0.45f, 1), "  %s", st.last_error.c_str());
    }
    ImGui::End();
}

} // namespace ui
