// theme.cpp - design tokens, palettes, avatars, icons and time formats (see theme.hpp).
#include "theme.hpp"
#include "text.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace ui::theme {

namespace {

ImVec4 rgb(unsigned hex, float a = 1.0f) {
    return ImVec4(((hex >> 16) & 0xFF) / 255.0f, ((hex >> 8) & 0xFF) / 255.0f, (hex & 0xFF) / 255.0f, a);
}

// Dark: Slack's and Telegram's night palettes as the anchor; light: near-white with one blue accent.
const Palette kDark{
    rgb(0x1A1D21),  // bg
    rgb(0x222529),  // surface
    rgb(0x2C3036),  // raised
    rgb(0x1F2A37),  // own
    rgb(0xE8EAED),  // text
    rgb(0xA4A9B0),  // muted
    rgb(0x3A3F46),  // border
    rgb(0x1D6FD6),  // accent
    rgb(0xFFFFFF),  // on_accent
    rgb(0x1B4F8F),  // selected
    rgb(0xFF7B72),  // danger
    rgb(0x56D364),  // success
    rgb(0xE3B341),  // warning
    rgb(0xD1242F),  // badge
    rgb(0xFFFFFF),  // on_badge
    rgb(0x79B8FF),  // focus
    rgb(0xFF7B72),  // new_divider
};
const Palette kLight{
    rgb(0xFFFFFF),  // bg
    rgb(0xF4F5F7),  // surface
    rgb(0xE9EBEE),  // raised
    rgb(0xEEF4FC),  // own
    rgb(0x1D1C1D),  // text
    rgb(0x5C6168),  // muted
    rgb(0xD0D4D9),  // border
    rgb(0x1264A3),  // accent
    rgb(0xFFFFFF),  // on_accent
    rgb(0xCFE2F7),  // selected
    rgb(0xC0362C),  // danger
    rgb(0x1A7F37),  // success
    rgb(0x8A5A00),  // warning
    rgb(0xC9252D),  // badge
    rgb(0xFFFFFF),  // on_badge
    rgb(0x0B5CAD),  // focus
    rgb(0xC0362C),  // new_divider
};

// Avatar colours: mid-dark hues, each with white initials at 4.5:1 or better.
const ImVec4 kAvatarPalette[kAvatarColors] = {
    rgb(0x1F6FB2), rgb(0x2E7D32), rgb(0xB3261E), rgb(0x6A1B9A),
    rgb(0xA14A00), rgb(0x00796B), rgb(0xAD1457), rgb(0x455A64),
};

const ImWchar kIconRanges[] = {
    0xF002, 0xF002, 0xF00C, 0xF00D, 0xF017, 0xF017, 0xF021, 0xF021, 0xF040, 0xF040, 0xF067, 0xF067,
    0xF06A, 0xF06A, 0xF075, 0xF075, 0xF086, 0xF086, 0xF08E, 0xF08E, 0xF0C5, 0xF0C6, 0xF0F3, 0xF0F3,
    0xF112, 0xF112, 0xF118, 0xF118, 0xF187, 0xF187, 0xF1D8, 0xF1D8, 0xF1F8, 0xF1F8, 0,
};

int g_utc_offset_min = 0;

std::tm local_tm(int64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000 + int64_t{g_utc_offset_min} * 60);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm;
}

double channel(float c) { return c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }

}  // namespace

const Palette& palette(bool light) { return light ? kLight : kDark; }

void apply(bool light, float scale) {
    const Palette& p = palette(light);
    ImGuiStyle s;
    if (light) ImGui::StyleColorsLight(&s); else ImGui::StyleColorsDark(&s);
    ImVec4* c = s.Colors;
    auto mix = [](ImVec4 a, ImVec4 b, float t) { return ImVec4(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, a.z + (b.z - a.z) * t, 1); };
    c[ImGuiCol_Text] = p.text;
    c[ImGuiCol_TextDisabled] = p.muted;
    c[ImGuiCol_WindowBg] = p.bg;
    c[ImGuiCol_ChildBg] = ImVec4(0, 0, 0, 0);
    c[ImGuiCol_PopupBg] = p.surface;
    c[ImGuiCol_Border] = p.border;
    c[ImGuiCol_BorderShadow] = ImVec4(0, 0, 0, 0);
    c[ImGuiCol_FrameBg] = p.raised;
    c[ImGuiCol_FrameBgHovered] = mix(p.raised, p.text, 0.08f);
    c[ImGuiCol_FrameBgActive] = mix(p.raised, p.text, 0.14f);
    c[ImGuiCol_Button] = p.raised;
    c[ImGuiCol_ButtonHovered] = mix(p.raised, p.text, 0.10f);
    c[ImGuiCol_ButtonActive] = mix(p.raised, p.text, 0.18f);
    c[ImGuiCol_Header] = p.selected;
    c[ImGuiCol_HeaderHovered] = mix(p.bg, p.text, 0.07f);
    c[ImGuiCol_HeaderActive] = p.selected;
    c[ImGuiCol_ScrollbarBg] = ImVec4(0, 0, 0, 0);
    c[ImGuiCol_ScrollbarGrab] = p.border;
    c[ImGuiCol_ScrollbarGrabHovered] = mix(p.border, p.text, 0.2f);
    c[ImGuiCol_ScrollbarGrabActive] = mix(p.border, p.text, 0.3f);
    c[ImGuiCol_Separator] = p.border;
    c[ImGuiCol_CheckMark] = p.accent;
    c[ImGuiCol_NavHighlight] = p.focus;
    c[ImGuiCol_TextSelectedBg] = ImVec4(p.accent.x, p.accent.y, p.accent.z, 0.35f);
    s.WindowPadding = ImVec2(kSpaceMd, kSpaceMd);
    s.FramePadding = ImVec2(kSpaceSm, kSpaceXs + 1);
    s.ItemSpacing = ImVec2(kSpaceSm, kSpaceXs + 2);
    s.ItemInnerSpacing = ImVec2(kSpaceXs + 2, kSpaceXs);
    s.ScrollbarSize = 10;
    s.WindowRounding = 0;
    s.ChildRounding = kRadiusMd;
    s.FrameRounding = kRadiusSm + 2;
    s.PopupRounding = kRadiusMd;
    s.ScrollbarRounding = kRadiusLg;
    s.GrabRounding = kRadiusSm;
    s.WindowBorderSize = 0;
    s.ChildBorderSize = 1;
    s.FrameBorderSize = 0;
    s.ScaleAllSizes(scale);
    ImGui::GetStyle() = s;
}

