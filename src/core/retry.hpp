// retry.hpp - retry/backoff policy shared by reconnects and message retries.
#pragma once

#include <cstdint>
#include <limits>

namespace wps {

struct RetryOptions {
    enum class Mode { Fixed, Exponential };
    Mode mode = Mode::Exponential;
    uint32_t max_retries = std::numeric_limits<uint32_t>::max();
    uint64_t retry_delay_ms = 1000;
    uint64_t max_retry_delay_ms = 30000;
    // Fraction of each delay that is randomized ("equal jitter"): the delay is
    // d * (1 - jitter) + d * jitter * random. 0 disables; the default spreads a mass reconnect.
    double jitter = 0.5;
};

// Delay before retry number `attempt` (1-based), given a uniform random number in [0,1).
uint64_t retry_delay_ms(const RetryOptions& o, uint32_t attempt, double random01);

} // namespace wps
