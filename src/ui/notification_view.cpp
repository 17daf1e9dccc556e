// notification_view.cpp - see notification_view.hpp.
//
// [SECTION] helpers: palette, interface labels, buttons, state blocks
// [SECTION] bell
// [SECTION] feed: header, states, day groups, items, older pages
// [SECTION] toasts
#include "notification_view.hpp"

#include "targets.hpp"
#include "text.hpp"
#include "theme.hpp"

#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <cstdio>
#include <limits>

namespace ui {

namespace {

//-----------------------------------------------------------------------------
// [SECTION] helpers
//-----------------------------------------------------------------------------

constexpr uint64_t kBadgeCap = 99;           // past this the badge says "99+"
constexpr float kPanelWidth = 400;           // feed panel (CSS px, at most)
constexpr float kPanelHeight = 540;
constexpr float kPanelTop = 40;              // under the chat header
constexpr float kToastWidth = 340;
constexpr float kToastTop = 56;
constexpr float kDot = 8;                    // unread dot diameter
constexpr float kStateIcon = 48;             // the circle of the empty and error states

// The palette theme::apply() put into ImGui's style (the app applies it for the system theme).
const theme::Palette& palette() {
    return theme::palette(theme::luminance(ImGui::GetStyle().Colors[ImGuiCol_WindowBg]) > 0.5);
}

ImU32 u32(ImVec4 c, float alpha = 1.0f) {
    c.w *= alpha;
    return ImGui::ColorConvertFloat4ToU32(c);
}

ImVec4 mix(const ImVec4& a, const ImVec4& b, float t) {
    return ImVec4(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, a.z + (b.z - a.z) * t, a.w + (b.w - a.w) * t);
}

// Accent-coloured text on the panel's surface, readable in both themes (the dark accent is a
// button colour, too dark for text on the dark surface: the focus blue is its text form).
ImVec4 link_color(const theme::Palette& p) { return theme::contrast(p.accent, p.surface) >= 4.5 ? p.accent : p.focus; }

ImVec2 label_size(const char* s, float size) { return ImGui::GetFont()->CalcTextSizeA(size, FLT_MAX, 0.0f, s); }

// An interface label (never user content) in ImGui's font at `size` px; reserves its box.
void label(const char* s, float size, ImU32 color) {
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    ImGui::GetWindowDrawList()->AddText(ImGui::GetFont(), size, pos, color, s);
    ImGui::Dummy(label_size(s, size));
}

// The same, centred in the current column.
void label_centred(const char* s, float size, ImU32 color, float width) {
    const float w = label_size(s, size).x;
    ImGui::SetCursorPosX(ImGui::GetCursorPosX() + std::max(0.0f, (width - w) * 0.5f));
    label(s, size, color);
}

void add_target(const std::string& name, ImVec2 a, ImVec2 b) { targets().push_back(Target{name, a.x, a.y, b.x - a.x, b.y - a.y}); }

// Buttons in the panel's three looks: ghost (secondary actions), primary (accent), and the row's
// one-line height (FramePadding.y = 0, as text_button draws user-content labels).
struct ButtonLook {
    int colors = 0, vars = 0;
    ButtonLook(const theme::Palette& p, bool primary, float scale) {
        if (primary) {
            ImGui::PushStyleColor(ImGuiCol_Button, p.accent);
            ImGui::PushStyleColor(ImGuiCol_ButtonHovered, mix(p.accent, p.text, 0.15f));
            ImGui::PushStyleColor(ImGuiCol_ButtonActive, mix(p.accent, p.text, 0.25f));
            ImGui::PushStyleColor(ImGuiCol_Text, p.on_accent);
        } else {
            ImGui::PushStyleColor(ImGuiCol_Button, ImVec4(0, 0, 0, 0));
            ImGui::PushStyleColor(ImGuiCol_ButtonHovered, p.raised);
            ImGui::PushStyleColor(ImGuiCol_ButtonActive, mix(p.raised, p.text, 0.12f));
            ImGui::PushStyleColor(ImGuiCol_Text, p.text);
        }
        colors = 4;
        ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, ImVec2(theme::kSpaceSm * scale, 0));
        ImGui::PushStyleVar(ImGuiStyleVar_FrameRounding, theme::kRadiusSm * scale);
        vars = 2;
    }
    ~ButtonLook() {
        ImGui::PopStyleVar(vars);
        ImGui::PopStyleColor(colors);
    }
};

// The circle with an icon that heads the empty and error states.
void state_icon(const char* glyph, const ImVec4& bg, const ImVec4& fg, float width, float scale) {
    const float d = kStateIcon * scale;
    ImGui::SetCursorPosX(ImGui::GetCursorPosX() + std::max(0.0f, (width - d) * 0.5f));
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddCircleFilled(ImVec2(p.x + d * 0.5f, p.y + d * 0.5f), d * 0.5f, u32(bg), 32);
    const float size = ImGui::GetFontSize() * 1.25f;
    const ImVec2 ts = label_size(glyph, size);
    dl->AddText(ImGui::GetFont(), size, ImVec2(p.x + (d - ts.x) * 0.5f, p.y + (d - ts.y) * 0.5f), u32(fg), glyph);
    ImGui::Dummy(ImVec2(d, d));
}

// A soft shadow around a floating card: rings outside its rect, fading out.
void card_shadow(ImVec2 a, ImVec2 b, float rounding, float scale, bool light) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const float spread = 6 * scale;
    dl->PushClipRect(ImVec2(a.x - spread, a.y - spread), ImVec2(b.x + spread, b.y + spread), false);
    const int steps = 6;
    for (int i = 1; i <= steps; ++i) {
        const float o = spread * static_cast<float>(i) / steps;
        const float alpha = (light ? 0.05f : 0.14f) * (1.0f - static_cast<float>(i - 1) / steps);
        dl->AddRect(ImVec2(a.x - o, a.y - o + scale), ImVec2(b.x + o, b.y + o + scale), u32(ImVec4(0, 0, 0, 1), alpha),
                    rounding + o, ImDrawFlags_RoundCornersAll, spread / steps);
    }
    dl->PopClipRect();
}

} // namespace

