// chat_view_history.cpp - the virtualised message list (see chat_view.hpp).
#include "chat_view.hpp"
#include "targets.hpp"
#include "text.hpp"
#include "theme.hpp"

#include <imgui.h>

#include <algorithm>
#include <cstdio>

namespace ui {

// Placeholder rows while the first history page loads.
void draw_skeleton(float width, ChatViewState& st) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImU32 col = ImGui::ColorConvertFloat4ToU32(theme::palette(st.light).raised);
    const float scale = st.scale;
    ImVec2 at = ImGui::GetCursorScreenPos();
    for (float f : {0.55f, 0.8f, 0.35f, 0.7f, 0.5f}) {
        const float r = theme::kAvatar * scale * 0.5f;
        dl->AddCircleFilled(ImVec2(at.x + theme::kSpaceXs * scale + r, at.y + r), r, col, 24);
        const float x = at.x + theme::kGutter * scale;
        dl->AddRectFilled(ImVec2(x, at.y + 2 * scale), ImVec2(x + 90 * scale, at.y + 12 * scale), col, 4 * scale);
        dl->AddRectFilled(ImVec2(x, at.y + 20 * scale), ImVec2(x + (width - theme::kGutter * scale) * f, at.y + 32 * scale), col, 4 * scale);
        at.y += (theme::kAvatar + theme::kSpaceLg) * scale;
    }
    ImGui::Dummy(ImVec2(width, 5 * (theme::kAvatar + theme::kSpaceLg) * scale));
    target("history-skeleton");
}

