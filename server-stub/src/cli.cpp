// cli.cpp - see cli.hpp. The only file that includes CLI11 (Debian libcli11-dev, header-only).
#include "cli.hpp"

#include "http_types.hpp"
#include "jwt.hpp"
#include "pg_store.hpp"

#include "core/url.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <ostream>
#include <sstream>
#include <vector>

namespace stub {

ServiceEndpoint parse_connection_string(const std::string& cs) {
    ServiceEndpoint out;
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

// Shannon entropy per symbol times the length, for the characters and for the steps between
// neighbours (which sees runs like "0123456789abcdef..." or "abcd...ABCD..."); the lower wins.
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

namespace {

constexpr int kMaxDemoUsers = 100000;

// Only plain decimal integers: CLI11 converts with strtoull/strtoll in base 0, which would read
// " -1" as the largest value, "0x0" as hex and "0100" as octal (64): no blanks, no prefixes, no
// leading zeros.
bool plain_decimal(const std::string& text) {
    std::size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
    if (i >= text.size() || (text[i] == '0' && i + 1 < text.size())) return false;
    for (; i < text.size(); ++i)
        if (text[i] < '0' || text[i] > '9') return false;
    return true;
}

// A number flag's bounds, checked on the text before CLI11 converts it: only decimal digits (see
// plain_decimal), "-1" would wrap into a huge unsigned value, and a number past 64 bits would be
// taken as the largest one. A value past a narrower type (int) is left to the conversion's own
// error. No description: the help keeps the flag's own value name (N, SECONDS).
CLI::Validator at_least(long long lo, const char* meaning = "") {
    return CLI::Validator(
        [lo, meaning](std::string& text) -> std::string {
            if (!plain_decimal(text)) return "must be a whole number in decimal digits, not '" + text + "'";
            const char* first = text.data();
            const char* last = text.data() + text.size();
            long long v = 0;
            unsigned long long u = 0;
            const auto [end, ec] = !text.empty() && text[0] == '-' ? std::from_chars(first, last, v) : std::from_chars(first, last, u);
            if (ec == std::errc::result_out_of_range) return text[0] == '-' ? "must be " + std::to_string(lo) + " or more" + meaning + ", not " + text
                                                                             : "is too large: " + text;
            if (ec != std::errc() || end != last) return {};
            if (text[0] == '-' ? v >= lo : lo <= 0 || u >= static_cast<unsigned long long>(lo)) return {};
            return "must be " + std::to_string(lo) + " or more" + meaning + ", not " + text;
        },
        "");
}

CLI::Validator port_number() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            if (!plain_decimal(text)) return "must be a port number from 0 to 65535, not '" + text + "'";
            long long v = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || end != text.data() + text.size() || (v >= 0 && v <= 65535)) return {};
            return "must be a port number from 0 to 65535, not " + text;
        },
        "");
}

