// chat_view.cpp - see chat_view.hpp.
#include "chat_view.hpp"
#include "targets.hpp"
#include "text.hpp"

#include <imgui.h>

#include <cstdio>
#include <ctime>

namespace ui {

namespace {

constexpr uint64_t kBannerGraceMs = 2000;  // brief blips never flash a "reconnecting" banner

ImVec4 warn_color() { return ImVec4(0.95f, 0.55f, 0.35f, 1); }
ImVec4 error_color() { return ImVec4(0.9f, 0.35f, 0.35f, 1); }

} // namespace

BannerState banner_state(const chat::ChatSession& s, BannerMemory& memory, uint64_t now_ms) {
    uint64_t& trouble_since = memory.trouble_since_ms;
    const wps::ClientStatus& c = s.connection();
    std::string text;
    ImVec4 color(0.3f, 0.75f, 0.4f, 1);
    bool trouble = false;
    if (s.phase() == chat::Phase::Failed) {
        // Nothing to be live with: the error itself is shown under the banner.
        return BannerState{"Not connected", error_color(), false};
    }
    if (s.phase() != chat::Phase::Ready) {
        return BannerState{s.phase() == chat::Phase::SigningIn ? "Signing in..." : "Loading...", ImVec4(0.85f, 0.7f, 0.3f, 1), false};
    }
    if (!s.panel_open()) {
        memory.was_live = false;
        text = "Chat closed - not receiving messages";
        color = ImVec4(0.55f, 0.55f, 0.55f, 1);
    } else if (c.offline) {
        text = "Offline - waiting for the network";
        color = warn_color();
        trouble = true;
    } else {
        switch (c.state) {
        case wps::ClientState::Connected:
            // Live only when the open conversation's messages really arrive: subscribed and caught up.
            if (s.in_sync()) {
                text = "Live";
                memory.was_live = true;
            } else if (!s.subscribed() && !s.subscribe_error().empty()) {
                text = s.subscribe_error();
                color = error_color();
            } else {
                text = s.subscribed() ? "Catching up..." : "Joining the conversation...";
                color = ImVec4(0.85f, 0.7f, 0.3f, 1);
            }
            break;
        case wps::ClientState::Connecting:
            text = "Connecting...";
            color = ImVec4(0.85f, 0.7f, 0.3f, 1);
            trouble = c.attempt > 0;
            break;
        case wps::ClientState::Recovering:
            text = "Reconnecting...";
            color = ImVec4(0.85f, 0.7f, 0.3f, 1);
            trouble = true;
            break;
        case wps::ClientState::WaitingToReconnect: {
            const uint64_t in = c.next_retry_at_ms > now_ms ? (c.next_retry_at_ms - now_ms + 999) / 1000 : 0;
            char buf[128];
            std::snprintf(buf, sizeof buf, "Reconnecting - attempt %u, next try in %llu s", c.attempt,
                          static_cast<unsigned long long>(in));
            text = buf;
            color = warn_color();
            trouble = true;
            break;
        }
        case wps::ClientState::Stopped:
            text = "Disconnected";
            color = error_color();
            trouble = true;
            break;
        }
    }
    if (trouble && !trouble_since) trouble_since = now_ms;
    if (!trouble) trouble_since = 0;
    // A brief blip does not flash a warning: it keeps showing "Live" for a moment, but only when
    // the view was live before it (never before the first time it was in sync).
    if (trouble && now_ms - trouble_since < kBannerGraceMs && !c.offline && memory.was_live)
        text = "Live", color = ImVec4(0.3f, 0.75f, 0.4f, 1);
    return BannerState{text, color, trouble};
}

namespace {

// Connection state, honest: offline / reconnecting (after a grace period, with the attempt, the
// countdown and "Reconnect now") / catching up / live, plus when the view was last in sync.
void connection_banner(chat::ChatSession& s, ChatViewState& st, uint64_t now_ms) {
    const uint64_t& trouble_since = st.banner.trouble_since_ms;
    const wps::ClientStatus& c = s.connection();
    const BannerState b = banner_state(s, st.banner, now_ms);
    const bool trouble = b.trouble;
    const std::string& text = b.text;
    const ImVec4 color = b.color;

    ImGui::TextColored(color, "\xe2\x97\x8f %s", text.c_str());  // ● state
    if (trouble && now_ms - trouble_since >= kBannerGraceMs && s.last_synced_ms() > 0) {
        ImGui::SameLine();
        ImGui::TextDisabled("(last in sync %llu s ago)",
                            static_cast<unsigned long long>((now_ms - static_cast<uint64_t>(s.last_synced_ms())) / 1000));
    }
    if (s.panel_open() && (c.state == wps::ClientState::WaitingToReconnect || c.state == wps::ClientState::Recovering)) {
        ImGui::SameLine();
        if (ImGui::SmallButton("Reconnect now") && s.client()) s.client()->reconnect_now();
        target("reconnect-now");
    }
    if (s.failed_count() > 0) {
        ImGui::SameLine();
        ImGui::TextColored(error_color(), "  %zu not sent", s.failed_count());
        ImGui::SameLine();
        if (ImGui::SmallButton("Retry all")) s.retry_all();
        target("retry-all");
    }
}

void conversation_list(chat::ChatSession& s, ChatViewState& st, float width) {
    ImGui::BeginChild("conversations", ImVec2(width, 0), true);
    ImGui::TextDisabled("Conversations");
    for (const auto& c : s.conversations()) {
        ImGui::PushID(c.id.c_str());
        const bool selected = c.id == s.current_id();
        const ImVec2 start = ImGui::GetCursorScreenPos();
        const float line = ImGui::GetTextLineHeightWithSpacing();
        if (ImGui::Selectable("##row", selected, 0, ImVec2(0, line * 2))) {
            s.open_conversation(c.id);
            st.history.jump_to_bottom = true;
        }
        target("conv:" + c.id);
        ImDrawList* dl = ImGui::GetWindowDrawList();
        const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text), dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
        const float size = ImGui::GetFontSize();
        const float avail = width - 24 * st.scale;
        const float title_avail = c.unread > 0 ? avail - 30 * st.scale : avail;
        text_port().draw(dl, start, text_port().ellipsize(c.title, size, title_avail), size, text, 0);
        const std::string preview = c.preview.empty() ? std::string("No messages yet") : c.previewSender + ": " + c.preview;
        text_port().draw(dl, ImVec2(start.x, start.y + line), text_port().ellipsize(preview, size, avail), size, dim, 0);
        if (c.unread > 0) {
            char badge[24];
            std::snprintf(badge, sizeof badge, "%llu", static_cast<unsigned long long>(c.unread));
            const ImVec2 ts = ImGui::CalcTextSize(badge);
            const float r = std::max(ts.y, ts.x + 8 * st.scale) * 0.5f + 2 * st.scale;
            const ImVec2 centre(start.x + width - r - 18 * st.scale, start.y + line * 0.5f);
            dl->AddCircleFilled(centre, r, IM_COL32(210, 60, 60, 255));
            dl->AddText(ImVec2(centre.x - ts.x * 0.5f, centre.y - ts.y * 0.5f), IM_COL32(255, 255, 255, 255), badge);
        }
        ImGui::PopID();
    }
    ImGui::EndChild();
}

} // namespace

