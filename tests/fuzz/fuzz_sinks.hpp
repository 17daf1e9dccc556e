// fuzz_sinks.hpp - a ConnectionSink for the hub harnesses: keeps nothing but what the harness
// checks (every frame a JSON-protocol connection gets must decode as a service frame) and the
// reconnection token of the last "connected" frame (for recovery).
#pragma once

#include "fuzz_common.hpp"

#include "hub.hpp"

#include <memory>
#include <string>

namespace fuzz {

class DiscardSink : public stub::ConnectionSink {
public:
    explicit DiscardSink(stub::ClientProtocol p) : protocol_(p) {}
    void send(std::shared_ptr<const std::string> text) override {
        FUZZ_CHECK(text != nullptr, "the hub sent a null frame");
        ++sent;
        if (protocol_ == stub::ClientProtocol::Simple) return;  // raw payloads
        auto d = wps::decode_service_frame(*text);
        FUZZ_CHECK(d.frame.has_value(), "the hub sent a frame its own codec refuses (" + d.error + "): " + text->substr(0, 300));
        if (auto* c = std::get_if<wps::ConnectedFrame>(&*d.frame))
            if (c->reconnectionToken) token = *c->reconnectionToken;
    }
    void close(int code, const std::string& reason) override {
        FUZZ_CHECK(code == -1 || (code >= 1000 && code <= 4999), "close code out of range: " + std::to_string(code));
        closed = true;
    }
    std::size_t sent = 0;
    bool closed = false;
    std::string token;

private:
    stub::ClientProtocol protocol_;
};

} // namespace fuzz
