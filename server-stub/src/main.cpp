// main.cpp - the stub server: Web PubSub emulator + app backend + static web client.
#include "app_api.hpp"
#include "config.hpp"
#include "hub.hpp"
#include "jwt.hpp"
#include "net.hpp"
#include "outbox.hpp"
#include "rest_api.hpp"
#include "sqlite_store.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace stub;
using nlohmann::json;

namespace {

const char* kHelp = R"(chat-stub - local stand-in for Azure Web PubSub and the chat/notification backend

Usage: chat-stub [options]
  --port N                 listen port (default 8080; 0 = any free port)
  --bind ADDR              bind address (default 127.0.0.1)
  --db PATH                SQLite database file (default chat.db; created and migrated)
  --static DIR             serve the web client from DIR (the build's site folder)
  --hub NAME               Web PubSub hub name (default chat)
  --access-key KEY         access key of the embedded emulator (default: random per start)
  --pubsub-connection-string CS
                           publish through an external Web PubSub service instead of the
                           embedded emulator (Endpoint=https://...;AccessKey=...;Version=1.0;)
  --pubsub-ca-file PEM     trust this CA file for the external service's TLS certificate
  --token-ttl SECONDS      lifetime of client access URLs (default 600)
  --max-message-bytes N    chat message body limit (default 4000)
  --max-body-bytes N       HTTP request body limit (default 1048576)
  --send-rate N            chat sends per user per minute (default 60, burst 20; 0 = no limit)
  --blob-dir DIR           where attachments are stored (default: <db>.blobs)
  --max-blob-bytes N       attachment size limit (default 5242880)
  --allow-origin ORIGIN    allow cross-origin requests from ORIGIN (repeatable; '*' = any)
  --no-seed                do not create the demo users and conversation
  --no-dev                 disable /auth/dev-login and permissive CORS
  --quiet                  no per-request log lines
  --enable-stub-api        enable /_stub/ fault injection and inspection
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

std::string random_key() {
    unsigned char buf[32];
    RAND_bytes(buf, sizeof buf);
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (unsigned char b : buf) {
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

// Publishes through the REST data plane, as a real backend does with the server SDK.
class RestPublisher final : public Publisher {
public:
    RestPublisher(std::string endpoint, std::string key, std::string hub, std::string ca_file)
        : endpoint_(std::move(endpoint)), key_(std::move(key)), hub_(std::move(hub)), ca_file_(std::move(ca_file)) {}
    std::string publish_to_group(const std::string& group, const std::string& body) override {
        const std::string url = endpoint_ + "/api/hubs/" + url_encode(hub_) + "/groups/" + url_encode(group) +
                                "/:send?api-version=2024-12-01";
        const std::string token = jwt_sign(json{{"aud", url}, {"exp", unix_now_s() + 300}, {"iat", unix_now_s()}}, key_);
        std::string response, error;
        const int status = http_request("POST", url, {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                                        body, response, error, 5000, ca_file_);
        if (status == 202) return {};
        if (status == 0) return "publish failed: " + error;
        return "publish failed: HTTP " + std::to_string(status) + " " + response.substr(0, 200);
    }

private:
    std::string endpoint_, key_, hub_, ca_file_;
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

Response static_file(const std::string& root, const Request& r) {
    if (root.empty() || (r.method != "GET" && r.method != "HEAD"))
        return error_response(404, "NotFound", "No route for " + r.method + " " + r.path + ".");
    std::string rel = r.path == "/" ? "/index.html" : r.path;
    for (auto& seg : r.segments)
        if (seg == ".." || seg.find('\\') != std::string::npos) return error_response(400, "BadRequest", "Invalid path.");
    std::ifstream f(root + rel, std::ios::binary);
    if (!f) return error_response(404, "NotFound", "No file " + r.path + ".");
    std::ostringstream ss;
    ss << f.rdbuf();
    Response res;
    res.body = ss.str();
    res.content_type = content_type_for(rel);
    res.headers.emplace_back("Cache-Control", "no-cache");
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
    if (cfg.access_key.empty()) cfg.access_key = random_key();
    if (cfg.access_key.size() < 32) {
        std::cerr << "--access-key must be at least 32 characters\n";
        return 2;
    }

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
    // The publisher learns the embedded endpoint once the port is bound.
    std::string publish_endpoint = external.endpoint;
    RestPublisher* publisher_ptr = nullptr;
    std::unique_ptr<RestPublisher> publisher;
    std::unique_ptr<OutboxWorker> worker;

    Hub hub([] { return unix_now_ms(); });
    PubSubTarget target{external.endpoint, external.key.empty() ? cfg.access_key : external.key, cfg.hub};
    AppApi app(cfg, *store, [&] { if (worker) worker->notify(); }, target);
    RestApi rest(hub, cfg.access_key, [](const Request& r) { return "http://" + r.header("host"); });
    if (cfg.seed) app.seed();

    NetHandlers h;
    h.hub = &hub;
    h.access_key = cfg.access_key;
    h.allow_origins = cfg.allow_origins;
    h.dev = cfg.dev;
    h.log_requests = !cfg.quiet;
    h.max_body_bytes = std::max(cfg.max_body_bytes, cfg.max_blob_bytes);  // JSON routes re-check max_body_bytes
    h.tick = [&] { hub.tick(); };
    h.http = [&](const Request& r) -> Response {
        if (r.path == "/healthz") {
            const bool ok = worker && worker->running();
            return json_response(ok ? 200 : 503, json{{"status", ok ? "ready" : "starting"}, {"database", "open"},
                                                      {"outboxWorker", ok ? (worker->paused() ? "paused" : "running") : "stopped"}});
        }
        if (r.segments.size() >= 1 && r.segments[0] == "_stub") {
            if (!cfg.stub_api) return error_response(404, "NotFound", "The /_stub/ API is disabled; start with --enable-stub-api.");
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
                if (auto p = r.param("pause")) worker->set_paused(*p == "true" || *p == "1");
                if (auto f = r.param("failNext")) worker->fail_next(std::stoi(*f));
                if (auto d = r.param("delayNext")) worker->delay_next(std::stoi(*d), std::stoll(r.param("delayMs").value_or("1000")));
                return json_response(200, json{{"paused", worker->paused()}});
            }
            return error_response(404, "NotFound", "Unknown /_stub/ operation.");
        }
        if (auto res = rest.handle(r)) return *res;
        if (auto res = app.handle(r)) return *res;
        return static_file(cfg.static_dir, r);
    };
    h.ready = [&](int actual) {
        port = actual;
        if (publish_endpoint.empty()) publish_endpoint = "http://127.0.0.1:" + std::to_string(port);
        publisher = std::make_unique<RestPublisher>(publish_endpoint, target.access_key, cfg.hub, cfg.pubsub_ca_file);
        publisher_ptr = publisher.get();
        OutboxOptions oo;
        oo.max_attempts = std::max(1, cfg.outbox_max_attempts);
        oo.base_retry_ms = std::max<int64_t>(1, cfg.outbox_retry_ms);
        worker = std::make_unique<OutboxWorker>(*store, *publisher_ptr, oo);
        worker->set_paused(cfg.outbox_paused);
        worker->start();
        const std::string base = "http://" + (cfg.bind == "0.0.0.0" ? std::string("127.0.0.1") : cfg.bind) + ":" + std::to_string(port);
        std::cout << "chat-stub listening on " << base << "\n";
        if (cfg.seed)
            for (const char* u : {"alice", "bob", "carol"}) std::cout << "  open " << base << "/?user=" << u << "\n";
        std::cout << "Web PubSub emulator connection string:\n  Endpoint=" << base << ";AccessKey=" << cfg.access_key
                  << ";Version=1.0;\n";
        if (!external.endpoint.empty()) std::cout << "publishing through external Web PubSub at " << external.endpoint << "\n";
        std::cout << R"({"level":"info","msg":"ready","port":)" << port << "}" << std::endl;
    };
    try {
        run_server(cfg.bind, cfg.port, h);
    } catch (const std::exception& e) {
        std::cerr << "chat-stub: " << e.what() << "\n";
        return 1;
    }
    if (worker) worker->stop();
    return 0;
}