namespace {

std::string row_key(const chat::Message& m) { return m.messageId.empty() ? "local:" + m.clientMessageId : m.messageId; }

// The row a keyboard focus name is about ("msg:", "copy:", "attachment:", "thumb:" + row key, or
// "retry:" + clientMessageId), "" for any other focus.
std::string focus_row_key(const std::string& focus) {
    if (focus.size() > 6 && focus.compare(0, 6, "react:") == 0) return focus.substr(6, focus.find(':', 6) - 6);  // react:<id>:<emoji>
    for (const char* p : {"msg:", "copy:", "edit:", "delete:", "reply:", "quote:", "reactions:", "attachment:", "thumb:"}) {
        const std::size_t n = std::char_traits<char>::length(p);
        if (focus.size() > n && focus.compare(0, n, p) == 0) return focus.substr(n);
    }
    if (focus.size() > 6 && focus.compare(0, 6, "retry:") == 0) return "local:" + focus.substr(6);
    return {};
}

// The text a row shows: a tombstone says so, an edited message says so after its text.
std::string shown_text(const chat::Message& m) {
    if (m.deleted) return "Message deleted";
    if (m.editedAtMs > 0 && !m.text.empty()) return m.text + "  (edited)";
    return m.text;
}

constexpr float kThumbHeight = 120.0f;  // preview box height (x scale), fixed so rows never jump

// A thumbnail is fetched without a click, so only for our own uploads (/blobs/..., served with a
// sniffed image type): an off-site link would tell a third party who reads the conversation and
// when. Other links stay click-to-open.
bool is_image(const chat::Message& m) {
    return m.attachment && m.attachment->contentType.rfind("image/", 0) == 0 && m.attachment->url.rfind("/blobs/", 0) == 0;
}

// Row geometry, shared by measure() and draw_row() so estimates match what is drawn.
struct RowMetrics {
    float scale, gutter, text_w, line, small_line, spacing, top_pad;
};
RowMetrics metrics(float width, float scale) {
    RowMetrics r;
    r.scale = scale;
    r.gutter = theme::kGutter * scale;
    r.text_w = std::max(40.0f * scale, width - r.gutter - theme::kSpaceSm * scale);
    r.line = ImGui::GetTextLineHeight();
    r.small_line = text_port().measure("Ag", theme::kTypeSmall * scale, 0).y;
    r.spacing = ImGui::GetStyle().ItemSpacing.y;
    r.top_pad = theme::kSpaceSm * scale;
    return r;
}

std::string cache_key_of(const HistoryLayout::Row& r) {
    std::string k = r.key;
    if (r.day_separator) k += "|s";
    if (r.grouped) k += "|g";
    if (r.unread_divider) k += "|n";
    if (r.msg->state == chat::SendState::Failed) k += "|f";
    if (r.picker) k += "|p";
    if (r.seen_by) k += "|r";
    if (r.msg->version > 0) k += "|v" + std::to_string(r.msg->version);  // edited, deleted, reacted: measured again
    return k;
}

float header_height(const chat::Message& m, const RowMetrics& r) {
    return std::max({r.line, text_port().measure(m.senderId, ImGui::GetFontSize(), 0).y, r.small_line});
}

// Where the message's own box starts below a row's top (day separator, "New messages").
float box_offset(const HistoryLayout::Row& row, const RowMetrics& r) {
    float h = 0;
    if (row.day_separator) h += 2 * theme::kSpaceMd * r.scale + r.small_line + r.spacing;
    if (row.unread_divider) h += r.small_line + r.spacing;
    return h;
}

// One line of port text (at least the font's height) and the spacing after it, as the widgets in
// text.hpp reserve it.
float port_line(std::string_view text, float wrap, const RowMetrics& r) {
    return std::max(text_port().measure(text, ImGui::GetFontSize(), wrap).y, ImGui::GetFontSize()) + r.spacing;
}

std::string attachment_label(const chat::Message& m, float text_w) {
    return text_port().ellipsize(m.attachment->name, ImGui::GetFontSize(), std::max(40.0f, text_w * 0.7f)) + "  " +
           chat::format_size(m.attachment->size);
}

std::string failed_label(const chat::Message& m, float text_w) {
    const float retry_w = ImGui::CalcTextSize("Retry").x + ImGui::GetFontSize() * 1.5f + ImGui::GetStyle().FramePadding.x * 2;
    return text_port().ellipsize("Not sent: " + m.error, ImGui::GetFontSize(), std::max(60.0f, text_w - retry_w - ImGui::GetFontSize() * 2));
}

// A reply's quote: one line (the parent's sender and text, cut to fit) with a bar on its left.
float quote_height(const RowMetrics& r) { return r.small_line + theme::kSpaceXs * r.scale + r.spacing; }

// "Seen by bob, carol" (read receipts).
std::string seen_label(const chat::SeenBy& seen) {
    std::string who;
    for (const auto& u : seen.users) who += (who.empty() ? "" : ", ") + u;
    return "Seen by " + who;
}

// The row's height exactly as draw_row() lays it out (the drawn height corrects it if not).
float measure(const HistoryLayout::Row& row, float width, float scale) {
    const chat::Message& m = *row.msg;
    const RowMetrics r = metrics(width, scale);
    float c = row.grouped ? 0 : r.top_pad * 0.5f + header_height(m, r) + theme::kSpaceXs * 0.5f * scale;
    if (!m.replyToId.empty() && !m.deleted) c += quote_height(r);
    if (const std::string text = shown_text(m); !text.empty()) c += port_line(text, r.text_w, r);
    if (is_image(m)) c += kThumbHeight * scale + r.spacing;
    if (m.attachment) c += port_line(attachment_label(m, r.text_w), 0, r);
    if (m.state == chat::SendState::Failed) c += port_line(failed_label(m, r.text_w), 0, r);
    if (!m.reactions.empty() || row.picker) c += ImGui::GetFrameHeight() + r.spacing;  // one row of chips (the drawn height corrects more)
    if (row.seen_by) c += r.small_line + r.spacing;
    const float min_body = row.grouped ? 0 : r.top_pad + theme::kAvatar * scale;
    return box_offset(row, r) + std::max(c, min_body) + theme::kSpaceXs * 0.5f * scale;
}

// A centred label between two rules (day separators, the "New messages" divider).
void rule_label(const std::string& label, float width, ImU32 line_col, ImU32 text_col, float size) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const ImVec2 ts = text_port().measure(label, size, 0);
    const float x0 = at.x + (width - ts.x) * 0.5f;
    const float mid = at.y + ts.y * 0.5f;
    const float gap = 8 * size / theme::kTypeSmall;
    dl->AddLine(ImVec2(at.x, mid), ImVec2(x0 - gap, mid), line_col);
    dl->AddLine(ImVec2(x0 + ts.x + gap, mid), ImVec2(at.x + width, mid), line_col);
    text_port().draw(dl, ImVec2(x0, at.y), label, size, text_col, 0);
    ImGui::Dummy(ImVec2(width, ts.y));
}

bool icon_button(const char* icon, const char* id, const char* tip) {
    ImGui::PushID(id);
    const bool hit = ImGui::Button(icon);
    if (ImGui::IsItemHovered() && tip) ImGui::SetTooltip("%s", tip);
    ImGui::PopID();
    return hit;
}

