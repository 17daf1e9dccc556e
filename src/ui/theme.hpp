// theme.hpp - the panel's design tokens in one place: spacing scale, radii, type sizes, the light
// and dark palettes (body text at 4.5:1 or better, checked by tests/ui/theme_test.cpp), avatars,
// icons, and the time formats the views show.
//
// Sizes are CSS pixels; multiply by the view's scale (device pixels per CSS pixel) to draw.
#pragma once

#include <imgui.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ui::theme {

// Spacing scale (4 px grid) and radii.
constexpr float kSpaceXs = 4, kSpaceSm = 8, kSpaceMd = 12, kSpaceLg = 16, kSpaceXl = 24;
constexpr float kRadiusSm = 4, kRadiusMd = 8, kRadiusLg = 12;
// Type sizes: body (ImGui's font and message text), small (times, previews, hints), title.
constexpr float kTypeBody = 16, kTypeSmall = 13, kTypeTitle = 17;
// Message rows: avatar diameter and the column the text starts at.
constexpr float kAvatar = 32, kGutter = 44;
// Consecutive messages of one sender closer than this share one header.
constexpr int64_t kGroupWindowMs = 5 * 60 * 1000;

struct Palette {
    ImVec4 bg;           // the panel
    ImVec4 surface;      // sidebar, feed, cards
    ImVec4 raised;       // hover, inputs
    ImVec4 own;          // the row tint of one's own messages
    ImVec4 text;         // body text
    ImVec4 muted;        // times, previews, hints (still 4.5:1 on bg and surface)
    ImVec4 border;
    ImVec4 accent;       // primary buttons, selection, links
    ImVec4 on_accent;    // text on accent
    ImVec4 selected;     // the open conversation's row
    ImVec4 danger;       // failed sends, errors
    ImVec4 success;      // "Live"
    ImVec4 warning;      // reconnecting
    ImVec4 badge;        // unread counts
    ImVec4 on_badge;
    ImVec4 focus;        // keyboard focus ring (3:1 on bg at least)
    ImVec4 new_divider;  // the "New messages" line
};
const Palette& palette(bool light);

// Applies the palette and the token sizes to ImGui's style (scale: device px per CSS px).
void apply(bool light, float scale);

// WCAG 2 relative luminance and contrast ratio (1..21) of two opaque colours.
double luminance(const ImVec4& c);
double contrast(const ImVec4& a, const ImVec4& b);

// Avatars: initials on a colour derived from the user id (stable across sessions and devices).
constexpr int kAvatarColors = 8;
ImVec4 avatar_color(std::string_view user_id);  // white initials are 4.5:1 or better on each
// Up to two initials: the first grapheme of the first two words ("Alice Smith" -> "AS",
// "bob" -> "B", "李小龍" -> "李"); ASCII letters upper-cased.
std::string initials(std::string_view name);
// Draws the avatar circle with its initials (through the text port) at the cursor.
void avatar(std::string_view user_id, std::string_view name, float diameter);

// Icons: Fork Awesome glyphs merged into ImGui's font (subset at build time from Debian's
// fonts-fork-awesome; see src/app/CMakeLists.txt). Private-use code points, UTF-8 encoded.
namespace icon {
constexpr const char* kBell = "\xef\x83\xb3";         // U+F0F3
constexpr const char* kPaperclip = "\xef\x83\x86";    // U+F0C6
constexpr const char* kSend = "\xef\x87\x98";         // U+F1D8 paper plane
constexpr const char* kClose = "\xef\x80\x8d";        // U+F00D
constexpr const char* kRetry = "\xef\x80\xa1";        // U+F021
constexpr const char* kCopy = "\xef\x83\x85";         // U+F0C5
constexpr const char* kAlert = "\xef\x81\xaa";        // U+F06A exclamation-circle
constexpr const char* kClock = "\xef\x80\x97";        // U+F017
constexpr const char* kCheck = "\xef\x80\x8c";        // U+F00C
constexpr const char* kExternal = "\xef\x82\x8e";     // U+F08E
constexpr const char* kComments = "\xef\x82\x86";     // U+F086
constexpr const char* kSearch = "\xef\x80\x82";       // U+F002
constexpr const char* kPlus = "\xef\x81\xa7";         // U+F067
constexpr const char* kArchive = "\xef\x86\x87";      // U+F187
constexpr const char* kChat = "\xef\x81\xb5";         // U+F075 comment
constexpr const char* kPencil = "\xef\x81\x80";       // U+F040
constexpr const char* kTrash = "\xef\x87\xb8";        // U+F1F8
constexpr const char* kSmile = "\xef\x84\x98";        // U+F118 (add a reaction)
constexpr const char* kReply = "\xef\x84\x92";        // U+F112 reply
}  // namespace icon
// The code points above, for the font loader (pairs, 0-terminated, as ImGui wants them).
const ImWchar* icon_ranges();

// Times as the views show them, in the viewer's local time (the platform sets the offset; UTC
// until it does).
void set_utc_offset_minutes(int minutes);
std::string format_time(int64_t unix_ms);                    // "14:05"
std::string format_full(int64_t unix_ms);                    // "Sat 28 Nov 2026, 14:05" (hover)
std::string format_day_label(int64_t unix_ms, int64_t now_ms);  // "Today", "Yesterday", "Mon 23 Nov 2026"
std::string format_relative(int64_t unix_ms, int64_t now_ms);   // "now", "5 min", "14:05", "Yesterday", "23 Nov"
int64_t local_day(int64_t unix_ms);                          // days since the epoch, local time

}  // namespace ui::theme
