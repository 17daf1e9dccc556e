// main.cpp - the stub server: Web PubSub emulator + app backend + static web client.
#include "app_api.hpp"
#include "config.hpp"
#include "hub.hpp"
#include "jwt.hpp"
#include "net.hpp"
#include "odata_filter.hpp"
#include "core/json_limits.hpp"
#include "outbox.hpp"
#include "rest_api.hpp"
#include "sqlite_store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <zlib.h>
#include <future>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>
#include <thread>

using namespace stub;
using nlohmann::json;

namespace {

const char* kHelp = R"(chat-stub - local stand-in for Azure Web PubSub and the chat/notification backend

Usage: chat-stub [options]
  --port N                 listen port (default 8080; 0 = any free port)
  --bind ADDR              bind address (default 127.0.0.1)
  --public-url URL         the http(s) base URL clients use to reach this server (access URLs and
                           token audiences; default http://{bind}:{port}, 0.0.0.0 -> 127.0.0.1)
  --db PATH                SQLite database file (default chat.db; created and migrated)
  --static DIR             serve the web client from DIR (the build's site folder)
  --hub NAME               Web PubSub hub name (default chat)
  --access-key KEY         access key of the embedded emulator (default: $CHAT_STUB_ACCESS_KEY, else
                           random per start; prefer the variable: argv is visible to local users)
  --pubsub-connection-string CS
                           publish through an external Web PubSub service instead of the
                           embedded emulator (Endpoint=https://...;AccessKey=...;Version=1.0;)
  --pubsub-ca-file PEM     trust this CA file for the external service's TLS certificate
  --token-ttl SECONDS      lifetime of client access URLs (default 600)
  --max-message-bytes N    chat message body limit (default 4000)
  --max-body-bytes N       HTTP request body limit (default 1048576)
  --send-rate N            chat sends per user per minute (default 60, burst 20; 0 = no limit)
  --create-rate N          conversations a user may create per minute (default 10, burst 10; 0 = no limit)
  --upload-rate N          attachment uploads per user per minute (default 30, burst 10; 0 = no limit)
  --blob-quota-bytes N     attachment bytes each user may store (default 104857600; 0 = no limit)
  --max-connections N      HTTP + WebSocket connections at once (default 2048, capped by the
                           process's file-descriptor limit); past it: 503
  --blob-dir DIR           where attachments are stored (default: <db>.blobs)
  --max-blob-bytes N       attachment size limit (default 5242880)
  --allow-origin ORIGIN    allow cross-origin requests from ORIGIN (repeatable; '*' = any, answered
                           as '*'; bearer tokens only, no cookies)
  --no-seed                do not create the demo users and conversation
  --demo-users N           also seed users user-1 .. user-N (team "load"; for load tests and big
                           demos; at most 100000)
  --no-dev                 deployment mode: no /auth/dev-login, no user-created notifications,
                           CORS only for --allow-origin, the access key is never printed
  --quiet                  no per-request log lines
  --enable-stub-api        enable /_stub/ fault injection and inspection (each call needs a
                           REST data-plane token signed with the access key)
  --outbox-max-attempts N  publish tries before an outbox row is parked as dead (default 8)
  --outbox-retry-ms N      first retry delay of a failed publish, doubling (default 500)
  --outbox-paused          start with the outbox worker paused (resume: POST /_stub/outbox?pause=false)
  --help                   this text
)";

struct ConnString {
    std::string endpoint, key;
};

// Endpoint=...;AccessKey=...;Version=1.0;[Port=..;] (keys case-insensitive, split at the first '=').
ConnString parse_connection_string(const std::string& cs) {
    ConnString out;
    std::string port;
    std::stringstream ss(cs);
    for (std::string part; std::getline(ss, part, ';');) {
        auto eq = part.find('=');
        if (eq == std::string::npos) continue;
        std::string k = part.substr(0, eq);
        for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        const std::string v = part.substr(eq + 1);
        if (k == "endpoint") out.endpoint = v;
        else if (k == "accesskey") out.key = v;
        else if (k == "port") port = v;
    }
    if (!out.endpoint.empty() && out.endpoint.find("://") == std::string::npos) out.endpoint = "https://" + out.endpoint;
    while (!out.endpoint.empty() && out.endpoint.back() == '/') out.endpoint.pop_back();
    if (!port.empty()) {
        auto scheme = out.endpoint.find("://");
        auto colon = out.endpoint.find(':', scheme + 3);
        if (colon != std::string::npos) out.endpoint.resize(colon);
        out.endpoint += ":" + port;
    }
    return out;
}

// Bits of entropy the key's own character distribution shows (Shannon, per character times
// length): a rough floor that refuses "aaaa...", "abababab..." and other placeholders.
// The lower of two estimates: the characters' distribution, and the distribution of the steps
// between neighbours (which sees runs like "0123456789abcdef..." or "abcd...ABCD...").
double estimated_entropy_bits(const std::string& key) {
    auto shannon = [](const std::vector<int>& symbols) {
        std::map<int, std::size_t> counts;
        for (int v : symbols) ++counts[v];
        double bits = 0;
        for (auto& [v, n] : counts) {
            const double p = static_cast<double>(n) / static_cast<double>(symbols.size());
            bits -= p * std::log2(p);
        }
        return bits * static_cast<double>(symbols.size());
    };
    std::vector<int> chars, steps;
    for (std::size_t i = 0; i < key.size(); ++i) {
        chars.push_back(static_cast<unsigned char>(key[i]));
        if (i > 0) steps.push_back(static_cast<int>(static_cast<unsigned char>(key[i])) - static_cast<unsigned char>(key[i - 1]));
    }
    return steps.empty() ? 0 : std::min(shannon(chars), shannon(steps));
}

// The filter of a conversation.activity send: these users' connections, except those in
// `except_group` (they get the message itself).
std::string users_filter(const std::vector<std::string>& users, std::size_t begin, std::size_t end, const std::string& except_group) {
    std::string filter = "userId in (";
    for (std::size_t k = begin; k < end; ++k) filter += (k > begin ? "," : "") + odata_quote(users[k]);
    filter += ")";
    if (!except_group.empty()) filter += " and not(" + odata_quote(except_group) + " in groups)";
    return filter;
}

// Talks to the service through the REST data plane, as a real backend does with the server SDK.
class RestPublisher final : public Publisher {
public:
    RestPublisher(std::string endpoint, std::string key, std::string hub, std::string ca_file)
        : endpoint_(std::move(endpoint)), key_(std::move(key)), hub_(std::move(hub)), ca_file_(std::move(ca_file)) {}
    std::string publish_to_group(const std::string& group, const std::string& body) override {
        return call("POST", "/groups/" + url_encode(group) + "/:send", "", body, 202, "publish");
    }
    // One request per 100 users: a send to all with the filter `userId in (...)` (and
    // `not('group' in groups)` to skip connections that get the message in that group).
    std::string publish_to_users(const std::vector<std::string>& users, const std::string& body, const std::string& except_group) override {
        constexpr std::size_t kPerRequest = 100;
        for (std::size_t i = 0; i < users.size(); i += kPerRequest) {
            const std::string filter = users_filter(users, i, std::min(users.size(), i + kPerRequest), except_group);
            if (auto err = call("POST", "/:send", "&filter=" + url_encode(filter), body, 202, "publish"); !err.empty()) return err;
        }
        return {};
    }
    // POST /chat/subscribe against an external service: groups change only for a connection of the
    // signed-in user (the filter); the service cannot say whether it matched, so this returns 0.
    int change_groups(const GroupChange& c, std::string& error) {
        const std::string filter = "connectionId eq " + odata_quote(c.connectionId) + " and userId eq " + odata_quote(c.owner);
        for (const auto& [op, groups] : {std::pair{":removeFromGroups", &c.leave}, std::pair{":addToGroups", &c.join}}) {
            if (groups->empty()) continue;
            error = call("POST", std::string("/") + op, "", json{{"groups", *groups}, {"filter", filter}}.dump(), 200, "group change");
            if (!error.empty()) return 502;
        }
        for (const auto& g : c.revoke_send)
            if (error = call("DELETE", "/permissions/sendToGroup/connections/" + url_encode(c.connectionId), "&targetName=" + url_encode(g), "", 204, "revoke"); !error.empty())
                return 502;
        for (const auto& g : c.grant_send)
            if (error = call("PUT", "/permissions/sendToGroup/connections/" + url_encode(c.connectionId), "&targetName=" + url_encode(g), "", 200, "grant"); !error.empty())
                return 502;
        return 0;
    }

private:
    std::string call(const char* method, const std::string& path, const std::string& query, const std::string& body, int expect,
                     const char* what) {
        const std::string url = endpoint_ + "/api/hubs/" + url_encode(hub_) + path + "?api-version=2024-12-01" + query;
        const std::string token = jwt_sign(json{{"aud", url}, {"exp", unix_now_s() + 300}, {"iat", unix_now_s()}}, key_);
        std::string response, error;
        std::map<std::string, std::string> headers{{"Authorization", "Bearer " + token}};
        if (!body.empty()) headers["Content-Type"] = "application/json";
        const int status = http_request(method, url, headers, body, response, error, 5000, ca_file_);
        if (status == expect) return {};
        if (status == 0) return std::string(what) + " failed: " + error;
        return std::string(what) + " failed: HTTP " + std::to_string(status) + " " + response.substr(0, 200);
    }
    std::string endpoint_, key_, hub_, ca_file_;
};

// Publishes to the embedded emulator in process: the payload is parsed on the worker's thread,
// then the hub (owned by the io thread) delivers it there; the row is marked published once the
// frames are queued on the connections, as a REST 202 would have meant. No HTTP, no JWT.
class HubPublisher final : public Publisher {
public:
    HubPublisher(Hub& hub, std::string hub_name, std::shared_ptr<IoPoster> poster)
        : hub_(hub), name_(std::move(hub_name)), poster_(std::move(poster)) {}
    std::string publish_to_group(const std::string& group, const std::string& body) override {
        return run(body, [this, group](const Payload& p) { hub_.send_to_group(name_, group, p, {}); });
    }
    std::string publish_to_users(const std::vector<std::string>& users, const std::string& body, const std::string& except_group) override {
        // In slices: a filter's `in` list is bounded (kODataMaxInValues), a conversation is not.
        constexpr std::size_t kPerFilter = 500;
        for (std::size_t i = 0; i < users.size(); i += kPerFilter) {
            std::string why;
            auto parsed = ODataFilter::parse(users_filter(users, i, std::min(users.size(), i + kPerFilter), except_group), &why);
            if (!parsed) return "activity filter: " + why;  // (user ids are quoted: cannot happen)
            auto f = std::make_shared<ODataFilter>(std::move(*parsed));
            if (auto err = run(body, [this, f](const Payload& p) { hub_.send_to_all(name_, p, {}, f.get()); }); !err.empty()) return err;
        }
        return {};
    }

private:
    std::string run(const std::string& body, std::function<void(const Payload&)> send) {
        json data = wps::parse_json_bounded(body);
        if (data.is_discarded()) return "publish failed: the outbox row is not JSON";
        auto done = std::make_shared<std::promise<void>>();
        auto future = done->get_future();
        auto payload = std::make_shared<Payload>(Payload{wps::DataType::Json, std::move(data)});
        if (!poster_->post([send = std::move(send), payload, done] {
                send(*payload);
                done->set_value();
            }))
            return "publish failed: the server is stopping";
        if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return "publish failed: the io thread did not answer in 5 s";
        return {};
    }
    Hub& hub_;
    std::string name_;
    std::shared_ptr<IoPoster> poster_;
};

std::string content_type_for(const std::string& path) {
    auto ends = [&](const char* ext) {
        const std::string e(ext);
        return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
    };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".wasm")) return "application/wasm";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".json")) return "application/json";
    if (ends(".png")) return "image/png";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".ico")) return "image/x-icon";
    if (ends(".ttf")) return "font/ttf";
    return "application/octet-stream";
}

