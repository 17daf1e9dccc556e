#include "core/retry.hpp"

#include <catch2/catch.hpp>

using namespace wps;

TEST_CASE("exponential backoff doubles up to the cap", "[retry]") {
    RetryOptions o;
    o.jitter = 0;
    o.retry_delay_ms = 1000;
    o.max_retry_delay_ms = 30000;
    CHECK(retry_delay_ms(o, 1, 0.3) == 1000);
    CHECK(retry_delay_ms(o, 2, 0.3) == 2000);
    CHECK(retry_delay_ms(o, 5, 0.3) == 16000);
    CHECK(retry_delay_ms(o, 6, 0.3) == 30000);
    CHECK(retry_delay_ms(o, 1000, 0.3) == 30000);
}

TEST_CASE("fixed mode keeps the delay", "[retry]") {
    RetryOptions o{RetryOptions::Mode::Fixed, 3, 1500, 30000, 0.0};
    CHECK(retry_delay_ms(o, 1, 0.9) == 1500);
    CHECK(retry_delay_ms(o, 9, 0.9) == 1500);
}

TEST_CASE("jitter spreads delays inside [d*(1-j), d]", "[retry]") {
    RetryOptions o;
    o.jitter = 0.5;
    CHECK(retry_delay_ms(o, 3, 0.0) == 2000);
    CHECK(retry_delay_ms(o, 3, 0.5) == 3000);
    CHECK(retry_delay_ms(o, 3, 0.999999) == 3999);
    CHECK(retry_delay_ms(o, 3, 0.1) != retry_delay_ms(o, 3, 0.9));
}