std::string badge_text(uint64_t unread) {
    if (unread == 0) return "";
    if (unread > kBadgeCap) return std::to_string(kBadgeCap) + "+";
    return std::to_string(unread);
}

//-----------------------------------------------------------------------------
// [SECTION] bell
//-----------------------------------------------------------------------------

void draw_bell(const notify::NotificationCenter& center, FeedViewState& st) {
    const theme::Palette& p = palette();
    const float s = st.scale;
    const uint64_t unread = center.feed().unread();
    st.badge = badge_text(unread);
    ImFont* font = ImGui::GetFont();
    const float line = ImGui::GetTextLineHeight();  // the header's small buttons are one line tall
    const float pad = ImGui::GetStyle().FramePadding.x;
    const ImVec2 icon = label_size(theme::icon::kBell, ImGui::GetFontSize());
    // The badge: a pill over the bell's top-right corner.
    const float badge_size = theme::kTypeSmall * s * 0.85f;
    const ImVec2 bt = st.badge.empty() ? ImVec2(0, 0) : label_size(st.badge.c_str(), badge_size);
    const float badge_h = badge_size + 3 * s;
    const float badge_w = st.badge.empty() ? 0.0f : std::max(badge_h, bt.x + theme::kSpaceXs * s * 1.5f);
    const float overlap = std::min(badge_w * 0.5f, icon.x * 0.4f);  // the bell stays visible under "99+"
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    const ImVec2 size(pad * 2 + icon.x + (badge_w - overlap > 0 ? badge_w - overlap : 0.0f), line);
    if (ImGui::InvisibleButton("##bell", size)) st.open = !st.open;
    target("bell");
    const bool hovered = ImGui::IsItemHovered(), active = ImGui::IsItemActive();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 end = ImGui::GetItemRectMax();
    if (active || hovered || st.open)
        dl->AddRectFilled(pos, end, u32(active ? mix(p.raised, p.text, 0.12f) : p.raised), theme::kRadiusSm * s);
    const ImVec2 icon_at(pos.x + pad, pos.y + (line - icon.y) * 0.5f);
    dl->AddText(font, ImGui::GetFontSize(), icon_at, u32(st.open ? p.accent : p.text), theme::icon::kBell);
    if (!st.badge.empty()) {
        const ImVec2 a(icon_at.x + icon.x - overlap, pos.y - 2 * s), b(a.x + badge_w, a.y + badge_h);
        const float r = badge_h * 0.5f;
        // A ring in the background colour keeps the pill apart from the glyph under it.
        dl->AddRectFilled(ImVec2(a.x - s, a.y - s), ImVec2(b.x + s, b.y + s), u32(p.bg), r + s);
        dl->AddRectFilled(a, b, u32(p.badge), r);
        dl->AddText(font, badge_size, ImVec2(a.x + (badge_w - bt.x) * 0.5f, a.y + (badge_h - bt.y) * 0.5f), u32(p.on_badge),
                    st.badge.c_str());
        add_target("bell-badge", a, b);
    }
    if (hovered) {
        if (unread == 0) ImGui::SetTooltip("Notifications");
        else ImGui::SetTooltip("Notifications: %llu unread", static_cast<unsigned long long>(unread));
    }
}

