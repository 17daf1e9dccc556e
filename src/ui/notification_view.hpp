// notification_view.hpp - the bell with its unread badge, the feed panel and toasts (ImGui), in
// the look of the Novu and Knock inboxes, drawn with the design tokens of theme.hpp.
//
// Bell: the bell icon with a numeric badge ("99+" past 99); a click opens or closes the feed.
// Feed: header (title, "Mark all read", close), items grouped under "Today" / "Yesterday" / date
// headers, each with an unread dot and a bolder title while unread, its body, a relative time
// (the full date in a tooltip) and real buttons (the action link, mark read, archive); an empty
// state, a loading state and an error state (with Retry when the app provides one); older pages
// at the end of the list. Esc closes the feed.
// Toasts: the same card look; hidden while the feed is open (the item is in the list).
//
// Click targets (browser tests click them; keep the names): bell, mark-all-read, mark-read:<id>,
// archive:<id>, feed-older, toast:<id>; also feed-close, feed-action:<id>, feed-retry; the whole
// card: feed-item:<id>.
// Inspection targets (tests check presence and order): bell-badge, feed-day:<label>,
// feed-unread:<id>, feed-time:<id>, feed-empty, feed-loading, feed-error.
//
// Colours follow the light or dark palette that theme::apply() put into ImGui's style.
#pragma once

#include "core/notification_center.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ui {

// Something the user asked of the notification center, recorded by the views and applied after
// the frame (apply_feed_intents), so no request starts from draw code.
struct FeedIntent {
    enum class Kind { MarkRead, Archive, MarkAllRead, LoadOlder, Retry };
    Kind kind;
    std::string id;  // MarkRead, Archive
    FeedIntent(Kind k, std::string i = {}) : kind(k), id(std::move(i)) {}
};

struct FeedViewState {
    bool open = false;
    std::string open_url;  // an action link the user clicked (the platform opens it)
    float scale = 1.0f;
    // Loads the feed again after it failed to load. NotificationCenter has no reload call, so the
    // app provides one; the error state shows a Retry button only when this is set (otherwise it
    // says the feed is fetched again when the connection comes back, which the center does).
    std::function<void()> retry;
    std::string badge;  // the bell's badge as drawn last frame, "" when none (test hook)
    // The keyboard focus, by target name (see ChatViewState::focus): an item whose control has
    // it is brought into view.
    std::string focus, focus_shown;
    std::vector<FeedIntent> intents;  // this frame's, in the order asked
};

// Does what the views (and feed_action) asked, in order, and clears the list. Returns whether
// there was anything. Retry calls `retry` (when the app provides one and nothing is loading).
bool apply_feed_intents(notify::NotificationCenter& center, FeedViewState& st);

// Whether a target name is one of the feed's (bell, mark-read:<id>, feed-item:<id>, ...).
bool is_feed_target(const std::string& name);

// Does what the feed's canvas item `name` does when clicked, for the keyboard and the accessible
// mirror: bell (open or close), mark-read:<id>, archive:<id>, feed-action:<id> (its link becomes
// open_url, and the item is read), mark-all-read, feed-older, feed-retry, feed-close, escape
// (closes the feed when open). Returns false for a name it does not know.
bool feed_action(const notify::NotificationCenter& center, FeedViewState& st, const std::string& name);

// The bell's badge text: "" for 0, "1".."99", then "99+".
std::string badge_text(uint64_t unread);

// Two clocks: `now_ms` is the scheduler's (wps::Scheduler::now_ms, monotonic: in the browser ms
// since the page loaded), which the center's toasts expire on; `wall_ms` is Unix time in ms
// (Date.now()), which relative times ("5 min") and day headers ("Today") are computed from.
// wall_ms < 0: now_ms is taken for both (right only where the scheduler runs on Unix time).
void draw_bell(const notify::NotificationCenter& center, FeedViewState& st);
// The feed panel (when open) anchored at the top right of the display.
void draw_feed(const notify::NotificationCenter& center, FeedViewState& st, float display_w, float display_h, uint64_t now_ms,
               int64_t wall_ms = -1);
void draw_toasts(const notify::NotificationCenter& center, FeedViewState& st, float display_w, float display_h, uint64_t now_ms,
                 int64_t wall_ms = -1);

} // namespace ui
