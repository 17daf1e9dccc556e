// notification_view.hpp - the bell with its unread badge, the feed panel and toasts (ImGui).
#pragma once

#include "core/notification_center.hpp"

#include <string>

namespace ui {

struct FeedViewState {
    bool open = false;
    std::string open_url;  // an action link the user clicked (the platform opens it)
    float scale = 1.0f;
};

void draw_bell(notify::NotificationCenter& center, FeedViewState& st);
// The feed panel (when open) anchored at the top right of the display.
void draw_feed(notify::NotificationCenter& center, FeedViewState& st, float display_w, float display_h, uint64_t now_ms);
void draw_toasts(notify::NotificationCenter& center, FeedViewState& st, float display_w, float display_h, uint64_t now_ms);

} // namespace ui
