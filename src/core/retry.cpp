// retry.cpp - see retry.hpp.
#include "retry.hpp"

#include <algorithm>

namespace wps {

uint64_t retry_delay_ms(const RetryOptions& o, uint32_t attempt, double random01) {
    if (attempt == 0) attempt = 1;
    uint64_t base = o.retry_delay_ms;
    if (o.mode == RetryOptions::Mode::Exponential) {
        // retry_delay * 2^(attempt-1), saturating well before overflow.
        const uint32_t shift = std::min<uint32_t>(attempt - 1, 40);
        const long double d = static_cast<long double>(o.retry_delay_ms) * static_cast<long double>(1ULL << shift);
        base = d > static_cast<long double>(o.max_retry_delay_ms) ? o.max_retry_delay_ms : static_cast<uint64_t>(d);
    }
    base = std::min(base, o.max_retry_delay_ms);
    const double jitter = std::clamp(o.jitter, 0.0, 1.0);
    const double r = std::clamp(random01, 0.0, 1.0);
    const double d = static_cast<double>(base) * (1.0 - jitter) + static_cast<double>(base) * jitter * r;
    return static_cast<uint64_t>(d);
}

} // namespace wps