double luminance(const ImVec4& c) { return 0.2126 * channel(c.x) + 0.7152 * channel(c.y) + 0.0722 * channel(c.z); }

double contrast(const ImVec4& a, const ImVec4& b) {
    const double la = luminance(a), lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

ImVec4 avatar_color(std::string_view user_id) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char ch : user_id) h = (h ^ ch) * 16777619u;
    return kAvatarPalette[h % kAvatarColors];
}

std::string initials(std::string_view name) {
    std::string out;
    std::size_t i = 0;
    for (int words = 0; words < 2 && i < name.size();) {
        while (i < name.size() && (name[i] == ' ' || name[i] == '\t' || name[i] == '-' || name[i] == '_' || name[i] == '.')) ++i;
        if (i >= name.size()) break;
        // The word's first grapheme (a base with its combining marks, or an emoji sequence).
        const std::string_view rest = name.substr(i);
        std::size_t n = utf8_length_at(rest, 0);
        while (n < rest.size() && grapheme_safe_cut(rest, n) < n) n += utf8_length_at(rest, n);  // marks, joiners
        if (n > 32) n = utf8_length_at(rest, 0);  // a pile of combining marks: the base letter alone
        std::string g(rest.substr(0, n));
        if (g.size() == 1 && g[0] >= 'a' && g[0] <= 'z') g[0] = static_cast<char>(g[0] - 'a' + 'A');
        out += g;
        ++words;
        while (i < name.size() && name[i] != ' ' && name[i] != '\t' && name[i] != '-' && name[i] != '_' && name[i] != '.') ++i;
    }
    return out.empty() ? "?" : out;
}

void avatar(std::string_view user_id, std::string_view name, float diameter) {
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const float r = diameter * 0.5f;
    dl->AddCircleFilled(ImVec2(p.x + r, p.y + r), r, ImGui::ColorConvertFloat4ToU32(avatar_color(user_id)), 32);
    const std::string ini = initials(name);
    const float size = diameter * 0.42f;
    const ImVec2 ts = text_port().measure(ini, size, 0);
    text_port().draw(dl, ImVec2(p.x + r - ts.x * 0.5f, p.y + r - ts.y * 0.5f), ini, size, IM_COL32_WHITE, 0);
    ImGui::Dummy(ImVec2(diameter, diameter));
}

const ImWchar* icon_ranges() { return kIconRanges; }

void set_utc_offset_minutes(int minutes) { g_utc_offset_min = minutes; }

int64_t local_day(int64_t unix_ms) {
    const int64_t t = unix_ms + int64_t{g_utc_offset_min} * 60000;
    return t >= 0 ? t / 86400000 : (t - 86399999) / 86400000;
}

std::string format_time(int64_t unix_ms) {
    const std::tm tm = local_tm(unix_ms);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d", tm.tm_hour, tm.tm_min);
    return buf;
}

std::string format_full(int64_t unix_ms) {
    const std::tm tm = local_tm(unix_ms);
    char buf[48];
    std::strftime(buf, sizeof buf, "%a %d %b %Y, %H:%M", &tm);
    return buf;
}

std::string format_day_label(int64_t unix_ms, int64_t now_ms) {
    const int64_t d = local_day(unix_ms), today = local_day(now_ms);
    if (d == today) return "Today";
    if (d == today - 1) return "Yesterday";
    const std::tm tm = local_tm(unix_ms);
    char buf[32];
    std::strftime(buf, sizeof buf, "%a %d %b %Y", &tm);
    return buf;
}

std::string format_relative(int64_t unix_ms, int64_t now_ms) {
    const int64_t age = now_ms - unix_ms;
    if (age < 60000) return "now";  // also a clock a little behind the server's
    if (age < 3600000) return std::to_string(age / 60000) + " min";
    const int64_t d = local_day(unix_ms), today = local_day(now_ms);
    if (d == today) return format_time(unix_ms);
    if (d == today - 1) return "Yesterday";
    const std::tm tm = local_tm(unix_ms), now = local_tm(now_ms);
    char buf[32];
    if (today - d < 7) std::strftime(buf, sizeof buf, "%a", &tm);
    else if (tm.tm_year == now.tm_year) std::strftime(buf, sizeof buf, "%d %b", &tm);
    else std::strftime(buf, sizeof buf, "%d %b %Y", &tm);
    return buf;
}

}  // namespace ui::theme