constexpr std::uintmax_t kMaxStaticFileBytes = 64 * 1024 * 1024;

// gzip (RFC 1952) of `in` at the best level; empty when zlib fails.
std::string gzip_bytes(const std::string& in) {
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&z, in.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? out : std::string();
}

// Whether the client takes gzip: a "gzip" (or "*") coding in Accept-Encoding without q=0.
bool accepts_gzip(const std::string& header) {
    std::size_t start = 0;
    while (start < header.size()) {
        std::size_t end = header.find(',', start);
        if (end == std::string::npos) end = header.size();
        std::string item = header.substr(start, end - start);
        start = end + 1;
        std::string coding = item.substr(0, item.find(';'));
        coding.erase(0, coding.find_first_not_of(" \t"));
        coding.erase(coding.find_last_not_of(" \t") + 1);
        for (auto& ch : coding) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (coding != "gzip" && coding != "*") continue;
        const auto q = item.find("q=");
        if (q != std::string::npos && std::strtod(item.c_str() + q + 2, nullptr) <= 0.0) continue;
        return true;
    }
    return false;
}

// The site's files in memory with their gzip, by canonical path (size and mtime tell a changed
// file); a handful of files, bounded anyway.
struct StaticEntry {
    std::uintmax_t size = 0;
    std::int64_t mtime = 0;
    std::string bytes, gzip;
};
std::map<std::string, StaticEntry>& static_cache() {
    static std::map<std::string, StaticEntry> cache;
    return cache;
}

