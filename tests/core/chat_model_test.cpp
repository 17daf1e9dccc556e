#include "core/chat_model.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using chat::Conversation;
using chat::Message;
using chat::SendState;

namespace {
Message stored(uint64_t seq, const std::string& sender = "bob", const std::string& cmid = "") {
    Message m;
    m.messageId = "m" + std::to_string(seq);
    m.clientMessageId = cmid;
    m.conversationId = "c1";
    m.seq = seq;
    m.senderId = sender;
    m.text = "text " + std::to_string(seq);
    return m;
}
std::vector<uint64_t> seqs(const Conversation& c) {
    std::vector<uint64_t> out;
    for (auto* m : c.ordered()) out.push_back(m->seq);
    return out;
}
} // namespace

TEST_CASE("history and live messages merge without duplicates, ordered by sequence", "[chat]") {
    Conversation c("c1");
    CHECK(c.merge({stored(2), stored(1), stored(3)}) == 3);
    CHECK_FALSE(c.add_live(stored(3)));   // live copy of a message already in history
    CHECK_FALSE(c.add_live(stored(4)));
    CHECK(c.merge({stored(3), stored(4), stored(5)}) == 1);
    CHECK(seqs(c) == std::vector<uint64_t>{1, 2, 3, 4, 5});
    CHECK(c.contiguous_seq() == 5);
}

TEST_CASE("a live message ahead of the contiguous sequence reports a gap until catch-up fills it", "[chat]") {
    Conversation c("c1");
    c.merge({stored(1), stored(2)});
    CHECK(c.add_live(stored(5)));
    CHECK(c.contiguous_seq() == 2);      // afterSeq for the incremental fetch
    CHECK(c.has_gap());
    c.merge({stored(3), stored(4), stored(5)});
    CHECK_FALSE(c.has_gap());
    CHECK(c.contiguous_seq() == 5);
}

TEST_CASE("a page that starts later than 1 is contiguous once the history start is known", "[chat]") {
    Conversation c("c1");
    c.merge({stored(50), stored(51)});
    CHECK(c.has_gap());
    c.set_history_start(50);
    CHECK_FALSE(c.has_gap());
    CHECK(c.contiguous_seq() == 51);
}

TEST_CASE("optimistic sends: pending, then replaced by the stored message exactly once", "[chat]") {
    Conversation c("c1");
    c.merge({stored(1)});
    c.add_pending("cm-1", "alice", "hello", 123);
    REQUIRE(c.ordered().back()->state == SendState::Pending);
    CHECK(c.size() == 2);
    // The live copy arrives before the HTTP response...
    c.add_live(stored(2, "alice", "cm-1"));
    CHECK(c.size() == 2);
    CHECK(c.ordered().back()->state == SendState::Sent);
    // ...and the HTTP response afterwards changes nothing.
    c.merge({stored(2, "alice", "cm-1")});
    CHECK(c.size() == 2);
    CHECK(c.find_local("cm-1") == nullptr);
}

TEST_CASE("failed sends keep their clientMessageId for Retry", "[chat]") {
    Conversation c("c1");
    c.add_pending("cm-9", "alice", "hi", 1);
    c.mark_failed("cm-9", "offline");
    REQUIRE(c.find_local("cm-9"));
    CHECK(c.find_local("cm-9")->state == SendState::Failed);
    CHECK(c.find_local("cm-9")->error == "offline");
    c.mark_pending("cm-9");
    CHECK(c.find_local("cm-9")->state == SendState::Pending);
    c.add_pending("cm-9", "alice", "hi", 2);  // a retry does not add a second copy
    CHECK(c.size() == 1);
}

TEST_CASE("unread counts ignore my own messages", "[chat]") {
    Conversation c("c1");
    c.merge({stored(1, "bob"), stored(2, "alice"), stored(3, "bob"), stored(4, "carol")});
    CHECK(c.unread(0, "alice") == 3);
    CHECK(c.unread(3, "alice") == 1);
    CHECK(c.unread(4, "alice") == 0);
}

TEST_CASE("stored messages round-trip through JSON and bad JSON is refused", "[chat]") {
    Message m = stored(7, "bob", "cm");
    m.attachment = chat::Attachment{"/blobs/x", "x.png", "image/png", 42};
    auto back = chat::message_from_json(chat::to_json(m));
    REQUIRE(back);
    CHECK(back->messageId == "m7");
    CHECK(back->seq == 7);
    CHECK(back->attachment->size == 42);
    CHECK_FALSE(chat::message_from_json(nlohmann::json::parse(R"({"messageId":"x"})")));
    CHECK_FALSE(chat::message_from_json(nlohmann::json::parse(
        R"({"messageId":"x","conversationId":"c","senderId":"s","text":"t","seq":0})")));
    CHECK_FALSE(chat::message_from_json(nlohmann::json("string")));
}