void draw_row(const chat::ChatSession& s, ChatViewState& st, const HistoryLayout::Row& row, float width, std::string& retry) {
    const chat::Message& m = *row.msg;
    const theme::Palette& pal = theme::palette(st.light);
    const RowMetrics r = metrics(width, st.scale);
    const float small = theme::kTypeSmall * st.scale;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 origin = ImGui::GetCursorScreenPos();  // the row's top-left (x at the list's left edge)
    if (row.day_separator) {
        ImGui::Dummy(ImVec2(1, theme::kSpaceMd * st.scale));
        const std::string day = st.wall_ms > 0 ? theme::format_day_label(m.createdAtMs, st.wall_ms) : theme::format_day_label(m.createdAtMs, m.createdAtMs + 7 * 86400000LL);
        rule_label(day, width, ImGui::ColorConvertFloat4ToU32(pal.border), ImGui::ColorConvertFloat4ToU32(pal.muted), small);
        ImGui::Dummy(ImVec2(1, theme::kSpaceMd * st.scale - r.spacing * 2));
    }
    if (row.unread_divider) {
        rule_label("New messages", width, ImGui::ColorConvertFloat4ToU32(pal.new_divider), ImGui::ColorConvertFloat4ToU32(pal.new_divider), small);
        target("new-messages");
    }
    ImGui::PushID(row.key.c_str());
    const bool mine = m.senderId == s.user_id();
    // The message's own box: from here to the row's end (the cached height is what was drawn).
    const float box_top = ImGui::GetCursorScreenPos().y;
    const float row_end = origin.y + row.height;
    const ImVec2 box_min(origin.x, box_top - (row.grouped ? 1.0f : r.top_pad * 0.5f));
    const ImVec2 box_max(origin.x + width, row_end);
    const bool hovered = ImGui::IsWindowHovered(ImGuiHoveredFlags_AllowWhenBlockedByActiveItem) && ImGui::IsMouseHoveringRect(box_min, box_max, false);
    if (mine) dl->AddRectFilled(box_min, box_max, ImGui::ColorConvertFloat4ToU32(pal.own), theme::kRadiusMd * st.scale);
    if (hovered) dl->AddRectFilled(box_min, box_max, ImGui::GetColorU32(ImGuiCol_HeaderHovered, mine ? 0.5f : 1.0f), theme::kRadiusMd * st.scale);
    if (st.flash_key == row.key && st.frame_ms < st.flash_until_ms)  // just jumped to (a reply's quote)
        dl->AddRect(box_min, box_max, ImGui::ColorConvertFloat4ToU32(pal.accent), theme::kRadiusMd * st.scale, 0, 2 * st.scale);
    // A tap elsewhere hides actions a long press revealed.
    if (st.history.actions_key == row.key && !hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Left)) st.history.actions_key.clear();
    // Touch: a long press on a row reveals its actions (there is no hover).
    if (hovered && ImGui::IsMouseDown(ImGuiMouseButton_Left) && ImGui::GetIO().MouseDownDuration[0] > 0.45f &&
        ImGui::GetMouseDragDelta(ImGuiMouseButton_Left).y * ImGui::GetMouseDragDelta(ImGuiMouseButton_Left).y < 64 * st.scale * st.scale)
        st.history.actions_key = row.key;
    ImGui::SetCursorScreenPos(ImVec2(origin.x, box_top + (row.grouped ? 0 : r.top_pad * 0.5f)));
    const float content_x = origin.x + r.gutter;
    if (!row.grouped) {
        // Avatar, then the sender's name and the time on one line.
        const float y0 = ImGui::GetCursorScreenPos().y;
        ImGui::SetCursorScreenPos(ImVec2(origin.x + theme::kSpaceXs * st.scale, y0 + 2 * st.scale));
        theme::avatar(m.senderId, m.senderId, theme::kAvatar * st.scale);
        target("avatar:" + row.key);
        ImGui::SetCursorScreenPos(ImVec2(content_x, y0));
        const float hh = header_height(m, r);
        const ImVec2 name_size = text_port().measure(m.senderId, ImGui::GetFontSize(), 0);
        text_port().draw(dl, ImVec2(content_x, y0), text_port().ellipsize(m.senderId, ImGui::GetFontSize(), r.text_w * 0.6f),
                         ImGui::GetFontSize(), ImGui::ColorConvertFloat4ToU32(mine ? pal.accent : pal.text), 0);
        const float name_w = std::min(name_size.x, r.text_w * 0.6f);
        const std::string when = st.wall_ms > 0 ? theme::format_relative(m.createdAtMs, st.wall_ms) : theme::format_time(m.createdAtMs);
        const ImVec2 when_size = text_port().measure(when, small, 0);
        const ImVec2 when_at(content_x + name_w + theme::kSpaceSm * st.scale, y0 + (name_size.y - when_size.y) * 0.75f);
        text_port().draw(dl, when_at, when, small, ImGui::ColorConvertFloat4ToU32(pal.muted), 0);
        if (ImGui::IsMouseHoveringRect(when_at, ImVec2(when_at.x + when_size.x, when_at.y + when_size.y)) && ImGui::IsWindowHovered())
            ImGui::SetTooltip("%s", theme::format_full(m.createdAtMs).c_str());
        if (m.state == chat::SendState::Pending) {
            const ImVec2 at(when_at.x + when_size.x + theme::kSpaceSm * st.scale, y0);
            dl->AddText(at, ImGui::ColorConvertFloat4ToU32(pal.muted), theme::icon::kClock);
        }
        ImGui::SetCursorScreenPos(ImVec2(content_x, y0 + hh + theme::kSpaceXs * 0.5f * st.scale));
        ImGui::Dummy(ImVec2(1, 0));
        ImGui::SetCursorScreenPos(ImVec2(content_x, y0 + hh + theme::kSpaceXs * 0.5f * st.scale));
    } else {
        if (hovered) {
            // Grouped rows show their time in the gutter on hover.
            const std::string t = theme::format_time(m.createdAtMs);
            text_port().draw(dl, ImVec2(origin.x + theme::kSpaceXs * st.scale, ImGui::GetCursorScreenPos().y + 2 * st.scale), t, small * 0.9f,
                             ImGui::ColorConvertFloat4ToU32(pal.muted), 0);
        }
        if (m.state == chat::SendState::Pending)
            dl->AddText(ImVec2(origin.x + width - ImGui::GetFontSize() * 1.5f, ImGui::GetCursorScreenPos().y), ImGui::ColorConvertFloat4ToU32(pal.muted),
                        theme::icon::kClock);
        ImGui::SetCursorScreenPos(ImVec2(content_x, ImGui::GetCursorScreenPos().y));
    }
    ImGui::Indent(r.gutter);
    if (!m.replyToId.empty() && !m.deleted) {
        // The quoted message as it is now; a click (or the mirror's button) brings it into view.
        const ImVec2 at = ImGui::GetCursorScreenPos();
        const float qh = r.small_line + theme::kSpaceXs * st.scale;
        if (ImGui::InvisibleButton("##quote", ImVec2(r.text_w, qh))) chat_action(s, st, "quote:" + row.key);
        const bool over = ImGui::IsItemHovered();
        target("quote:" + row.key);
        dl->AddRectFilled(ImVec2(at.x, at.y), ImVec2(at.x + 3 * st.scale, at.y + qh), ImGui::ColorConvertFloat4ToU32(pal.accent), 1.5f * st.scale);
        const float pad = theme::kSpaceSm * st.scale;
        text_port().draw(dl, ImVec2(at.x + pad, at.y + theme::kSpaceXs * 0.5f * st.scale),
                         text_port().ellipsize(s.quote_text(m), small, r.text_w - pad), small,
                         ImGui::ColorConvertFloat4ToU32(over ? pal.text : pal.muted), 0);
        if (over) ImGui::SetTooltip("Show the message replied to");
    }
    if (const std::string text = shown_text(m); !text.empty()) {
        const ImU32 col = m.state == chat::SendState::Pending || m.deleted ? ImGui::ColorConvertFloat4ToU32(pal.muted) : 0;
        text_wrapped(text, r.text_w, col);
        target("text:" + row.key);  // the laid-out text's box (test hook: pixel comparisons)
    }
    if (is_image(m)) {
        const std::string& url = m.attachment->url;
        Thumbnail& t = st.thumbnails[url.substr(0, url.find('?'))];
        if (!t.requested && st.wall_ms >= t.retry_at_ms) {
            t.requested = true;
            t.url = url;
            st.thumbnail_requests.push_back(url);
        }
        const float box_h = kThumbHeight * st.scale;
        if (t.texture) {
            const float w = std::min(r.text_w, t.h > 0 ? t.w * box_h / t.h : box_h);
            if (ImGui::ImageButton(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(t.texture)), ImVec2(w, box_h), ImVec2(0, 0),
                                   ImVec2(1, 1), 0))
                st.open_url = m.attachment->url;
            target("thumb:" + row.key);
        } else {
            ImGui::Dummy(ImVec2(box_h, box_h));
            const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
            dl->AddRectFilled(a, b, ImGui::ColorConvertFloat4ToU32(pal.raised), theme::kRadiusMd * st.scale);
            const char* what = t.failed ? "no preview" : "loading...";
            dl->AddText(ImVec2(a.x + 8 * st.scale, a.y + 8 * st.scale), ImGui::ColorConvertFloat4ToU32(pal.muted), what);
        }
    }
    if (m.attachment) {
        if (!m.messageId.empty()) st.drawn_links.push_back(m.messageId);
        ImGui::PushStyleColor(ImGuiCol_Text, pal.muted);
        ImGui::TextUnformatted(theme::icon::kPaperclip);  // icons are ImGui's font; names the port's
        ImGui::PopStyleColor();
        ImGui::SameLine(0, theme::kSpaceXs * st.scale);
        if (text_button("##attachment", attachment_label(m, r.text_w))) st.copy_request.clear(), st.open_url = m.attachment->url;
        target("attachment:" + row.key);
    }
    if (m.state == chat::SendState::Failed) {
        ImGui::PushStyleColor(ImGuiCol_Text, pal.danger);
        ImGui::TextUnformatted(theme::icon::kAlert);
        ImGui::PopStyleColor();
        ImGui::SameLine(0, theme::kSpaceXs * st.scale);
        text(failed_label(m, r.text_w), ImGui::ColorConvertFloat4ToU32(pal.danger));
        ImGui::SameLine();
        const std::string label = std::string(theme::icon::kRetry) + " Retry";
        if (ImGui::SmallButton(label.c_str())) retry = m.clientMessageId;
        target("retry:" + m.clientMessageId);
    }
    // Reactions: a chip per emoji with its count (the user's own highlighted; who reacted on
    // hover); a click takes the user's back or adds it. The picker row while it is open.
    if (!m.reactions.empty() || st.react_picker == m.messageId) {
        float used = 0;
        auto chip = [&](const std::string& emoji, const std::string& label, bool own, const char* tip) {
            const float w = text_port().measure(label, ImGui::GetFontSize(), 0).x + ImGui::GetStyle().FramePadding.x * 2;
            if (used > 0 && used + w < r.text_w) ImGui::SameLine(0, theme::kSpaceXs * st.scale);
            else if (used > 0) used = 0;
            used += w + theme::kSpaceXs * st.scale;
            ImGui::PushStyleColor(ImGuiCol_Button, own ? pal.own : pal.raised);
            ImGui::PushStyleColor(ImGuiCol_Border, own ? pal.accent : pal.border);
            ImGui::PushStyleVar(ImGuiStyleVar_FrameBorderSize, 1.0f);
            const bool hit = text_button(("##r" + emoji).c_str(), label);
            ImGui::PopStyleVar();
            ImGui::PopStyleColor(2);
            if (tip && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
            return hit;
        };
        for (const chat::Reaction& rx : m.reactions) {
            std::string who;
            for (const auto& u : rx.users) who += (who.empty() ? "" : ", ") + u;
            const bool reacted_too = std::find(rx.users.begin(), rx.users.end(), s.user_id()) != rx.users.end();
            if (chip(rx.emoji, rx.emoji + " " + std::to_string(rx.users.size()), reacted_too, who.c_str()))
                chat_action(s, st, "react:" + m.messageId + ":" + rx.emoji);
            target("react:" + row.key + ":" + rx.emoji);
        }
        if (st.react_picker == m.messageId) {
            ImGui::PushID("picker");
            for (const char* emoji : kQuickReactions) {
                if (chip(emoji, emoji, chat::reacted(m, emoji, s.user_id()), nullptr)) chat_action(s, st, std::string("pick-reaction:") + emoji);
                target(std::string("pick-reaction:") + emoji);
            }
            ImGui::PopID();
        }
    }
    if (row.seen_by) {
        // Read receipts: right-aligned under the newest message others have read.
        const std::string label = text_port().ellipsize(seen_label(st.history.seen), small, r.text_w);
        const ImVec2 ts = text_port().measure(label, small, 0);
        const ImVec2 at = ImGui::GetCursorScreenPos();
        const float x = std::max(at.x, origin.x + width - theme::kSpaceSm * st.scale - ts.x);
        text_port().draw(dl, ImVec2(x, at.y), label, small, ImGui::ColorConvertFloat4ToU32(pal.muted), 0);
        ImGui::Dummy(ImVec2(1, r.small_line));
        target_rect("seen-by", x, at.y, x + ts.x, at.y + ts.y);
    }
    ImGui::Unindent(r.gutter);
    // Actions on hover (pointer), after a long press (touch), or while the keyboard focus is on the
    // row (the accessible mirror): no permanent button per row.
    const bool focused = !st.focus.empty() && focus_row_key(st.focus) == row.key;
    // The user's own stored messages also offer Edit and Delete (Delete asks first).
    const bool can_copy = !m.text.empty() && !m.deleted, can_change = s.can_change(m);
    const bool can_react = !m.messageId.empty() && !m.deleted;
    if ((hovered || st.history.actions_key == row.key || focused) && (can_copy || can_change || can_react)) {
        const ImVec2 after = ImGui::GetCursorScreenPos();
        const float bw = ImGui::GetFrameHeight() + ImGui::GetFontSize() * 0.5f;
        const int n = (can_react ? 2 : 0) + (can_copy ? 1 : 0) + (can_change ? 2 : 0);
        float x = origin.x + width - n * (bw + theme::kSpaceXs * st.scale) - theme::kSpaceSm * st.scale;
        auto action = [&](const char* icon, const char* id, const char* tip, const std::string& name) {
            ImGui::SetCursorScreenPos(ImVec2(x, box_min.y + 2 * st.scale));
            const bool hit = icon_button(icon, id, tip);
            target(name);
            x += bw + theme::kSpaceXs * st.scale;
            return hit;
        };
        if (can_react && action(theme::icon::kReply, "reply", "Reply", "reply:" + row.key)) {
            start_reply(s, st, m.messageId);
            st.history.actions_key.clear();
        }
        if (can_react && action(theme::icon::kSmile, "react", "Add a reaction", "reactions:" + row.key)) {
            chat_action(s, st, "reactions:" + m.messageId);
            st.history.actions_key.clear();
        }
        if (can_copy && action(theme::icon::kCopy, "copy", "Copy text", "copy:" + row.key)) {
            st.copy_request = m.text;
            st.history.actions_key.clear();
        }
        if (can_change && action(theme::icon::kPencil, "edit", "Edit", "edit:" + row.key)) {
            start_edit(s, st, m.messageId);
            st.history.actions_key.clear();
        }
        if (can_change && action(theme::icon::kTrash, "delete", "Delete", "delete:" + row.key)) {
            st.confirm_delete = m.messageId;
            st.history.actions_key.clear();
        }
        ImGui::SetCursorScreenPos(after);
    }
    // The avatar's height at least, then a small gap (what measure() assumed). The caller reads
    // the drawn height as the cursor plus one item spacing.
    const float end = std::max(ImGui::GetCursorScreenPos().y, box_top + (row.grouped ? 0 : r.top_pad + theme::kAvatar * st.scale));
    ImGui::SetCursorScreenPos(ImVec2(origin.x, end + theme::kSpaceXs * 0.5f * st.scale - r.spacing));
    target_rect("msg:" + row.key, box_min.x, box_min.y, box_max.x, box_max.y);  // the message's box (keyboard focus)
    ImGui::PopID();
}

} // namespace

