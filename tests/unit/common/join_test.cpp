#include <gtest/gtest.h>

#include "common/join.hpp"

using ndsip::common::join;

TEST(Join, SeparatesButDoesNotFrame) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join({"a", "", "c"}, ","), "a,,c");
  EXPECT_EQ(join({"x", "y"}, ""), "xy");
}