namespace {
Message changed(uint64_t seq, uint64_t version, const std::string& text, bool deleted = false) {
    Message m = stored(seq);
    m.version = version;
    m.text = deleted ? "" : text;
    m.deleted = deleted;
    m.editedAtMs = deleted ? 0 : 500 + static_cast<int64_t>(version);
    return m;
}
// What a view shows of a conversation: seq, text, deleted, per stored message.
std::string shown(const Conversation& c) {
    std::string out;
    for (auto* m : c.ordered()) out += std::to_string(m->seq) + "=" + (m->deleted ? "<deleted>" : m->text) + ";";
    return out;
}
} // namespace

TEST_CASE("edits and deletes: the larger version wins, in place, whatever order and how often they arrive", "[chat][edits]") {
    // Every order of: the original, an edit (v1), a second edit (v2), a delete (v3), each delivered
    // twice, through live events, history pages and a changes fetch: always the same end state.
    const std::vector<Message> events = {stored(2), changed(2, 1, "edit one"), changed(2, 2, "edit two"), changed(2, 3, "", true)};
    std::vector<int> order = {0, 1, 2, 3};
    int runs = 0;
    do {
        for (int path = 0; path < 3; ++path) {
            Conversation c("c1");
            c.merge({stored(1), stored(3)});
            c.add_live(stored(2));  // the message itself is held (a changes fetch only updates held ones)
            for (int round = 0; round < 2; ++round)
                for (int i : order) {
                    if (path == 0) c.add_live(events[static_cast<std::size_t>(i)]);
                    else if (path == 1) c.merge({events[static_cast<std::size_t>(i)]});
                    else c.apply_changes({events[static_cast<std::size_t>(i)]});
                }
            INFO("path " << path << " order " << order[0] << order[1] << order[2] << order[3]);
            CHECK(shown(c) == "1=text 1;2=<deleted>;3=text 3;");
            CHECK(c.find("m2")->version == 3);
            CHECK_FALSE(c.find("m2")->attachment);
            CHECK(c.stored_count() == 3);
            CHECK(c.contiguous_seq() == 3);
            ++runs;
        }
    } while (std::next_permutation(order.begin(), order.end()));
    CHECK(runs == 72);
}

TEST_CASE("an edit changes the version and the edit count, not the stored rows, a stale copy changes nothing", "[chat][edits]") {
    Conversation c("c1");
    c.merge({stored(1), stored(2)});
    const Message* before = c.find("m1");
    const uint64_t v = c.version(), e = c.edits();
    CHECK(c.apply_changes({changed(1, 4, "fixed")}) == 1);
    CHECK(c.find("m1") == before);  // in place: views keep their pointers
    CHECK(before->text == "fixed");
    CHECK(before->editedAtMs == 504);
    CHECK(c.version() > v);
    CHECK(c.edits() == e + 1);
    CHECK(c.apply_changes({changed(1, 3, "older")}) == 0);  // an older version
    CHECK(c.apply_changes({changed(1, 4, "same")}) == 0);   // the same version
    CHECK(c.apply_changes({changed(9, 5, "not held")}) == 0);
    CHECK(c.stored_count() == 2);
    CHECK(c.edits() == e + 1);
    CHECK(before->text == "fixed");
    // A copy claiming another sequence number is not this message.
    Message moved = changed(2, 9, "moved");
    moved.messageId = "m1";
    CHECK(c.apply_changes({moved}) == 0);
    CHECK(c.find("m1")->seq == 1);
    // The change counter only moves forward.
    c.set_changes_seen(7);
    c.set_changes_seen(3);
    CHECK(c.changes_seen() == 7);
}

