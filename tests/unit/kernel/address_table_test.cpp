// Addresses on the host from a dump and the kernel's announcements, including the replay
// after a re-dump.
#include <gtest/gtest.h>

#include "kernel/address_table.hpp"

using ndsip::kernel::AddressEvent;
using ndsip::kernel::AddressTable;

namespace {

AddressEvent added(const char* a, int ifindex, bool usable = true) { return {a, ifindex, true, usable}; }
AddressEvent removed(const char* a, int ifindex) { return {a, ifindex, false, true}; }

}  // namespace

TEST(KernelAddressTable, DumpThenEvents) {
  AddressTable t;
  t.replace({added("192.0.2.10", 2), added("127.0.0.1", 1)});
  EXPECT_TRUE(t.present("192.0.2.10"));
  EXPECT_FALSE(t.present("192.0.2.11"));
  t.apply(added("192.0.2.11", 2));
  EXPECT_TRUE(t.present("192.0.2.11"));
  t.apply(removed("192.0.2.10", 2));
  EXPECT_FALSE(t.present("192.0.2.10"));
  EXPECT_EQ(t.present_all(), (std::set<std::string>{"127.0.0.1", "192.0.2.11"}));
  t.replace({});
  EXPECT_TRUE(t.present_all().empty());
}

TEST(KernelAddressTable, AnAddressOnTwoInterfacesStaysUntilBothLoseIt) {
  AddressTable t;
  t.apply(added("198.51.100.10", 1));
  t.apply(added("198.51.100.10", 3));
  t.apply(removed("198.51.100.10", 1));
  EXPECT_TRUE(t.present("198.51.100.10"));
  t.apply(removed("198.51.100.10", 3));
  EXPECT_FALSE(t.present("198.51.100.10"));
}

TEST(KernelAddressTable, TentativeAddressesAreNotThereYet) {
  AddressTable t;
  t.apply(added("2001:db8::1", 2, false));  // duplicate address detection running
  EXPECT_FALSE(t.present("2001:db8::1"));
  t.apply(added("2001:db8::1", 2, true));  // RTM_NEWADDR again once DAD is done
  EXPECT_TRUE(t.present("2001:db8::1"));
}

TEST(KernelAddressTable, ReplayingAnnouncementsOnTopOfADumpEndsInTheKernelsState) {
  // Announcements read while a re-dump ran are applied after it. Whether each came before or
  // after the moment the dump saw, the last one for an entry decides, as in the kernel.
  // Kernel history: +A, -A, +B, (dump sees: B), -B, +A
  AddressTable t;
  t.replace({added("192.0.2.2", 2)});
  for (const AddressEvent& e : {added("192.0.2.1", 2), removed("192.0.2.1", 2), added("192.0.2.2", 2),
                                removed("192.0.2.2", 2), added("192.0.2.1", 2)}) {
    t.apply(e);
  }
  EXPECT_EQ(t.present_all(), (std::set<std::string>{"192.0.2.1"}));
  // The same announcements twice change nothing more.
  t.apply(added("192.0.2.1", 2));
  t.apply(removed("192.0.2.2", 2));
  EXPECT_EQ(t.present_all(), (std::set<std::string>{"192.0.2.1"}));
}
