#include "core/chat_model.hpp"

#include <catch2/catch.hpp>

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