// Serves regular files under `root` (already canonical). The path is taken from the decoded
// segments, each of which must be a plain name; the file's canonical path (symlinks resolved)
// must still be under the root.
Response static_file(const std::string& root, const Request& r) {
    namespace fs = std::filesystem;
    if (root.empty() || (r.method != "GET" && r.method != "HEAD"))
        return error_response(404, "NotFound", "No route for " + r.method + " " + r.path + ".");
    std::string rel;
    for (const auto& seg : r.segments) {
        if (seg == "." || seg == ".." || seg.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
            return error_response(400, "BadRequest", "Invalid path.");
        rel += "/" + seg;
    }
    if (rel.empty()) rel = "/index.html";
    std::error_code ec;
    const fs::path file = fs::canonical(fs::path(root + rel), ec);
    const std::string inside = root + "/";
    if (ec || file.native().compare(0, inside.size(), inside) != 0 || !fs::is_regular_file(file, ec))
        return error_response(404, "NotFound", "No file " + r.path + ".");
    const auto size = fs::file_size(file, ec);
    if (ec || size > kMaxStaticFileBytes) return error_response(404, "NotFound", "No file " + r.path + ".");
    const auto mtime = fs::last_write_time(file, ec).time_since_epoch().count();
    if (ec) return error_response(404, "NotFound", "No file " + r.path + ".");
    auto& cache = static_cache();
    auto it = cache.find(file.native());
    if (it == cache.end() || it->second.size != size || it->second.mtime != mtime) {
        std::ifstream f(file, std::ios::binary);
        if (!f) return error_response(404, "NotFound", "No file " + r.path + ".");
        std::ostringstream ss;
        ss << f.rdbuf();
        // Bounded by bytes, not only by entries: a site folder may hold large files (up to
        // kMaxStaticFileBytes each); those are served but not kept.
        constexpr std::uintmax_t kMaxCachedFileBytes = 8 * 1024 * 1024;
        StaticEntry e{size, mtime, ss.str(), {}};
        if (size > kMaxCachedFileBytes) {
            Response big;
            big.content_type = content_type_for(rel);
            big.headers.emplace_back("Cache-Control", "no-cache");
            big.body = std::move(e.bytes);
            return big;
        }
        if (cache.size() >= 32) cache.clear();
        const std::string type = content_type_for(rel);
        const bool compressible = type.rfind("text/", 0) == 0 || type == "application/wasm" || type == "application/json" ||
                                  type == "image/svg+xml" || type == "application/octet-stream";
        if (compressible && e.bytes.size() > 1024) {
            e.gzip = gzip_bytes(e.bytes);
            if (e.gzip.size() >= e.bytes.size()) e.gzip.clear();
        }
        it = cache.insert_or_assign(file.native(), std::move(e)).first;
    }
    const StaticEntry& e = it->second;
    // Revalidation instead of a download: every file is no-cache (the names carry no content
    // hash), and its ETag (size + modification time, per encoding) answers If-None-Match with 304.
    const bool gz = !e.gzip.empty() && accepts_gzip(r.header("accept-encoding"));
    char tag[64];
    std::snprintf(tag, sizeof tag, "\"%llx-%llx%s\"", static_cast<unsigned long long>(e.size), static_cast<unsigned long long>(e.mtime),
                  gz ? "-gz" : "");
    Response res;
    res.content_type = content_type_for(rel);
    res.headers.emplace_back("Cache-Control", "no-cache");
    res.headers.emplace_back("ETag", tag);
    if (!e.gzip.empty()) res.headers.emplace_back("Vary", "Accept-Encoding");
    if (r.header("if-none-match").find(tag) != std::string::npos) {
        res.status = 304;
        return res;
    }
    if (gz) res.headers.emplace_back("Content-Encoding", "gzip");
    res.body = gz ? e.gzip : e.bytes;
    return res;
}

} // namespace

