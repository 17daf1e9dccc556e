// fuzz_http - the stub's HTTP routes without sockets: stub::parse_target, then RestApi::handle
// (the emulator's REST data plane) and AppApi::handle (the app backend) in the order the server
// tries them, against a hub with live connections and an in-memory SQLite store with the demo seed.
//
// (POST /_stub/notifications, the backend's own notifications, goes to
// AppApi::create_notification_as_backend as the server does with --enable-stub-api.)
//
// Input: up to 8 requests separated by a line "===". Each request is
//     METHOD TARGET
//     Header-Name: value          (any number; names are lower-cased as the network adapter does)
//                                 (an empty line)
//     body...
// Placeholders let mutations get past authentication and reach the handlers:
//   header value "@app:<user>" / "@app-expired:<user>"  Bearer session token for <user> (valid / expired)
//   header value "@rest" / "@rest:<path>"               Bearer REST token whose audience is this
//                                                       request's URL / <path>
//   header value "@app-claims:<json>" / "@rest-claims:<json>"  Bearer token with these claims, signed
//                                                       with the app secret / the access key
//   in the target: "@conn0".."@conn3"                   ids of the hub's connections
//                  "@last-url"                          the "url" of the previous JSON answer (blob links)
// FUZZ_TRACE=1 prints every request's answer (to check what a seed or a reproducer reaches).
// Invariants: no handler crashes or throws anything but std::exception (which the server turns
// into a 500; with FUZZ_STRICT=1 that is a finding too); every answer has a valid status, JSON
// bodies that parse, and header values without CR/LF.
#include "fuzz_common.hpp"
#include "fuzz_sinks.hpp"

#include "core/base64.hpp"

#include "app_api.hpp"
#include "http_types.hpp"
#include "hub.hpp"
#include "jwt.hpp"
#include "rest_api.hpp"
#include "sqlite_store.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

using nlohmann::json;

namespace {

const std::string kAccessKey = "fuzz-access-key-0123456789abcdefghijklmnopqrstuvwxyz";
const std::string kAppSecret = "fuzz-app-secret-0123456789abcdefghijklmnopqrstuvwxyz";
// The route handlers check tokens against the wall clock: these expiries are far from it.
constexpr int64_t kFarFuture = 4102444800;  // 2100-01-01
constexpr int64_t kLongPast = 1000000000;   // 2001-09-09
const std::string kPublicEndpoint = "http://127.0.0.1:8080";

std::filesystem::path g_blob_dir;

void remove_blob_dir() {
    std::error_code ec;
    if (!g_blob_dir.empty()) std::filesystem::remove_all(g_blob_dir, ec);
}

std::string lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

// An HS256 token made here, not with jwt_sign (the code under test, which refuses some strings):
// claims with any bytes in them still reach the handlers' checks.
std::string sign(const json& claims, const std::string& key) {
    const std::string input = wps::base64_encode(R"({"alg":"HS256","typ":"JWT"})", true) + "." +
                              wps::base64_encode(claims.dump(-1, ' ', false, json::error_handler_t::replace), true);
    return input + "." + wps::base64_encode(stub::hmac_sha256(key, input), true);
}

std::string header_value(std::string v, const stub::Request& r) {
    if (v.rfind("@app:", 0) == 0)
        return "Bearer " + sign(json{{"sub", v.substr(5)}, {"aud", "chat-app"}, {"exp", kFarFuture}}, kAppSecret);
    if (v.rfind("@app-expired:", 0) == 0)
        return "Bearer " + sign(json{{"sub", v.substr(13)}, {"aud", "chat-app"}, {"exp", kLongPast}}, kAppSecret);
    if (v.rfind("@app-claims:", 0) == 0 || v.rfind("@rest-claims:", 0) == 0) {
        // Any claims, validly signed: the handlers' own checks of sub, aud and exp get the input.
        const bool app = v[1] == 'a';
        const std::string text = v.substr(app ? 12 : 13);
        json claims = fuzz::shallow(text) ? json::parse(text, nullptr, false) : json(text);
        if (claims.is_discarded()) claims = text;
        return "Bearer " + sign(claims, app ? kAppSecret : kAccessKey);
    }
    if (v == "@rest" || v.rfind("@rest:", 0) == 0) {
        const std::string path = v == "@rest" ? r.target.substr(0, r.target.find('?')) : v.substr(6);
        auto host = r.headers.find("host");
        const std::string aud = "http://" + (host == r.headers.end() ? std::string("localhost") : host->second) + path;
        return "Bearer " + sign(json{{"aud", aud}, {"exp", kFarFuture}}, kAccessKey);
    }
    return v;
}

stub::Request build_request(std::string_view text, const std::vector<std::string>& conns, const std::string& last_url) {
    stub::Request r;
    const std::string_view first = fuzz::take_line(text);
    const auto sp = first.find(' ');
    r.method = std::string(first.substr(0, sp));
    r.target = sp == std::string_view::npos ? std::string("/") : std::string(first.substr(sp + 1));
    for (std::size_t i = 0; i < conns.size(); ++i) replace_all(r.target, "@conn" + std::to_string(i), conns[i]);
    replace_all(r.target, "@last-url", last_url);
    std::vector<std::pair<std::string, std::string>> raw_headers;
    while (!text.empty()) {
        const std::string_view line = fuzz::take_line(text);
        if (line.empty()) break;
        const auto colon = line.find(':');
        std::string name = lower(std::string(line.substr(0, colon)));
        std::string value = colon == std::string_view::npos ? std::string() : std::string(line.substr(colon + 1));
        value.erase(0, value.find_first_not_of(' '));
        raw_headers.emplace_back(std::move(name), std::move(value));
    }
    for (auto& [k, v] : raw_headers) r.headers[k] = v;  // host first: the REST audience uses it
    for (auto& [k, v] : raw_headers) r.headers[k] = header_value(v, r);
    r.body = std::string(text);
    stub::parse_target(r);
    return r;
}

void check_response(const stub::Response& res, const stub::Request& req) {
    const std::string what = req.method + " " + req.target.substr(0, 200);
    FUZZ_CHECK(res.status >= 100 && res.status <= 599, what + ": status " + std::to_string(res.status));
    if (res.content_type == "application/json" && !res.body.empty())
        FUZZ_CHECK(!json::parse(res.body, nullptr, false).is_discarded(), what + ": a JSON answer that is not JSON: " + res.body.substr(0, 300));
    for (const auto& [k, v] : res.headers) {
        FUZZ_CHECK(!k.empty() && k.find_first_of("\r\n:") == std::string::npos, what + ": bad header name '" + k + "'");
        FUZZ_CHECK(v.find_first_of("\r\n") == std::string::npos, what + ": CR/LF in the value of header " + k + ": " + v.substr(0, 300));
    }
}

} // namespace