//-----------------------------------------------------------------------------
// [SECTION] feed
//-----------------------------------------------------------------------------

namespace {

// One notification: a rounded row (tinted while unread) with the dot, the title and the time on
// the first line, the body under it, then the buttons.
void draw_item(const notify::Item& it, FeedViewState& st, float width, int64_t wall_ms) {
    const theme::Palette& p = palette();
    const float s = st.scale;
    const float pad = theme::kSpaceSm * s, dot_col = theme::kSpaceLg * s;
    const float size = ImGui::GetFontSize(), small = theme::kTypeSmall * s;
    const float inner = std::max(40 * s, width - pad * 2 - dot_col);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImGui::PushID(it.id.c_str());
    const ImVec2 top = ImGui::GetCursorScreenPos();
    dl->ChannelsSplit(2);  // 0: the row's background, sized once its content is laid out
    dl->ChannelsSetCurrent(1);
    ImGui::SetCursorScreenPos(ImVec2(top.x + pad + dot_col, top.y + pad));
    ImGui::BeginGroup();

    // Title (user content, through the port): brighter and bolder while unread.
    const std::string when = theme::format_relative(it.createdAt, wall_ms);
    const ImVec2 when_size = label_size(when.c_str(), small);
    const float title_room = std::max(40 * s, inner - when_size.x - theme::kSpaceSm * s);
    const std::string title = text_port().ellipsize(it.title, size, title_room);
    const ImVec2 title_at = ImGui::GetCursorScreenPos();
    const ImU32 title_col = u32(it.read ? mix(p.text, p.muted, 0.45f) : p.text);
    text(title, title_col);
    const float line_h = ImGui::GetItemRectSize().y;
    if (!it.read) text_port().draw(dl, ImVec2(title_at.x + std::max(1.0f, 0.6f * s), title_at.y), title, size, title_col, 0);

    // The unread dot, centred on the title's line in its own column.
    if (!it.read) {
        const ImVec2 c(top.x + pad + dot_col * 0.5f - 1 * s, title_at.y + line_h * 0.5f);
        const float r = kDot * s * 0.5f;
        dl->AddCircleFilled(c, r, u32(p.accent), 16);
        add_target("feed-unread:" + it.id, ImVec2(c.x - r, c.y - r), ImVec2(c.x + r, c.y + r));
    }

    // The time at the right edge; the full date and time on hover.
    const ImVec2 when_at(title_at.x + inner - when_size.x, title_at.y + (line_h - when_size.y) * 0.5f);
    const ImVec2 when_end(when_at.x + when_size.x, when_at.y + when_size.y);
    dl->AddText(ImGui::GetFont(), small, when_at, u32(p.muted), when.c_str());
    add_target("feed-time:" + it.id, when_at, when_end);
    if (ImGui::IsWindowHovered() && ImGui::IsMouseHoveringRect(when_at, when_end))
        ImGui::SetTooltip("%s", theme::format_full(it.createdAt).c_str());

    if (!it.body.empty()) text_wrapped(it.body, inner, u32(it.read ? p.muted : mix(p.text, p.muted, 0.3f)));

    // Buttons: the action link (primary), mark read (while unread), archive; they flow onto a
    // second line when the panel is narrow. A ghost button's label lines up with the text above.
    ImGui::Dummy(ImVec2(0, theme::kSpaceXs * s * 0.5f));
    const float frame_pad = theme::kSpaceSm * s, right = title_at.x + inner;
    bool first = true;
    auto place = [&](float w, bool ghost) {
        bool line_start = first;
        if (!first) {
            ImGui::SameLine(0, theme::kSpaceXs * s);
            if (ImGui::GetCursorScreenPos().x + w > right) ImGui::NewLine(), line_start = true;
        }
        if (line_start && ghost) ImGui::SetCursorPosX(ImGui::GetCursorPosX() - frame_pad);
        first = false;
    };
    if (!it.actionLabel.empty()) {
        const std::string action = text_port().ellipsize(it.actionLabel, size, std::min(220 * s, inner * 0.6f));
        place(text_port().measure(action, size, 0).x + frame_pad * 2, false);
        ButtonLook look(p, true, s);
        if (text_button("##action", action)) {
            st.open_url = it.actionLink;
            if (!it.read) st.intents.push_back({FeedIntent::Kind::MarkRead, it.id});
        }
        target("feed-action:" + it.id);
    }
    ButtonLook look(p, false, s);
    if (!it.read) {
        const std::string mark = std::string(theme::icon::kCheck) + " Mark read";
        place(ImGui::CalcTextSize(mark.c_str()).x + frame_pad * 2, true);
        if (ImGui::Button(mark.c_str())) st.intents.push_back({FeedIntent::Kind::MarkRead, it.id});
        target("mark-read:" + it.id);
    }
    const std::string archive = std::string(theme::icon::kArchive) + " Archive";
    place(ImGui::CalcTextSize(archive.c_str()).x + frame_pad * 2, true);
    if (ImGui::Button(archive.c_str())) st.intents.push_back({FeedIntent::Kind::Archive, it.id});
    target("archive:" + it.id);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Hide it from the feed");
    ImGui::EndGroup();

    const float bottom = ImGui::GetItemRectMax().y + pad;
    const ImVec2 row_end(top.x + width, bottom);
    dl->ChannelsSetCurrent(0);
    const bool hovered = ImGui::IsWindowHovered() && ImGui::IsMouseHoveringRect(top, row_end);
    if (!it.read) dl->AddRectFilled(top, row_end, u32(p.accent, hovered ? 0.14f : 0.08f), theme::kRadiusMd * s);
    else if (hovered) dl->AddRectFilled(top, row_end, u32(p.raised), theme::kRadiusMd * s);
    dl->ChannelsMerge();
    // The row's space in the list (the group above already laid out its items).
    ImGui::SetCursorScreenPos(top);
    ImGui::Dummy(ImVec2(width, bottom - top.y));
    add_target("feed-item:" + it.id, top, row_end);
    if (!st.focus.empty() && st.focus != st.focus_shown && st.focus.size() > it.id.size() &&
        st.focus.compare(st.focus.size() - it.id.size(), it.id.size(), it.id) == 0 && st.focus[st.focus.size() - it.id.size() - 1] == ':') {
        ImGui::SetScrollHereY(0.5f);  // the keyboard focus is on this item: bring it into view
        st.focus_shown = st.focus;
    }
    ImGui::PopID();
}

// Nothing to show: "You're all caught up".
void empty_state(FeedViewState& st, float width) {
    const theme::Palette& p = palette();
    const float s = st.scale;
    ImGui::Dummy(ImVec2(0, theme::kSpaceXl * s * 2));
    state_icon(theme::icon::kCheck, p.raised, p.success, width, s);
    ImGui::Dummy(ImVec2(0, theme::kSpaceSm * s));
    label_centred("You're all caught up", theme::kTypeTitle * s, u32(p.text), width);
    target("feed-empty");
    label_centred("New notifications will show up here.", theme::kTypeSmall * s, u32(p.muted), width);
}

// The first page failed to load: what went wrong, and Retry.
void error_state(const notify::NotificationCenter& center, FeedViewState& st, float width) {
    const theme::Palette& p = palette();
    const float s = st.scale;
    ImGui::Dummy(ImVec2(0, theme::kSpaceXl * s * 2));
    state_icon(theme::icon::kAlert, p.raised, p.danger, width, s);
    ImGui::Dummy(ImVec2(0, theme::kSpaceSm * s));
    label_centred("Something went wrong", theme::kTypeTitle * s, u32(p.text), width);
    target("feed-error");
    // The server's message may quote anything: the text port draws it.
    const float msg_w = std::min(width, text_port().measure(center.error(), ImGui::GetFontSize(), width).x);
    ImGui::SetCursorPosX(ImGui::GetCursorPosX() + (width - msg_w) * 0.5f);
    text_wrapped(center.error(), msg_w + 1, u32(p.muted));
    ImGui::Dummy(ImVec2(0, theme::kSpaceSm * s));
    if (st.retry) {
        const std::string lbl = std::string(theme::icon::kRetry) + " Retry";
        const float bw = ImGui::CalcTextSize(lbl.c_str()).x + theme::kSpaceSm * s * 2;
        ImGui::SetCursorPosX(ImGui::GetCursorPosX() + std::max(0.0f, (width - bw) * 0.5f));
        ButtonLook look(p, true, s);
        if (ImGui::Button(lbl.c_str()) && !center.loading()) st.intents.push_back({FeedIntent::Kind::Retry});
        target("feed-retry");
    } else {
        label_centred("It is fetched again when the connection comes back.", theme::kTypeSmall * s, u32(p.muted), width);
    }
}

void feed_header(const notify::NotificationCenter& center, FeedViewState& st, float width) {
    const theme::Palette& p = palette();
    const float s = st.scale;
    const uint64_t unread = center.feed().unread();
    const float line = ImGui::GetTextLineHeight();
    const float title_size = theme::kTypeTitle * s;
    const ImVec2 start = ImGui::GetCursorScreenPos();
    label("Notifications", title_size, u32(p.text));
    if (unread > 0) {
        // "3 new" as a quiet pill next to the title.
        const std::string n = badge_text(unread) + " new";
        const float small = theme::kTypeSmall * s;
        const ImVec2 ts = label_size(n.c_str(), small);
        ImGui::SameLine(0, theme::kSpaceSm * s);
        const ImVec2 a = ImGui::GetCursorScreenPos();
        const float h = ts.y + 2 * s, w = ts.x + theme::kSpaceSm * s * 1.5f;
        const ImVec2 at(a.x, start.y + (title_size - h) * 0.5f + s);
        ImDrawList* dl = ImGui::GetWindowDrawList();
        dl->AddRectFilled(at, ImVec2(at.x + w, at.y + h), u32(p.accent, 0.15f), h * 0.5f);
        dl->AddText(ImGui::GetFont(), small, ImVec2(at.x + (w - ts.x) * 0.5f, at.y + s), u32(link_color(p)), n.c_str());
        ImGui::Dummy(ImVec2(w, h));
    }
    // Right edge: "Mark all read" and close.
    const std::string all = std::string(theme::icon::kCheck) + " Mark all read";
    const float close_w = ImGui::CalcTextSize(theme::icon::kClose).x + theme::kSpaceSm * s * 2;
    const float all_w = ImGui::CalcTextSize(all.c_str()).x + theme::kSpaceSm * s * 2;
    const float y = start.y + (title_size - line) * 0.5f;
    ButtonLook look(p, false, s);
    ImGui::SetCursorScreenPos(ImVec2(start.x + width - close_w - all_w - theme::kSpaceXs * s, y));
    ImGui::BeginDisabled(unread == 0);
    if (ImGui::Button(all.c_str())) st.intents.push_back({FeedIntent::Kind::MarkAllRead});
    ImGui::EndDisabled();
    target("mark-all-read");
    ImGui::SameLine(0, theme::kSpaceXs * s);
    if (ImGui::Button(theme::icon::kClose)) st.open = false;
    target("feed-close");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Close (Esc)");
    ImGui::SetCursorScreenPos(ImVec2(start.x, std::max(start.y + title_size, y + line) + theme::kSpaceSm * s));
    ImGui::Dummy(ImVec2(width, 0));
}

} // namespace

