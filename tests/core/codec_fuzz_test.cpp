// Deterministic fuzzing of the frame codec (both directions) and the message/notification
// parsers: mutated and random input must be refused with a reason, never crash or throw.
#include "core/chat_model.hpp"
#include "core/notification_model.hpp"
#include "core/protocol.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace wps;

namespace {
const char* const kSeeds[] = {
    R"({"type":"joinGroup","group":"g","ackId":1})",
    R"({"type":"sendToGroup","group":"g","ackId":3,"noEcho":true,"dataType":"json","data":{"a":[1,2,{"b":null}]}})",
    R"({"type":"event","event":"e","dataType":"binary","data":"AAECAw=="})",
    R"({"type":"sequenceAck","sequenceId":42})",
    R"({"sequenceId":7,"type":"message","from":"group","group":"room1","fromUserId":"alice","dataType":"text","data":"hi"})",
    R"({"type":"ack","ackId":1,"success":false,"error":{"name":"Duplicate","message":"m"}})",
    R"({"type":"system","event":"connected","userId":null,"connectionId":"abc","reconnectionToken":"t"})",
    R"({"messageId":"m","conversationId":"c","seq":3,"senderId":"s","text":"t","attachment":{"url":"u","size":1}})",
    R"({"id":"n","seq":2,"title":"T","action":{"label":"L","link":"x"}})",
};

std::string mutate(std::string s, std::mt19937& rng) {
    static const char alphabet[] = "{}[]\":,\\0123456789aeflnrstu -+.eE\x01\xff";
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < edits && !s.empty(); ++i) {
        const std::size_t at = rng() % s.size();
        switch (rng() % 4) {
        case 0: s[at] = alphabet[rng() % (sizeof(alphabet) - 1)]; break;
        case 1: s.erase(at, 1 + rng() % 3); break;
        case 2: s.insert(at, 1, alphabet[rng() % (sizeof(alphabet) - 1)]); break;
        case 3: s = s.substr(0, at); break;
        }
    }
    return s;
}

void feed(const std::string& text) {
    auto c = decode_client_frame(text);
    if (c) CHECK(decode_client_frame(encode(*c.frame)).frame.has_value());  // what decodes re-encodes
    else CHECK_FALSE(c.error.empty());
    auto s = decode_service_frame(text);
    if (s) CHECK(decode_service_frame(encode(*s.frame)).frame.has_value());
    else CHECK_FALSE(s.error.empty());
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_discarded()) {
        (void)chat::message_from_json(j);
        (void)notify::item_from_json(j);
    }
}
} // namespace

TEST_CASE("codec and parsers survive 20,000 mutated frames", "[fuzz]") {
    std::mt19937 rng(20261128);
    int refused = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string text = mutate(kSeeds[rng() % (sizeof(kSeeds) / sizeof(kSeeds[0]))], rng);
        REQUIRE_NOTHROW(feed(text));
        refused += !decode_client_frame(text) ? 1 : 0;
    }
    CHECK(refused > 1000);  // the mutations really produce bad input
}

TEST_CASE("random bytes are refused with a reason", "[fuzz]") {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        std::string bytes(rng() % 64, '\0');
        for (auto& b : bytes) b = static_cast<char>(rng() & 0xFF);
        REQUIRE_NOTHROW(feed(bytes));
    }
}
