// mirror.hpp - the accessible mirror's content: what the canvas shows, as snapshots for the page
// bridge (web::MirrorSnapshot), with only what changed since the last one.
//
// Screen readers read the mirror (the page's hidden DOM), keyboard users move through its
// controls, browser tests read it as their documented hook. Messages are appended (a live
// message costs the same in a conversation of 100,000 as in one of 100), and rewritten only when
// edited or deleted (data-edited, data-deleted); their
// relative times move on like the canvas's (the last hour's every minute, all of them when the
// local day changes).
#pragma once

#include "core/chat_session.hpp"
#include "core/notification_center.hpp"
#include "platform/web/page_bridge.hpp"
#include "ui/chat_view.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace app {

class MirrorSync {
public:
    // The models (messages, status, typing, outbox, feed): after they changed, or on the clock's
    // tick (typing indicators and relative times move on).
    web::MirrorSnapshot models(const chat::ChatSession& s, const notify::NotificationCenter* center, uint64_t now_ms,
                               int64_t wall_ms);
    // The view's own state (the filtered conversation list, the New conversation dialog): after
    // every drawn frame.
    web::MirrorSnapshot view(const chat::ChatSession& s, const ui::ChatViewState& v);

private:
    void times(web::MirrorSnapshot& out, int64_t wall_ms);

    std::string conversation_;
    std::map<std::string, uint64_t> mirrored_;  // messageId -> the version its article shows
    uint64_t version_ = 0, last_seq_ = 0, edits_ = 0, quotes_ = 0;
    std::map<std::string, std::string> quoted_;  // messageId -> the quote its article shows (replies)
    std::string seen_, members_;
    bool first_ = true;
    std::string status_, typing_, online_, error_, outbox_, feed_, conversations_, picker_, dialog_, reaction_picker_;
    std::map<std::string, std::string> time_labels_;     // messageId -> label shown
    std::multimap<int64_t, std::string> recent_;          // the last hour's: createdAt -> messageId
    std::map<std::string, int64_t> created_;             // messageId -> createdAt
    int64_t day_ = 0;
};

} // namespace app