void draw_feed(const notify::NotificationCenter& center, FeedViewState& st, float display_w, float display_h, uint64_t now_ms, int64_t wall_ms) {
    if (!st.open) return;
    const int64_t wall = wall_ms >= 0 ? wall_ms : static_cast<int64_t>(now_ms);
    // Esc closes the panel (unless an ImGui popup is open: Esc is that popup's).
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false) && !ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId)) {
        st.open = false;
        return;
    }
    const theme::Palette& p = palette();
    const bool light = &p == &theme::palette(true);
    const float s = st.scale;
    const float margin = theme::kSpaceSm * s;
    const float w = std::min(display_w - 2 * margin, kPanelWidth * s);
    const float h = std::min(display_h - kPanelTop * s - margin, kPanelHeight * s);
    ImGui::SetNextWindowPos(ImVec2(display_w - w - margin, kPanelTop * s));
    ImGui::SetNextWindowSize(ImVec2(w, h));
    ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, theme::kRadiusLg * s);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 1.0f);
    ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(theme::kSpaceMd * s, theme::kSpaceMd * s));
    ImGui::PushStyleColor(ImGuiCol_WindowBg, p.surface);
    ImGui::PushStyleColor(ImGuiCol_Border, p.border);
    const bool visible = ImGui::Begin("Notifications", nullptr,
                                      ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove |
                                          ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoScrollbar);
    ImGui::PopStyleColor(2);
    ImGui::PopStyleVar(3);
    if (!visible) {
        ImGui::End();
        return;
    }
    card_shadow(ImGui::GetWindowPos(), ImVec2(ImGui::GetWindowPos().x + w, ImGui::GetWindowPos().y + h), theme::kRadiusLg * s, s, light);
    const float width = ImGui::GetContentRegionAvail().x;
    feed_header(center, st, width);
    const auto items = center.feed().ordered();
    const bool failed = !center.error().empty();
    if (failed && !items.empty()) {
        // A refresh failed: the list stays (still useful), with a strip that says so.
        const ImU32 danger = u32(p.danger);
        ImGui::PushStyleColor(ImGuiCol_Text, p.danger);
        ImGui::TextUnformatted(theme::icon::kAlert);
        ImGui::PopStyleColor();
        ImGui::SameLine();
        const float retry_w = st.retry ? ImGui::CalcTextSize("Retry").x + theme::kSpaceSm * s * 3 : 0.0f;
        text_ellipsized(center.error(), std::max(40 * s, ImGui::GetContentRegionAvail().x - retry_w), danger);
        target("feed-error");
        if (st.retry) {
            ImGui::SameLine();
            ButtonLook look(p, false, s);
            if (ImGui::Button("Retry") && !center.loading()) st.retry();
            target("feed-retry");
        }
    }
    ImGui::PushStyleColor(ImGuiCol_Separator, p.border);
    ImGui::Separator();
    ImGui::PopStyleColor();

    ImGui::BeginChild("feed-items");
    const float list_w = ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ScrollbarSize;
    if (items.empty()) {
        if (failed) {
            error_state(center, st, list_w);
        } else if (!center.feed().loaded()) {
            ImGui::Dummy(ImVec2(0, theme::kSpaceXl * s * 2));
            label_centred((std::string(theme::icon::kClock) + "  Loading notifications...").c_str(), theme::kTypeBody * s, u32(p.muted), list_w);
            target("feed-loading");
        } else {
            empty_state(st, list_w);
        }
    }
    int64_t day = std::numeric_limits<int64_t>::min();
    for (const notify::Item* it : items) {
        // A header for each day: "Today", "Yesterday", then the date (newest first).
        const int64_t d = theme::local_day(it->createdAt);
        if (d != day) {
            day = d;
            ImGui::Dummy(ImVec2(0, theme::kSpaceXs * s));
            const std::string name = theme::format_day_label(it->createdAt, wall);
            ImGui::SetCursorPosX(ImGui::GetCursorPosX() + theme::kSpaceSm * s);
            label(name.c_str(), theme::kTypeSmall * s, u32(p.muted));
            target("feed-day:" + name);
        }
        draw_item(*it, st, list_w, wall);
    }
    if (center.feed().next_cursor()) {
        ImGui::Dummy(ImVec2(0, theme::kSpaceXs * s));
        if (center.loading()) {
            label_centred("Loading older...", theme::kTypeSmall * s, u32(p.muted), list_w);
        } else {
            const char* older = "Load older";
            const float bw = ImGui::CalcTextSize(older).x + theme::kSpaceSm * s * 2;
            ImGui::SetCursorPosX(ImGui::GetCursorPosX() + std::max(0.0f, (list_w - bw) * 0.5f));
            ButtonLook look(p, false, s);
            if (ImGui::Button(older)) st.intents.push_back({FeedIntent::Kind::LoadOlder});
        }
        target("feed-older");
        // Reaching the end of the list loads the next page as well.
        if (ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 2 && ImGui::GetScrollMaxY() > 0)
            st.intents.push_back({FeedIntent::Kind::LoadOlder});
    } else if (!items.empty() && center.feed().loaded()) {
        ImGui::Dummy(ImVec2(0, theme::kSpaceSm * s));
        label_centred("That's everything.", theme::kTypeSmall * s, u32(p.muted), list_w);
    }
    ImGui::EndChild();
    ImGui::End();
}

