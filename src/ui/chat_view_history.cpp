// chat_view_history.cpp - the virtualised message list (see chat_view.hpp).
#include "chat_view.hpp"
#include "targets.hpp"
#include "text.hpp"
#include "theme.hpp"

#include <imgui.h>

#include <algorithm>
#include <cstdio>

namespace ui {

namespace {

int64_t day_of(int64_t unix_ms) { return unix_ms >= 0 ? unix_ms / 86400000 : -1; }

std::string row_key(const chat::Message& m) { return m.messageId.empty() ? "local:" + m.clientMessageId : m.messageId; }

constexpr float kThumbHeight = 120.0f;  // preview box height (x scale), fixed so rows never jump

// A thumbnail is fetched without a click, so only for our own uploads (/blobs/..., served with a
// sniffed image type): an off-site link would tell a third party who reads the conversation and
// when. Other links stay click-to-open.
bool is_image(const chat::Message& m) {
    return m.attachment && m.attachment->contentType.rfind("image/", 0) == 0 && m.attachment->url.rfind("/blobs/", 0) == 0;
}

float measure(const chat::Message& m, bool separator, float width, float scale) {
    const float line = ImGui::GetTextLineHeightWithSpacing();
    const float spacing = ImGui::GetStyle().ItemSpacing.y;
    // Header (the sender's name, drawn by the text port: its line may be taller than ImGui's) and
    // the gap after the row.
    float h = std::max(ImGui::GetTextLineHeight(), text_port().measure(m.senderId, ImGui::GetFontSize(), 0).y) + 2 * spacing;
    if (separator) h += line;
    if (!m.text.empty()) h += text_port().measure(m.text, ImGui::GetFontSize(), width).y + spacing;
    if (m.attachment) h += line;
    if (is_image(m)) h += kThumbHeight * scale + spacing;
    return h;
}

void draw_row(chat::ChatSession& s, ChatViewState& st, const HistoryLayout::Row& row, float width, std::string& retry) {
    const chat::Message& m = *row.msg;
    if (row.day_separator) {
        const std::string day = "- " + theme::format_day_label(m.createdAtMs, 0) + " -";
        const float tw = ImGui::CalcTextSize(day.c_str()).x;
        ImGui::SetCursorPosX(std::max(0.0f, (width - tw) * 0.5f));
        ImGui::TextDisabled("%s", day.c_str());
    }
    ImGui::PushID(row.key.c_str());
    const bool mine = m.senderId == s.user_id();
    const ImVec4 me_col = st.light ? ImVec4(0.1f, 0.3f, 0.7f, 1) : ImVec4(0.55f, 0.75f, 1, 1);
    const ImVec4 other_col = st.light ? ImVec4(0.6f, 0.35f, 0.0f, 1) : ImVec4(0.95f, 0.8f, 0.5f, 1);
    text(m.senderId, ImGui::GetColorU32(mine ? me_col : other_col));
    ImGui::SameLine();
    ImGui::TextDisabled("%s", theme::format_time(m.createdAtMs).c_str());
    ImGui::SameLine();
    if (ImGui::SmallButton("Copy")) st.copy_request = m.text;
    target("copy:" + row.key);
    if (m.state == chat::SendState::Pending) {
        ImGui::SameLine();
        ImGui::TextDisabled("sending...");
    } else if (m.state == chat::SendState::Failed) {
        ImGui::SameLine();
        text_ellipsized("not sent: " + m.error, std::max(60.0f, width * 0.6f), ImGui::GetColorU32(ImVec4(0.9f, 0.35f, 0.35f, 1)));
        ImGui::SameLine();
        if (ImGui::SmallButton("Retry")) retry = m.clientMessageId;
        target("retry:" + m.clientMessageId);
    }
    if (!m.text.empty()) {
        text_wrapped(m.text, width);
        target("text:" + row.key);  // the laid-out text's box (test hook: pixel comparisons)
    }
    if (is_image(m)) {
        Thumbnail& t = st.thumbnails[m.attachment->url];
        if (!t.requested) {
            t.requested = true;
            st.thumbnail_requests.push_back(m.attachment->url);
        }
        const float box_h = kThumbHeight * st.scale;
        if (t.texture) {
            const float w = t.h > 0 ? t.w * box_h / t.h : box_h;
            if (ImGui::ImageButton(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(t.texture)), ImVec2(w, box_h), ImVec2(0, 0),
                                   ImVec2(1, 1), 0))
                st.open_url = m.attachment->url;
            target("thumb:" + row.key);
        } else {
            ImGui::Dummy(ImVec2(box_h, box_h));
            const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
            ImGui::GetWindowDrawList()->AddRect(a, b, ImGui::GetColorU32(ImGuiCol_Border));
            ImGui::GetWindowDrawList()->AddText(ImVec2(a.x + 6 * st.scale, a.y + 6 * st.scale), ImGui::GetColorU32(ImGuiCol_TextDisabled),
                                                t.failed ? "no preview" : "loading...");
        }
    }
    if (m.attachment) {
        char size[48];
        std::snprintf(size, sizeof size, " (%.1f KB)", static_cast<double>(m.attachment->size) / 1024.0);
        const std::string name = text_port().ellipsize(m.attachment->name, ImGui::GetFontSize(), std::max(40.0f, width * 0.7f));
        if (text_button("##attachment", "[attachment] " + name + size)) st.copy_request.clear(), st.open_url = m.attachment->url;
    }
    ImGui::PopID();
}

} // namespace

