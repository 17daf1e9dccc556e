// chat_view.hpp - the ImGui chat panel: conversation list, message history, composer area,
// connection banner. Reads the session's model; emits intents (open, send, retry, reconnect,
// close/open, load older) through the session. No I/O happens in here.
//
// chat_view.cpp          panel layout, header, banner, conversation list, composer area
// chat_view_history.cpp  the virtualised message list (cached heights, day separators,
//                        anchor-preserving prepend, follow-bottom, "N new messages")
#pragma once

#include "core/chat_session.hpp"

#include <imgui.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ui {

// Message list layout cache: heights are measured once per (row, width) and summed, so a frame
// costs the same for 100,000 messages as for 100 (binary search + the visible rows).
struct HistoryLayout {
    struct Row {
        const chat::Message* msg = nullptr;
        std::string key;           // messageId, or clientMessageId while local
        bool day_separator = false;
        float height = 0, offset = 0;
    };
    std::vector<Row> rows;
    std::map<std::string, float> height_cache;  // key -> height at cache_width
    float cache_width = -1;
    uint64_t version = 0;          // the conversation's version the rows were built from
    float total = 0;
    // The stored rows (a prefix of `rows`; local ones follow): a change that only appended stored
    // messages extends them instead of rebuilding 100,000 rows.
    std::size_t stored_rows = 0;
    uint64_t first_seq = 0, last_seq = 0;
    float stored_total = 0;
    std::string conversation;
    std::size_t seen_count = 0;    // messages when the user was last at the bottom
    std::string anchor_key;        // first visible row, for anchor-preserving prepend
    float anchor_delta = 0;
    bool at_bottom = true;
    bool jump_to_bottom = true;
    bool dragging = false;         // a press on the list's background scrolls it while held
};

// A decoded image attachment preview, uploaded as a texture by the platform.
struct Thumbnail {
    bool requested = false, failed = false;
    unsigned texture = 0;  // GL texture name, 0 until ready
    float w = 0, h = 0;    // pixels of the decoded preview
    std::vector<unsigned char> rgba;  // kept to re-create the texture after a context loss
};

// What the connection banner says: "Live" only when the open conversation's messages really
// arrive (subscribed and caught up), never before the view was first in sync, never over an error.
struct BannerMemory {
    uint64_t trouble_since_ms = 0;  // when the connection last left "live" (grace period)
    bool was_live = false;          // the view has been live since the panel opened
};
struct BannerState {
    std::string text;
    ImVec4 color;
    bool trouble = false;  // a state that needs the user's attention once the grace period passed
};
struct ChatViewState {
    // The composer is a DOM textarea laid over this rect (device px); the view only reserves it.
    float composer_x = 0, composer_y = 0, composer_w = 0, composer_h = 0;
    bool composer_visible = false;
    std::size_t composer_bytes = 0;  // current length, from the page
    std::string last_error;
    BannerMemory banner;             // the banner's grace period
    float scale = 1.0f;
    bool light = false;              // light theme (follows the system preference)
    float scroll_y = 0, scroll_max = 0;  // message list scroll, for the page's test hook
    std::string copy_request;        // text the user asked to copy (the platform writes it out)
    bool feed_open = false;          // the notification feed panel
    int rows_drawn = 0;              // visible rows drawn last frame (test hook: virtualisation)
    std::size_t new_below = 0;       // messages that arrived while scrolled up
    std::string open_url;            // a link the user clicked (the platform opens it)
    bool pick_file = false;          // the user asked to attach a file (the platform opens its picker)
    std::map<std::string, Thumbnail> thumbnails;  // by attachment URL
    std::vector<std::string> thumbnail_requests;   // URLs the platform should fetch and decode
    HistoryLayout history;
};

// Draws the whole panel into the current ImGui frame. `header_extra` draws at the right of the
// header (the notification bell).
void draw_chat_panel(chat::ChatSession& session, ChatViewState& st, float x, float y, float w, float h, uint64_t now_ms,
                     const std::function<void()>& header_extra);
void draw_history(chat::ChatSession& session, ChatViewState& st, uint64_t now_ms);

BannerState banner_state(const chat::ChatSession& s, BannerMemory& memory, uint64_t now_ms);


} // namespace ui
