// The C++ client core (PubSubClient, ChatSession) over real sockets against the stub server.
#include "core/base64.hpp"
#include "core/chat_session.hpp"
#include "core/pubsub_client.hpp"
#include "platform/native/asio_platform.hpp"
#include "stub_process.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>

using nlohmann::json;

namespace {

const std::string kAccessKey = "7d1f0c9b2e84a6f35c0e9d7b1a4f8263e5c09b7d2f1a6e83c4b05d9f7a2e6c18";

// A data-plane token as the /_stub/ API wants it: HS256 over the access key, aud = the request URL.
std::string stub_api_token(const std::string& url) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string head = wps::base64_encode(R"({"alg":"HS256","typ":"JWT"})", true);
    const std::string body = wps::base64_encode(json{{"aud", url.substr(0, url.find('?'))}, {"iat", now}, {"exp", now + 300}}.dump(), true);
    const std::string input = head + "." + body;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), kAccessKey.data(), static_cast<int>(kAccessKey.size()), reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), mac, &len);
    return input + "." + wps::base64_encode(std::string(reinterpret_cast<const char*>(mac), len), true);
}

struct Env {
    StubProcess stub{"--access-key " + kAccessKey};
    boost::asio::io_context ioc;
    native::AsioScheduler sched{ioc};
    native::AsioHttpClient http{ioc};

    // Runs the loop until `done()` or the timeout; returns done().
    template <class F>
    bool run_until(F done, int timeout_ms = 10000) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (!done() && std::chrono::steady_clock::now() < end) {
            ioc.run_for(std::chrono::milliseconds(10));
            ioc.restart();
        }
        return done();
    }
    json call(const std::string& method, const std::string& path, const json& body, const std::string& token = "") {
        wps::HttpRequest r;
        r.method = method;
        r.url = stub.base() + path;
        if (!token.empty()) r.headers["Authorization"] = "Bearer " + token;
        if (!body.is_null()) r.body = body.dump();
        bool done = false;
        json out;
        http.send(r, [&](wps::HttpResponse res) {
            out = json::parse(res.body, nullptr, false);
            out["_status"] = res.status;
            done = true;
        });
        REQUIRE(run_until([&] { return done; }));
        return out;
    }
    // The authorised /_stub/ test API.
    json stub_api(const std::string& method, const std::string& path) {
        json out = call(method, path, json(), stub_api_token(stub.base() + path));
        CHECK(out["_status"] == 200);
        return out;
    }
    std::string login(const std::string& user) { return call("POST", "/auth/dev-login", json{{"userId", user}})["token"]; }
    wps::AccessUrlProvider provider(const std::string& token, const std::string& group) {
        return [this, token, group](std::function<void(bool, std::string)> done) {
            wps::HttpRequest r;
            r.method = "POST";
            r.url = stub.base() + "/realtime/clientAccessUrl";
            r.headers["Authorization"] = "Bearer " + token;
            r.body = json{{"groupName", group}}.dump();
            http.send(r, [done](wps::HttpResponse res) {
                json j = json::parse(res.body, nullptr, false);
                if (res.status == 200) done(true, j["url"].get<std::string>());
                else done(false, "HTTP " + std::to_string(res.status));
            });
        };
    }
};

// A stored message's event: the group also carries its members' presence (chat.presence), which
// these tests are not about.
bool is_chat_message(const wps::GroupMessage& m) { return m.data.is_object() && m.data.value("type", "") == "chat.message"; }

} // namespace

TEST_CASE("native client: connect, join, receive a stored message published by the outbox", "[integration]") {
    Env env;
    const std::string alice = env.login("alice"), bob = env.login("bob");
    wps::PubSubClient client(env.provider(bob, "conversation:demo"), native::asio_socket_factory(env.ioc), env.sched,
                             [] { return 0.5; });
    std::vector<std::string> connected;
    std::vector<json> messages;
    client.events().connected = [&](const std::string& id, const std::optional<std::string>& user) {
        connected.push_back(id);
        CHECK(user == std::string("bob"));
    };
    client.events().group_message = [&](const wps::GroupMessage& m) {
        if (is_chat_message(m)) messages.push_back(m.data);
    };
    REQUIRE(client.start());
    REQUIRE(env.run_until([&] { return !connected.empty(); }));
    bool joined = false;
    client.join_group("conversation:demo", [&](const wps::SendResult& r) { joined = r.ok; });
    REQUIRE(env.run_until([&] { return joined; }));
    auto sent = env.call("POST", "/chat/reply", json{{"conversationId", "demo"}, {"message", "native hello"}, {"clientMessageId", "n1"}}, alice);
    REQUIRE(env.run_until([&] { return !messages.empty(); }));
    CHECK(messages[0]["message"]["messageId"] == sent["message"]["messageId"]);
    // Forbidden comes back as a failed SendResult, not retried.
    std::string err;
    client.join_group("conversation:other", [&](const wps::SendResult& r) { err = r.error.name; });
    REQUIRE(env.run_until([&] { return !err.empty(); }));
    CHECK(err == "Forbidden");
    client.stop();
}

