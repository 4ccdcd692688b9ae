# ndsipd's metrics against a real Prometheus server (Debian's prometheus package) in the lab.
# Root; skipped without, or without the package. Its own executable, like the kernel tests.
add_executable(ndsip_metrics_integration_tests metrics_test.cpp)
target_link_libraries(ndsip_metrics_integration_tests PRIVATE ndsip_lab_vici ndsip_common GTest::gtest_main)
target_compile_definitions(ndsip_metrics_integration_tests PRIVATE
  NDSIP_SOURCE_DIR="${PROJECT_SOURCE_DIR}" NDSIP_CTL="$<TARGET_FILE:ndsipctl>"
  NDSIP_DAEMON="$<TARGET_FILE:ndsipd>")
add_dependencies(ndsip_metrics_integration_tests ndsipctl ndsipd)
gtest_discover_tests(ndsip_metrics_integration_tests
  PROPERTIES LABELS integration RUN_SERIAL TRUE TIMEOUT 300
  DISCOVERY_TIMEOUT 60)