//-----------------------------------------------------------------------------
// [SECTION] toasts
//-----------------------------------------------------------------------------

void draw_toasts(const notify::NotificationCenter& center, FeedViewState& st, float display_w, float display_h, uint64_t now_ms, int64_t wall_ms) {
    // Top right under the header (the page's composer sits at the bottom), newest first. Not
    // while the feed is open: the item is at the top of its list.
    (void)display_h;
    if (st.open) return;
    const theme::Palette& p = palette();
    const bool light = &p == &theme::palette(true);
    const float s = st.scale;
    const auto toasts = center.toasts(now_ms);  // expiry: the scheduler's clock
    const int64_t wall = wall_ms >= 0 ? wall_ms : static_cast<int64_t>(now_ms);
    float y = kToastTop * s;
    int i = 0;
    for (auto t = toasts.rbegin(); t != toasts.rend(); ++t, ++i) {
        const float w = std::min(display_w - 2 * theme::kSpaceMd * s, kToastWidth * s);
        ImGui::SetNextWindowPos(ImVec2(display_w - theme::kSpaceMd * s, y), ImGuiCond_Always, ImVec2(1, 0));
        ImGui::SetNextWindowSize(ImVec2(w, 0));
        ImGui::PushStyleVar(ImGuiStyleVar_WindowRounding, theme::kRadiusLg * s);
        ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 1.0f);
        ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(theme::kSpaceMd * s, theme::kSpaceMd * s));
        ImGui::PushStyleColor(ImGuiCol_WindowBg, p.surface);
        ImGui::PushStyleColor(ImGuiCol_Border, p.border);
        char name[64];
        std::snprintf(name, sizeof name, "##toast%d", i);
        ImGui::Begin(name, nullptr,
                     ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoFocusOnAppearing |
                         ImGuiWindowFlags_NoNav | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings);
        ImGui::PopStyleColor(2);
        ImGui::PopStyleVar(3);
        card_shadow(ImGui::GetWindowPos(), ImVec2(ImGui::GetWindowPos().x + ImGui::GetWindowWidth(), ImGui::GetWindowPos().y + ImGui::GetWindowHeight()),
                    theme::kRadiusLg * s, s, light);
        ImDrawList* dl = ImGui::GetWindowDrawList();

        // Icon: the bell on an accent circle.
        const float d = theme::kAvatar * s * 0.8f;
        const ImVec2 at = ImGui::GetCursorScreenPos();
        dl->AddCircleFilled(ImVec2(at.x + d * 0.5f, at.y + d * 0.5f), d * 0.5f, u32(p.accent), 24);
        const ImVec2 is = label_size(theme::icon::kBell, ImGui::GetFontSize());
        dl->AddText(ImGui::GetFont(), ImGui::GetFontSize(), ImVec2(at.x + (d - is.x) * 0.5f, at.y + (d - is.y) * 0.5f), u32(p.on_accent),
                    theme::icon::kBell);
        ImGui::Dummy(ImVec2(d, d));
        ImGui::SameLine(0, theme::kSpaceMd * s);

        // Title and relative time on one line, then at most three lines of body.
        const float col_w = w - theme::kSpaceMd * s * 2 - d - theme::kSpaceMd * s;
        const notify::Item* item = center.feed().find(t->id);
        const std::string when = item ? theme::format_relative(item->createdAt, wall) : std::string("now");
        const float small = theme::kTypeSmall * s;
        const ImVec2 ws = label_size(when.c_str(), small);
        ImGui::BeginGroup();
        const ImVec2 title_at = ImGui::GetCursorScreenPos();
        text_ellipsized(t->title, std::max(40 * s, col_w - ws.x - theme::kSpaceSm * s), u32(p.text));
        const float line_h = ImGui::GetItemRectSize().y;
        dl->AddText(ImGui::GetFont(), small, ImVec2(title_at.x + col_w - ws.x, title_at.y + (line_h - ws.y) * 0.5f), u32(p.muted), when.c_str());
        if (!t->body.empty()) {
            // At most three lines: a toast is a glance, the feed has the rest.
            std::string body = t->body;
            const float size = ImGui::GetFontSize();
            if (text_port().measure(body, size, col_w).y > size * 3.6f) body = text_port().ellipsize(body, size, col_w * 2.5f);
            text_wrapped(body, col_w, u32(p.muted));
        }
        ImGui::Dummy(ImVec2(0, theme::kSpaceXs * s * 0.5f));
        {
            ButtonLook look(p, false, s);
            ImGui::PushStyleColor(ImGuiCol_Text, link_color(p));
            ImGui::SetCursorPosX(ImGui::GetCursorPosX() - theme::kSpaceSm * s);  // the label lines up with the text
            if (ImGui::Button("Open feed")) st.open = true;
            ImGui::PopStyleColor();
            target("toast:" + t->id);
        }
        ImGui::EndGroup();
        y += ImGui::GetWindowHeight() + theme::kSpaceSm * s;
        ImGui::End();
    }
}