// The flags, their value names and their help. Defaults are the Config's own (config.hpp) and are
// stated in the text, which also says what 0 means where it means something.
void add_flags(CLI::App& app, Config& cfg, bool& no_seed, bool& no_dev) {
    app.add_option("--port", cfg.port, "listen port (default 8080; 0 = any free port)")->type_name("N")->check(port_number());
    app.add_option("--bind", cfg.bind, "bind address (default 127.0.0.1)")->type_name("ADDR");
    app.add_option("--public-url", cfg.public_url,
                   "the http(s) base URL clients use to reach this server (access URLs and\n"
                   "token audiences; default http://{bind}:{port}, 0.0.0.0 -> 127.0.0.1)")
        ->type_name("URL");
    app.add_option("--db", cfg.db,
                   "SQLite database file (default chat.db; created and migrated), or a\n"
                   "PostgreSQL URL postgresql://user@host:port/dbname (or postgres://; the\n"
                   "database must exist, its tables are created and migrated), which\n"
                   "several instances may share. Give its password in PGPASSWORD or\n"
                   "~/.pgpass, not in the URL (argv is visible to local users)")
        ->type_name("PATH|URL");
    app.add_option("--static", cfg.static_dir, "serve the web client from DIR (the build's site folder)")->type_name("DIR");
    app.add_option("--hub", cfg.hub, "Web PubSub hub name (default chat)")->type_name("NAME");
    app.add_option("--event-handler", cfg.event_handler,
                   "where the embedded emulator sends its hub's connected and disconnected\n"
                   "events (CloudEvents, as the service does; presence): 'self' (default,\n"
                   "this server's /eventhandler), 'none', or an http(s) URL")
        ->type_name("self|none|URL");
    app.add_option("--presence-sweep", cfg.presence_sweep_s,
                   "with --event-handler self: every N seconds, connections stored as live\n"
                   "that the emulator no longer has end (a lost disconnected event never keeps\n"
                   "anyone online; default 30, 0 = off)")
        ->type_name("N")->check(CLI::Range(0, 86400));
    app.add_option("--access-key", cfg.access_key,
                   "access key of the embedded emulator (default: $CHAT_STUB_ACCESS_KEY, else\n"
                   "random per start; prefer the variable: argv is visible to local users)")
        ->type_name("KEY");
    app.add_option("--pubsub-connection-string", cfg.pubsub_connection_string,
                   "publish through an external Web PubSub service instead of the\n"
                   "embedded emulator (Endpoint=https://...;AccessKey=...;Version=1.0;\n"
                   "plain http:// only to a loopback address, e.g. a local emulator)")
        ->type_name("CS");
    app.add_option("--pubsub-ca-file", cfg.pubsub_ca_file, "trust this CA file for the external service's TLS certificate")
        ->type_name("PEM");
    app.add_option("--token-ttl", cfg.token_ttl_s, "lifetime of client access URLs (default 600)")
        ->type_name("SECONDS")->check(at_least(1));
    app.add_option("--session-ttl", cfg.session_ttl_s, "lifetime of dev-login session tokens (default 43200)")
        ->type_name("SECONDS")->check(at_least(1));
    app.add_option("--blob-url-ttl", cfg.blob_url_ttl_s,
                   "lifetime of a signed attachment link (default 3600; the history hands out\n"
                   "links signed when it is read; at most a year)")
        ->type_name("SECONDS")->check(CLI::Range(int64_t{1}, int64_t{366} * 86400));
    app.add_option("--max-message-bytes", cfg.max_message_bytes, "chat message body limit (default 4000)")
        ->type_name("N")->check(at_least(0));
    app.add_option("--max-body-bytes", cfg.max_body_bytes, "HTTP request body limit (default 1048576)")
        ->type_name("N")->check(at_least(0));
    app.add_option("--send-rate", cfg.send_rate_per_min, "chat sends per user per minute (default 60, burst 20; 0 = no limit)")
        ->type_name("N")->check(at_least(0, " (0 = no limit)"));
    app.add_option("--create-rate", cfg.create_rate_per_min,
                   "conversations a user may create per minute (default 10, burst 10; 0 = no limit)")
        ->type_name("N")->check(at_least(0, " (0 = no limit)"));
    app.add_option("--upload-rate", cfg.upload_rate_per_min,
                   "attachment uploads per user per minute (default 30, burst 10; 0 = no limit)")
        ->type_name("N")->check(at_least(0, " (0 = no limit)"));
    app.add_option("--blob-quota-bytes", cfg.blob_quota_bytes,
                   "attachment bytes each user may store (default 104857600; 0 = no limit)")
        ->type_name("N")->check(at_least(0, " (0 = no limit)"));
    app.add_option("--max-connections", cfg.max_connections,
                   "HTTP + WebSocket connections at once (default 2048, capped by the\n"
                   "process's file-descriptor limit); past it: 503")
        ->type_name("N")->check(at_least(0));
    app.add_option("--blob-dir", cfg.blob_dir, "where attachments are stored (default: <db>.blobs; with\nPostgreSQL: chat.blobs)")
        ->type_name("DIR");
    app.add_option("--max-blob-bytes", cfg.max_blob_bytes, "attachment size limit (default 5242880)")
        ->type_name("N")->check(at_least(0));
    app.add_option("--allow-origin", cfg.allow_origins,
                   "allow cross-origin requests from ORIGIN (repeatable; '*' = any, answered\n"
                   "as '*'; bearer tokens only, no cookies)")
        ->type_name("ORIGIN")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->allow_extra_args(false);  // one value per flag, as the flag is repeated
    app.add_flag("--no-seed", no_seed, "do not create the demo users and conversation");
    app.add_option("--demo-users", cfg.demo_users,
                   "also seed users user-1 .. user-N (team \"load\"; for load tests and big\n"
                   "demos; at most 100000)")
        ->type_name("N")->check(at_least(0));
    app.add_flag("--no-dev", no_dev,
                 "deployment mode: no /auth/dev-login, no user-created notifications,\n"
                 "CORS only for --allow-origin, the access key is never printed");
    app.add_flag("--quiet", cfg.quiet, "no per-request log lines");
    app.add_flag("--enable-stub-api", cfg.stub_api,
                 "enable /_stub/ fault injection and inspection (each call needs a\n"
                 "REST data-plane token signed with the access key)");
    app.add_option("--outbox-max-attempts", cfg.outbox_max_attempts,
                   "publish tries before an outbox row is parked as dead (default 8)")
        ->type_name("N")->check(at_least(0));
    app.add_option("--outbox-retry-ms", cfg.outbox_retry_ms, "first retry delay of a failed publish, doubling (default 500)")
        ->type_name("N")->check(at_least(0));
    app.add_flag("--outbox-paused", cfg.outbox_paused,
                 "start with the outbox worker paused (resume: POST /_stub/outbox?pause=false)");
}