void draw_history(const chat::ChatSession& s, ChatViewState& st, uint64_t now_ms) {
    st.frame_ms = now_ms;
    HistoryLayout& L = st.history;
    if (L.conversation != s.current_id()) {
        L = HistoryLayout{};
        L.conversation = s.current_id();
        L.first_unread_seq = s.first_unread_seq();
        L.jump_to_divider = L.first_unread_seq > 0;
    }
    if (L.first_unread_seq != s.first_unread_seq()) {  // opened again: the divider moves
        L.first_unread_seq = s.first_unread_seq();
        L.jump_to_divider = L.first_unread_seq > 0;
        L.version = 0;
        L.stored_rows = 0;
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
    bool relaid_for_edit = false;  // an edit or delete changed row heights: keep what the user reads in place
    float offset = 0;
    int64_t prev_day = -2;
    const chat::Message* prev = nullptr;
    bool divider_placed = false;
    auto add_row = [&](const chat::Message* m) {
        HistoryLayout::Row row;
        row.msg = m;
        row.key = row_key(*m);
        const int64_t day = theme::local_day(m->createdAtMs);
        row.day_separator = day != prev_day;
        prev_day = day;
        // "New messages" above the first message from someone else after what was read on opening.
        // Only once the first unread message is loaded: above an older page still to come, the
        // divider would sit on the wrong message (and opening there would page in everything unread).
        row.unread_divider = L.first_unread_seq > 0 && !divider_placed && m->seq >= L.first_unread_seq && !m->messageId.empty() &&
                             m->senderId != s.user_id() && conv.first_seq() <= L.first_unread_seq;
        divider_placed = divider_placed || row.unread_divider;
        row.grouped = prev && !row.day_separator && !row.unread_divider && prev->senderId == m->senderId &&
                      prev->state != chat::SendState::Failed && m->createdAtMs >= prev->createdAtMs &&
                      m->createdAtMs - prev->createdAtMs < theme::kGroupWindowMs;
        prev = m;
        row.picker = !st.react_picker.empty() && st.react_picker == m->messageId;
        row.seen_by = L.seen.seq > 0 && m->seq == L.seen.seq && !m->messageId.empty();
        const std::string cache_key = cache_key_of(row);
        auto it = L.height_cache.find(cache_key);
        row.height = it != L.height_cache.end() ? it->second : (L.height_cache[cache_key] = measure(row, width, st.scale));
        row.offset = offset;
        offset += row.height;
        L.rows.push_back(std::move(row));
    };
    // Read receipts: where "Seen by" goes moved (rare next to frames; rows are laid out again).
    chat::SeenBy seen = chat::seen_by(conv, s.reads(), s.user_id());
    bool seen_moved = seen != L.seen;
    const uint64_t old_seen_seq = L.seen.seq;
    if (seen_moved) L.seen = std::move(seen);
    if (seen_moved && L.version == conv.version() && L.react_picker == st.react_picker && L.stored_rows > 0) {
        // Only the receipts moved (the common case: a reader's chat.read): the two rows that lose
        // and gain the line are measured again and the rows after the first of them move; the
        // rest of the layout stands (its cost is the rows below, not the history).
        auto index_of = [&](uint64_t seq) -> std::size_t {
            auto end = L.rows.begin() + static_cast<std::ptrdiff_t>(L.stored_rows);
            auto it = std::lower_bound(L.rows.begin(), end, seq, [](const HistoryLayout::Row& r, uint64_t q) { return r.msg->seq < q; });
            return it != end && it->msg->seq == seq ? static_cast<std::size_t>(it - L.rows.begin()) : L.rows.size();
        };
        std::size_t from = L.rows.size();
        for (uint64_t seq : {old_seen_seq, L.seen.seq}) {
            const std::size_t i = seq > 0 ? index_of(seq) : L.rows.size();
            if (i >= L.rows.size()) continue;
            HistoryLayout::Row& row = L.rows[i];
            row.seen_by = L.seen.seq > 0 && row.msg->seq == L.seen.seq;
            const std::string key = cache_key_of(row);
            auto it = L.height_cache.find(key);
            row.height = it != L.height_cache.end() ? it->second : (L.height_cache[key] = measure(row, width, st.scale));
            from = std::min(from, i);
        }
        if (from < L.rows.size()) {
            float off = from == 0 ? 0.0f : L.rows[from - 1].offset + L.rows[from - 1].height;
            for (std::size_t i = from; i < L.rows.size(); ++i) {
                L.rows[i].offset = off;
                off += L.rows[i].height;
                if (i + 1 == L.stored_rows) L.stored_total = off;
            }
            L.total = off;
            relaid_for_edit = true;  // keeps what the user reads in place (or the bottom at the bottom)
        }
        seen_moved = false;
    }
    if (L.version != conv.version() || L.react_picker != st.react_picker || seen_moved) {
        L.version = conv.version();
        std::vector<const chat::Message*> appended;
        // An edit or delete changed a row in place: every row is laid out again (its height may
        // differ; edits are rare, appends are not).
        const bool edited = L.edits != conv.edits() || L.react_picker != st.react_picker || seen_moved;
        L.edits = conv.edits();
        L.react_picker = st.react_picker;
        relaid_for_edit = edited;
        bool extend = !edited && L.stored_rows > 0 && L.rows.size() >= L.stored_rows && conv.first_seq() == L.first_seq &&
                      conv.stored_count() >= L.stored_rows;
        if (extend) {
            appended = conv.stored_after(L.last_seq);
            extend = appended.size() == conv.stored_count() - L.stored_rows;  // nothing inserted in between
        }
        if (extend) {
            L.rows.resize(L.stored_rows);  // local rows are laid out again (few; their addresses may move)
            offset = L.stored_total;
            prev_day = theme::local_day(L.rows.back().msg->createdAtMs);
            prev = L.rows.back().msg;
            divider_placed = L.stored_divider;  // kept, not found again: this branch must not walk the rows
        } else {
            L.rows.clear();
            L.rows.reserve(conv.size());
            appended = conv.stored_after(0);
        }
        for (const chat::Message* m : appended) add_row(m);
        L.stored_rows = L.rows.size();
        L.stored_total = offset;
        L.stored_divider = divider_placed;
        L.first_seq = conv.first_seq();
        L.last_seq = conv.last_seq();
        for (const chat::Message* m : conv.locals()) add_row(m);
        L.total = offset;
    }
    const std::size_t count = L.rows.size();
    if (count == 0 && !s.history_loaded() && !s.history_error().empty()) {
        // The first page failed (the panel itself is fine): say why, and try again on request.
        const theme::Palette& pal = theme::palette(st.light);
        ImGui::Dummy(ImVec2(1, theme::kSpaceXl * st.scale));
        text_wrapped(s.history_error(), width, ImGui::ColorConvertFloat4ToU32(pal.danger));
        const std::string again = std::string(theme::icon::kRetry) + "  Try again";
        if (ImGui::Button(again.c_str())) st.intents.push_back({ChatIntent::Kind::Reload, s.current_id()});
        target("retry-history");
        st.scroll_y = st.scroll_max = 0;
        return;
    }
    if (count == 0 && !s.history_loaded()) {
        // The first page is on its way: the shape of what is coming (never "No messages yet").
        draw_skeleton(width, st);
        st.scroll_y = st.scroll_max = 0;
        return;
    }
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
    // An edit at the bottom keeps the view there; one elsewhere keeps the row being read in place.
    if (relaid_for_edit && L.at_bottom) L.jump_to_bottom = true;
    // Older messages were prepended (or rows above changed height): keep the row the user was
    // looking at in place.
    if (((!old_first.empty() && !L.rows.empty() && L.rows.front().key != old_first) || (relaid_for_edit && !L.at_bottom)) &&
        !L.anchor_key.empty()) {
        for (const auto& r : L.rows)
            if (r.key == L.anchor_key) {
                scroll = r.offset + L.anchor_delta;
                ImGui::SetScrollY(scroll);
                break;
            }
    }
    // Opened with unread messages: the first of them at the top of the view when they do not fit.
    if (L.jump_to_divider && count > 0) {
        for (const auto& r : L.rows)
            if (r.unread_divider) {
                if (L.total - r.offset > view_h) {
                    // (Not quite the top: the top edge pages in older history.)
                    scroll = std::max(2.0f, r.offset - ImGui::GetTextLineHeight());
                    ImGui::SetScrollY(scroll);
                    L.jump_to_bottom = false;
                    L.seen_count = count;
                }
                break;
            }
        L.jump_to_divider = false;
    }
    const bool grew = count > L.seen_count;
    if (L.jump_to_bottom || (L.at_bottom && grew)) {
        scroll = std::max(0.0f, L.total - view_h);
        ImGui::SetScrollY(scroll);
        L.jump_to_bottom = false;
    }

    // A reply's quote was clicked: its message into view (once its page is loaded), flashed.
    if (!st.jump_to.empty() && st.jump_conversation != s.current_id()) st.jump_to.clear();  // another one opened
    if (!st.jump_to.empty()) {
        bool found = false;
        for (const auto& r : L.rows) {
            if (r.key != st.jump_to) continue;
            scroll = std::clamp(r.offset - std::max(0.0f, (view_h - r.height) * 0.5f), 2.0f, std::max(2.0f, L.total - view_h));
            ImGui::SetScrollY(scroll);
            st.flash_key = r.key;
            st.flash_until_ms = now_ms + 1500;
            found = true;
            break;
        }
        if (found) {
            st.jump_to.clear();
        } else if (!s.history_loaded()) {
            // Its conversation's first page is on its way (a link opened it).
        } else if (!st.jump_revealed) {
            // Not loaded: older pages first (the session says why when it will not).
            st.jump_revealed = st.jump_requested = true;
            ChatIntent i{ChatIntent::Kind::Reveal, st.jump_to};
            i.seq = st.jump_seq;
            st.intents.push_back(std::move(i));
        } else if (!st.jump_requested && s.revealing().empty()) {
            st.jump_to.clear();
            show_error(st, "The message replied to could not be loaded.");
        }
    }
    // The keyboard focus moved to a message (the accessible mirror): bring its row into view.
    if (const std::string key = focus_row_key(st.focus); !key.empty() && st.focus_shown != st.focus) {
        for (const auto& r : L.rows) {
            if (r.key != key) continue;
            if (r.offset < scroll || r.offset + r.height > scroll + view_h) {
                scroll = std::clamp(r.offset - std::max(0.0f, (view_h - r.height) * 0.5f), 2.0f, std::max(2.0f, L.total - view_h));
                ImGui::SetScrollY(scroll);
            }
            break;
        }
        st.focus_shown = st.focus;
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
        const std::string cache_key = cache_key_of(*it);
        if (std::abs(real - it->height) > 0.5f) {
            L.height_cache[cache_key] = real;
            L.version = 0;  // re-lay out next frame with the measured height
        }
    }
    ImGui::SetCursorPosY(std::max(L.total, 1.0f) - 1.0f);
    ImGui::Dummy(ImVec2(1, 1));
    if (!retry.empty()) st.intents.push_back({ChatIntent::Kind::Retry, retry});

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
        if (!s.loading_older()) st.intents.push_back({ChatIntent::Kind::LoadOlder, s.current_id()});
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
