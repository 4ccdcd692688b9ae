# ASan + UBSan for the whole build (CI's sanitizer build). UBSan findings abort, so a
# test that triggers undefined behaviour fails instead of printing and passing.
if(NDSIP_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
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