int main(int argc, char** argv) {
    Config cfg;
    auto need = [&](int& i) -> std::string {
        if (i + 1 >= argc) {
            std::cerr << "missing value for " << argv[i] << "\n";
            std::exit(2);
        }
        return argv[++i];
    };
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--help" || a == "-h") { std::cout << kHelp; return 0; }
            else if (a == "--port") cfg.port = std::stoi(need(i));
            else if (a == "--bind") cfg.bind = need(i);
            else if (a == "--public-url") cfg.public_url = need(i);
            else if (a == "--create-rate") cfg.create_rate_per_min = std::stoi(need(i));
            else if (a == "--upload-rate") cfg.upload_rate_per_min = std::stoi(need(i));
            else if (a == "--blob-quota-bytes") cfg.blob_quota_bytes = std::stoull(need(i));
            else if (a == "--max-connections") cfg.max_connections = std::stoul(need(i));
            else if (a == "--db") cfg.db = need(i);
            else if (a == "--static") cfg.static_dir = need(i);
            else if (a == "--hub") cfg.hub = need(i);
            else if (a == "--access-key") cfg.access_key = need(i);
            else if (a == "--pubsub-connection-string") cfg.pubsub_connection_string = need(i);
            else if (a == "--pubsub-ca-file") cfg.pubsub_ca_file = need(i);
            else if (a == "--token-ttl") cfg.token_ttl_s = std::stoll(need(i));
            else if (a == "--max-message-bytes") cfg.max_message_bytes = std::stoul(need(i));
            else if (a == "--max-body-bytes") cfg.max_body_bytes = std::stoul(need(i));
            else if (a == "--send-rate") cfg.send_rate_per_min = std::stoi(need(i));
            else if (a == "--blob-dir") cfg.blob_dir = need(i);
            else if (a == "--max-blob-bytes") cfg.max_blob_bytes = std::stoul(need(i));
            else if (a == "--allow-origin") cfg.allow_origins.push_back(need(i));
            else if (a == "--no-seed") cfg.seed = false;
            else if (a == "--demo-users") cfg.demo_users = std::clamp(std::stoi(need(i)), 0, 100000);
            else if (a == "--no-dev") cfg.dev = false;
            else if (a == "--enable-stub-api") cfg.stub_api = true;
            else if (a == "--quiet") cfg.quiet = true;
            else if (a == "--outbox-paused") cfg.outbox_paused = true;
            else if (a == "--outbox-max-attempts") cfg.outbox_max_attempts = std::stoi(need(i));
            else if (a == "--outbox-retry-ms") cfg.outbox_retry_ms = std::stoll(need(i));
            else { std::cerr << "unknown option " << a << " (see --help)\n"; return 2; }
        }
    } catch (const std::exception&) {
        std::cerr << "invalid number in the options (see --help)\n";
        return 2;
    }
    // The key may come from the environment, which other local users cannot read (unlike argv).
    if (cfg.access_key.empty())
        if (const char* env = std::getenv("CHAT_STUB_ACCESS_KEY"); env && *env) cfg.access_key = env;
    if (cfg.access_key.empty()) cfg.access_key = random_hex(32);
    if (cfg.access_key.size() < 32 || estimated_entropy_bits(cfg.access_key) < 128) {
        std::cerr << "--access-key must be at least 32 characters of a random string (about 128 bits of entropy or more; "
                     "e.g. `openssl rand -base64 32`)\n";
        return 2;
    }
    while (!cfg.public_url.empty() && cfg.public_url.back() == '/') cfg.public_url.pop_back();
    if (!cfg.public_url.empty()) {
        wps::Url u;
        const bool parsed = wps::parse_url(cfg.public_url, u);
        const bool host_ok = !u.host.empty() && u.host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:") == std::string::npos;
        const bool port_ok = parse_uint(u.port, 65535).value_or(0) >= 1;
        if (!parsed || (u.scheme != "http" && u.scheme != "https") || u.target != "/" ||
            cfg.public_url.find_first_of(" \t\r\n") != std::string::npos || !host_ok || !port_ok) {
            std::cerr << "--public-url must be an http(s) URL without a path, e.g. https://chat.example.com\n";
            return 2;
        }
    }
    if (cfg.max_connections < 1) cfg.max_connections = 1;

    std::unique_ptr<SqliteStore> store;
    try {
        store = std::make_unique<SqliteStore>(cfg.db);
    } catch (const std::exception& e) {
        std::cerr << "chat-stub: " << e.what() << "\n";
        return 1;
    }

    int port = cfg.port;
    ConnString external;
    if (!cfg.pubsub_connection_string.empty()) {
        external = parse_connection_string(cfg.pubsub_connection_string);
        if (external.endpoint.empty() || external.key.empty()) {
            std::cerr << "--pubsub-connection-string needs Endpoint= and AccessKey=\n";
            return 2;
        }
    }
    const std::string publish_endpoint = external.endpoint;
    RestPublisher* publisher_ptr = nullptr;  // the external service's REST API (null: embedded)
    std::unique_ptr<Publisher> publisher;
    auto poster = std::make_shared<IoPoster>();
    std::unique_ptr<OutboxWorker> worker;
    std::thread settle;               // prints "ready" once the start-up outbox rows are handled
    std::atomic<bool> stopping{false};

    std::string static_root;
    if (!cfg.static_dir.empty()) {
        std::error_code ec;
        static_root = std::filesystem::canonical(cfg.static_dir, ec).string();
        if (ec || !std::filesystem::is_directory(static_root)) {
            std::cerr << "chat-stub: --static " << cfg.static_dir << " is not a folder\n";
            return 2;
        }
    }

    Hub hub([] { return unix_now_ms(); });
    PubSubTarget target{external.endpoint, external.key.empty() ? cfg.access_key : external.key, cfg.hub};
    AppApi app(cfg, *store, [&] { if (worker) worker->notify(); }, target);
    // Token audiences and access URLs come from configuration (set once the port is known), never
    // from a request's Host header.
    RestApi rest(hub, cfg.access_key);
    // POST /chat/subscribe: the embedded emulator is changed in process (this thread owns the hub),
    // an external service through its REST API, both with the same ownership filter.
    app.set_group_control([&](const GroupChange& c, std::string& error) -> int {
        if (!external.endpoint.empty()) {
            if (!publisher_ptr) { error = "The server is starting."; return 503; }
            return publisher_ptr->change_groups(c, error);
        }
        const auto owned = ODataFilter::parse("connectionId eq " + odata_quote(c.connectionId) + " and userId eq " + odata_quote(c.owner));
        if (!owned || hub.remove_from_groups(cfg.hub, c.leave, *owned) == 0) {
            error = "Connection '" + c.connectionId + "' is not one of your connections.";
            return 404;
        }
        hub.add_to_groups(cfg.hub, c.join, *owned);
        for (const auto& g : c.revoke_send) hub.revoke(cfg.hub, c.connectionId, "sendToGroup", g);
        for (const auto& g : c.grant_send) hub.grant(cfg.hub, c.connectionId, "sendToGroup", g);
        return 0;
    });
    if (cfg.seed) app.seed();

    NetHandlers h;
    h.hub = &hub;
    h.access_key = cfg.access_key;
    h.allow_origins = cfg.allow_origins;
    h.dev = cfg.dev;
    h.log_requests = !cfg.quiet;
    h.max_body_bytes = cfg.max_body_bytes;
    h.max_upload_bytes = cfg.max_blob_bytes;
    h.tick = [&] { hub.tick(); };
    h.http = [&](const Request& r) -> Response {
        if (r.path == "/healthz") {
            const bool ok = worker && worker->running();
            return json_response(ok ? 200 : 503, json{{"status", ok ? "ready" : "starting"}, {"database", "open"},
                                                      {"outboxWorker", ok ? (worker->paused() ? "paused" : "running") : "stopped"}});
        }
        if (r.segments.size() >= 1 && r.segments[0] == "_stub") {
            if (!cfg.stub_api) return error_response(404, "NotFound", "The /_stub/ API is disabled; start with --enable-stub-api.");
            // The tester acts as the backend: the same signed token as the REST data plane.
            if (auto why = authenticate_service_request(r, cfg.access_key)) return error_response(401, "Unauthorized", *why);
            const std::string op = r.segments.size() > 1 ? r.segments[1] : "";
            if (op == "state" && r.method == "GET") {
                json conns = json::array();
                for (auto& c : hub.connections())
                    conns.push_back(json{{"connectionId", c.id}, {"userId", c.userId}, {"hub", c.hub}, {"groups", c.groups}, {"attached", c.attached}});
                auto st = store->outbox_stats();
                json dead = json::array();
                for (auto& d : store->dead_outbox()) dead.push_back(json{{"eventId", d.eventId}, {"target", d.target}, {"lastError", d.lastError}, {"retryCount", d.retryCount}});
                return json_response(200, json{{"connections", conns}, {"outbox", {{"pending", st.pending}, {"processed", st.processed}, {"dead", st.dead}, {"deadRows", dead}, {"paused", worker->paused()}}}});
            }
            if (op == "drop" && r.method == "POST") return json_response(200, json{{"dropped", hub.drop_sockets(r.param("userId").value_or(""))}});
            if (op == "close" && r.method == "POST") {
                // A service-side close (1008 + disconnected frame): the session cannot be recovered.
                hub.close_user(cfg.hub, r.param("userId").value_or(""), {}, r.param("reason").value_or("Closed by the stub."));
                return json_response(200, json{{"closed", true}});
            }
            if (op == "outbox" && r.method == "POST") {
                std::optional<uint64_t> fail_next, delay_next, delay_ms = 1000;
                if (auto f = r.param("failNext"); f && !(fail_next = parse_uint(*f, INT32_MAX)))
                    return error_response(400, "BadRequest", "'failNext' must be a non-negative integer.");
                if (auto d = r.param("delayNext"); d && !(delay_next = parse_uint(*d, INT32_MAX)))
                    return error_response(400, "BadRequest", "'delayNext' must be a non-negative integer.");
                if (auto d = r.param("delayMs"); d && !(delay_ms = parse_uint(*d, INT32_MAX)))
                    return error_response(400, "BadRequest", "'delayMs' must be a non-negative integer.");
                if (auto p = r.param("pause")) worker->set_paused(*p == "true" || *p == "1");
                if (fail_next) worker->fail_next(static_cast<int>(*fail_next));
                if (delay_next) worker->delay_next(static_cast<int>(*delay_next), static_cast<int64_t>(*delay_ms));
                return json_response(200, json{{"paused", worker->paused()}});
            }
            if (op == "notifications" && r.method == "POST") return app.create_notification_as_backend(r);
            return error_response(404, "NotFound", "Unknown /_stub/ operation.");
        }
        if (auto res = rest.handle(r)) return *res;
        if (auto res = app.handle(r)) return *res;
        return static_file(static_root, r);
    };
    h.max_connections = cfg.max_connections;
    h.poster = poster;
    h.ready = [&](int actual) {
        port = actual;
        // The embedded emulator is reached on the bound address (loopback for a wildcard bind).
        const std::string local_host = cfg.bind == "0.0.0.0" ? "127.0.0.1" : cfg.bind == "::" ? "[::1]"
                                       : cfg.bind.find(':') != std::string::npos ? "[" + cfg.bind + "]" : cfg.bind;
        const std::string local_base = "http://" + local_host + ":" + std::to_string(port);
        const std::string public_base = cfg.public_url.empty() ? local_base : cfg.public_url;
        rest.set_public_endpoint(public_base);
        if (external.endpoint.empty()) app.set_public_endpoint(public_base);
        if (!external.endpoint.empty()) {
            auto rest_publisher = std::make_unique<RestPublisher>(publish_endpoint, target.access_key, cfg.hub, cfg.pubsub_ca_file);
            publisher_ptr = rest_publisher.get();
            publisher = std::move(rest_publisher);
        } else {
            publisher = std::make_unique<HubPublisher>(hub, cfg.hub, poster);
        }
        OutboxOptions oo;
        oo.max_attempts = std::max(1, cfg.outbox_max_attempts);
        oo.base_retry_ms = std::max<int64_t>(1, cfg.outbox_retry_ms);
        worker = std::make_unique<OutboxWorker>(*store, *publisher, oo);
        worker->set_paused(cfg.outbox_paused);
        worker->start();
        const std::string& base = public_base;
        std::ostringstream out;
        out << "chat-stub listening on " << local_base << (public_base != local_base ? " (public URL " + public_base + ")" : "") << "\n";
        if (cfg.seed)
            for (const char* u : {"alice", "bob", "carol"}) out << "  open " << base << "/?user=" << u << "\n";
        // The key is a secret: printed for local development only.
        out << "Web PubSub emulator connection string:\n  Endpoint=" << base << ";AccessKey="
            << (cfg.dev ? cfg.access_key : std::string("<the --access-key value; not printed with --no-dev>")) << ";Version=1.0;\n";
        if (!external.endpoint.empty()) out << "publishing through external Web PubSub at " << external.endpoint << "\n";
        out << R"({"level":"info","msg":"ready","port":)" << port << "}\n";
        // A known state at "ready": rows committed before start-up (the demo seed's welcome message
        // and notification, or rows left by a killed run) have had their first publish attempt, so
        // nothing the seed wrote reaches a client that joins, or a test that pauses the outbox,
        // after "ready". The worker publishes through the io thread (in process, or its REST plane), which runs
        // only once run_server's loop runs: hence the wait happens beside it. With the outbox paused
        // (--outbox-paused) the rows stay pending and "ready" comes at once.
        settle = std::thread([&, text = out.str()] {
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            while (!stopping && !cfg.outbox_paused && std::chrono::steady_clock::now() < give_up) {
                bool settled = true;
                try { settled = worker->paused() || store->due_outbox(unix_now_ms(), 1).empty(); } catch (...) {}
                if (settled) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            if (!stopping) std::cout << text << std::flush;
        });
    };
    try {
        run_server(cfg.bind, cfg.port, h);
    } catch (const std::exception& e) {
        stopping = true;
        if (settle.joinable()) settle.join();
        std::cerr << "chat-stub: " << e.what() << "\n";
        return 1;
    }
    stopping = true;
    if (settle.joinable()) settle.join();
    if (worker) worker->stop();
    return 0;
}