void draw_chat_panel(chat::ChatSession& s, ChatViewState& st, float x, float y, float w, float h, uint64_t now_ms,
                     const std::function<void()>& header_extra) {
    ImGui::SetNextWindowPos(ImVec2(x, y));
    ImGui::SetNextWindowSize(ImVec2(w, h));
    ImGui::Begin("Chat", nullptr,
                 ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollbar);
    st.composer_visible = false;
    st.rows_drawn = 0;

    // Header: conversation, me (when there is room), bell and open/close at the right edge.
    const bool wide = w / st.scale >= 640;
    const ImGuiStyle& style = ImGui::GetStyle();
    const float close_w = ImGui::CalcTextSize(s.panel_open() ? "Close chat" : "Open chat").x + style.FramePadding.x * 2;
    const float bell_w = ImGui::CalcTextSize("Bell (999)").x + style.FramePadding.x * 2;
    const float right = w - style.WindowPadding.x - close_w;
    const float title_room = std::max(60.0f, right - bell_w - style.ItemSpacing.x * 2 - style.WindowPadding.x);
    if (wide) {
        // Title, then "signed in as" in what is left (both user content: the text port draws them).
        const float size = ImGui::GetFontSize();
        const std::string title = text_port().ellipsize(s.title().empty() ? "Chat" : s.title(), size, title_room * 0.6f);
        text(title);
        ImGui::SameLine();
        const float left = title_room - text_port().measure(title, size, 0).x - style.ItemSpacing.x;
        text_ellipsized("  signed in as " + (s.display_name().empty() ? s.user_id() : s.display_name()), std::max(20.0f, left),
                        ImGui::GetColorU32(ImGuiCol_TextDisabled));
    } else {
        text_ellipsized(s.title().empty() ? "Chat" : s.title(), title_room);
    }
    ImGui::SameLine(right - bell_w - style.ItemSpacing.x);
    if (header_extra) header_extra();
    ImGui::SameLine(right);
    if (s.panel_open()) {
        if (ImGui::SmallButton("Close chat")) s.close_panel();
        target("close-chat");
    } else {
        if (ImGui::SmallButton("Open chat")) {
            s.open_panel();
            st.history.jump_to_bottom = true;
        }
        target("open-chat");
    }
    connection_banner(s, st, now_ms);
    ImGui::Separator();

    if (s.phase() == chat::Phase::Failed) {
        // Server messages may quote user content (a title, an id): the text port draws any script.
        text_wrapped(s.error(), ImGui::GetContentRegionAvail().x, ImGui::GetColorU32(error_color()));
        ImGui::End();
        return;
    }
    if (s.phase() != chat::Phase::Ready) {
        ImGui::TextDisabled(s.phase() == chat::Phase::SigningIn ? "Signing in..." : "Loading messages...");
        ImGui::End();
        return;
    }
    if (!s.panel_open()) {
        ImGui::TextDisabled("The chat is closed. Open it to see new messages.");
        ImGui::End();
        return;
    }

    // Wide screens get a conversation list at the left; narrow ones a picker above the messages.
    if (wide) {
        conversation_list(s, st, 230 * st.scale);
        ImGui::SameLine();
    }
    ImGui::BeginGroup();
    if (!wide && s.conversations().size() > 1) {
        // A picker: the combo's own label is blank, the text port draws the open conversation's title.
        const ImVec2 at = ImGui::GetCursorScreenPos();
        const float combo_w = ImGui::CalcItemWidth();
        const bool open = ImGui::BeginCombo("##conversation", "");
        text_port().draw(ImGui::GetWindowDrawList(), ImVec2(at.x + style.FramePadding.x, at.y + style.FramePadding.y),
                         text_port().ellipsize(s.title(), ImGui::GetFontSize(), combo_w - ImGui::GetFrameHeight() - style.FramePadding.x * 2),
                         ImGui::GetFontSize(), ImGui::GetColorU32(ImGuiCol_Text), 0);
        if (open) {
            for (const auto& c : s.conversations()) {
                ImGui::PushID(c.id.c_str());
                const ImVec2 row = ImGui::GetCursorScreenPos();
                if (ImGui::Selectable("##pick", c.id == s.current_id(), 0, ImVec2(0, ImGui::GetTextLineHeight()))) {
                    s.open_conversation(c.id);
                    st.history.jump_to_bottom = true;
                }
                const std::string label = c.title + (c.unread ? " (" + std::to_string(c.unread) + ")" : "");
                text_port().draw(ImGui::GetWindowDrawList(), row, text_port().ellipsize(label, ImGui::GetFontSize(), combo_w),
                                 ImGui::GetFontSize(), ImGui::GetColorU32(ImGuiCol_Text), 0);
                ImGui::PopID();
            }
            ImGui::EndCombo();
        }
    }
    const float line = ImGui::GetTextLineHeightWithSpacing();
    const float composer_h = line * 2.4f;
    const float below = composer_h + line * 2.2f + ImGui::GetStyle().ItemSpacing.y * 3;
    ImGui::BeginChild("messages", ImVec2(0, -below), false);
    draw_history(s, st, now_ms);
    ImGui::EndChild();

    // Typing indicator line.
    auto typing = s.typing_users(now_ms);
    if (typing.empty()) {
        ImGui::TextUnformatted(" ");
    } else {
        std::string who = typing[0];
        for (std::size_t i = 1; i < typing.size(); ++i) who += ", " + typing[i];
        text_ellipsized(who + (typing.size() == 1 ? " is typing..." : " are typing..."), ImGui::GetContentRegionAvail().x,
                        ImGui::GetColorU32(ImGuiCol_TextDisabled));
    }

    // Composer area: the page lays its textarea over this rect (native text entry, IME, paste).
    const ImVec2 size(ImGui::GetContentRegionAvail().x, composer_h);
    ImGui::Dummy(size);
    st.composer_x = ImGui::GetItemRectMin().x;
    st.composer_y = ImGui::GetItemRectMin().y;
    st.composer_w = size.x;
    st.composer_h = size.y;
    st.composer_visible = true;
    const bool over = st.composer_bytes > s.max_message_bytes();
    ImGui::TextColored(over ? error_color() : ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled), "%zu / %zu bytes",
                       st.composer_bytes, s.max_message_bytes());
    if (wide) {
        ImGui::SameLine();
        ImGui::TextDisabled("  Enter sends, Shift+Enter new line");
    }
    ImGui::SameLine();
    if (ImGui::SmallButton("Attach file")) st.pick_file = true;
    target("attach");
    if (!st.last_error.empty()) {
        ImGui::SameLine();
        text_ellipsized("  " + st.last_error, ImGui::GetContentRegionAvail().x, ImGui::GetColorU32(error_color()));
    }
    ImGui::EndGroup();
    ImGui::End();
}

} // namespace ui
