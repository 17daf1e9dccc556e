// cli.hpp - the stub's command line: every flag with its default and --help text (CLI11), and
// the checks that refuse a configuration before anything starts (weak access key, bad public
// URL, connection string without a key, missing site folder).
//
// Exit codes: 0 after --help (printed on `out`), 2 for a bad flag or value (one line on `err`
// that names the flag), as before CLI11.
#pragma once

#include "config.hpp"

#include <iosfwd>
#include <string>

namespace stub {

// An external Web PubSub service (--pubsub-connection-string).
struct ServiceEndpoint {
    std::string endpoint;  // https://<name>.webpubsub.azure.com[:port], no trailing '/'
    std::string key;
};

// Endpoint=...;AccessKey=...;Version=1.0;[Port=..;] (keys case-insensitive, split at the first
// '='); an endpoint without a scheme is https. Fields it lacks are empty.
ServiceEndpoint parse_connection_string(const std::string& cs);

// Bits of entropy a key's own characters show: the lower of the estimates from the distribution
// of its characters and from the steps between neighbours (a rough floor, not a guarantee).
double estimated_entropy_bits(const std::string& key);

struct CommandLine {
    Config config;             // static_dir canonical when set; access_key always set
    ServiceEndpoint external;  // endpoint empty: the embedded emulator
    int exit_code = -1;        // >= 0: exit now with this code (--help, or a refused flag)
};

// `env_access_key`: $CHAT_STUB_ACCESS_KEY (null or empty: unset), used when --access-key is not
// given; with neither, a random key.
CommandLine parse_command_line(int argc, const char* const* argv, const char* env_access_key, std::ostream& out,
                               std::ostream& err);

} // namespace stub