// Every input opens a fresh SQLite database: with ASan's default 256 MB quarantine of freed memory
// each run touches new pages and the target runs at a third of the speed. 32 MB still catches
// use-after-free within a run (ASAN_OPTIONS overrides this).
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=32"; }

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fuzz_http.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
        std::perror("fuzz_http: mkdtemp");
        std::abort();
    }
    g_blob_dir = tmpl;
    std::atexit(remove_blob_dir);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    // A hub with a few live connections, so that REST sends, membership and closes have targets.
    stub::Hub hub([] { return static_cast<int64_t>(fuzz::kNowMs); });
    std::vector<std::string> conns;
    struct Setup { const char* hub; const char* user; stub::ClientProtocol p; std::vector<std::string> groups; };
    const Setup setups[] = {
        {"chat", "alice", stub::ClientProtocol::ReliableJson, {"conversation:demo"}},
        {"chat", "bob", stub::ClientProtocol::Json, {"conversation:demo", "notifications:global"}},
        {"chat", "", stub::ClientProtocol::Simple, {}},
        {"other", "carol", stub::ClientProtocol::Json, {"room"}},
    };
    for (const auto& s : setups) {
        stub::Hub::Connect c;
        c.hub = s.hub;
        c.userId = s.user;
        c.protocol = s.p;
        c.groups = s.groups;
        conns.push_back(hub.connect(c, std::make_shared<fuzz::DiscardSink>(s.p)));
    }

    stub::Config cfg;
    cfg.db = ":memory:";
    cfg.access_key = kAccessKey;
    cfg.app_secret = kAppSecret;
    cfg.blob_dir = g_blob_dir.string();
    cfg.max_blob_bytes = 64 * 1024;
    stub::SqliteStore store(":memory:");
    stub::AppApi app(cfg, store, nullptr, stub::PubSubTarget{"", kAccessKey, cfg.hub});
    app.seed();
    app.set_public_endpoint(kPublicEndpoint);
    stub::RestApi rest(hub, kAccessKey);
    rest.set_public_endpoint(kPublicEndpoint);

    static const bool trace = std::getenv("FUZZ_TRACE") != nullptr;  // prints each answer (debugging seeds)
    std::string last_url;
    bool uploaded = false;
    for (std::string_view part : fuzz::split(in, "\n===\n", 8)) {
        stub::Request req = build_request(part, conns, last_url);
        stub::Response res;
        try {
            if (auto r = rest.handle(req)) res = *r;
            else if (req.path == "/_stub/notifications" && req.method == "POST") res = app.create_notification_as_backend(req);
            else if (auto a = app.handle(req)) res = *a;
            else res = stub::error_response(404, "NotFound", "not routed");
        } catch (const std::exception& e) {
            // The network adapter answers 500 and keeps serving; strict mode reports it.
            FUZZ_CHECK(!fuzz::strict(), req.method + " " + req.target.substr(0, 200) + " threw: " + e.what());
            res = stub::error_response(500, "InternalServerError", "The server failed to handle the request.");
        }
        if (trace) std::fprintf(stderr, "%s %s -> %d %.200s\n", req.method.c_str(), req.target.c_str(), res.status, res.body.c_str());
        check_response(res, req);
        uploaded = uploaded || (req.method == "POST" && req.path == "/blobs");
        if (res.content_type == "application/json") {
            json j = json::parse(res.body, nullptr, false);
            if (j.is_object() && j.contains("url") && j["url"].is_string()) last_url = j["url"].get<std::string>();
        }
        hub.tick();
    }
    if (uploaded) {  // keep the blob folder from growing over millions of runs
        std::error_code ec;
        for (auto& e : std::filesystem::directory_iterator(g_blob_dir, ec)) std::filesystem::remove_all(e.path(), ec);
    }
    return 0;
}