TEST_CASE("native client: recovers the same session after the stub drops the socket", "[integration]") {
    Env env;
    const std::string alice = env.login("alice"), bob = env.login("bob");
    wps::PubSubClient client(env.provider(bob, "conversation:demo"), native::asio_socket_factory(env.ioc), env.sched,
                             [] { return 0.5; });
    int connected = 0, disconnected = 0;
    std::vector<std::string> texts;
    client.events().connected = [&](const std::string&, const std::optional<std::string>&) { ++connected; };
    client.events().disconnected = [&](const wps::DisconnectInfo&) { ++disconnected; };
    client.events().group_message = [&](const wps::GroupMessage& m) {
        if (is_chat_message(m)) texts.push_back(m.data["message"]["text"]);
    };
    client.start();
    REQUIRE(env.run_until([&] { return connected == 1; }));
    const std::string first_id = client.status().connection_id;
    bool joined = false;
    client.join_group("conversation:demo", [&](const wps::SendResult& r) { joined = r.ok; });
    REQUIRE(env.run_until([&] { return joined; }));

    env.stub_api("POST", "/_stub/drop?userId=bob");
    env.call("POST", "/chat/reply", json{{"conversationId", "demo"}, {"message", "while away"}, {"clientMessageId", "d1"}}, alice);
    REQUIRE(env.run_until([&] { return !texts.empty(); }));
    CHECK(texts == std::vector<std::string>{"while away"});
    CHECK(client.status().connection_id == first_id);
    CHECK(connected == 1);     // recovery is not a new connection
    CHECK(disconnected == 0);
    client.stop();
}

TEST_CASE("native client: a server-side close (1008) makes a new connection and rejoins", "[integration]") {
    Env env;
    const std::string alice = env.login("alice"), bob = env.login("bob");
    wps::ClientOptions opt;
    opt.reconnect_retry.retry_delay_ms = 50;
    wps::PubSubClient client(env.provider(bob, "conversation:demo"), native::asio_socket_factory(env.ioc), env.sched,
                             [] { return 0.5; }, opt);
    std::vector<std::string> ids;
    std::vector<wps::DisconnectInfo> drops;
    std::vector<std::string> texts;
    client.events().connected = [&](const std::string& id, const std::optional<std::string>&) { ids.push_back(id); };
    client.events().disconnected = [&](const wps::DisconnectInfo& d) { drops.push_back(d); };
    client.events().group_message = [&](const wps::GroupMessage& m) {
        if (is_chat_message(m)) texts.push_back(m.data["message"]["text"]);
    };
    client.start();
    REQUIRE(env.run_until([&] { return ids.size() == 1; }));
    bool joined = false;
    client.join_group("conversation:demo", [&](const wps::SendResult& r) { joined = r.ok; });
    REQUIRE(env.run_until([&] { return joined; }));

    // The service closes the connection (code 1008 + reason): no recovery, a brand-new connection.
    env.stub_api("POST", "/_stub/close?userId=bob&reason=maintenance");
    REQUIRE(env.run_until([&] { return drops.size() == 1; }));
    CHECK(drops[0].code == 1008);
    CHECK(drops[0].reason == "maintenance");
    CHECK(drops[0].message == "maintenance");
    REQUIRE(env.run_until([&] { return ids.size() == 2; }));
    CHECK(ids[1] != ids[0]);
    REQUIRE(env.run_until([&] { return client.pending_acks() == 0 && client.queued_sends() == 0; }));
    env.call("POST", "/chat/reply", json{{"conversationId", "demo"}, {"message", "after restart"}, {"clientMessageId", "z1"}}, alice);
    REQUIRE(env.run_until([&] { return !texts.empty(); }));
    CHECK(texts.back() == "after restart");  // the group was rejoined on the new connection
    client.stop();
}

TEST_CASE("native chat sessions: alice sends, bob's model shows it exactly once", "[integration]") {
    Env env;
    chat::SessionOptions a_opt{env.stub.base(), "alice", "chat", 50}, b_opt{env.stub.base(), "bob", "chat", 50};
    wps::Realtime a_rt(env.http, native::asio_socket_factory(env.ioc), env.sched, [] { return 0.25; }, env.stub.base());
    wps::Realtime b_rt(env.http, native::asio_socket_factory(env.ioc), env.sched, [] { return 0.75; }, env.stub.base());
    chat::ChatSession alice(env.http, a_rt, env.sched, [] { return 0.25; }, a_opt);
    chat::ChatSession bob(env.http, b_rt, env.sched, [] { return 0.75; }, b_opt);
    alice.start();
    bob.start();
    // Live = subscribed through POST /chat/subscribe (the stub added the connection to the group)
    // and caught up.
    auto live = [](chat::ChatSession& s) { return s.phase() == chat::Phase::Ready && s.in_sync() && s.client()->pending_acks() == 0; };
    REQUIRE(env.run_until([&] { return live(alice) && live(bob); }));
    std::string why;
    REQUIRE(alice.send("from the native session", why));
    auto has = [](chat::ChatSession& s, const std::string& text) {
        int n = 0;
        for (auto* m : s.conversation().ordered())
            if (m->text == text && m->state == chat::SendState::Sent) ++n;
        return n;
    };
    REQUIRE(env.run_until([&] { return has(bob, "from the native session") == 1 && has(alice, "from the native session") == 1; }));
    env.run_until([] { return false; }, 300);
    CHECK(has(bob, "from the native session") == 1);
    CHECK(has(alice, "from the native session") == 1);
    CHECK_FALSE(bob.conversation().has_gap());
}
