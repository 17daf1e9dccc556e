// notification_view.cpp - see notification_view.hpp.
#include "notification_view.hpp"

#include "chat_view.hpp"
#include "targets.hpp"
#include "theme.hpp"
#include "text.hpp"

#include <imgui.h>

#include <cstdio>

namespace ui {

void draw_bell(notify::NotificationCenter& center, FeedViewState& st) {
    const uint64_t unread = center.feed().unread();
    char label[48];
    if (unread > 0) std::snprintf(label, sizeof label, "Bell (%llu)###bell", static_cast<unsigned long long>(unread));
    else std::snprintf(label, sizeof label, "Bell###bell");
    if (unread > 0) ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0.75f, 0.25f, 0.25f, 1));
    if (ImGui::SmallButton(label)) st.open = !st.open;
    target("bell");
    if (unread > 0) ImGui::PopStyleColor();
}

void draw_feed(notify::NotificationCenter& center, FeedViewState& st, float display_w, float display_h, uint64_t now_ms) {
    (void)now_ms;
    if (!st.open) return;
    const float w = std::min(display_w - 16 * st.scale, 380 * st.scale);
    ImGui::SetNextWindowPos(ImVec2(display_w - w - 8 * st.scale, 40 * st.scale));
    ImGui::SetNextWindowSize(ImVec2(w, std::min(display_h - 60 * st.scale, 480 * st.scale)));
    if (!ImGui::Begin("Notifications", &st.open, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize)) {
        ImGui::End();
        return;
    }
    ImGui::Text("%llu unread", static_cast<unsigned long long>(center.feed().unread()));
    ImGui::SameLine();
    if (ImGui::SmallButton("Mark all read")) center.mark_all_read();
    target("mark-all-read");
    if (!center.error().empty())
        text_wrapped(center.error(), ImGui::GetContentRegionAvail().x, ImGui::GetColorU32(ImVec4(0.9f, 0.35f, 0.35f, 1)));
    ImGui::Separator();
    ImGui::BeginChild("feed-items");
    const auto items = center.feed().ordered();
    if (items.empty()) ImGui::TextDisabled(center.loading() ? "Loading..." : "Nothing here yet.");
    std::string read_id, archive_id;
    for (const notify::Item* it : items) {
        ImGui::PushID(it->id.c_str());
        if (!it->read) ImGui::TextColored(ImVec4(0.35f, 0.6f, 1, 1), "\xe2\x97\x8f");  // ● unread
        else ImGui::TextDisabled(" ");
        ImGui::SameLine();
        const std::string when = theme::format_time(it->createdAt);
        const float room = ImGui::GetContentRegionAvail().x - ImGui::CalcTextSize(when.c_str()).x - ImGui::GetStyle().ItemSpacing.x;
        text_ellipsized(it->title, std::max(40.0f, room));
        ImGui::SameLine();
        ImGui::TextDisabled("%s", when.c_str());
        if (!it->body.empty()) text_wrapped(it->body, ImGui::GetContentRegionAvail().x, ImGui::GetColorU32(ImGuiCol_TextDisabled));
        if (!it->actionLabel.empty()) {
            if (text_button("##action", text_port().ellipsize(it->actionLabel, ImGui::GetFontSize(), 200 * st.scale))) {
                st.open_url = it->actionLink;
                read_id = it->id;
            }
            ImGui::SameLine();
        }
        if (!it->read) {
            if (ImGui::SmallButton("Mark read")) read_id = it->id;
            target("mark-read:" + it->id);
            ImGui::SameLine();
        }
        if (ImGui::SmallButton("Archive")) archive_id = it->id;
        target("archive:" + it->id);
        ImGui::Separator();
        ImGui::PopID();
    }
    if (center.feed().next_cursor()) {
        if (ImGui::Button("Load older")) center.load_older();
        target("feed-older");
        // Reaching the end of the list loads the next page as well.
        if (ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 2 && ImGui::GetScrollMaxY() > 0) center.load_older();
    }
    ImGui::EndChild();
    ImGui::End();
    if (!read_id.empty()) center.mark_read(read_id);
    if (!archive_id.empty()) center.archive(archive_id);
}

void draw_toasts(notify::NotificationCenter& center, FeedViewState& st, float display_w, float display_h, uint64_t now_ms) {
    // Top right under the header (the page's composer sits at the bottom), newest first.
    (void)display_h;
    const auto toasts = center.toasts(now_ms);
    float y = 56 * st.scale;
    int i = 0;
    for (auto t = toasts.rbegin(); t != toasts.rend(); ++t, ++i) {
        const float w = std::min(display_w - 24 * st.scale, 320 * st.scale);
        ImGui::SetNextWindowPos(ImVec2(display_w - 12 * st.scale, y), ImGuiCond_Always, ImVec2(1, 0));
        ImGui::SetNextWindowSize(ImVec2(w, 0));
        ImGui::SetNextWindowBgAlpha(0.95f);
        char name[64];
        std::snprintf(name, sizeof name, "##toast%d", i);
        ImGui::Begin(name, nullptr,
                     ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoFocusOnAppearing |
                         ImGuiWindowFlags_NoNav | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings);
        text_ellipsized(t->title, w - 16 * st.scale);
        if (!t->body.empty()) {
            // At most three lines: a toast is a glance, the feed has the rest.
            std::string body = t->body;
            const float size = ImGui::GetFontSize(), bw = w - 16 * st.scale;
            if (text_port().measure(body, size, bw).y > size * 3.6f)
                body = text_port().ellipsize(body, size, bw * 2.5f);
            text_wrapped(body, bw, ImGui::GetColorU32(ImGuiCol_TextDisabled));
        }
        if (ImGui::SmallButton("Open feed")) st.open = true;
        target("toast:" + t->id);
        y += ImGui::GetWindowHeight() + 8 * st.scale;
        ImGui::End();
    }
}

} // namespace ui
