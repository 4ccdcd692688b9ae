// When a certificate is renewed: the share of the lifetime, days before expiry, the
// half-life floor that keeps short-lived certificates from being renewed in a loop, and the
// setting's errors.
#include <gtest/gtest.h>

#include "cmp/renewal_point.hpp"

using ndsip::cmp::RenewalPoint;

namespace {
constexpr std::time_t day = 86400;
}

TEST(RenewalPoint, AShareOfTheLifetimeCountsFromNotBefore) {
  std::string error;
  const auto p = RenewalPoint::parse("70%", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->to_string(), "70%");
  EXPECT_EQ(p->when(1000 * day, 1100 * day), 1070 * day);
}

TEST(RenewalPoint, DaysBeforeExpiryButNeverBeforeHalfTheLifetime) {
  std::string error;
  const auto p = RenewalPoint::parse("30d", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->to_string(), "30d");
  EXPECT_EQ(p->when(1000 * day, 1365 * day), 1335 * day);
  // A 20-day certificate: 30 days before expiry is before it began; renew at half-life.
  EXPECT_EQ(p->when(1000 * day, 1020 * day), 1010 * day);
}

TEST(RenewalPoint, BadSettingsAreRefusedSayingWhatIsAccepted) {
  for (const std::string bad : {"", "70", "0%", "100%", "0d", "-3d", "x%", "30 d", "1.5d", "30w", "%"}) {
    std::string error;
    EXPECT_FALSE(RenewalPoint::parse(bad, &error)) << bad;
    EXPECT_NE(error.find("\"30d\""), std::string::npos) << bad << ": " << error;
  }
}
