# The kernel part against the real kernel: namespaces the tests create and remove, and a lab
# charon (kernel-libipsec). Root; skipped without. Its own executable, so it builds and runs
# without ndsipd and the daemon tests.
add_executable(ndsip_kernel_integration_tests
  kernel_address_test.cpp  # AddressWatcher: dump, live changes, DAD, overrun, no netlink
  kernel_xfrm_test.cpp     # XFRM inventory: real policies, flush, thousands, no CAP_NET_ADMIN
  kernel_route_test.cpp    # libipsec inventory: table 220, ipsec0, deleted routes and devices
  kernel_charon_test.cpp)  # a real charon tunnel in the lab, seen and lost
target_link_libraries(ndsip_kernel_integration_tests PRIVATE ndsip_kernel ndsip_lab_vici GTest::gtest_main)
ndsip_warnings(ndsip_kernel_integration_tests)
gtest_discover_tests(ndsip_kernel_integration_tests
  PROPERTIES LABELS integration RUN_SERIAL TRUE TIMEOUT 120
  DISCOVERY_TIMEOUT 60)