// The host of an http(s) URL's authority, without the port ("[::1]" keeps its brackets).
std::string url_host(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return {};
    const std::string authority = url.substr(scheme + 3, url.find_first_of("/?#", scheme + 3) - (scheme + 3));
    if (!authority.empty() && authority[0] == '[') return authority.substr(0, authority.find(']') + 1);
    return authority.substr(0, authority.find(':'));
}

// Loopback only: localhost, 127.0.0.0/8 (dotted digits), [::1].
bool loopback_host(std::string host) {
    for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (host == "localhost" || host == "[::1]") return true;
    return host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string::npos &&
           std::count(host.begin(), host.end(), '.') == 3;
}

// --public-url: an http(s) origin (scheme, host, optional port), nothing else.
bool valid_public_url(const std::string& url) {
    wps::Url u;
    const bool parsed = wps::parse_url(url, u);
    const bool host_ok = !u.host.empty() &&
                         u.host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:") == std::string::npos;
    const bool port_ok = parse_uint(u.port, 65535).value_or(0) >= 1;
    return parsed && (u.scheme == "http" || u.scheme == "https") && u.target == "/" &&
           url.find_first_of(" \t\r\n") == std::string::npos && host_ok && port_ok;
}

} // namespace

CommandLine parse_command_line(int argc, const char* const* argv, const char* env_access_key, std::ostream& out,
                               std::ostream& err) {
    CommandLine cl;
    Config& cfg = cl.config;
    CLI::App app("chat-stub - local stand-in for Azure Web PubSub and the chat/notification backend", "chat-stub");
    // A flag given twice takes its last value: scripts/run puts its defaults before the user's.
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.set_help_flag("-h,--help", "this text");
    app.get_formatter()->column_width(28);
    bool no_seed = false, no_dev = false;
    add_flags(app, cfg, no_seed, no_dev);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        out << app.help();
        cl.exit_code = 0;
        return cl;
    } catch (const CLI::ParseError& e) {
        err << "chat-stub: " << e.what() << " (see --help)\n";
        cl.exit_code = 2;
        return cl;
    }
    cfg.seed = !no_seed;
    cfg.dev = !no_dev;
    cfg.demo_users = std::min(cfg.demo_users, kMaxDemoUsers);
    if (cfg.max_connections < 1) cfg.max_connections = 1;

    // The key may come from the environment, which other local users cannot read (unlike argv).
    if (cfg.access_key.empty() && env_access_key && *env_access_key) cfg.access_key = env_access_key;
    if (cfg.access_key.empty()) cfg.access_key = random_hex(32);
    if (cfg.access_key.size() < 32 || estimated_entropy_bits(cfg.access_key) < 128) {
        err << "--access-key must be at least 32 characters of a random string (about 128 bits of entropy or more; "
               "e.g. `openssl rand -base64 32`)\n";
        cl.exit_code = 2;
        return cl;
    }
    while (!cfg.public_url.empty() && cfg.public_url.back() == '/') cfg.public_url.pop_back();
    if (!cfg.public_url.empty() && !valid_public_url(cfg.public_url)) {
        err << "--public-url must be an http(s) URL without a path, e.g. https://chat.example.com\n";
        cl.exit_code = 2;
        return cl;
    }
    if (cfg.event_handler != "self" && cfg.event_handler != "none" &&
        (!(cfg.event_handler.rfind("http://", 0) == 0 || cfg.event_handler.rfind("https://", 0) == 0) || url_host(cfg.event_handler).empty())) {
        err << "--event-handler must be self, none or an http(s) URL, not '" << cfg.event_handler << "'\n";
        cl.exit_code = 2;
        return cl;
    }
    if (!cfg.pubsub_connection_string.empty()) {
        cl.external = parse_connection_string(cfg.pubsub_connection_string);
        if (cl.external.endpoint.empty() || cl.external.key.empty()) {
            err << "--pubsub-connection-string needs Endpoint= and AccessKey=\n";
            cl.exit_code = 2;
            return cl;
        }
        // Each REST call carries a token signed with the access key: over the network only with
        // TLS. Plain http is for an emulator on this machine (tests), nothing else.
        const std::string& ep = cl.external.endpoint;
        const bool https = ep.rfind("https://", 0) == 0, http = ep.rfind("http://", 0) == 0;
        if ((!https && !http) || url_host(ep).empty()) {
            err << "--pubsub-connection-string: Endpoint must be an https:// URL, not '" << ep << "'\n";
            cl.exit_code = 2;
            return cl;
        }
        if (http && !loopback_host(url_host(ep))) {
            err << "--pubsub-connection-string: plain http:// is allowed only for a loopback endpoint (localhost, "
                   "127.x.x.x, [::1]); use https:// for " << url_host(ep) << "\n";
            cl.exit_code = 2;
            return cl;
        }
    }
    if (is_postgres_url(cfg.db)) {
        // Checked by libpq's own parser before anything starts; the message never holds the password.
        const std::string problem = postgres_url_problem(cfg.db);
        if (!problem.empty()) {
            err << "--db: not a PostgreSQL URL libpq can read: " << problem << "\n";
            cl.exit_code = 2;
            return cl;
        }
        if (cfg.blob_dir.empty()) cfg.blob_dir = "chat.blobs";  // not "<url>.blobs"
    }
    if (!cfg.static_dir.empty()) {
        std::error_code ec;
        const std::string root = std::filesystem::canonical(cfg.static_dir, ec).string();
        if (ec || !std::filesystem::is_directory(root)) {
            err << "chat-stub: --static " << cfg.static_dir << " is not a folder\n";
            cl.exit_code = 2;
            return cl;
        }
        cfg.static_dir = root;
    }
    return cl;
}

} // namespace stub
