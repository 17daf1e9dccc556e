// /_stub/ (server-stub/src/stub_api.hpp): off unless enabled, a key-signed token per call, and
// the outbox controls' checks.
#include "stub_api.hpp"  // first: the header is self-contained

#include "app_api.hpp"
#include "hub.hpp"
#include "jwt.hpp"
#include "outbox.hpp"
#include "sqlite_store.hpp"

#include <catch2/catch.hpp>

using namespace stub;
using nlohmann::json;

namespace {

const char* const kKey = "b3e1c97a0f5d2846e9a1c3f7d05b8e24a6c91f03d7e5b2a8";

struct NoPublisher final : Publisher {
    std::string publish_to_group(const std::string&, const std::string&) override { return "not in this test"; }
    std::string publish_to_users(const std::vector<std::string>&, const std::string&, const std::string&) override { return "not in this test"; }
};

struct Fixture {
    Config cfg;
    SqliteStore store{":memory:"};
    Hub hub{[] { return int64_t(1000); }};
    NoPublisher publisher;
    OutboxWorker outbox{store, publisher};  // never started: the test only reads and sets its switches
    AppApi app{cfg, store, nullptr, PubSubTarget{"", kKey, "chat"}};
    StubApi api{cfg, hub, store, outbox, app};
    Fixture() {
        cfg.access_key = kKey;
        cfg.stub_api = true;
    }
    // A request with the REST data plane's token for this path (or none).
    Response call(const std::string& method, const std::string& target, bool token = true, const std::string& key = kKey) {
        Request r;
        r.method = method;
        r.target = target;
        parse_target(r);
        if (token)
            r.headers["authorization"] =
                "Bearer " + jwt_sign(json{{"aud", "http://127.0.0.1:8080" + r.path}, {"exp", unix_now_s() + 60}}, key);
        auto res = api.handle(r);
        REQUIRE(res);
        return *res;
    }
};

json body_of(const Response& r) { return json::parse(r.body); }

} // namespace

TEST_CASE("stub api: other paths are not its business", "[stub][stub-api]") {
    Fixture f;
    for (const char* t : {"/", "/healthz", "/api/hubs/chat/:send", "/_stubx/state", "/chat/_stub"}) {
        Request r;
        r.method = "GET";
        r.target = t;
        parse_target(r);
        CHECK_FALSE(f.api.handle(r));
    }
}

TEST_CASE("stub api: disabled, it says how to enable it, enabled, each call needs the key's token", "[stub][stub-api][security]") {
    Fixture f;
    f.cfg.stub_api = false;
    Response off = f.call("GET", "/_stub/state");
    CHECK(off.status == 404);
    CHECK(body_of(off)["error"]["message"] == "The /_stub/ API is disabled; start with --enable-stub-api.");
    f.cfg.stub_api = true;
    CHECK(f.call("GET", "/_stub/state", false).status == 401);
    CHECK(f.call("GET", "/_stub/state", true, "not-the-access-key-0123456789abcdef").status == 401);
    const Response ok = f.call("GET", "/_stub/state");
    CHECK(ok.status == 200);
    const json st = body_of(ok);
    CHECK(st["connections"] == json::array());
    CHECK(st["outbox"]["paused"] == false);
    CHECK(st["outbox"]["dead"] == 0);
    CHECK(f.call("GET", "/_stub/nothing").status == 404);
    CHECK(f.call("GET", "/_stub/outbox").status == 404);  // POST only
}

TEST_CASE("stub api: outbox switches, and numbers checked", "[stub][stub-api]") {
    Fixture f;
    Response r = f.call("POST", "/_stub/outbox?pause=true");
    CHECK(r.status == 200);
    CHECK(body_of(r)["paused"] == true);
    CHECK(f.outbox.paused());
    CHECK(body_of(f.call("GET", "/_stub/state"))["outbox"]["paused"] == true);
    CHECK(body_of(f.call("POST", "/_stub/outbox?pause=0"))["paused"] == false);
    for (const char* q : {"failNext=abc", "failNext=-1", "delayNext=1.5", "delayMs=", "failNext=99999999999"}) {
        INFO(q);
        const Response bad = f.call("POST", std::string("/_stub/outbox?") + q);
        CHECK(bad.status == 400);
        const std::string name = std::string(q).substr(0, std::string(q).find('='));
        CHECK(body_of(bad)["error"]["message"] == "'" + name + "' must be a non-negative integer.");
    }
    CHECK(f.call("POST", "/_stub/outbox?failNext=2&delayNext=1&delayMs=0").status == 200);
}

TEST_CASE("stub api: drop and close answer for users without connections too", "[stub][stub-api]") {
    Fixture f;
    CHECK(body_of(f.call("POST", "/_stub/drop?userId=bob"))["dropped"] == 0);
    CHECK(body_of(f.call("POST", "/_stub/close?userId=bob&reason=x"))["closed"] == true);
}
