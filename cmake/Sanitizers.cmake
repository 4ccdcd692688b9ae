# ASan + UBSan for the whole build (CI's sanitizer build). UBSan findings abort, so a
# test that triggers undefined behaviour fails instead of printing and passing.
# All of UBSan but its vptr check: that check probes memory through a pipe, so when the
# process has no descriptor left it reports every virtual call (boost::system's error
# categories, iostreams) as invalid, and ndsipd's behaviour at descriptor exhaustion is one
# of the things tested (tests/unit/control/server_test.cpp). ndsip has no downcasts for the
# check to guard.
if(NDSIP_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

if(NDSIP_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "NDSIP_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
endif()

# Coverage instrumentation for the libraries the fuzz targets link; the targets themselves
# add -fsanitize=fuzzer at link time (tests/fuzz).
if(NDSIP_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