TEST_CASE("edited and deleted messages round-trip through JSON, a tombstone never carries text, wrong types are refused", "[chat][edits]") {
    Message m = changed(3, 7, "new text");
    auto back = chat::message_from_json(chat::to_json(m));
    REQUIRE(back);
    CHECK(back->version == 7);
    CHECK(back->editedAtMs == 507);
    CHECK_FALSE(back->deleted);
    CHECK(chat::to_json(stored(1)).contains("version") == false);  // unchanged messages stay small
    auto j = chat::to_json(stored(3));
    j["deleted"] = true;
    j["version"] = 8;
    j["attachment"] = {{"url", "/blobs/x"}, {"name", "secret.pdf"}};
    auto tomb = chat::message_from_json(j);
    REQUIRE(tomb);
    CHECK(tomb->deleted);
    CHECK(tomb->text.empty());
    CHECK_FALSE(tomb->attachment);
    CHECK(chat::preview_of(*tomb) == "Message deleted");
    for (auto bad : {nlohmann::json(-1), nlohmann::json("3"), nlohmann::json(1.5)}) {
        auto b = chat::to_json(stored(3));
        b["version"] = bad;
        CHECK_FALSE(chat::message_from_json(b));
    }
    auto b = chat::to_json(stored(3));
    b["deleted"] = "yes";
    CHECK_FALSE(chat::message_from_json(b));
}

TEST_CASE("mentions: @ids at a word start, once each, not e-mail addresses, sentence ends trimmed", "[model][mentions]") {
    using V = std::vector<std::string>;
    CHECK(chat::mentions("@bob hi") == V{"bob"});
    CHECK(chat::mentions("hi @bob, @carol.") == V{"bob", "carol"});
    CHECK(chat::mentions("(@bob) and @bob again") == V{"bob"});
    CHECK(chat::mentions("mail bob@example.com or a@b") == V{});
    CHECK(chat::mentions("@ alone, @@bob") == V{"bob"});
    CHECK(chat::mentions("@first.last-name_2 ok") == V{"first.last-name_2"});
    CHECK(chat::mentions("\xC3\xA9@bob") == V{});  // after a letter of another script: not a mention
    CHECK(chat::mentions("@" + std::string(65, 'x')) == V{});
    std::string many;
    for (int i = 0; i < 30; ++i) many += "@u" + std::to_string(i) + " ";
    CHECK(chat::mentions(many).size() == chat::kMaxMentions);
}

TEST_CASE("message links: round trip, anything else refused", "[model][mentions]") {
    const std::string link = chat::message_link("team:room/1", "msg_ab", 42);
    CHECK(link == "app:message/42/msg_ab/team:room/1");
    const auto l = chat::message_link_parse(link);
    REQUIRE(l);
    CHECK(l->conversationId == "team:room/1");
    CHECK(l->messageId == "msg_ab");
    CHECK(l->seq == 42);
    for (const char* bad : {"app:conversation/demo", "app:message/", "app:message/x/m/c", "app:message/1//c", "app:message/1/m/",
                            "app:message/1/m", "https://example.com", "app:message/99999999999999999999/m/c"})
        CHECK_FALSE(chat::message_link_parse(bad));
}

TEST_CASE("an edit of a message with a file keeps the longer-lasting link to that file", "[chat][edits]") {
    Conversation c("c1");
    Message m = stored(1);
    m.attachment = chat::Attachment{"/blobs/blob_0123456789abcdef0123?exp=5000&sig=new", "a.png", "image/png", 10};
    c.merge({m});
    // The edit's event carries the link from the upload, signed earlier: the one held stays.
    Message edit = changed(1, 2, "caption");
    edit.attachment = chat::Attachment{"/blobs/blob_0123456789abcdef0123?exp=4000&sig=old", "a.png", "image/png", 10};
    REQUIRE(c.apply_changes({edit}) == 1);
    CHECK(c.find("m1")->text == "caption");
    CHECK(c.find("m1")->attachment->url == "/blobs/blob_0123456789abcdef0123?exp=5000&sig=new");
    // A later link to the same file replaces it; another file is taken as it comes.
    edit = changed(1, 3, "again");
    edit.attachment = chat::Attachment{"/blobs/blob_0123456789abcdef0123?exp=9000&sig=later", "a.png", "image/png", 10};
    REQUIRE(c.apply_changes({edit}) == 1);
    CHECK(c.find("m1")->attachment->url == "/blobs/blob_0123456789abcdef0123?exp=9000&sig=later");
    edit = changed(1, 4, "other");
    edit.attachment = chat::Attachment{"/blobs/blob_ffffffffffffffffffff?exp=1&sig=x", "b.png", "image/png", 10};
    REQUIRE(c.apply_changes({edit}) == 1);
    CHECK(c.find("m1")->attachment->url == "/blobs/blob_ffffffffffffffffffff?exp=1&sig=x");
}