void draw_history(chat::ChatSession& s, ChatViewState& st, uint64_t now_ms) {
    (void)now_ms;
    HistoryLayout& L = st.history;
    if (L.conversation != s.current_id()) {
        L = HistoryLayout{};
        L.conversation = s.current_id();
    }
    const float width = ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ScrollbarSize;
    if (width != L.cache_width) {
        L.height_cache.clear();
        L.cache_width = width;
        L.version = 0;
        L.stored_rows = 0;  // every row is measured again
    }

    // Rows: pointers plus cached heights, rebuilt only when the conversation changed (not per
    // frame); only rows never seen at this width are measured. A change that appended stored
    // messages (a live one, a catch-up) extends the stored rows: its cost does not grow with the
    // history.
    const chat::Conversation& conv = s.conversation();
    const std::string old_first = L.rows.empty() ? std::string() : L.rows.front().key;
    float offset = 0;
    int64_t prev_day = -2;
    auto add_row = [&](const chat::Message* m) {
        HistoryLayout::Row row;
        row.msg = m;
        row.key = row_key(*m);
        const int64_t day = day_of(m->createdAtMs);
        row.day_separator = day != prev_day;
        prev_day = day;
        const std::string cache_key = row.key + (row.day_separator ? "|s" : "") +
                                      (m->state == chat::SendState::Failed ? "|f" : "");
        auto it = L.height_cache.find(cache_key);
        row.height = it != L.height_cache.end() ? it->second : (L.height_cache[cache_key] = measure(*m, row.day_separator, width, st.scale));
        row.offset = offset;
        offset += row.height;
        L.rows.push_back(std::move(row));
    };
    if (L.version != conv.version()) {
        L.version = conv.version();
        std::vector<const chat::Message*> appended;
        bool extend = L.stored_rows > 0 && L.rows.size() >= L.stored_rows && conv.first_seq() == L.first_seq &&
                      conv.stored_count() >= L.stored_rows;
        if (extend) {
            appended = conv.stored_after(L.last_seq);
            extend = appended.size() == conv.stored_count() - L.stored_rows;  // nothing inserted in between
        }
        if (extend) {
            L.rows.resize(L.stored_rows);  // local rows are laid out again (few; their addresses may move)
            offset = L.stored_total;
            prev_day = day_of(L.rows.back().msg->createdAtMs);
        } else {
            L.rows.clear();
            L.rows.reserve(conv.size());
            appended = conv.stored_after(0);
        }
        for (const chat::Message* m : appended) add_row(m);
        L.stored_rows = L.rows.size();
        L.stored_total = offset;
        L.first_seq = conv.first_seq();
        L.last_seq = conv.last_seq();
        for (const chat::Message* m : conv.locals()) add_row(m);
        L.total = offset;
    }
    const std::size_t count = L.rows.size();
    if (count == 0 && !s.catching_up()) {
        // An empty conversation says so (and what to do), rather than showing a blank list.
        const char* empty = "No messages yet. Say hello!";
        const ImVec2 ts = ImGui::CalcTextSize(empty);
        ImGui::SetCursorPos(ImVec2(std::max(0.0f, (width - ts.x) * 0.5f), std::max(0.0f, ImGui::GetWindowHeight() * 0.4f)));
        ImGui::TextDisabled("%s", empty);
        target("empty-conversation");
        st.scroll_y = st.scroll_max = 0;
        return;
    }

    float scroll = ImGui::GetScrollY();
    const float view_h = ImGui::GetWindowHeight();
    // Touch (mapped to the mouse) and mouse drags on the list scroll it, as on a phone.
    if (ImGui::IsMouseClicked(ImGuiMouseButton_Left) && ImGui::IsWindowHovered() && !ImGui::IsAnyItemHovered()) L.dragging = true;
    if (!ImGui::IsMouseDown(ImGuiMouseButton_Left)) L.dragging = false;
    if (L.dragging && ImGui::GetIO().MouseDelta.y != 0.0f) {
        scroll = std::clamp(scroll - ImGui::GetIO().MouseDelta.y, 0.0f, std::max(0.0f, L.total - view_h));
        ImGui::SetScrollY(scroll);
    }
    // Older messages were prepended: keep the row the user was looking at in place.
    if (!old_first.empty() && !L.rows.empty() && L.rows.front().key != old_first && !L.anchor_key.empty()) {
        for (const auto& r : L.rows)
            if (r.key == L.anchor_key) {
                scroll = r.offset + L.anchor_delta;
                ImGui::SetScrollY(scroll);
                break;
            }
    }
    const bool grew = count > L.seen_count;
    if (L.jump_to_bottom || (L.at_bottom && grew)) {
        scroll = std::max(0.0f, L.total - view_h);
        ImGui::SetScrollY(scroll);
        L.jump_to_bottom = false;
    }

    // Visible rows only: binary search for the first, stop past the bottom edge.
    std::string retry;
    auto first = std::upper_bound(L.rows.begin(), L.rows.end(), scroll,
                                  [](float y, const HistoryLayout::Row& r) { return y < r.offset + r.height; });
    for (auto it = first; it != L.rows.end() && it->offset < scroll + view_h; ++it) {
        ImGui::SetCursorPosY(it->offset);
        draw_row(s, st, *it, width, retry);
        ++st.rows_drawn;
        // Self-correcting heights: what was really drawn replaces the estimate.
        const float real = ImGui::GetCursorPosY() + ImGui::GetStyle().ItemSpacing.y - it->offset;
        const std::string cache_key = it->key + (it->day_separator ? "|s" : "") +
                                      (it->msg->state == chat::SendState::Failed ? "|f" : "");
        if (std::abs(real - it->height) > 0.5f) {
            L.height_cache[cache_key] = real;
            L.version = 0;  // re-lay out next frame with the measured height
        }
    }
    ImGui::SetCursorPosY(std::max(L.total, 1.0f) - 1.0f);
    ImGui::Dummy(ImVec2(1, 1));
    if (!retry.empty()) s.retry(retry);

    const float max_scroll = ImGui::GetScrollMaxY();
    L.at_bottom = scroll >= max_scroll - 4.0f || L.total <= view_h;
    if (L.at_bottom) L.seen_count = count;
    if (first != L.rows.end()) {
        L.anchor_key = first->key;
        L.anchor_delta = scroll - first->offset;
    }
    st.scroll_y = scroll;
    st.scroll_max = max_scroll;

    // At the top: fetch the previous page.
    if (scroll <= 1.0f && !s.history_complete()) {
        if (!s.loading_older()) s.load_older();
        ImGui::SetCursorPosY(scroll);
        ImGui::TextDisabled("Loading older messages...");
    }
    // Scrolled up while messages arrived: a pill to jump down.
    const std::size_t fresh = count > L.seen_count ? count - L.seen_count : 0;
    if (fresh > 0 && !L.at_bottom) {
        char label[64];
        std::snprintf(label, sizeof label, "%zu new message%s - jump down", fresh, fresh == 1 ? "" : "s");
        const float bw = ImGui::CalcTextSize(label).x + ImGui::GetStyle().FramePadding.x * 2;
        ImGui::SetCursorPos(ImVec2(std::max(0.0f, (width - bw) * 0.5f), scroll + view_h - ImGui::GetFrameHeightWithSpacing() * 1.2f));
        if (ImGui::Button(label)) L.jump_to_bottom = true;
        target("jump-down");
    }
    st.new_below = fresh > 0 && !L.at_bottom ? fresh : 0;
}

} // namespace ui
