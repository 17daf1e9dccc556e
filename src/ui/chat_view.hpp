// chat_view.hpp - the ImGui chat panel: conversation list, message history, composer area,
// connection banner. Reads the session (const) and records what the user asked for as intents
// (ChatViewState::intents: open, load older, retry, reconnect, close/open, people, create),
// which the composition root applies after the frame (apply_intents). No I/O starts in here.
//
// chat_view.cpp          panel layout, header, banner, conversation list, composer area
// chat_view_history.cpp  the virtualised message list (cached heights, day separators,
//                        anchor-preserving prepend, follow-bottom, "N new messages")
#pragma once

#include "core/chat_session.hpp"

#include <imgui.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace ui {

// Message list layout cache: heights are measured once per (row, width) and summed, so a frame
// costs the same for 100,000 messages as for 100 (binary search + the visible rows).
struct HistoryLayout {
    struct Row {
        const chat::Message* msg = nullptr;
        std::string key;           // messageId, or clientMessageId while local
        bool day_separator = false;
        bool grouped = false;         // same sender within minutes: no avatar or header
        bool unread_divider = false;  // "New messages" above this row
        bool picker = false;          // its reaction picker is open
        bool seen_by = false;         // "Seen by ..." goes under it (read receipts)
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
    bool stored_divider = false;   // one of the stored rows carries the "New messages" divider
    std::string conversation;
    std::size_t seen_count = 0;    // messages when the user was last at the bottom
    std::string anchor_key;        // first visible row, for anchor-preserving prepend
    float anchor_delta = 0;
    bool at_bottom = true;
    bool jump_to_bottom = true;
    bool dragging = false;         // a press on the list's background scrolls it while held
    // The "New messages" divider: above the first message from someone else at or after the
    // session's first unread one, until another conversation is opened.
    uint64_t first_unread_seq = 0;  // the session's, when the rows were laid out
    uint64_t edits = 0;            // the conversation's edits() the rows were laid out for
    std::string react_picker;      // the open reaction picker the rows were laid out for
    chat::SeenBy seen;             // the read receipts the rows were laid out for
    bool jump_to_divider = false;  // opened with unread messages: show the first of them
    std::string actions_key;       // the row whose actions a long press (touch) revealed
};

// A decoded image attachment preview, uploaded as a texture by the platform.
struct Thumbnail {
    static constexpr int kAttempts = 3;  // a fetch that failed (a network blip) is tried again
    bool requested = false, failed = false;
    std::string url;           // the link last asked for (the key is the file's: no query)
    int attempts = 0;          // fetches that failed so far
    int64_t retry_at_ms = 0;   // the next fetch not before this wall-clock time
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
enum class Tone { Ok, Busy, Warn, Error, Muted };  // drawn with the theme's palette
struct BannerState {
    std::string text;
    Tone tone = Tone::Ok;
    bool trouble = false;  // a state that needs the user's attention once the grace period passed
};
// A text field the page lays over the canvas (device px), like the composer: native text entry
// (IME, dead keys, every script) for the conversation filter and the new conversation's title.
struct PageField {
    float x = 0, y = 0, w = 0, h = 0;
    bool visible = false;
};

// "New conversation": the member picker that replaces the history while open.
struct NewConversationState {
    bool open = false;
    std::set<std::string> picked;  // user ids
    std::string title;             // the page's title field ("" = the picked names)
    uint64_t created_seen = 0;     // the session's created_count() when the picker opened
};

// Something the user asked the session to do, recorded by the views and applied after the frame.
struct ChatIntent {
    enum class Kind { Open, Reload, LoadOlder, Retry, RetryAll, RetryStart, ReconnectNow, LoadContacts, Create, OpenPanel, ClosePanel,
                      Edit, Delete, React, Reveal };
    Kind kind;
    // Open: the conversation to show (from its newest message, the picker closed); Reload,
    // LoadOlder: the conversation they were asked for (dropped if another one is open by then);
    // Retry: clientMessageId; Create: title; Edit, Delete, React, Reveal (page to it): messageId.
    std::string arg;
    std::vector<std::string> members;  // Create: user ids
    std::string text;                  // Edit: the new text; React: the emoji
    bool add = true;                   // React: add (or take back) the user's reaction
    uint64_t seq = 0;                  // Reveal: the message's sequence number
    ChatIntent(Kind k, std::string a = {}, std::vector<std::string> m = {}) : kind(k), arg(std::move(a)), members(std::move(m)) {}
};

// The conversation list gets a filter box once it holds more than this many conversations.
constexpr std::size_t kFilterAfter = 6;

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
    int rows_drawn = 0;              // visible rows drawn last frame (test hook: virtualisation)
    std::size_t new_below = 0;       // messages that arrived while scrolled up
    std::string open_url;            // a link the user clicked (the platform opens it)
    std::vector<std::string> drawn_links;  // ids of the messages whose attachment was drawn (links kept fresh)
    bool send_request = false;       // the send button: the platform submits the composer's text
    int nav_request = 0;             // Alt+Up/Down from the page's composer: previous/next conversation
    int64_t wall_ms = 0;             // the wall clock (unix ms) for relative times; 0: not shown
    bool pick_file = false;          // the user asked to attach a file (the platform opens its picker)
    std::string conv_filter;         // the page's filter field (case-insensitive match on titles)
    PageField filter_field, title_field;
    NewConversationState picker;
    bool focus_composer = false;     // a request to the platform: move the keyboard focus to the composer
    // The canvas item that has the keyboard focus, by target name ("conv:<id>", "copy:<messageId>",
    // ...; "" none): the page's accessible mirror holds the real focus, the canvas shows it with
    // the focus ring and brings it into view.
    std::string focus;
    std::string focus_shown;         // the focus the view last scrolled into view
    std::map<std::string, Thumbnail> thumbnails;  // by the attachment link's path (its signature changes)
    std::vector<std::string> thumbnail_requests;   // URLs the platform should fetch and decode
    HistoryLayout history;
    std::vector<ChatIntent> intents;  // this frame's, in the order asked (apply_intents takes them)
    uint64_t error_seq = 0;           // bumped by show_error: the same text twice is announced twice
    // Editing one of the user's messages: the composer holds its text, Enter saves it (an Edit
    // intent instead of a send), Esc or another conversation cancels. "" while writing new ones.
    std::string editing, editing_conversation;
    std::optional<std::string> composer_text;  // a request to the platform: replace the composer's text
    std::string confirm_delete;       // the message whose delete waits for "Delete" in the dialog
    std::string react_picker;         // the message whose reaction picker is open ("" none)
    // Replying: the message the next send answers (its quote above the composer; Esc or another
    // conversation cancels). "" while writing a plain message.
    std::string replying, replying_conversation;
    // A click on a reply's quote: the message to bring into view (older pages load first), then
    // flashed briefly. jump_requested: its Reveal intent is not applied yet.
    std::string jump_to, jump_conversation;
    uint64_t jump_seq = 0;               // its sequence number (where to page to)
    bool jump_revealed = false;          // older pages were asked for (once)
    bool jump_requested = false;
    std::string flash_key;
    uint64_t flash_until_ms = 0, frame_ms = 0;
};

// The reactions the picker offers (one tap each); any other emoji arrives from other clients.
inline constexpr const char* kQuickReactions[] = {"\xF0\x9F\x91\x8D", "\xE2\x9D\xA4\xEF\xB8\x8F", "\xF0\x9F\x98\x82",
                                                  "\xF0\x9F\x8E\x89", "\xF0\x9F\x98\xAE", "\xF0\x9F\x91\x80"};  // 👍 ❤️ 😂 🎉 😮 👀

// Starts editing `messageId` (the user's own, stored, not deleted): its text into the composer.
// Returns false when it cannot be edited.
bool start_edit(const chat::ChatSession& s, ChatViewState& st, const std::string& messageId);
void cancel_edit(ChatViewState& st);  // back to writing a new message (the composer emptied)
// What the composer's Enter does: saves the edit (an Edit intent, editing ends) while editing
// a message of the open conversation; returns false when not editing (the caller sends).
bool submit_edit(const chat::ChatSession& s, ChatViewState& st, const std::string& text);

// Starts replying to `messageId` (stored, not deleted, in the open conversation); false otherwise.
bool start_reply(const chat::ChatSession& s, ChatViewState& st, const std::string& messageId);
// The message the composer's next send answers ("" none, or one of another conversation).
std::string reply_target(const chat::ChatSession& s, const ChatViewState& st);

// Opens a message link (chat::message_link, a mention's notification action): its conversation,
// then the message brought into view as a quote's click does. False for any other link.
bool open_message_link(chat::ChatSession& s, ChatViewState& st, const std::string& link);

// What the composer's Enter does when not editing: sends `text` (answering the message being
// replied to, if any; the reply ends once sent). False with `why` when the session refused it.
bool send_composer(chat::ChatSession& s, ChatViewState& st, const std::string& text, std::string& why);

// The platform could not fetch or decode a preview: asked again 3 s and then 6 s later (a
// network blip, the demo's dropped connection), then "no preview" for good.
inline void thumbnail_failed(Thumbnail& t, int64_t now_ms) {
    if (++t.attempts >= Thumbnail::kAttempts) {
        t.failed = true;
        return;
    }
    t.requested = false;
    t.retry_at_ms = now_ms + 3000 * t.attempts;
}

// The composer line's error (a refused send, a file too large, a failed upload).
inline void show_error(ChatViewState& st, std::string why) {
    st.last_error = std::move(why);
    ++st.error_seq;
}

// Draws the whole panel into the current ImGui frame. `header_extra` draws at the right of the
// header (the notification bell).
void draw_chat_panel(const chat::ChatSession& session, ChatViewState& st, float x, float y, float w, float h, uint64_t now_ms,
                     const std::function<void()>& header_extra);
void draw_history(const chat::ChatSession& session, ChatViewState& st, uint64_t now_ms);

// Does what the views (and chat_action) asked, in order, and clears the list. Returns whether
// there was anything. The composition root calls it after every frame and after input actions.
bool apply_intents(chat::ChatSession& session, ChatViewState& st);

void draw_skeleton(float width, ChatViewState& st);  // placeholder rows while history loads

BannerState banner_state(const chat::ChatSession& s, BannerMemory& memory, uint64_t now_ms);

// The conversations the list shows: all, or those whose title contains the filter (any case).
std::vector<const chat::ConversationSummary*> filtered_conversations(const chat::ChatSession& s, const ChatViewState& st);

// The picker's title when the user typed none: the picked people's names (at most 200 bytes).
std::string default_title(const chat::ChatSession& s, const NewConversationState& picker);

// Does what the canvas item named `name` does when clicked (the names of targets.hpp), for the
// keyboard and the accessible mirror: conv:<id>, new-conversation, pick:<userId>,
// create-conversation, cancel-new-conversation, contacts-retry, copy:<messageId>,
// edit:<messageId>, edit-last (the newest own message: Up in an empty composer), cancel-edit,
// delete:<messageId> (asks first), confirm-delete, cancel-delete, reply:<messageId>,
// cancel-reply, quote:<messageId> (the reply's quoted message into view), react:<messageId>:<emoji>
// (toggles the user's reaction), reactions:<messageId> (opens the picker), pick-reaction:<emoji>,
// attachment:<messageId>, retry:<clientMessageId>, retry-all, retry-start, retry-history,
// jump-down, escape. Returns false for a name it does not know. Copies and links become
// requests (copy_request, open_url) for the platform and session work becomes intents, as canvas
// clicks do.
bool chat_action(const chat::ChatSession& s, ChatViewState& st, const std::string& name);

// Draws the keyboard focus ring (the palette's focus colour, 2 px outside the item) around the
// target named `focus` drawn this frame, on top of everything; also records it as the target
// "focus-ring". A conversation in the narrow layout's closed picker rings the picker. Returns
// false when nothing by that name was drawn.
bool draw_focus_ring(const std::string& focus, bool light, float scale);


} // namespace ui
