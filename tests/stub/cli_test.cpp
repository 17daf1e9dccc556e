// The stub's command line (server-stub/src/cli.hpp): every flag, its default, its help, and the
// refusals (exit 2 with one line naming the flag) before anything starts.
#include "cli.hpp"  // first: the header is self-contained

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

using namespace stub;

namespace {

const char* const kKey = "b3e1c97a0f5d2846e9a1c3f7d05b8e24a6c91f03d7e5b2a8";  // tests/lib/stub.mjs's key

struct Run {
    CommandLine cl;
    std::string out, err;
};

// Runs the parser on `args` (after the program name); `key` adds --access-key kKey first.
Run parse(std::initializer_list<std::string> args, bool key = true, const char* env_key = nullptr) {
    std::vector<std::string> words{"chat-stub"};
    if (key) words.insert(words.end(), {"--access-key", kKey});
    words.insert(words.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (auto& w : words) argv.push_back(w.c_str());
    std::ostringstream out, err;
    Run r;
    r.cl = parse_command_line(static_cast<int>(argv.size()), argv.data(), env_key, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
}

// A refused command line: exit code 2, nothing on stdout, one line on stderr.
std::string refusal(std::initializer_list<std::string> args) {
    const Run r = parse(args);
    CHECK(r.cl.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    return r.err;
}

} // namespace

TEST_CASE("cli: no flags give Config's defaults and a random access key", "[stub][cli]") {
    const Run r = parse({}, false);
    REQUIRE(r.cl.exit_code == -1);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
    const Config& c = r.cl.config;
    const Config d;
    CHECK(c.port == 8080);
    CHECK(c.bind == "127.0.0.1");
    CHECK(c.db == "chat.db");
    CHECK(c.hub == "chat");
    CHECK(c.token_ttl_s == 600);
    CHECK(c.session_ttl_s == 12 * 3600);
    CHECK(c.max_message_bytes == 4000);
    CHECK(c.max_body_bytes == 1048576);
    CHECK(c.send_rate_per_min == 60);
    CHECK(c.create_rate_per_min == 10);
    CHECK(c.upload_rate_per_min == 30);
    CHECK(c.blob_quota_bytes == 104857600);
    CHECK(c.max_connections == 2048);
    CHECK(c.max_blob_bytes == 5242880);
    CHECK(c.outbox_max_attempts == 8);
    CHECK(c.outbox_retry_ms == 500);
    CHECK(c.public_url.empty());
    CHECK(c.static_dir.empty());
    CHECK(c.blob_dir.empty());
    CHECK(c.allow_origins.empty());
    CHECK(c.demo_users == 0);
    CHECK(c.seed);
    CHECK(c.dev);
    CHECK_FALSE(c.quiet);
    CHECK_FALSE(c.stub_api);
    CHECK_FALSE(c.outbox_paused);
    CHECK(c.session_ttl_s == d.session_ttl_s);  // not a flag
    CHECK(r.cl.external.endpoint.empty());
    // 32 random bytes as hex, different on every start.
    CHECK(c.access_key.size() == 64);
    CHECK(c.access_key != parse({}, false).cl.config.access_key);
}

TEST_CASE("cli: every flag sets its setting", "[stub][cli]") {
    const auto site = std::filesystem::temp_directory_path();
    const Run r = parse({"--port", "0", "--bind", "0.0.0.0", "--public-url", "https://chat.example/", "--db", "/tmp/x.db",
                         "--static", site.string(), "--hub", "h1", "--pubsub-connection-string",
                         "Endpoint=https://svc.example;AccessKey=k;Version=1.0;", "--pubsub-ca-file", "ca.pem", "--token-ttl", "60",
                         "--session-ttl", "30", "--max-message-bytes", "100", "--max-body-bytes", "2000", "--send-rate", "0", "--create-rate", "1",
                         "--upload-rate", "2", "--blob-quota-bytes", "5000", "--max-connections", "40", "--blob-dir", "/tmp/b",
                         "--max-blob-bytes", "1000", "--allow-origin", "https://a.example", "--allow-origin", "*", "--no-seed",
                         "--demo-users", "5", "--no-dev", "--quiet", "--enable-stub-api", "--outbox-max-attempts", "3",
                         "--outbox-retry-ms", "50", "--outbox-paused"});
    REQUIRE(r.cl.exit_code == -1);
    INFO(r.err);
    const Config& c = r.cl.config;
    CHECK(c.port == 0);
    CHECK(c.bind == "0.0.0.0");
    CHECK(c.public_url == "https://chat.example");  // trailing '/' dropped
    CHECK(c.db == "/tmp/x.db");
    CHECK(c.static_dir == std::filesystem::canonical(site).string());
    CHECK(c.hub == "h1");
    CHECK(c.access_key == kKey);
    CHECK(c.pubsub_connection_string == "Endpoint=https://svc.example;AccessKey=k;Version=1.0;");
    CHECK(r.cl.external.endpoint == "https://svc.example");
    CHECK(r.cl.external.key == "k");
    CHECK(c.pubsub_ca_file == "ca.pem");
    CHECK(c.token_ttl_s == 60);
    CHECK(c.session_ttl_s == 30);
    CHECK(c.max_message_bytes == 100);
    CHECK(c.max_body_bytes == 2000);
    CHECK(c.send_rate_per_min == 0);
    CHECK(c.create_rate_per_min == 1);
    CHECK(c.upload_rate_per_min == 2);
    CHECK(c.blob_quota_bytes == 5000);
    CHECK(c.max_connections == 40);
    CHECK(c.blob_dir == "/tmp/b");
    CHECK(c.max_blob_bytes == 1000);
    CHECK(c.allow_origins == std::vector<std::string>{"https://a.example", "*"});
    CHECK_FALSE(c.seed);
    CHECK(c.demo_users == 5);
    CHECK_FALSE(c.dev);
    CHECK(c.quiet);
    CHECK(c.stub_api);
    CHECK(c.outbox_max_attempts == 3);
    CHECK(c.outbox_retry_ms == 50);
    CHECK(c.outbox_paused);
}

TEST_CASE("cli: a flag given twice takes its last value (scripts/run puts its defaults first)", "[stub][cli]") {
    const Run r = parse({"--db", "a.db", "--port", "1", "--db", "b.db", "--port", "2", "--quiet", "--quiet", "--access-key",
                         "9f2c4e81a07b3d65c1e8f4a29b7d0c36e5a1f8b24d9c07e3"});
    REQUIRE(r.cl.exit_code == -1);
    CHECK(r.cl.config.db == "b.db");
    CHECK(r.cl.config.port == 2);
    CHECK(r.cl.config.quiet);
    CHECK(r.cl.config.access_key == "9f2c4e81a07b3d65c1e8f4a29b7d0c36e5a1f8b24d9c07e3");
    CHECK(parse({"--port=9000"}).cl.config.port == 9000);  // CLI11's --flag=value also works
}

TEST_CASE("cli: --help lists every flag on stdout and exits 0", "[stub][cli]") {
    for (const char* h : {"--help", "-h"}) {
        const Run r = parse({h}, false);
        CHECK(r.cl.exit_code == 0);
        CHECK(r.err.empty());
        for (const char* flag : {"--port N", "--bind ADDR", "--public-url URL", "--db PATH", "--static DIR", "--hub NAME", "--access-key KEY",
                                 "--pubsub-connection-string CS", "--pubsub-ca-file PEM", "--token-ttl SECONDS", "--max-message-bytes N",
                                 "--max-body-bytes N", "--send-rate N", "--create-rate N", "--upload-rate N", "--blob-quota-bytes N",
                                 "--max-connections N", "--blob-dir DIR", "--max-blob-bytes N", "--allow-origin ORIGIN", "--no-seed",
                                 "--demo-users N", "--no-dev", "--quiet", "--enable-stub-api", "--outbox-max-attempts N",
                                 "--outbox-retry-ms N", "--outbox-paused", "--help"}) {
            INFO(flag);
            CHECK(r.out.find(flag) != std::string::npos);
        }
        CHECK(r.out.find("$CHAT_STUB_ACCESS_KEY") != std::string::npos);
        CHECK(r.out.find("default 8080; 0 = any free port") != std::string::npos);
    }
    // With other flags: help, unless one of them is refused (CLI11 converts values first).
    CHECK(parse({"--port", "1", "--help"}).cl.exit_code == 0);
    CHECK(parse({"--help", "--port", "x"}).cl.exit_code == 2);
}

TEST_CASE("cli: bad flags and values exit 2 with a line that names the flag", "[stub][cli]") {
    CHECK(refusal({"--bogus"}) == "chat-stub: The following argument was not expected: --bogus (see --help)\n");
    CHECK(refusal({"positional"}) == "chat-stub: The following argument was not expected: positional (see --help)\n");
    CHECK(refusal({"--port"}) == "chat-stub: --port: 1 required N missing (see --help)\n");
    CHECK(refusal({"--port", "12abc"}) == "chat-stub: --port: must be a port number from 0 to 65535, not '12abc' (see --help)\n");
    // CLI11 converts in base 0 after leading blanks: only plain decimal digits get that far.
    CHECK(refusal({"--port", "-0x1"}) == "chat-stub: --port: must be a port number from 0 to 65535, not '-0x1' (see --help)\n");
    CHECK(refusal({"--port", " 70000"}) == "chat-stub: --port: must be a port number from 0 to 65535, not ' 70000' (see --help)\n");
    CHECK(refusal({"--max-body-bytes", " -1"}) == "chat-stub: --max-body-bytes: must be a whole number in decimal digits, not ' -1' (see --help)\n");
    CHECK(refusal({"--token-ttl", "0x0"}) == "chat-stub: --token-ttl: must be a whole number in decimal digits, not '0x0' (see --help)\n");
    CHECK(refusal({"--max-message-bytes", "0100"}) ==  // never read as octal 64
          "chat-stub: --max-message-bytes: must be a whole number in decimal digits, not '0100' (see --help)\n");
    CHECK(parse({"--max-message-bytes", "0"}).cl.config.max_message_bytes == 0);
    CHECK(parse({"--port", "0"}).cl.config.port == 0);
    CHECK(refusal({"--port", "70000"}) == "chat-stub: --port: must be a port number from 0 to 65535, not 70000 (see --help)\n");
    CHECK(refusal({"--port", "-1"}) == "chat-stub: --port: must be a port number from 0 to 65535, not -1 (see --help)\n");
    CHECK(refusal({"--send-rate", "-1"}) == "chat-stub: --send-rate: must be 0 or more (0 = no limit), not -1 (see --help)\n");
    CHECK(refusal({"--send-rate", "1.5"}) == "chat-stub: --send-rate: must be a whole number in decimal digits, not '1.5' (see --help)\n");
    CHECK(refusal({"--send-rate", "99999999999"}) == "chat-stub: Could not convert: --send-rate = 99999999999 (see --help)\n");
    // Unsigned sizes: a negative value never wraps to a huge one, nor a 65-bit one to the largest.
    CHECK(refusal({"--max-message-bytes", "-1"}) == "chat-stub: --max-message-bytes: must be 0 or more, not -1 (see --help)\n");
    CHECK(refusal({"--blob-quota-bytes", "18446744073709551616"}) ==
          "chat-stub: --blob-quota-bytes: is too large: 18446744073709551616 (see --help)\n");
    CHECK(parse({"--blob-quota-bytes", "18446744073709551615"}).cl.config.blob_quota_bytes == 18446744073709551615ull);
    CHECK(refusal({"--token-ttl", "0"}) == "chat-stub: --token-ttl: must be 1 or more, not 0 (see --help)\n");
    CHECK(refusal({"--demo-users", "-3"}) == "chat-stub: --demo-users: must be 0 or more, not -3 (see --help)\n");
    // One value per --allow-origin: a second word is not taken as another origin.
    CHECK(refusal({"--allow-origin", "https://a.example", "https://b.example"}) ==
          "chat-stub: The following argument was not expected: https://b.example (see --help)\n");
}

TEST_CASE("cli: clamps kept from before CLI11", "[stub][cli]") {
    CHECK(parse({"--demo-users", "250000"}).cl.config.demo_users == 100000);
    CHECK(parse({"--max-connections", "0"}).cl.config.max_connections == 1);
}

TEST_CASE("cli: the access key comes from the flag, else the environment, else chance, weak ones are refused", "[stub][cli]") {
    const char* env = "9f2c4e81a07b3d65c1e8f4a29b7d0c36e5a1f8b24d9c07e3";
    CHECK(parse({}, false, env).cl.config.access_key == env);
    CHECK(parse({}, true, env).cl.config.access_key == kKey);   // the flag wins
    CHECK(parse({}, false, "").cl.config.access_key.size() == 64);  // empty variable: unset
    const std::string weak =
        "--access-key must be at least 32 characters of a random string (about 128 bits of entropy or more; e.g. `openssl rand -base64 32`)\n";
    for (const std::string& key : {std::string(32, 'a'), std::string(31, 'x') + "y", std::string("ab").append(30, 'c'),
                                  std::string("0123456789abcdef0123456789abcdef"), std::string("short")})
        CHECK(refusal({"--access-key", key}) == weak);
    const Run from_env = parse({}, false, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    CHECK(from_env.cl.exit_code == 2);
    CHECK(from_env.err == weak);
}

TEST_CASE("cli: estimated_entropy_bits sees repetition and runs", "[stub][cli]") {
    CHECK(estimated_entropy_bits("") == 0);
    CHECK(estimated_entropy_bits("a") == 0);
    CHECK(estimated_entropy_bits(std::string(64, 'a')) == 0);
    CHECK(estimated_entropy_bits("abababababababababababababababab") < 40);
    CHECK(estimated_entropy_bits("abcdefghijklmnopqrstuvwxyzABCDEF") < 40);  // one step, repeated
    CHECK(estimated_entropy_bits(kKey) >= 128);
}

TEST_CASE("cli: --public-url must be an http(s) origin", "[stub][cli]") {
    const std::string bad = "--public-url must be an http(s) URL without a path, e.g. https://chat.example.com\n";
    for (const char* u : {"http://chat.example/prefix", "http://chat.example?x=1", "http://chat.example#x", "ftp://chat.example",
                          "javascript:alert(1)//", "chat.example", "http://a b", "http://chat.example\r\nX: y", "http://chat.example:99999",
                          "http://chat.example:0", "http://bad_host.example"}) {
        INFO(u);
        CHECK(refusal({"--public-url", u}) == bad);
    }
    for (const char* u : {"http://chat.example:1234", "https://chat.example", "https://chat.example///", "http://[::1]:8080", "http://127.0.0.1:9"}) {
        INFO(u);
        CHECK(parse({"--public-url", u}).cl.exit_code == -1);
    }
}

TEST_CASE("cli: --pubsub-connection-string is read as Azure writes it, and needs Endpoint and AccessKey", "[stub][cli]") {
    auto cs = parse_connection_string("Endpoint=https://svc.webpubsub.azure.com/;AccessKey=a=b;Version=1.0;");
    CHECK(cs.endpoint == "https://svc.webpubsub.azure.com");
    CHECK(cs.key == "a=b");  // split at the first '='
    cs = parse_connection_string("endpoint=svc.example;ACCESSKEY=k;Port=8443;Version=1.0");
    CHECK(cs.endpoint == "https://svc.example:8443");  // no scheme: https; Port replaces the port
    cs = parse_connection_string("Endpoint=http://127.0.0.1:1234;AccessKey=k;Port=99;");
    CHECK(cs.endpoint == "http://127.0.0.1:99");
    cs = parse_connection_string("garbage;;=;Endpoint");
    CHECK(cs.endpoint.empty());
    CHECK(cs.key.empty());
    const std::string bad = "--pubsub-connection-string needs Endpoint= and AccessKey=\n";
    CHECK(refusal({"--pubsub-connection-string", "Endpoint=https://svc.example;Version=1.0;"}) == bad);
    CHECK(refusal({"--pubsub-connection-string", "AccessKey=k;Version=1.0;"}) == bad);
}

TEST_CASE("cli: --static must be a folder, and is kept canonical", "[stub][cli]") {
    CHECK(refusal({"--static", "/nonexistent/site"}) == "chat-stub: --static /nonexistent/site is not a folder\n");
    const std::string file = (std::filesystem::temp_directory_path() / "chat-stub-cli-test-file").string();
    { std::ofstream(file) << "x"; }
    CHECK(refusal({"--static", file}) == "chat-stub: --static " + file + " is not a folder\n");
    std::filesystem::remove(file);
    const auto tmp = std::filesystem::temp_directory_path();
    CHECK(parse({"--static", (tmp / "." / "").string()}).cl.config.static_dir == std::filesystem::canonical(tmp).string());
}

TEST_CASE("cli: --db takes a SQLite path or a PostgreSQL URL, checked before start and never echoed with its password", "[stub][cli][security]") {
    const Run sqlite = parse({"--db", "/tmp/x.db"});
    REQUIRE(sqlite.cl.exit_code == -1);
    CHECK(sqlite.cl.config.db == "/tmp/x.db");
    CHECK(sqlite.cl.config.blob_dir.empty());  // <db>.blobs, as before

    const Run pg = parse({"--db", "postgresql://chat:hunter2xyz@db.example.com:5432/chat?sslmode=require"});
    REQUIRE(pg.cl.exit_code == -1);
    CHECK(pg.cl.config.db == "postgresql://chat:hunter2xyz@db.example.com:5432/chat?sslmode=require");
    CHECK(pg.cl.config.blob_dir == "chat.blobs");  // not "<url>.blobs"
    CHECK(parse({"--db", "postgres://db/chat", "--blob-dir", "/srv/blobs"}).cl.config.blob_dir == "/srv/blobs");

    for (const char* bad : {"postgresql://chat:hunter2xyz@[::1/chat", "postgres://chat:hunter2xyz@db/chat?nosuchoption=1"}) {
        const std::string err = refusal({"--db", bad});
        INFO(err);
        CHECK(err.rfind("--db: not a PostgreSQL URL libpq can read: ", 0) == 0);
        CHECK(err.find("hunter2xyz") == std::string::npos);
    }
}

TEST_CASE("cli: --pubsub-connection-string over plain http only to a loopback endpoint (issue 16)", "[stub][cli][security]") {
    for (const char* ok : {"Endpoint=https://svc.webpubsub.azure.com;AccessKey=k;Version=1.0;", "Endpoint=svc.example;AccessKey=k;",
                           "Endpoint=http://127.0.0.1:8080;AccessKey=k;", "Endpoint=http://localhost:1234;AccessKey=k;",
                           "Endpoint=http://[::1]:8080;AccessKey=k;", "Endpoint=http://127.1.2.3;AccessKey=k;Port=99;"}) {
        const Run r = parse({"--pubsub-connection-string", ok});
        INFO(ok << " -> " << r.err);
        CHECK(r.cl.exit_code == -1);
    }
    for (const char* bad : {"Endpoint=http://svc.webpubsub.azure.com;AccessKey=k;", "Endpoint=http://10.0.0.5:8080;AccessKey=k;",
                            "Endpoint=http://127.0.0.1.evil.example;AccessKey=k;", "Endpoint=http://localhost.evil.example;AccessKey=k;",
                            "Endpoint=http://[::2]:80;AccessKey=k;"}) {
        const std::string err = refusal({"--pubsub-connection-string", bad});
        INFO(bad);
        CHECK(err.rfind("--pubsub-connection-string: plain http:// is allowed only for a loopback endpoint", 0) == 0);
    }
    CHECK(refusal({"--pubsub-connection-string", "Endpoint=ftp://svc.example;AccessKey=k;"}) ==
          "--pubsub-connection-string: Endpoint must be an https:// URL, not 'ftp://svc.example'\n");
}