bool is_feed_target(const std::string& name) {
    for (const char* p : {"mark-read:", "archive:", "feed-action:", "feed-item:"})
        if (name.rfind(p, 0) == 0) return true;
    return name == "bell" || name == "mark-all-read" || name == "feed-older" || name == "feed-retry" || name == "feed-close";
}

bool apply_feed_intents(notify::NotificationCenter& center, FeedViewState& st) {
    if (st.intents.empty()) return false;
    std::vector<FeedIntent> todo;
    todo.swap(st.intents);
    for (const auto& i : todo) {
        using K = FeedIntent::Kind;
        switch (i.kind) {
        case K::MarkRead: center.mark_read(i.id); break;
        case K::Archive: center.archive(i.id); break;
        case K::MarkAllRead: center.mark_all_read(); break;
        case K::LoadOlder: center.load_older(); break;
        case K::Retry: if (st.retry && !center.loading()) st.retry(); break;
        }
    }
    return true;
}

bool feed_action(const notify::NotificationCenter& center, FeedViewState& st, const std::string& name) {
    const auto rest = [&](const char* prefix) -> std::string {
        const std::size_t n = std::char_traits<char>::length(prefix);
        return name.size() > n && name.compare(0, n, prefix) == 0 ? name.substr(n) : std::string();
    };
    if (name == "bell") {
        st.open = !st.open;
    } else if (const std::string id = rest("mark-read:"); !id.empty()) {
        st.intents.push_back({FeedIntent::Kind::MarkRead, id});
    } else if (const std::string aid = rest("archive:"); !aid.empty()) {
        st.intents.push_back({FeedIntent::Kind::Archive, aid});
    } else if (const std::string fid = rest("feed-action:"); !fid.empty()) {
        for (const notify::Item* it : center.feed().ordered())
            if (it->id == fid && !it->actionLink.empty()) {
                st.open_url = it->actionLink;
                if (!it->read) st.intents.push_back({FeedIntent::Kind::MarkRead, it->id});
                return true;
            }
        return false;
    } else if (name == "mark-all-read") {
        st.intents.push_back({FeedIntent::Kind::MarkAllRead});
    } else if (name == "feed-older") {
        st.intents.push_back({FeedIntent::Kind::LoadOlder});
    } else if (name == "feed-retry") {
        if (!st.retry || center.loading()) return false;
        st.intents.push_back({FeedIntent::Kind::Retry});
    } else if (name == "feed-close") {
        st.open = false;
    } else if (name == "escape") {
        if (!st.open) return false;
        st.open = false;
    } else {
        return false;
    }
    return true;
}

} // namespace ui
